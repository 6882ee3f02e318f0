"""Dispatch rules over worker results: parsed and checked once, evaluated without ``eval``.

A rule names a worker, a path into that worker's results, an operator, a value, and the
workers to dispatch when it matches::

    {"name": "zip-by-mimetype", "worker": "mimetype", "path": "mimetype",
     "operator": "in", "value": ["application/zip"], "dispatch": ["decompress"]}

Paths are dotted keys with list indexes (``matches.0.rule`` or ``matches[0].rule``); ``*``
stands for every item of a list or every value of a table. With ``*`` (or any path that
reaches several values) a rule matches when one of them does.
"""

from __future__ import annotations

import json
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Pattern, Tuple

    Check = Callable[[Any, Any, Optional[Pattern[str]]], bool]

__all__ = ["OPERATORS", "Rule", "parse_rules"]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equals(found: Any, value: Any, _: Optional[Pattern[str]]) -> bool:
    # True == 1 in Python; a rule comparing booleans means booleans only.
    return found == value and isinstance(found, bool) == isinstance(value, bool)


def _contains(found: Any, value: Any, _: Optional[Pattern[str]]) -> bool:
    if isinstance(found, str):
        return isinstance(value, str) and value in found
    return isinstance(found, list) and any(_equals(item, value, None) for item in found)


OPERATORS: Dict[str, Check] = {
    "equals": _equals,
    "regex": lambda found, _, pattern: (
        isinstance(found, str) and bool(pattern and pattern.search(found))
    ),
    "in": lambda found, value, _: any(_equals(found, item, None) for item in value),
    "contains": _contains,
    "exists": lambda found, value, _: True,
    "greater_than": lambda found, value, _: _number(found) and found > value,
    "less_than": lambda found, value, _: _number(found) and found < value,
}
_KEYS = {"name", "worker", "path", "operator", "value", "dispatch", "if_installed"}
_REQUIRED = ("name", "worker", "path", "operator", "dispatch")
_INDEX = re.compile(r"\[(\d+|\*)\]")
_MISSING = object()


def _split_path(path: str) -> Tuple[str, ...]:
    """``a.b[0][*].c`` → ``("a", "b", "0", "*", "c")``; the empty path is the whole result."""
    tokens: List[str] = []
    for part in path.split(".") if path else []:
        head = part.split("[", 1)[0]
        indexes = _INDEX.findall(part[len(head) :])
        if head:
            tokens.append(head)
        if "".join(f"[{i}]" for i in indexes) != part[len(head) :] or (not head and not indexes):
            raise ValueError(f"path {path!r}: cannot read {part!r} (use key, key[0] or key[*])")
        tokens.extend(indexes)
    return tuple(tokens)


def _walk(value: Any, tokens: Tuple[str, ...]) -> Iterator[Any]:
    """Every value the path reaches in ``value``."""
    if not tokens:
        yield value
        return
    token, rest = tokens[0], tokens[1:]
    if isinstance(value, dict):
        children = list(value.values()) if token == "*" else [value.get(token, _MISSING)]
    elif isinstance(value, list):
        if token == "*":
            children = value
        elif token.isdigit() and int(token) < len(value):
            children = [value[int(token)]]
        else:
            children = []
    else:
        children = []
    for child in children:
        if child is not _MISSING:
            yield from _walk(child, rest)


def _reach(value: Any, tokens: Tuple[str, ...]) -> List[Any]:
    """What ``_walk`` yields; one plain key of a table (every default rule) looked up directly."""
    if len(tokens) == 1 and isinstance(value, dict) and tokens[0] != "*":
        found = value.get(tokens[0], _MISSING)
        return [] if found is _MISSING else [found]
    return list(_walk(value, tokens))


class Rule:
    """One checked rule; ``first_match`` returns the value that matched, or ``None``.

    A plain class: ``dataclasses`` (with ``inspect``, ``ast``, ``dis``) and the methods it
    generates cost ~8 M instructions of every ``stoq scan`` start.
    """

    __slots__ = (
        "dispatch",
        "if_installed",
        "name",
        "operator",
        "path",
        "pattern",
        "texts",
        "tokens",
        "value",
        "worker",
    )

    def __init__(
        self,
        name: str,
        worker: str,
        path: str,
        operator: str,
        value: Any,
        dispatch: Tuple[str, ...],
        tokens: Tuple[str, ...],
        pattern: Optional[Pattern[str]] = None,
        if_installed: bool = False,
        texts: FrozenSet[str] = frozenset(),
    ) -> None:
        self.name = name
        self.worker = worker
        self.path = path
        self.operator = operator
        self.value = value
        self.dispatch = dispatch
        self.tokens = tokens
        self.pattern = pattern
        #: Default routing: workers not installed are skipped with a notice, not a load error.
        self.if_installed = if_installed
        #: The texts of an ``in`` rule's value: a text found is in it exactly when ``in`` holds.
        self.texts = texts

    def first_match(self, results: Any) -> Optional[Tuple[Any]]:
        """``(value,)`` for the first reached value that satisfies the rule, else None."""
        reached = _reach(results, self.tokens)
        if self.operator == "exists":
            wanted = self.value is not False
            return ((reached[0] if reached else None),) if bool(reached) == wanted else None
        check = OPERATORS[self.operator]
        for found in reached:
            if type(found) is str and self.operator == "in":  # a set lookup, not a loop
                if found in self.texts:
                    return (found,)
            elif check(found, self.value, self.pattern):
                return (found,)
        return None

    def describe(self, found: Any) -> Dict[str, Any]:
        """What the deep-dispatch meta records about a match."""
        shown = (
            found
            if isinstance(found, (str, int, float, bool)) or found is None
            else type(found).__name__
        )
        if isinstance(shown, str) and len(shown) > 200:
            shown = shown[:200] + "..."
        return {
            "worker": self.worker,
            "path": self.path,
            "operator": self.operator,
            "matched": shown,
            "dispatch": list(self.dispatch),
        }


def _check_value(operator: str, value: Any, where: str) -> Optional[Pattern[str]]:
    if operator == "regex":
        if not isinstance(value, str):
            raise ValueError(f"{where}: 'regex' needs a text value")
        try:
            return re.compile(value)
        except re.error as exc:
            raise ValueError(f"{where}: bad regex {value!r}: {exc}") from None
    if operator == "in" and not isinstance(value, list):
        raise ValueError(f"{where}: 'in' needs a list value")
    if operator in ("greater_than", "less_than") and not _number(value):
        raise ValueError(f"{where}: {operator!r} needs a number value")
    if operator == "exists" and value is not _MISSING and not isinstance(value, bool):
        raise ValueError(f"{where}: 'exists' takes no value, or true/false")
    if operator != "exists" and value is _MISSING:
        raise ValueError(f"{where}: missing field 'value' (operator {operator!r} compares with it)")
    return None


def _rule(index: int, raw: Any) -> Rule:
    where = f"results: rule #{index + 1}"
    if not isinstance(raw, dict):
        raise ValueError(
            f"{where}: expected a table of name, worker, path, operator, value, dispatch"
        )
    if isinstance(raw.get("name"), str) and raw["name"]:
        where = f"results: rule {raw['name']!r} (#{index + 1})"
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}"
        )
    for key in _REQUIRED:
        if key not in raw:
            raise ValueError(f"{where}: missing field {key!r}")
    for key in ("name", "worker", "path", "operator"):
        if not isinstance(raw[key], str) or (key != "path" and not raw[key].strip()):
            raise ValueError(f"{where}: field {key!r} must be non-empty text")
    operator = raw["operator"].strip().lower()
    if operator not in OPERATORS:
        raise ValueError(
            f"{where}: unknown operator {raw['operator']!r}; use one of {', '.join(OPERATORS)}"
        )
    dispatch = raw["dispatch"]
    names = dispatch.split(",") if isinstance(dispatch, str) else dispatch
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{where}: 'dispatch' must be a list of worker names")
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise ValueError(f"{where}: 'dispatch' names no worker")
    if not isinstance(raw.get("if_installed", False), bool):
        raise ValueError(f"{where}: 'if_installed' must be true or false")
    value = raw.get("value", _MISSING)
    pattern = _check_value(operator, value, where)
    texts = [v for v in value if isinstance(v, str)] if operator == "in" else []
    try:
        tokens = _split_path(raw["path"].strip())
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return Rule(
        name=raw["name"].strip(),
        worker=raw["worker"].strip(),
        path=raw["path"].strip(),
        operator=operator,
        value=None if value is _MISSING else value,
        dispatch=tuple(dict.fromkeys(names)),
        tokens=tokens,
        pattern=pattern,
        if_installed=raw.get("if_installed", False),
        texts=frozenset(texts),
    )


def parse_rules(value: Any) -> List[Rule]:
    """Rules from a TOML list of tables, one table, or JSON text of either (INI files)."""
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"results: option 'rules' is not valid JSON: {exc}") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(
            f"results: option 'rules' must be a list of tables, not {type(value).__name__}"
        )
    rules = [_rule(index, raw) for index, raw in enumerate(value)]
    seen: Dict[str, int] = {}
    for index, rule in enumerate(rules):
        if rule.name in seen:
            raise ValueError(
                f"results: rule {rule.name!r} (#{index + 1}) has the same name as rule #{seen[rule.name] + 1}"
            )
        seen[rule.name] = index
    return rules

"""Turning yara-python matches into JSON-ready results and dispatch decisions."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Tuple


__all__ = ["dispatch_names", "escape_bytes", "is_false", "match_to_dict"]

_PRINTABLE = range(0x20, 0x7F)


def escape_bytes(data: bytes) -> str:
    r"""Printable ASCII as itself, ``\`` as ``\\``, every other byte as ``\xNN``.

    Matched data is often binary; this keeps it readable, reversible and free of guesses
    about its encoding.
    """
    return "".join(
        "\\\\" if b == 0x5C else chr(b) if b in _PRINTABLE else f"\\x{b:02x}" for b in data
    )


def match_to_dict(match: Any, max_strings: int, max_string_bytes: int) -> Dict[str, Any]:
    """One match as ``{rule, namespace, tags, meta, strings}``, with the string list capped.

    ``strings`` holds at most ``max_strings`` instances (offset order within each
    identifier) and each instance's ``data`` at most ``max_string_bytes`` bytes; what the
    caps left out is counted in ``strings_omitted`` so nothing disappears silently.
    """
    strings: List[Dict[str, Any]] = []
    total = 0
    for string_match in match.strings:
        for instance in string_match.instances:
            total += 1
            if len(strings) >= max_strings:
                continue
            data = instance.matched_data[:max_string_bytes]
            strings.append(
                {
                    "identifier": string_match.identifier,
                    "offset": instance.offset,
                    "length": instance.matched_length,
                    "data": escape_bytes(data),
                }
            )
    result: Dict[str, Any] = {
        "rule": match.rule,
        "namespace": match.namespace,
        "tags": list(match.tags),
        "meta": dict(match.meta),
        "strings": strings,
    }
    if total > len(strings):
        result["strings_omitted"] = total - len(strings)
    return result


def is_false(value: Any) -> bool:
    """A meta value meaning "no": the boolean false, or the text false/no/0/off."""
    if isinstance(value, bool):
        return not value
    return str(value).strip().lower() in ("false", "no", "0", "off")


def dispatch_names(
    matches: Iterable[Any], key: str = "plugin", all_optional: bool = False
) -> Tuple[List[str], List[str]]:
    """Workers named by the matches' ``plugin = "a,b"`` meta: ``(required, if_installed)``.

    Each list is in match order, each name once. A name is optional (run if installed,
    otherwise skipped with a notice) when every rule naming it says ``if_installed = true``,
    or when ``all_optional`` (the shipped rules, which are default routing).
    """
    required: Dict[str, None] = {}
    optional: Dict[str, None] = {}
    for match in matches:
        value = match.meta.get(key)
        if not isinstance(value, str):
            continue
        names = dict.fromkeys(n.strip() for n in value.split(",") if n.strip())
        lenient = all_optional or not is_false(match.meta.get("if_installed", False))
        (optional if lenient else required).update(names)
    return list(required), [n for n in optional if n not in required]

"""Rules grouped by the key they read, with remembered verdicts, dispatch exactly as the rules
checked one by one in order did (the code before issue 15, kept here as the reference).

The worker results are real: the MIME types Python's ``mimetypes`` gives the files the system
ships, every MIME type the default rules name, and results of other shapes (lists, numbers,
booleans, tables, absent keys) read by user rules of every operator.
"""

from __future__ import annotations

import mimetypes
import os
from configparser import ConfigParser
from typing import Any, Dict, Iterator, List, Optional

from stoq import Payload, RequestMeta
from stoq.data_classes import DeepDispatcherResponse
from stoq_plugin_results import plugin as results_plugin
from stoq_plugin_results.plugin import DEFAULT_RULES, ResultsPlugin
from stoq_plugin_results.rules import Rule


def reference(rules: List[Rule], payload: Payload) -> Optional[DeepDispatcherResponse]:
    """``get_deep_dispatches`` before issue 15: every rule checked in turn."""
    workers: Dict[str, None] = {}
    optional: Dict[str, None] = {}
    meta: Dict[str, Any] = {}
    latest: Dict[str, Any] = {}
    for rule in rules:
        if rule.worker not in latest:
            latest[rule.worker] = results_plugin._latest_results(payload, rule.worker)
        results = latest[rule.worker]
        if results is None:
            continue
        match = rule.first_match(results)
        if match is None:
            continue
        (optional if rule.if_installed else workers).update(dict.fromkeys(rule.dispatch))
        meta[rule.name] = rule.describe(match[0])
    if not meta:
        return None
    lenient = [name for name in optional if name not in workers]
    return DeepDispatcherResponse(list(workers), meta, if_installed=lenient)


USER_RULES = [
    {"name": "size", "worker": "facts", "path": "size", "operator": "greater_than", "value": 10},
    {"name": "small", "worker": "facts", "path": "size", "operator": "less_than", "value": 3},
    {"name": "tag", "worker": "facts", "path": "tags", "operator": "contains", "value": "x"},
    {"name": "any", "worker": "facts", "path": "words[*].w", "operator": "equals", "value": "a"},
    {"name": "flag", "worker": "facts", "path": "flag", "operator": "equals", "value": True},
    {"name": "one", "worker": "facts", "path": "flag", "operator": "in", "value": [1, "1"]},
    {"name": "gone", "worker": "facts", "path": "absent", "operator": "exists", "value": False},
    {"name": "here", "worker": "facts", "path": "kind", "operator": "exists"},
    {"name": "desc", "worker": "mimetype", "path": "description", "operator": "regex",
     "value": "(?i)text"},
    {"name": "whole", "worker": "facts", "path": "", "operator": "exists"},
    {"name": "first", "worker": "facts", "path": "words[0].w", "operator": "in", "value": ["b"]},
    {"name": "again", "worker": "mimetype", "path": "mimetype", "operator": "contains",
     "value": "/x-", "dispatch": ["other", "target"]},
]  # fmt: skip
for _rule in USER_RULES:
    _rule.setdefault("dispatch", ["target"])


def mimetypes_seen() -> List[str]:
    """MIME types of the system's files (by name), and every one the default rules name."""
    found: Dict[str, None] = {}
    for top in ("/usr/share", "/usr/lib", "/etc"):
        files = 0
        for root, dirs, names in os.walk(top):
            dirs.sort()
            for name in sorted(names):
                files += 1
                guess = mimetypes.guess_type(os.path.join(root, name))[0]
                if guess:
                    found[guess] = None
            if files > 20000:
                break
    assert len(found) > 20, "the system's files gave almost no MIME types"
    for raw in DEFAULT_RULES:
        value = raw.get("value")
        found.update(dict.fromkeys(value if isinstance(value, list) else []))
    return [*found, "text/", "TEXT/PLAIN", "application/vnd.ms-word.document.macroenabled.12"]


def payloads() -> Iterator[Payload]:
    """Payloads with mimetype and facts results of every shape, in one or two rounds."""
    facts: List[Any] = [
        {"size": 12, "tags": ["x", "y"], "words": [{"w": "a"}], "flag": True, "kind": "k"},
        {"size": 1, "tags": "xyz", "words": [{"w": "b"}, {"w": "a"}], "flag": 1},
        {"size": 10.5, "tags": [True], "words": [], "flag": "1", "absent": None},
        {"size": True, "words": {"w": "a"}, "flag": False},
        ["not", "a", "table"],
        "text",
        None,
    ]
    for index, mimetype in enumerate(mimetypes_seen()):
        for variant in range(3):
            payload = Payload(b"content")
            mime: Any = {"mimetype": mimetype, "description": f"{mimetype} text"}
            if variant == 1:
                mime = {"mimetype": [mimetype], "description": None}
            elif variant == 2 and index % 2:
                mime = {"description": "no mimetype key"}
            fact = facts[(index + variant) % len(facts)]
            payload.worker_results = [{"mimetype": mime, "facts": fact}]
            if variant == 2:
                payload.worker_results.append({"pe": {"dotnet": index % 3 == 0}})
            yield payload


def make(rules: Any) -> ResultsPlugin:
    return ResultsPlugin(ConfigParser(), {"rules": rules, "default_rules": True})


def test_dispatches_are_the_same_as_rule_by_rule() -> None:
    plugin = make(USER_RULES)
    seen = 0
    for payload in payloads():
        expected = reference(plugin.rules, payload)
        for _ in range(2):  # the verdicts computed, then remembered
            got = plugin.get_deep_dispatches(payload, RequestMeta())
            assert str(got) == str(expected), payload.worker_results
        seen += expected is not None
    assert seen > 100
    assert plugin._verdicts, "no verdict was remembered"


def test_verdicts_remembered_are_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(results_plugin, "VERDICTS_KEPT", 5)
    plugin = make([])
    for payload in payloads():
        got = plugin.get_deep_dispatches(payload, RequestMeta())
        assert str(got) == str(reference(plugin.rules, payload))
    assert len(plugin._verdicts) == 5

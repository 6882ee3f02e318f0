"""Behaviour of the ``results`` deep dispatcher: rules over real worker results, in real scans."""

from __future__ import annotations

import io
import json
import mimetypes
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from stoq import Payload, RequestMeta, StoqPluginLoadError, StoqResponse, WorkerResponse
from stoq.plugins import WorkerPlugin
from stoq.testing import DeepDispatcherConformance, make_stoq
from stoq_plugin_results.plugin import ARCHIVE_MIMETYPES, DEFAULT_RULES, ResultsPlugin
from stoq_plugin_results.rules import OPERATORS, Rule, _walk, parse_rules


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner.txt", b"inside the zip\n")
    return buffer.getvalue()


def tar_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("a.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    return buffer.getvalue()


class Mimetype(WorkerPlugin):
    """Stands in for the mimetype plugin (same result keys), from the magic bytes it knows."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        content = payload.content
        if content.startswith(b"PK\x03\x04"):
            mimetype = "application/zip"
        elif content[257:262] == b"ustar":
            mimetype = "application/x-tar"
        else:
            mimetype = "text/plain" if content.isascii() else "application/octet-stream"
        return WorkerResponse(
            {"mimetype": mimetype, "description": "test stand-in", "backend": "test"}
        )


class Facts(WorkerPlugin):
    """Real facts about the payload, in nested tables and lists, for the rules to read."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        text = payload.content.decode("utf-8", "replace")
        words = text.split()
        return WorkerResponse(
            {
                "size": len(payload.content),
                "text": {"first_word": words[0] if words else "", "lines": text.splitlines()},
                "words": [{"word": w, "length": len(w)} for w in words],
                "is_ascii": payload.content.isascii(),
            }
        )


class Recorder(WorkerPlugin):
    """A worker that says it ran, so a dispatch can be seen in the results."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse({"ran": True})


STAND_INS = {
    "mimetype": Mimetype,
    "facts": Facts,
    "decompress": Recorder,
    "target": Recorder,
    "other": Recorder,
}


def scan(content: bytes, rules: Any = None, **options: Any) -> StoqResponse:
    """Scan with mimetype and facts always, results as the deep dispatcher."""
    opts: Dict[str, Any] = dict(options)
    if rules is not None:
        opts["rules"] = rules
    stoq = make_stoq(
        plugins=STAND_INS,
        always_dispatch=["mimetype", "facts"],
        deep_dispatchers=["results"],
        plugin_opts={"results": opts},
    )
    try:
        return stoq.scan(content)
    finally:
        stoq.close()


def rule(operator: str, path: str, value: Any = None, **extra: Any) -> Dict[str, Any]:
    made = {
        "name": "r",
        "worker": "facts",
        "path": path,
        "operator": operator,
        "dispatch": ["target"],
        **extra,
    }
    if value is not None:
        made["value"] = value
    return made


def dispatched(response: StoqResponse) -> List[str]:
    """Workers the deep dispatcher added to the root payload."""
    rounds = response.results[0].plugins_run["workers"]
    return rounds[1] if len(rounds) > 1 else []


def mimetype_payload(mimetype: str) -> Payload:
    """A payload as the mimetype worker (stoq-plugin-mimetype's result keys) left it."""
    payload = Payload(b"content")
    payload.worker_results[0]["mimetype"] = {"mimetype": mimetype, "backend": "libmagic"}
    return payload


# -- the default rule ------------------------------------------------------------------------


@pytest.mark.parametrize("make", [zip_bytes, tar_bytes], ids=["zip", "tar"])
def test_default_rule_sends_archives_to_decompress(make: Any) -> None:
    """An archive MIME type from the mimetype worker dispatches decompress, and says why."""
    response = scan(make())
    assert dispatched(response) == ["decompress"]
    assert response.results[0].workers[1] == {"decompress": {"ran": True}}
    meta = response.results[0].deep_dispatch_meta["results"]["archive-mimetype"]
    assert meta["worker"] == "mimetype"
    assert meta["matched"] in ("application/zip", "application/x-tar")
    assert meta["dispatch"] == ["decompress"]


def test_default_rules_skip_a_worker_that_is_not_installed_with_a_notice() -> None:
    """Shipped rules are default routing: without decompress there is a note, not an Error."""
    stand_ins = {k: v for k, v in STAND_INS.items() if k != "decompress"}
    with make_stoq(
        plugins=stand_ins, always_dispatch=["mimetype"], deep_dispatchers=["results"]
    ) as stoq:
        response = stoq.scan(zip_bytes())
    assert response.errors == []
    assert dispatched(response) == []
    meta = response.results[0].deep_dispatch_meta["results"]
    assert meta["not_installed"] == ["decompress"]
    assert meta["archive-mimetype"]["matched"] == "application/zip"


def test_a_users_rule_naming_a_worker_not_installed_is_a_load_error() -> None:
    """A rule the user wrote names workers explicitly; if_installed = true relaxes it."""
    strict = rule("exists", "size", dispatch=["absent"])
    response = scan(b"text\n", [strict], default_rules=False)
    assert [(e.plugin_name, e.stage) for e in response.errors] == [("absent", "load")]
    lenient = rule("exists", "size", dispatch=["absent", "target"], if_installed=True)
    response = scan(b"text\n", [lenient], default_rules=False)
    assert response.errors == []
    assert dispatched(response) == ["target"]
    assert response.results[0].deep_dispatch_meta["results"]["not_installed"] == ["absent"]


def test_default_rules_send_text_to_iocs_and_the_decoders() -> None:
    """Plain text matches text-mimetype (iocs) and text-decoders (b64decode, xordecode); none
    is installed here, so each is noted."""
    response = scan(b"just words\n")
    assert dispatched(response) == []
    meta = response.results[0].deep_dispatch_meta["results"]
    assert sorted(meta) == ["not_installed", "text-decoders", "text-mimetype"]
    assert meta["not_installed"] == ["iocs", "b64decode", "xordecode"]


@pytest.mark.parametrize(
    ("mimetype", "rule", "workers"),
    [
        ("application/pdf", "pdf-mimetype", ["pdf"]),
        ("message/rfc822", "email-mimetype", ["email"]),
        ("application/vnd.ms-outlook", "email-mimetype", ["email"]),
        ("text/html", "html-mimetype", ["html", "iocs", "b64decode", "xordecode"]),
        ("text/plain", "text-mimetype", ["iocs", "b64decode", "xordecode"]),
        ("application/x-iso9660-image", "iso-mimetype", ["iso"]),
        ("application/javascript", "javascript-mimetype", ["javascript"]),
        (
            "text/javascript",
            "javascript-mimetype",
            ["iocs", "javascript", "b64decode", "xordecode"],
        ),
        ("application/octet-stream", "unknown-data-decoders", ["b64decode", "xordecode"]),
    ],
)
def test_default_rules_route_documents_and_mail(
    mimetype: str, rule: str, workers: List[str]
) -> None:
    """Each document MIME type goes to its worker; the meta names the rule."""
    with make_stoq() as stoq:
        plugin = stoq.load_plugin("results")
        response = plugin.get_deep_dispatches(mimetype_payload(mimetype), RequestMeta())
    assert response is not None
    assert response.plugin_names == []
    assert response.if_installed == workers
    assert response.meta[rule]["matched"] == mimetype


@pytest.mark.parametrize(
    ("mimetype", "rule", "workers"),
    [
        ("application/msword", "ole-mimetype", ["ole", "olevba"]),
        ("application/x-ole-storage", "ole-mimetype", ["ole", "olevba"]),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "ooxml-mimetype",
            ["ooxml", "olevba"],
        ),
        ("application/vnd.ms-excel.sheet.macroEnabled.12", "ooxml-mimetype", ["ooxml", "olevba"]),
        ("text/rtf", "rtf-mimetype", ["iocs", "rtf", "b64decode", "xordecode"]),
        ("application/x-ms-shortcut", "lnk-mimetype", ["lnk"]),
    ],
)
def test_default_rules_route_office_documents_and_shortcuts(
    mimetype: str, rule: str, workers: List[str]
) -> None:
    """OLE, OOXML, RTF and LNK MIME types (libmagic's names) go to their workers, with why."""
    with make_stoq() as stoq:
        plugin = stoq.load_plugin("results")
        response = plugin.get_deep_dispatches(mimetype_payload(mimetype), RequestMeta())
    assert response is not None
    assert response.if_installed == workers
    assert response.meta[rule]["matched"] == mimetype


def test_default_mimetypes_cover_what_decompress_opens() -> None:
    """Both MIME spellings in use (libmagic and puremagic) for each archive are present."""
    for mimetype in (
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-7z-compressed",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-tar",
        "application/vnd.rar",
    ):
        assert mimetype in ARCHIVE_MIMETYPES


def test_default_rules_can_be_turned_off() -> None:
    """default_rules = false leaves only the configured rules."""
    assert dispatched(scan(zip_bytes(), default_rules=False)) == []
    assert dispatched(scan(zip_bytes(), default_rules="false")) == []


def test_a_rule_named_like_a_default_replaces_it() -> None:
    """Redefining archive-mimetype changes what archives are sent to."""
    own = {
        "name": "archive-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "equals",
        "value": "application/zip",
        "dispatch": "other",
    }
    assert dispatched(scan(zip_bytes(), [own])) == ["other"]


# -- operators and paths ------------------------------------------------------------------


TEXT = b"stoq analyses files\nat scale\n"


@pytest.mark.parametrize(
    ("made", "matches"),
    [
        (rule("equals", "text.first_word", "stoq"), True),
        (rule("equals", "text.first_word", "STOQ"), False),
        (rule("equals", "is_ascii", True), True),
        (rule("equals", "size", True), False),
        (rule("regex", "text.lines[1]", r"^at\s+sc"), True),
        (rule("regex", "text.lines.0", r"scale"), False),
        (rule("in", "text.first_word", ["stoq", "strelka"]), True),
        (rule("in", "text.first_word", ["yara"]), False),
        (rule("contains", "text.lines", "at scale"), True),
        (rule("contains", "text.first_word", "to"), True),
        (rule("exists", "words[2].word"), True),
        (rule("exists", "words[9].word"), False),
        (rule("exists", "nothing.here", False), True),
        (rule("greater_than", "size", len(TEXT) - 1), True),
        (rule("greater_than", "size", len(TEXT)), False),
        (rule("less_than", "words[*].length", 3), True),
        (rule("less_than", "words.*.length", 2), False),
        (rule("equals", "words.*.word", "files"), True),
    ],
)
def test_each_operator_on_real_results(made: Dict[str, Any], matches: bool) -> None:
    """Each operator and path form, against results computed from the payload."""
    response = scan(TEXT, [made], default_rules=False)
    assert dispatched(response) == (["target"] if matches else [])


def test_meta_names_the_rule_and_the_value_that_matched() -> None:
    """The deep-dispatch meta explains the dispatch: rule, worker, path, operator, value."""
    response = scan(
        TEXT, [rule("regex", "words[*].word", "^an", name="analysis-words")], default_rules=False
    )
    assert response.results[0].deep_dispatch_meta == {
        "results": {
            "analysis-words": {
                "worker": "facts",
                "path": "words[*].word",
                "operator": "regex",
                "matched": "analyses",
                "dispatch": ["target"],
            }
        }
    }


def test_several_rules_give_an_ordered_union_of_workers() -> None:
    """Workers from all matching rules, in rule order, once each."""
    rules = [
        rule("exists", "size", name="a", dispatch=["other", "target"]),
        rule("exists", "text", name="b", dispatch="target, other"),
    ]
    response = scan(TEXT, rules, default_rules=False)
    assert dispatched(response) == ["other", "target"]
    assert sorted(response.results[0].deep_dispatch_meta["results"]) == ["a", "b"]


def test_a_rule_on_a_worker_that_did_not_run_never_matches() -> None:
    """No results for the named worker: the rule is skipped, not an error."""
    response = scan(TEXT, [rule("exists", "", worker="absent")], default_rules=False)
    assert dispatched(response) == []
    assert response.errors == []


def test_rules_see_results_of_earlier_deep_passes() -> None:
    """A worker dispatched in pass 1 can trigger another rule in pass 2."""
    rules = [
        rule("exists", "size", name="first", dispatch=["target"]),
        rule("equals", "ran", True, name="second", worker="target", dispatch=["other"]),
    ]
    stoq = make_stoq(
        plugins=STAND_INS,
        always_dispatch=["facts"],
        deep_dispatchers=["results"],
        max_dispatch_passes=3,
        plugin_opts={"results": {"rules": rules, "default_rules": False}},
    )
    try:
        response = stoq.scan(TEXT)
    finally:
        stoq.close()
    assert response.results[0].plugins_run["workers"] == [["facts"], ["target"], ["other"]]


# -- configuration files --------------------------------------------------------------------


def test_rules_from_a_toml_list_of_tables(tmp_path: Path) -> None:
    """[[plugins.results.rules]] tables in stoq.toml are the rules."""
    config = tmp_path / "stoq.toml"
    config.write_text(
        "[plugins.results]\ndefault_rules = false\n\n"
        '[[plugins.results.rules]]\nname = "long"\nworker = "facts"\npath = "size"\n'
        'operator = "greater_than"\nvalue = 10\ndispatch = ["target"]\n'
    )
    stoq = make_stoq(
        config_file=config,
        plugins=STAND_INS,
        always_dispatch=["facts"],
        deep_dispatchers=["results"],
    )
    try:
        response = stoq.scan(TEXT)
    finally:
        stoq.close()
    assert dispatched(response) == ["target"]


def test_rules_from_json_text_in_an_ini_file(tmp_path: Path) -> None:
    """In stoq.cfg the rules are JSON text (and default_rules a word)."""
    rules = [rule("regex", "text.first_word", "^st")]
    config = tmp_path / "stoq.cfg"
    config.write_text(f"[results]\ndefault_rules = no\nrules = {json.dumps(rules)}\n")
    stoq = make_stoq(
        config_file=config,
        plugins=STAND_INS,
        always_dispatch=["facts"],
        deep_dispatchers=["results"],
    )
    try:
        response = stoq.scan(TEXT)
    finally:
        stoq.close()
    assert dispatched(response) == ["target"]


# -- invalid rules ---------------------------------------------------------------------------


def load_error(rules: Any, **options: Any) -> str:
    stoq = make_stoq(plugin_opts={"results": {"rules": rules, **options}})
    try:
        with pytest.raises(StoqPluginLoadError) as caught:
            stoq.load_plugin("results")
    finally:
        stoq.close()
    return str(caught.value)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([rule("matches", "size", 1, name="typo")], "rule 'typo' (#1): unknown operator 'matches'"),
        ([rule("regex", "size", "([a-", name="bad-re")], "rule 'bad-re' (#1): bad regex '([a-'"),
        (
            [{"name": "half", "worker": "facts", "operator": "exists", "dispatch": ["x"]}],
            "rule 'half' (#1): missing field 'path'",
        ),
        (
            [{"worker": "facts", "path": "", "operator": "exists", "dispatch": ["x"]}],
            "rule #1: missing field 'name'",
        ),
        ([rule("equals", "size", name="novalue")], "rule 'novalue' (#1): missing field 'value'"),
        ([rule("exists", "size", name="typo", dispach=["x"])], "unknown field(s) dispach"),
        ([rule("in", "size", "zip", name="notlist")], "'in' needs a list value"),
        ([rule("greater_than", "size", "10", name="text")], "'greater_than' needs a number value"),
        ([rule("exists", "size", name="empty", dispatch=[])], "'dispatch' names no worker"),
        ([rule("exists", "a..b", name="path")], "cannot read ''"),
        (
            [rule("exists", "size", name="twice"), rule("exists", "size", name="twice")],
            "rule 'twice' (#2) has the same name as rule #1",
        ),
        (
            [rule("exists", "size", name="flag", if_installed="yes")],
            "rule 'flag' (#1): 'if_installed' must be true or false",
        ),
        # the core types options after their defaults (a list here) and names the mistake
        ("[{not json", "option 'rules' = '[{not json': expected a list"),
        (42, "option 'rules' = 42: expected a list"),
    ],
)
def test_invalid_rules_fail_the_load_naming_the_rule(rules: Any, message: str) -> None:
    """Every mistake is caught when the plugin loads, with the rule and the cause named."""
    assert message in load_error(rules)


def test_bad_default_rules_flag_is_an_error() -> None:
    assert re.search(
        "option 'default_rules' = 'maybe': expected true or false",
        load_error([], default_rules="maybe"),
    )


def test_plugin_class_is_the_entry_point() -> None:
    stoq = make_stoq()
    try:
        assert isinstance(stoq.load_plugin("results"), ResultsPlugin)
    finally:
        stoq.close()


class TestResultsConformance(DeepDispatcherConformance):
    """The stoq.testing deep dispatcher conformance suite (its default rule names decompress)."""

    plugin_name = "results"
    external_plugins = ("decompress",)
    samples = (zip_bytes(), tar_bytes(), b"plain text\n")


def reference_first_match(rule: Rule, results: Any) -> Optional[Tuple[Any]]:
    """``Rule.first_match`` as it was: every path walked, every ``in`` item compared."""
    reached = list(_walk(results, rule.tokens))
    if rule.operator == "exists":
        wanted = rule.value is not False
        return ((reached[0] if reached else None),) if bool(reached) == wanted else None
    for found in reached:
        if OPERATORS[rule.operator](found, rule.value, rule.pattern):
            return (found,)
    return None


def test_first_match_agrees_with_walking_every_path() -> None:
    """The direct key lookup and the ``in`` set give the walk's answers: the default rules
    and made ones (mixed-type ``in`` values, ``*``, indexes, deep paths) over results holding
    every mimetype the standard library knows and values of every JSON type."""
    made = [
        {
            "name": "mixed",
            "worker": "w",
            "path": "mimetype",
            "operator": "in",
            "value": [1, True, "text/plain", 2.5, None],
            "dispatch": ["x"],
        },
        {
            "name": "star",
            "worker": "w",
            "path": "mimetype[*]",
            "operator": "in",
            "value": ["application/zip", 0],
            "dispatch": ["x"],
        },
        {
            "name": "deep",
            "worker": "w",
            "path": "matches.0.rule",
            "operator": "in",
            "value": ["rule", False],
            "dispatch": ["x"],
        },
        {
            "name": "any",
            "worker": "w",
            "path": "*",
            "operator": "equals",
            "value": 1,
            "dispatch": ["x"],
        },
        {
            "name": "gone",
            "worker": "w",
            "path": "mimetype",
            "operator": "exists",
            "value": False,
            "dispatch": ["x"],
        },
    ]
    rules = parse_rules(DEFAULT_RULES) + parse_rules(made)
    values: List[Any] = sorted(set(mimetypes.types_map.values()))
    values += ["", "text/", 0, 1, 1.0, 2.5, True, False, None, ["text/plain"], {"a": 1}]
    shapes: List[Any] = [{}, [], "text/plain", [{"mimetype": "text/plain"}]]
    for value in values:
        shapes += [{"mimetype": value}, {"mimetype": [value, "application/zip"]}]
        shapes += [{"matches": [{"rule": value}]}, {"dotnet": value, "mimetype": value}]
    for rule in rules:
        for results in shapes:
            assert rule.first_match(results) == reference_first_match(rule, results)

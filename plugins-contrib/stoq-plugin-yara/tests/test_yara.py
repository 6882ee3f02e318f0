"""Behaviour of the ``yara`` worker and dispatcher on real files and real rule files."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yara
import yara_samples

from stoq import (
    ArchiverResponse,
    Payload,
    RequestMeta,
    StoqPluginLoadError,
)
from stoq.plugins import ArchiverPlugin
from stoq.testing import DispatcherConformance, WorkerConformance, make_stoq, pinned_sample
from stoq_plugin_yara import compiler
from stoq_plugin_yara.compiler import load_rules
from stoq_plugin_yara.matches import escape_bytes
from stoq_plugin_yara.plugin import SHIPPED_DISPATCH, YaraPlugin

MAGIC_RULE = """
rule elf_magic : binary linux
{
    meta:
        author = "tests"
        score = 7
        verified = true
    strings:
        $magic = { 7F 45 4C 46 }
        $elf = "ELF"
    condition:
        $magic at 0 and $elf
}
"""


def write_rules(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def worker_results(content: bytes, **options: Any) -> Dict[str, Any]:
    """Scan with the yara worker only and return its results (no errors allowed)."""
    with make_stoq(always_dispatch=["yara"], plugin_opts={"yara": options}) as stoq:
        response = stoq.scan(content)
    assert response.errors == []
    return response.results[0].workers[0]["yara"]


def load_error(options: Dict[str, Any]) -> str:
    """The message of the load error the yara plugin gives with ``options``."""
    stoq = make_stoq(plugin_opts={"yara": options})
    try:
        with pytest.raises(StoqPluginLoadError) as caught:
            stoq.load_plugin("yara")
    finally:
        stoq.close()
    return str(caught.value)


def dispatch(content: bytes, payload: Optional[Payload] = None, **options: Any) -> Any:
    """Ask the yara dispatcher about ``content`` directly (the named workers need not exist)."""
    with make_stoq(plugin_opts={"yara": options}) as stoq:
        plugin = stoq.load_plugin("yara")
        return plugin.get_dispatches(payload or Payload(content), RequestMeta())


# -- worker ------------------------------------------------------------------------------


def test_worker_reports_rule_namespace_tags_meta_and_strings(
    tmp_path: Path, elf_binary: bytes
) -> None:
    """A match carries the rule, its namespace (file name), tags, typed meta, and strings."""
    rules = write_rules(tmp_path, "linux.yar", MAGIC_RULE)
    results = worker_results(elf_binary, worker_rules=str(rules))
    [match] = results["matches"]
    assert match["rule"] == "elf_magic"
    assert match["namespace"] == "linux"
    assert match["tags"] == ["binary", "linux"]
    assert match["meta"] == {"author": "tests", "score": 7, "verified": True}
    first = {s["identifier"]: s for s in reversed(match["strings"])}
    assert first["$magic"] == {"identifier": "$magic", "offset": 0, "length": 4, "data": "\\x7fELF"}
    assert first["$elf"]["offset"] == 1
    assert first["$elf"]["data"] == "ELF"


def test_matched_strings_are_capped_and_the_rest_counted(tmp_path: Path, elf_binary: bytes) -> None:
    """max_strings limits the instances listed; strings_omitted says how many were left out."""
    rules = write_rules(
        tmp_path, "many.yar", "rule many { strings: $z = { 00 00 00 00 } condition: $z }"
    )
    results = worker_results(elf_binary, worker_rules=str(rules), max_strings=3, max_string_bytes=2)
    [match] = results["matches"]
    assert len(match["strings"]) == 3
    overlapping = len(re.findall(b"(?=\x00\x00\x00\x00)", elf_binary))
    assert match["strings_omitted"] == overlapping - 3
    assert all(s["data"] == "\\x00\\x00" and s["length"] == 4 for s in match["strings"])


def test_escaped_text_keeps_printables_and_escapes_the_rest() -> None:
    """Binary matched data becomes readable text without guessing an encoding."""
    assert escape_bytes(b"MZ\x90\x00a\\b\n") == "MZ\\x90\\x00a\\\\b\\x0a"


def test_default_worker_rules_leave_the_format_rules_to_the_dispatcher(
    windows_pe: bytes, format_samples: Dict[str, bytes]
) -> None:
    """Out of the box the worker uses worker.yar only: a format rule's match is reported once,
    in the dispatcher's meta, not again as a worker result (and is compiled once)."""
    samples = {**format_samples, "windows pe": windows_pe}
    for name, content in samples.items():
        dispatched = dispatch(content)
        assert dispatched.meta, f"{name}: no dispatch rule matched"
        namespaces = {m["namespace"] for m in worker_results(content)["matches"]}
        assert namespaces <= {"worker"}, name


def test_default_worker_rules_flag_pdf_javascript(format_samples: Dict[str, bytes]) -> None:
    """The shipped indicator rules flag a PDF that runs JavaScript when opened."""
    results = worker_results(format_samples["pdf"])
    rules = {m["rule"] for m in results["matches"]}
    assert rules == {"pdf_javascript", "pdf_automatic_action"}


def test_no_match_gives_an_empty_list(tmp_path: Path) -> None:
    """Content that matches nothing still gets a result: an empty match list."""
    rules = write_rules(tmp_path, "one.yar", MAGIC_RULE)
    assert worker_results(b"plain text", worker_rules=str(rules)) == {"matches": []}


def test_results_serialise_to_json(format_samples: Dict[str, bytes]) -> None:
    """The whole response, yara results included, is JSON."""
    with make_stoq(always_dispatch=["yara"]) as stoq:
        response = stoq.scan(format_samples["pdf"])
    data = json.loads(str(response))
    assert data["results"][0]["workers"][0]["yara"]["matches"]


# -- dispatcher --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "rule", "workers"),
    [
        ("zip", "zip_archive", ["decompress"]),
        ("ooxml", "ooxml_document", ["decompress", "ooxml", "olevba"]),
        ("7z", "sevenzip_archive", ["decompress"]),
        ("gzip", "gzip_compressed", ["decompress"]),
        ("bzip2", "bzip2_compressed", ["decompress"]),
        ("xz", "xz_compressed", ["decompress"]),
        ("lzma", "lzma_compressed", ["decompress"]),
        ("tar", "tar_archive", ["decompress"]),
        ("cpio", "cpio_archive", ["decompress"]),
        ("ar", "ar_archive", ["decompress"]),
        ("iso9660", "iso9660_image", ["iso"]),
        ("pe", "pe_executable", ["pe"]),
        ("elf", "elf_executable", ["elf"]),
        ("pdf", "pdf_document", ["pdf"]),
        ("rtf", "rtf_document", ["rtf"]),
        ("email", "email_message", ["email"]),
    ],
)
def test_default_dispatch_rules_recognise_each_format(
    format_samples: Dict[str, bytes], kind: str, rule: str, workers: List[str]
) -> None:
    """Each real sample is identified (type in the meta) and archives go to decompress;
    payloads of 1 KiB or more also go to carve and fuzzyhash."""
    response = dispatch(format_samples[kind])
    assert response.meta[rule]["type"] == kind
    if len(format_samples[kind]) >= 1024:
        workers = [*workers, "carve", "fuzzyhash"]
    assert response.if_installed == workers
    assert response.plugin_names == []
    assert response.errors == []


@pytest.mark.parametrize(
    ("kind", "rule", "workers"),
    [
        ("lzma-unusual", "lzma_alone_unusual_header", ["decompress"]),
        ("macho-fat", "macho_fat_binary", ["macho", "carve", "fuzzyhash"]),
        ("javascript", "javascript_source", ["javascript"]),
    ],
)
def test_wave2_rules_recognise_what_libmagic_names_weakly(
    format_samples: Dict[str, bytes], kind: str, rule: str, workers: List[str]
) -> None:
    """Raw LZMA with properties 0x12 and a 96 KiB dictionary, a real fat dylib and a script."""
    response = dispatch(format_samples[kind])
    assert rule in response.meta
    assert response.if_installed == workers


def test_every_payload_of_1_kib_goes_to_carve_and_fuzzyhash() -> None:
    """The size rule says why carve and fuzzyhash ran; smaller payloads are left alone."""
    response = dispatch(b"\x01" * 1024)
    assert response.meta["payload_above_minimum_size"]["type"] == "any"
    assert response.if_installed == ["carve", "fuzzyhash"]
    assert dispatch(b"\x01" * 1023).meta == {}


@pytest.mark.parametrize(
    "content",
    [
        b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\x00" * 200,  # a Java class file, version 52
        b"<html><script>var a = 1; function f() { eval(a); }</script></html>",
        b"\x00\x00\x10\x00\x00" + b"\x00" * 200,  # zeros: an empty LZMA size is no stream
    ],
    ids=["java-class", "html", "zeros"],
)
def test_wave2_rules_leave_lookalikes_alone(content: bytes) -> None:
    """A Java class (CAFEBABE too), HTML with a script, and zeros match none of the new rules."""
    new_rules = {"lzma_alone_unusual_header", "macho_fat_binary", "javascript_source"}
    assert not new_rules & set(dispatch(content).meta)


def test_shipped_dispatch_rules_route_only_if_installed(format_samples: Dict[str, bytes]) -> None:
    """The shipped rules are default routing: every worker they name is if_installed."""
    response = dispatch(format_samples["zip"])
    assert response.plugin_names == []
    assert response.if_installed == ["decompress"]


def test_shipped_routing_to_a_worker_not_installed_is_a_notice_not_an_error(
    format_samples: Dict[str, bytes],
) -> None:
    """Through the engine: an absent worker of the shipped rules is noted in the meta, no Error."""
    with make_stoq(dispatchers=["yara"], plugins={"yara": YaraPlugin}) as stoq:
        response = stoq.scan(format_samples["zip"])
    [result] = response.results
    assert response.errors == []
    assert result.plugins_run["workers"][0] == []
    assert result.dispatch_meta["yara"]["not_installed"] == ["decompress"]
    assert result.dispatch_meta["yara"]["zip_archive"]["type"] == "zip"


def test_user_rules_route_strictly_unless_the_rule_says_if_installed(tmp_path: Path) -> None:
    """Rules of the user's own name required workers; ``if_installed = true`` relaxes one rule."""
    rules = write_rules(
        tmp_path,
        "route.yar",
        'rule strict { meta: plugin = "hash, entropy" condition: true }\n'
        'rule lenient { meta: plugin = "entropy, olevba" if_installed = true condition: true }\n',
    )
    response = dispatch(b"x", dispatch_rules=str(rules))
    assert response.plugin_names == ["hash", "entropy"]
    assert response.if_installed == ["olevba"]


def test_plugin_meta_names_workers_in_order_without_duplicates(tmp_path: Path) -> None:
    """ "a, b" meta on several rules gives an ordered union of worker names."""
    rules = write_rules(
        tmp_path,
        "route.yar",
        'rule first { meta: plugin = "hash, entropy" condition: true }\n'
        'rule second { meta: plugin = "entropy,mimetype" condition: true }\n'
        'rule silent { meta: type = "anything" condition: true }\n',
    )
    response = dispatch(b"x", dispatch_rules=str(rules))
    assert response.plugin_names == ["hash", "entropy", "mimetype"]
    assert response.if_installed == []
    assert response.meta == {
        "first": {"plugin": "hash, entropy"},
        "second": {"plugin": "entropy,mimetype"},
        "silent": {"type": "anything"},
    }


@pytest.mark.parametrize("value", ['"False"', '"false"', "false", '"no"'])
def test_save_false_turns_archiving_off_for_the_payload(tmp_path: Path, value: str) -> None:
    """save = "False" (text or boolean) sets should_archive False on the dispatched payload."""
    rules = write_rules(
        tmp_path, "keep.yar", f"rule secret {{ meta: save = {value} condition: true }}"
    )
    payload = Payload(b"do not keep")
    dispatch(b"", payload, dispatch_rules=str(rules))
    assert payload.payload_meta.should_archive is False


def test_save_true_leaves_archiving_on(tmp_path: Path) -> None:
    """Any other save value does not change the payload's archiving."""
    rules = write_rules(tmp_path, "keep.yar", 'rule normal { meta: save = "True" condition: true }')
    payload = Payload(b"keep")
    dispatch(b"", payload, dispatch_rules=str(rules))
    assert payload.payload_meta.should_archive is True


class RecordingArchiver(ArchiverPlugin):
    """Remembers what it was asked to archive."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.archived: List[bytes] = []

    def archive(self, payload: Payload, request_meta: RequestMeta) -> Optional[ArchiverResponse]:
        self.archived.append(payload.content)
        return ArchiverResponse({"stored": True})


def test_save_false_skips_the_archiver_in_a_real_scan(tmp_path: Path) -> None:
    """Through the engine, a payload matched with save = "False" reaches no archiver."""
    rules = write_rules(
        tmp_path,
        "keep.yar",
        'rule secret { meta: save = "False" strings: $s = "secret" condition: $s }',
    )
    with make_stoq(
        dispatchers=["yara"],
        dest_archivers=["recorder"],
        plugin_opts={"yara": {"dispatch_rules": str(rules)}},
    ) as stoq:
        archiver = stoq.plugins.build("recorder", RecordingArchiver)
        secret = stoq.scan(b"top secret")
        public = stoq.scan(b"public")
    assert archiver.archived == [b"public"]
    assert secret.results[0].dispatch_meta == {"yara": {"secret": {"save": "False"}}}
    assert secret.results[0].plugins_run["archivers"] == []
    assert public.results[0].plugins_run["archivers"] == ["recorder"]


def test_dispatch_through_the_engine_keeps_meta_and_reports_missing_workers(tmp_path: Path) -> None:
    """In a scan, the match meta lands in dispatch_meta and an absent worker is a load error."""
    rules = write_rules(
        tmp_path,
        "route.yar",
        'rule route { meta: type = "text" plugin = "not_installed" condition: true }',
    )
    with make_stoq(
        dispatchers=["yara"], plugin_opts={"yara": {"dispatch_rules": str(rules)}}
    ) as stoq:
        response = stoq.scan(b"anything")
    result = response.results[0]
    assert result.dispatch_meta == {"yara": {"route": {"type": "text", "plugin": "not_installed"}}}
    assert result.plugins_run["workers"][0] == []  # as in v2: only workers that ran are listed
    assert [(e.plugin_name, e.stage) for e in response.errors] == [("not_installed", "load")]


# -- rule files, compilation, cache ------------------------------------------------------


def test_bad_rule_fails_the_load_naming_file_and_line(tmp_path: Path) -> None:
    """A syntax error is a load error whose message names the file and the line."""
    bad = write_rules(
        tmp_path, "broken.yar", "rule ok { condition: true }\n\nrule bad {\n condition: nope }\n"
    )
    assert re.search(
        r"broken\.yar\(4\): undefined identifier \"nope\"", load_error({"dispatch_rules": str(bad)})
    )


def test_worker_rules_compile_at_the_first_worker_call(tmp_path: Path, elf_binary: bytes) -> None:
    """The dispatcher does not pay for the worker's rules: a worker rule that does not compile
    leaves dispatching working and is an error, naming file and line, in the worker's result."""
    bad = write_rules(tmp_path, "broken.yar", "rule bad {\n condition: nope }\n")
    dispatch_rules = write_rules(
        tmp_path, "route.yar", 'rule everything { meta: plugin = "x" condition: true }'
    )
    with make_stoq(
        plugin_opts={"yara": {"worker_rules": str(bad), "dispatch_rules": str(dispatch_rules)}}
    ) as stoq:
        plugin = stoq.load_plugin("yara")
        assert plugin.get_dispatches(Payload(elf_binary), RequestMeta()).plugin_names == ["x"]
        response = stoq.scan(elf_binary, add_start_dispatch=["yara"])
    [error] = response.errors
    assert error.plugin_name == "yara"
    assert re.search(r"broken\.yar\(2\): undefined identifier \"nope\"", error.error)


def test_missing_rule_file_fails_the_load_naming_it(tmp_path: Path) -> None:
    """A rule location that does not exist is named in the load error."""
    assert re.search(
        r"absent\.yar: YARA rule file or folder not found",
        load_error({"worker_rules": str(tmp_path / "absent.yar")}),
    )


def test_a_folder_compiles_every_rule_file_with_its_own_namespace(
    tmp_path: Path, elf_binary: bytes
) -> None:
    """Every .yar/.yara file below a folder is used; other files are ignored."""
    write_rules(tmp_path, "a.yar", "rule same { condition: true }")
    (tmp_path / "sub").mkdir()
    write_rules(tmp_path / "sub", "b.yara", "rule same { condition: true }")
    write_rules(tmp_path, "notes.txt", "rule broken {")
    results = worker_results(elf_binary, worker_rules=str(tmp_path))
    assert [(m["namespace"], m["rule"]) for m in results["matches"]] == [
        ("a", "same"),
        ("sub/b", "same"),
    ]


def test_empty_folder_is_a_clear_load_error(tmp_path: Path) -> None:
    """A folder without rule files would silently match nothing, so it is an error."""
    assert re.search(r"no \.yar or \.yara files", load_error({"worker_rules": str(tmp_path)}))


def test_rules_compile_once_per_process_and_again_after_an_edit(tmp_path: Path) -> None:
    """Two plugin instances share compiled rules; changing a file recompiles it."""
    rules = write_rules(tmp_path, "shared.yar", MAGIC_RULE)
    options = {"yara": {"worker_rules": str(rules), "dispatch_rules": str(rules)}}
    options["yara"]["rules_check_interval"] = 0.2
    with make_stoq(plugin_opts=options) as one, make_stoq(plugin_opts=options) as two:
        one.load_plugin("yara")
        two.load_plugin("yara")
        first = load_rules(str(rules))
        assert load_rules(str(rules)) is first
        write_rules(tmp_path, "shared.yar", "rule changed { condition: true }")
        later = time.time() + 5
        os.utime(rules, (later, later))
        time.sleep(0.3)
        results = two.scan(b"abc", add_start_dispatch=["yara"]).results[0].workers[0]["yara"]
    assert load_rules(str(rules)) is not first
    assert [m["rule"] for m in results["matches"]] == ["changed"]


def test_rule_files_are_looked_at_again_only_after_the_check_interval(tmp_path: Path) -> None:
    """Between checks the compiled rules are used without touching the files at all."""
    rules = write_rules(tmp_path, "edited.yar", "rule before { condition: true }")
    options = {"worker_rules": str(rules), "dispatch_rules": str(rules)}
    with make_stoq(plugin_opts={"yara": {**options, "rules_check_interval": 3600}}) as stoq:
        plugin = stoq.load_plugin("yara")
        write_rules(tmp_path, "edited.yar", "rule after { condition: true }")
        later = time.time() + 5
        os.utime(rules, (later, later))
        response = stoq.scan(b"abc", add_start_dispatch=["yara"])
        plugin._rules.clear()  # as if the interval had passed
        again = stoq.scan(b"abc", add_start_dispatch=["yara"])
    assert [m["rule"] for m in response.results[0].workers[0]["yara"]["matches"]] == ["before"]
    assert [m["rule"] for m in again.results[0].workers[0]["yara"]["matches"]] == ["after"]


def test_rules_edited_into_an_error_give_an_error_per_scan(tmp_path: Path) -> None:
    """An edit that breaks the rules is reported in each response until it is fixed."""
    rules = write_rules(tmp_path, "broken.yar", "rule fine { condition: true }")
    options = {"worker_rules": str(rules), "dispatch_rules": str(rules)}
    with make_stoq(plugin_opts={"yara": {**options, "rules_check_interval": 0.1}}) as stoq:
        stoq.load_plugin("yara")
        write_rules(tmp_path, "broken.yar", "rule broken { condition: nope }")
        later = time.time() + 5
        os.utime(rules, (later, later))
        time.sleep(0.2)
        response = stoq.scan(b"abc", add_start_dispatch=["yara"])
    assert len(response.errors) == 1
    assert "broken.yar(1)" in response.errors[0].error


def test_slow_rules_time_out_as_an_error_not_an_exception(tmp_path: Path) -> None:
    """Matching past match_timeout gives an error in the response and the scan goes on."""
    slow = write_rules(
        tmp_path,
        "slow.yar",
        "rule slow { condition: for all i in (0..filesize - 1) :"
        " (for all j in (0..filesize - 1) : (uint8(i) != 0xAB or uint8(j) != 0xCD)) }",
    )
    started = time.monotonic()
    with make_stoq(
        always_dispatch=["yara"],
        plugin_opts={"yara": {"worker_rules": str(slow), "match_timeout": 1}},
    ) as stoq:
        response = stoq.scan(b"\x00" * 200_000)
    assert time.monotonic() - started < 15
    assert "yara" not in response.results[0].workers[0]
    [error] = response.errors
    assert (error.plugin_name, error.stage) == ("yara", "scan")
    assert "timed out after 1 s (option match_timeout)" in error.error


@pytest.mark.parametrize("option", ["match_timeout", "max_strings", "max_string_bytes"])
def test_non_positive_numbers_are_rejected(option: str) -> None:
    """Zero would mean "no timeout" or "no strings": refuse it, naming the option."""
    assert re.search(f"option '{option}' must be a positive number", load_error({option: 0}))


def test_ini_style_text_options_are_accepted(tmp_path: Path, elf_binary: bytes) -> None:
    """Options from an INI file arrive as text and still work."""
    config = tmp_path / "stoq.cfg"
    rules = write_rules(tmp_path, "linux.yar", MAGIC_RULE)
    config.write_text(f"[yara]\nworker_rules = {rules}\nmax_strings = 1\nmatch_timeout = 5\n")
    with make_stoq(config_file=config, always_dispatch=["yara"]) as stoq:
        response = stoq.scan(elf_binary)
    [match] = response.results[0].workers[0]["yara"]["matches"]
    assert len(match["strings"]) == 1 and match["strings_omitted"] >= 1


def test_plugin_class_is_the_entry_point() -> None:
    """The installed entry point ``yara`` loads this class, serving both roles."""
    with make_stoq() as stoq:
        assert isinstance(stoq.load_plugin("yara"), YaraPlugin)


class TestYaraConformance(WorkerConformance, DispatcherConformance):
    """The stoq.testing conformance suite, for both roles, on every format sample."""

    plugin_name = "yara"
    external_plugins = ("decompress",)
    samples = tuple(yara_samples.format_samples().values())


def test_outlook_message_is_routed_to_email_as_well_as_ole() -> None:
    """msg_parser's complete.msg (a real Outlook message): email, beside the OLE workers."""
    content = pinned_sample(
        "msg_parser-1.2.0.tar.gz",
        "msg_parser-1.2.0/tests/files/complete.msg",
        "e50d12b8f3e75c0f30596ab05c6a026da0265020385acbe6fd01b35987f0c9c3",
    ).read_bytes()
    response = dispatch(content)
    assert response.meta["outlook_message"]["type"] == "outlook-msg"
    assert response.meta["ole_compound_file"]["plugin"] == "ole,olevba"
    # 1 KiB or more: carve (behind the OLE host) and fuzzyhash too, from payload_above_minimum_size.
    assert response.if_installed == ["ole", "olevba", "email", "carve", "fuzzyhash"]


def test_hostile_corpus(format_samples: Dict[str, bytes]) -> None:
    """Hostile variants of every format sample, and inputs that make many rules' strings match
    at every offset, end in a result or an Error within budget (yara as a worker)."""
    from stoq.testing import check_hostile_corpus

    extra = {
        "mz-everywhere": b"MZ" * 500_000,
        "pe-headers-everywhere": (b"MZ" + b"\x00" * 58 + b"\x40\x00\x00\x00PE\x00\x00") * 30_000,
        "script-words": b"eval(unescape(ActiveXObject(WScript.Shell " * 40_000,
        "zip-headers": b"PK\x03\x04" * 250_000,
    }
    samples = [format_samples[name] for name in sorted(format_samples)][:12]
    outcomes = check_hostile_corpus("yara", samples, extra=extra, per_kind=2)
    assert set(extra) <= set(outcomes) and len(outcomes) > 100


def _forget_compiled() -> None:
    """As a new process would start: no rules compiled in this one."""
    compiler._cache.clear()


def _matches(rules: Any, content: bytes) -> List[Any]:
    return [
        (m.namespace, m.rule, m.tags, m.meta, str(m.strings)) for m in rules.match(data=content)
    ]


def test_kept_compiled_rules_match_as_compiled_ones(
    format_samples: Dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second process loads the shipped dispatch rules it kept instead of compiling them,
    and they match every format sample (and /bin/ls) exactly as freshly compiled rules do."""
    location = str(SHIPPED_DISPATCH)
    _forget_compiled()
    fresh = load_rules(location, keep_compiled=False)
    _forget_compiled()
    load_rules(location)
    assert len(list(compiler.cache_folder().glob("*.yarc"))) >= 1
    _forget_compiled()
    monkeypatch.setattr(compiler.yara, "compile", None)  # loading must not compile
    kept = load_rules(location)
    assert kept is not fresh
    samples = [*format_samples.values(), Path("/bin/ls").read_bytes(), b"", b"MZ" + bytes(500)]
    for content in samples:
        assert _matches(kept, content) == _matches(fresh, content)
    _forget_compiled()


def test_a_kept_file_that_cannot_be_loaded_means_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged file is compiled over; the next process loads the new one."""
    rules = write_rules(tmp_path, "r.yar", MAGIC_RULE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _forget_compiled()
    load_rules(str(rules))
    (kept,) = compiler.cache_folder().glob("*.yarc")
    for damage in (b"", b"YARA" + bytes(40), kept.read_bytes()[:100]):
        kept.write_bytes(damage)
        _forget_compiled()
        assert [m.rule for m in load_rules(str(rules)).match(data=b"\x7fELF")] == ["elf_magic"]
        assert yara.load(str(kept)).match(data=b"\x7fELF")[0].rule == "elf_magic"
    _forget_compiled()


def test_compiled_rules_are_not_kept_when_that_would_not_be_safe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rules with include (the included file is not in the digest), a folder others may write,
    a cache folder that cannot be made, or the option off: compiled every time, no error."""
    other = write_rules(tmp_path, "other.yar", MAGIC_RULE)
    including = write_rules(tmp_path, "inc.yar", f'include "{other}"\nrule x {{ condition: true }}')
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    _forget_compiled()
    assert {m.rule for m in load_rules(str(including)).match(data=b"\x7fELF")} == {"x", "elf_magic"}
    assert not compiler.cache_folder().exists()
    compiler.cache_folder().mkdir(parents=True)
    compiler.cache_folder().chmod(0o777)
    _forget_compiled()
    load_rules(str(other))
    assert list(compiler.cache_folder().glob("*")) == []
    monkeypatch.setenv("XDG_CACHE_HOME", str(other))  # a file: no folder can be made below it
    _forget_compiled()
    assert load_rules(str(other)).match(data=b"\x7fELF")[0].rule == "elf_magic"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "off"))
    _forget_compiled()
    assert worker_results(b"\x7fELF", worker_rules=str(other), keep_compiled_rules=False)
    assert not (tmp_path / "off").exists()
    _forget_compiled()

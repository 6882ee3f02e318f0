"""The conformance suite passes a sound plugin and fails broken ones with readable messages.

Each test writes plugins and a real entry point (a dist-info folder on sys.path, as pip would
leave) into a pytester folder, then runs a one-line conformance subclass against them.
"""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

PLUGINS = """
import datetime
import time
from stoq import DispatcherResponse, ExtractedPayload, Payload, PayloadMeta, WorkerResponse
from stoq.plugins import DispatcherPlugin, ProviderPlugin, WorkerPlugin


class Sound(WorkerPlugin):
    DEFAULT_OPTIONS = {"limit": 4}

    def scan(self, payload, request_meta):
        head = payload.content[: self.plugin_opts["limit"]]
        child = ExtractedPayload(head, PayloadMeta(extra_data={"from": "head"}))
        return WorkerResponse({"size": len(payload.content)}, extracted=[child])


class EmptyRaiser(WorkerPlugin):
    def scan(self, payload, request_meta):
        if not payload.content:
            raise ValueError("nothing to scan")
        return WorkerResponse({"size": len(payload.content)})


class NotJson(WorkerPlugin):
    def scan(self, payload, request_meta):
        return WorkerResponse({"digest": b"\\x00\\x01", "when": datetime.date(2024, 1, 2)})


class Sleeper(WorkerPlugin):
    DEFAULT_OPTIONS = {"timeout": 0.2}

    def scan(self, payload, request_meta):
        end = time.monotonic() + 2
        while time.monotonic() < end:
            time.sleep(0.01)


class WrongType(WorkerPlugin):
    def scan(self, payload, request_meta):
        return {"size": 1}


class BadChild(WorkerPlugin):
    def scan(self, payload, request_meta):
        return WorkerResponse({}, extracted=[ExtractedPayload(None)])


class NeedsOption(WorkerPlugin):
    def start(self):
        if "rules" not in self.plugin_opts:
            raise FileNotFoundError("no rules option")

    def scan(self, payload, request_meta):
        return WorkerResponse({"rules": self.plugin_opts["rules"]})


class ToNowhere(DispatcherPlugin):
    def get_dispatches(self, payload, request_meta):
        return DispatcherResponse(["sound", "nowhere"])


class Forever(ProviderPlugin):
    # Listens far longer than the suite waits (0.3 s), and still ends: no thread left behind
    # for later tests (a forked-consumer test sees every thread of the process).
    def ingest(self, queue):
        time.sleep(1.0)


class Stubborn(ProviderPlugin):
    # Retries a refused put for far longer than the suite waits (0.5 s), then gives up.

    def ingest(self, queue):
        for _ in range(100):
            try:
                queue.put(PAYLOAD)
                return
            except BaseException:
                time.sleep(0.01)


class Steady(ProviderPlugin):
    # Queues payloads until stopped, then cleans up.

    def ingest(self, queue):
        try:
            for _ in range(3):
                queue.put(PAYLOAD)
        finally:
            self.cleaned = True


PAYLOAD = Payload(b"queued")
"""

ENTRY_POINTS = {
    "sound": "Sound",
    "empty_raiser": "EmptyRaiser",
    "not_json": "NotJson",
    "sleeper": "Sleeper",
    "wrong_type": "WrongType",
    "bad_child": "BadChild",
    "needs_option": "NeedsOption",
    "to_nowhere": "ToNowhere",
    "forever": "Forever",
    "stubborn": "Stubborn",
    "steady": "Steady",
}


@pytest.fixture
def run_suite(pytester: pytest.Pytester):
    """Install the plugins above as a distribution, then run a test module against them."""
    module = f"conformance_plugins_{abs(hash(pytester.path)) % 10**8}"
    pytester.makepyfile(**{module: PLUGINS})
    info = pytester.path / "conformance_plugins-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: conformance-plugins\nVersion: 1.0\n"
    )
    lines = [f"{name} = {module}:{cls}" for name, cls in ENTRY_POINTS.items()]
    (info / "entry_points.txt").write_text("[stoq.plugins]\n" + "\n".join(lines) + "\n")
    pytester.syspathinsert()

    def run(source: str, *args: str) -> pytest.RunResult:
        pytester.makepyfile(test_suite="from stoq.testing import *\n" + textwrap.dedent(source))
        # hypothesis (installed with the test extra) re-imports itself in every inner run: 2s each.
        return pytester.runpytest(
            "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-rN", *args
        )

    run.folder = pytester.path  # type: ignore[attr-defined]
    return run


def test_a_sound_plugin_passes_every_check(run_suite) -> None:
    """Discovery, default load, and one scan per input (4 edge cases + 1 sample) all pass."""
    result = run_suite(
        """
        class TestSound(WorkerConformance):
            plugin_name = "sound"
            samples = [b"real sample bytes"]
        """
    )
    result.assert_outcomes(passed=7)
    result.stdout.no_fnmatch_line("*sample-0*FAILED*")


def test_each_input_is_its_own_test_named_after_it(run_suite) -> None:
    """Ids say which input: the four edge cases, then samples by file name or position."""
    (run_suite.folder / "data").mkdir()
    (run_suite.folder / "data" / "real.bin").write_bytes(b"MZ")
    result = run_suite(
        """
        class TestSound(WorkerConformance):
            plugin_name = "sound"
            samples = ["data/real.bin", b"inline"]
        """,
        "--collect-only",
        "-q",
    )
    result.stdout.fnmatch_lines(
        [
            "test_suite.py::TestSound::test_scan[[]empty[]]",
            "test_suite.py::TestSound::test_scan[[]one-byte[]]",
            "test_suite.py::TestSound::test_scan[[]random-64KiB[]]",
            "test_suite.py::TestSound::test_scan[[]large-8MiB[]]",
            "test_suite.py::TestSound::test_scan[[]sample-real.bin[]]",
            "test_suite.py::TestSound::test_scan[[]sample-1[]]",
        ]
    )


def test_raising_on_empty_input_fails_only_that_input(run_suite) -> None:
    """The message names the plugin, the input, the exception and the plugin's own line."""
    result = run_suite(
        """
        class TestEmptyRaiser(WorkerConformance):
            plugin_name = "empty_raiser"
        """
    )
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*TestEmptyRaiser.test_scan?empty?*",
            "plugin 'empty_raiser': scan() on input 'empty' (0 bytes) raised ValueError: nothing to scan",
            '*File "*conformance_plugins_*.py", line *, in scan',
            '*raise ValueError("nothing to scan")',
        ]
    )


def test_results_that_json_cannot_encode_fail_with_the_offending_key(run_suite) -> None:
    """json.dumps without a default hook must work; the first bad value is named."""
    result = run_suite(
        """
        class TestNotJson(WorkerConformance):
            plugin_name = "not_json"
        """
    )
    result.assert_outcomes(passed=2, failed=4)
    assert (
        "plugin 'not_json': scan() on input 'one-byte' (1 byte): results['digest'] is a bytes"
        " (b'\\x00\\x01'), which json.dumps cannot encode; results must be plain JSON types"
    ) in result.stdout.str()


def test_sleeping_past_the_timeout_fails_with_the_limit(run_suite) -> None:
    """The plugin is stopped at its own timeout option, and the message says so."""
    result = run_suite(
        """
        class TestSleeper(WorkerConformance):
            plugin_name = "sleeper"
        """
    )
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines(
        [
            "plugin 'sleeper': scan() on input 'random-64KiB' (65536 bytes) did not finish within its 0.2s timeout*"
        ]
    )


def test_the_wrong_response_type_is_named(run_suite) -> None:
    """A dict instead of a WorkerResponse fails with both type names."""
    result = run_suite(
        """
        class TestWrongType(WorkerConformance):
            plugin_name = "wrong_type"
        """
    )
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*scan() on input 'empty' (0 bytes): returned dict ({'size': 1}), expected WorkerResponse or None"
        ]
    )


def test_an_extracted_payload_without_content_fails(run_suite) -> None:
    """Extracted payloads must carry bytes."""
    result = run_suite(
        """
        class TestBadChild(WorkerConformance):
            plugin_name = "bad_child"
        """
    )
    result.assert_outcomes(passed=2, failed=4)
    assert (
        "plugin 'bad_child': scan() on input 'empty' (0 bytes): extracted[0].content is a NoneType,"
        " expected bytes"
    ) in result.stdout.str()


def test_a_plugin_that_needs_options_to_start_fails_the_default_load(run_suite) -> None:
    """Loading with no options is a check of its own; the start() error is quoted."""
    result = run_suite(
        """
        class TestNeedsOption(WorkerConformance):
            plugin_name = "needs_option"
            plugin_opts = {"rules": "given"}
            large_input_size = 1024
        """
    )
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        ["plugin 'needs_option': could not be started: FileNotFoundError: no rules option"]
    )


def test_dispatching_to_a_plugin_that_does_not_exist_fails_unless_declared(run_suite) -> None:
    """'sound' is installed, 'nowhere' is not: failing until external_plugins names it."""
    result = run_suite(
        """
        class TestUndeclared(DispatcherConformance):
            plugin_name = "to_nowhere"

        class TestDeclared(DispatcherConformance):
            plugin_name = "to_nowhere"
            external_plugins = {"nowhere"}
        """
    )
    result.assert_outcomes(passed=2 + 6, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*get_dispatches() on input 'empty' (0 bytes): names plugin(s) 'nowhere' that are not installed*"
        ]
    )


def test_if_installed_names_need_not_exist_but_must_be_a_list(run_suite) -> None:
    """Default routing may name absent plugins; a text instead of a list fails every input."""
    result = run_suite(
        """
        class TestOptionalList(DispatcherConformance):
            plugin_name = "simple_dispatcher"
            plugin_opts = {"workers": [], "if_installed": ["nowhere"]}
            large_input_size = 16

        class TestOptionalText(DispatcherConformance):
            plugin_name = "simple_dispatcher"
            plugin_opts = {"workers": [], "if_installed": "nowhere"}
            large_input_size = 16
        """
    )
    result.assert_outcomes(passed=6 + 2, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*get_dispatches() on input 'empty' (0 bytes): if_installed is 'nowhere', expected a list*"
        ]
    )


def test_missing_entry_point_and_wrong_role_are_explained(run_suite) -> None:
    """A name nobody installed, and a worker tested as a dispatcher, each fail discovery."""
    result = run_suite(
        """
        class TestGhost(WorkerConformance):
            plugin_name = "ghost"
            large_input_size = 16

        class TestMisfiled(DispatcherConformance):
            plugin_name = "sound"
            large_input_size = 16
        """
    )
    result.assert_outcomes(passed=1, failed=11)  # the misfiled worker still loads
    text = result.stdout.str()
    assert (
        "plugin 'ghost': no entry point named 'ghost' in group 'stoq.plugins' (installed: " in text
    )
    assert "sound, " in text.split("plugin 'ghost': no entry point")[1]
    assert "plugin 'sound': Sound serves ['worker'] but is tested as dispatcher" in text
    assert "plugin 'sound': has no get_dispatches() (its roles are ['worker'])" in text


def test_a_provider_that_never_returns_fails_unless_endless(run_suite) -> None:
    """ingest() must return within ingest_seconds, unless the test says it listens forever."""
    result = run_suite(
        """
        class TestForever(ProviderConformance):
            plugin_name = "forever"
            ingest_seconds = 0.3

        class TestListener(ProviderConformance):
            plugin_name = "forever"
            ingest_seconds = 0.3
            endless = True
        """
    )
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(
        ["plugin 'forever': ingest() did not return within 0.3s; set endless = True*"]
    )


def test_a_provider_must_end_when_run_mode_stops(run_suite) -> None:
    """Once put raises ProviderStopped, ingest must end; one that retries is named."""
    result = run_suite(
        """
        class TestStubborn(ProviderConformance):
            plugin_name = "stubborn"
            ingest_seconds = 0.5

        class TestSteady(ProviderConformance):
            plugin_name = "steady"
            ingest_seconds = 0.5
        """
    )
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_ingest_ends_when_run_mode_stops*",
            "*plugin 'stubborn': ingest() went on after put raised ProviderStopped (*refused)*",
        ]
    )


def test_the_base_classes_alone_are_not_collected(run_suite) -> None:
    """Importing the suites (as `from stoq.testing import *` does) adds no tests."""
    result = run_suite("")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED

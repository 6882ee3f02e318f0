"""The conformance suite's shared half: finding the plugin, loading it, calling it safely.

A plugin's test module subclasses one role class per role (``stoq.testing._roles``) and sets
``plugin_name`` and ``samples``. Only subclasses outside ``stoq.testing`` are collected.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any, ClassVar, Collection, Dict, List, NoReturn, Optional, Sequence

import pytest

from stoq.core import Stoq
from stoq.deadline import call_with_deadline
from stoq.exceptions import StoqPluginException
from stoq.plugins import BasePlugin, roles_of
from stoq.sources import ENTRY_POINT_GROUP, discover
from stoq.testing._build import make_stoq
from stoq.testing._checks import json_problem
from stoq.testing._inputs import MIB, conformance_inputs

__all__ = ["PluginConformance"]

#: Frames of a plugin's traceback kept in a failure message.
TRACEBACK_FRAMES = 8
#: Where a test class keeps its Stoq.
_STOQ_KEY = pytest.StashKey[Stoq]()
#: Frames from the core itself are noise in a plugin's traceback.
_CORE_DIR = str(Path(__file__).resolve().parent.parent)


def _plugin_traceback(exc: BaseException) -> str:
    """The frames of ``exc`` that are not the core's (the plugin's own code), most recent last."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_CORE_DIR)
    ]
    return "".join(traceback.format_list(frames[-TRACEBACK_FRAMES:])).rstrip()


class PluginConformance:
    """Checks every plugin must pass, whatever its role."""

    __test__ = False
    #: The entry-point name in group ``stoq.plugins``.
    plugin_name: ClassVar[str] = ""
    #: Options for the conformance runs (``test_loads_with_default_options`` uses none).
    plugin_opts: ClassVar[Dict[str, Any]] = {}
    #: Real inputs: bytes, or file paths (relative ones start at the test module's folder).
    samples: ClassVar[Sequence[Any]] = ()
    #: Names the plugin may dispatch to that another distribution provides.
    external_plugins: ClassVar[Collection[str]] = ()
    #: Size of the "large" input.
    large_input_size: ClassVar[int] = 8 * MIB
    #: The role a concrete conformance class checks (set by each role class).
    role: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__test__ = not cls.__module__.startswith("stoq.testing")

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """One test per input for every test that takes ``conformance_input``."""
        if "conformance_input" not in metafunc.fixturenames:
            return
        cls = metafunc.cls
        base = Path(str(metafunc.module.__file__)).parent
        inputs = conformance_inputs(cls.samples, base, cls.large_input_size)
        metafunc.parametrize("conformance_input", inputs, ids=[i.label for i in inputs])

    @pytest.fixture
    def conformance_stoq(self, request: pytest.FixtureRequest) -> Stoq:
        """One Stoq per test class (the plugin instance sees every input, as in production)."""
        self._require_name()
        owner = request.node.getparent(pytest.Class) or request.node
        stoq: Optional[Stoq] = owner.stash.get(_STOQ_KEY, None)
        if stoq is None:
            stoq = make_stoq(plugin_opts={self.plugin_name: dict(self.plugin_opts)})
            owner.stash[_STOQ_KEY] = stoq
            owner.addfinalizer(stoq.close)
        return stoq

    # -- helpers for the role classes ------------------------------------------------------

    @classmethod
    def _roles(cls) -> List[str]:
        return [klass.__dict__["role"] for klass in cls.__mro__ if klass.__dict__.get("role")]

    def _require_name(self) -> None:
        if not self.plugin_name:
            pytest.fail(
                f"{type(self).__name__}: set plugin_name to the plugin's entry-point name",
                pytrace=False,
            )

    def fail(self, what: str) -> NoReturn:
        """Fail the test with a message that starts with the plugin's name."""
        pytest.fail(f"plugin {self.plugin_name!r}: {what}", pytrace=False)

    def load(self, stoq: Stoq) -> BasePlugin:
        try:
            return stoq.load_plugin(self.plugin_name)
        except StoqPluginException as exc:
            text = str(exc)
            prefix = f"plugin {self.plugin_name!r}"
            pytest.fail(
                text if text.startswith(prefix) else f"{prefix}: could not be loaded: {text}",
                pytrace=False,
            )

    def call(self, stoq: Stoq, method: str, where: str, *args: Any) -> Any:
        """Call ``method`` within the plugin's timeout; a raise or a late finish fails the test."""
        plugin = self.load(stoq)
        function = getattr(plugin, method, None)
        if function is None:
            self.fail(f"has no {method}() (its roles are {roles_of(type(plugin))})")
        timeout = stoq.timeout_for(self.plugin_name)
        started = time.monotonic()
        raised = None
        try:
            result, timed_out = call_with_deadline(timeout, function, *args)
        except Exception as exc:  # noqa: BLE001 - any plugin failure is the finding; reported below
            raised = exc
        if raised is not None:
            self.fail(
                f"{method}() on {where} raised {type(raised).__name__}: {raised}\n"
                f"{_plugin_traceback(raised)}"
            )
        if timed_out:
            self.fail(
                f"{method}() on {where} did not finish within its {timeout:g}s timeout"
                f" (stopped after {time.monotonic() - started:.1f}s); set the 'timeout' option"
                " if it needs longer, or make it faster"
            )
        return result

    def check(self, problem: Any, method: str, where: str) -> None:
        if problem:
            self.fail(f"{method}() on {where}: {problem}")

    # -- checks every plugin passes ---------------------------------------------------------

    def test_discoverable_through_entry_point(self) -> None:
        """The name is an entry point in ``stoq.plugins`` whose class serves the tested roles."""
        self._require_name()
        sources = discover().get(self.plugin_name, [])
        if not sources:
            installed = ", ".join(sorted(discover())) or "none"
            self.fail(
                f"no entry point named {self.plugin_name!r} in group {ENTRY_POINT_GROUP!r}"
                f" (installed: {installed}); declare it under"
                f' [project.entry-points."{ENTRY_POINT_GROUP}"] and install the distribution'
            )
        if len(sources) > 1:
            self.fail("is provided twice: " + " and ".join(s.describe() for s in sources))
        source = sources[0]
        if source.entry_point is None:
            self.fail(f"comes from a {source.describe()}, not an entry point")
        try:
            plugin_class = source.entry_point.load()
        except Exception as exc:  # noqa: BLE001 - whatever the import raises is reported
            self.fail(
                f"entry point {source.location} cannot be imported: {type(exc).__name__}: {exc}"
            )
        if not (isinstance(plugin_class, type) and issubclass(plugin_class, BasePlugin)):
            self.fail(f"entry point {source.location} is {plugin_class!r}, not a stoq plugin class")
        missing = [r for r in self._roles() if r not in roles_of(plugin_class)]
        if missing:
            self.fail(
                f"{plugin_class.__name__} serves {roles_of(plugin_class)} but is tested as"
                f" {', '.join(missing)}: subclass the matching stoq.plugins base class"
            )

    def test_loads_with_default_options(self) -> None:
        """With no options at all the plugin loads and starts; its defaults are plain types."""
        self._require_name()
        stoq = make_stoq()
        try:
            plugin = self.load(stoq)
            defaults = getattr(type(plugin), "DEFAULT_OPTIONS", {}) or {}
            problem = json_problem(dict(defaults), "DEFAULT_OPTIONS")
            if problem:
                self.fail(
                    f"{problem} (options are written in TOML/INI files, so defaults must be too)"
                )
        finally:
            stoq.close()

"""YARA as a worker (matches as results) and as a dispatcher (rules that choose workers)."""

from __future__ import annotations

import math
import os
import time
from configparser import ConfigParser

import yara

from stoq.data_classes import DispatcherResponse, Payload, RequestMeta, WorkerResponse
from stoq.plugins import DispatcherPlugin, WorkerPlugin

from .compiler import RuleLoadError, load_rules, rule_files
from .matches import dispatch_names, is_false, match_to_dict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Dict, List, Optional, Tuple

__all__ = ["RULES_DIR", "SHIPPED_DISPATCH", "SHIPPED_WORKER", "YaraPlugin"]

#: The rule sets shipped with the plugin: ``dispatch.yar`` (formats) and ``worker.yar``.
RULES_DIR = os.path.join(os.path.dirname(os.path.realpath(__file__)), "rules")
SHIPPED_DISPATCH = os.path.join(RULES_DIR, "dispatch.yar")
#: The worker's default is the indicator file alone: the format rules' matches are already in
#: ``dispatch_meta``, and the folder would compile them a second time.
SHIPPED_WORKER = os.path.join(RULES_DIR, "worker.yar")


def _positive(options: Dict[str, Any], name: str) -> Any:
    """An option (typed by the core after its default) checked positive: 0 would mean none."""
    value = options[name]
    if value <= 0:
        raise ValueError(f"yara: option {name!r} must be a positive number, got {value!r}")
    return value


class YaraPlugin(WorkerPlugin, DispatcherPlugin):
    """Matches payloads against YARA rules.

    As a worker it reports every match of ``worker_rules``. As a dispatcher it matches
    ``dispatch_rules``: a rule's ``plugin = "a,b"`` meta names workers to run, its other meta
    is kept as dispatch meta, and ``save = "False"`` turns archiving off for the payload.
    A dispatcher's response cannot say "do not archive", so the dispatcher sets
    ``payload.payload_meta.should_archive = False`` on the payload it is given; the engine
    archives after dispatch and reads that flag then.
    """

    #: Forked consumers may share one started instance (compiled rules in memory; rule files are opened only while read).
    fork_safe = True

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "worker_rules": SHIPPED_WORKER,
        "dispatch_rules": SHIPPED_DISPATCH,
        "match_timeout": 30.0,
        "max_strings": 50,
        "max_string_bytes": 64,
        "rules_check_interval": 5.0,
        "keep_compiled_rules": True,
    }

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(config, plugin_opts)
        options = self.plugin_opts  # merged with the defaults and typed by the core
        self.worker_rules = str(options["worker_rules"])
        self.dispatch_rules = str(options["dispatch_rules"])
        #: The shipped rules are default routing: workers they name run only if installed.
        self.shipped_dispatch_rules = os.path.realpath(self.dispatch_rules) == SHIPPED_DISPATCH
        # yara takes whole seconds; round up so a fractional setting never becomes 0 (none).
        self.match_timeout = math.ceil(_positive(options, "match_timeout"))
        self.max_strings = _positive(options, "max_strings")
        self.max_string_bytes = _positive(options, "max_string_bytes")
        self.rules_check_interval = _positive(options, "rules_check_interval")
        self.keep_compiled_rules = bool(options["keep_compiled_rules"])
        #: location → (monotonic time the files were last looked at, compiled rules)
        self._rules: Dict[str, Tuple[float, Any]] = {}

    def start(self) -> None:
        """Compile the dispatch rules now, so a bad rule fails the load naming its file and
        line; the worker's rules must exist now and are compiled on the first worker call
        (~8 ms that the dispatcher role alone, as in the default profile, never needs)."""
        self._rules[self.dispatch_rules] = (
            time.monotonic(),
            load_rules(self.dispatch_rules, self.keep_compiled_rules),
        )
        rule_files(self.worker_rules)

    def _current_rules(self, location: str) -> Any:
        """The compiled rules, looking for edited rule files at most every few seconds.

        Finding and ``stat``-ing the files costs several times a small payload's match, so
        between checks the rules compiled last are used as they are.
        """
        now = time.monotonic()
        checked, rules = self._rules.get(location, (-math.inf, None))
        if rules is None or now - checked >= self.rules_check_interval:
            rules = load_rules(location, self.keep_compiled_rules)
            self._rules[location] = (now, rules)
        return rules

    def _match(self, location: str, content: bytes, fast: bool) -> Tuple[List[Any], List[str]]:
        """Matches of the rules at ``location``, or an error text for a timeout or failure."""
        try:
            rules = self._current_rules(location)
        except RuleLoadError as exc:  # the files changed into rules that do not compile
            return [], [f"yara: {exc}"]
        try:
            return rules.match(data=content, timeout=self.match_timeout, fast=fast), []
        except yara.TimeoutError:
            timeout = f"timed out after {self.match_timeout} s (option match_timeout)"
            return [], [f"yara: matching {location} {timeout}"]
        except yara.Error as exc:
            return [], [f"yara: matching {location} failed: {exc}"]

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        matches, errors = self._match(self.worker_rules, payload.content, fast=False)
        if errors:
            return WorkerResponse(errors=errors)
        results = [match_to_dict(m, self.max_strings, self.max_string_bytes) for m in matches]
        return WorkerResponse({"matches": results})

    def get_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DispatcherResponse]:
        matches, errors = self._match(self.dispatch_rules, payload.content, fast=True)
        meta: Dict[str, Dict[str, Any]] = {}
        for match in matches:
            key = match.rule if match.rule not in meta else f"{match.namespace}.{match.rule}"
            meta[key] = dict(match.meta)
            if "save" in match.meta and is_false(match.meta["save"]):
                payload.payload_meta.should_archive = False
        required, optional = dispatch_names(matches, all_optional=self.shipped_dispatch_rules)
        return DispatcherResponse(required, meta, errors, if_installed=optional)

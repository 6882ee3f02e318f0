"""``Stoq``: the object applications build — settings, plugins, and the request entry points."""

from __future__ import annotations

import os
import threading

from stoq.cache import open_cache
from stoq.config import find_config_file, read_config_file
from stoq.data_classes import Error, Payload, PayloadMeta, RequestMeta, StoqResponse
from stoq.exceptions import StoqException
from stoq.invoke import PluginCalls
from stoq.loader import PluginManager
from stoq.log import get_logger
from stoq.plugin_manager import StoqPluginManager
from stoq.plugins import BasePlugin
from stoq.ratelimit import RateLimiter
from stoq.request import Outcome, RequestArgs, decorate, payload_for_item, run_request, save
from stoq.settings import (
    PLUGIN_LIST_KEYS,
    SETTING_KEYS,
    CoreSettings,
    load_profile,
    resolve_settings,
    setting_value,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

__all__ = ["Stoq"]

log = get_logger("stoq")


class _Setting:
    """A v2 attribute of ``Stoq`` (``stoq.max_recursion``) read from and written to its setting."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, stoq: Any, owner: Optional[type] = None) -> Any:
        return self if stoq is None else getattr(stoq.settings, self.name)

    def __set__(self, stoq: Any, value: Any) -> None:
        setattr(stoq.settings, self.name, value)


def _role_list(key: str) -> property:
    """A role list read from and written to ``settings``: the one place it lives, which run
    mode's consumer processes are rebuilt from."""

    def get(self: Stoq) -> List[str]:
        value: List[str] = getattr(self.settings, key)
        return value

    def set_(self: Stoq, value: Any) -> None:
        setattr(self.settings, key, setting_value(key, value, "attribute"))

    return property(get, set_, doc=f"``settings.{key}`` (setting it checks and de-duplicates).")


class Stoq(StoqPluginManager):
    """Scans payloads through the configured plugins.

    Every keyword argument beats the configuration file, which beats the profile (if any),
    which beats the built-in defaults. ``log_dir``/``log_level`` are recorded but never touch
    logging handlers: applications call ``stoq.configure_logging`` once. Plugin folders are
    searched as in v2: ``plugin_dir_list``, then ``<base_dir>/plugins`` and
    ``$STOQ_HOME/plugins``.
    """

    # v2's public attributes, kept in step with ``settings``.
    max_queue = _Setting()
    max_recursion = _Setting()
    max_dispatch_passes = _Setting()

    @property
    def log(self) -> logging.Logger:
        """v2's ``stoq.log``: the ``stoq`` logger (``logging`` is imported when it is read)."""
        return log.logger

    providers = _role_list("providers")
    source_archivers = _role_list("source_archivers")
    dest_archivers = _role_list("dest_archivers")
    connectors = _role_list("connectors")
    dispatchers = _role_list("dispatchers")
    deep_dispatchers = _role_list("deep_dispatchers")
    decorators = _role_list("decorators")
    always_dispatch = _role_list("always_dispatch")

    def __init__(
        self,
        base_dir: Optional[Union[str, os.PathLike[str]]] = None,
        config_file: Optional[Union[str, os.PathLike[str]]] = None,
        log_dir: Optional[str] = None,
        log_level: Optional[str] = None,
        plugin_dir_list: Optional[List[str]] = None,
        plugin_opts: Optional[Mapping[str, Mapping[str, Any]]] = None,
        providers: Optional[List[str]] = None,
        provider_consumers: Optional[int] = None,
        source_archivers: Optional[List[str]] = None,
        dest_archivers: Optional[List[str]] = None,
        connectors: Optional[List[str]] = None,
        dispatchers: Optional[List[str]] = None,
        deep_dispatchers: Optional[List[str]] = None,
        decorators: Optional[List[str]] = None,
        always_dispatch: Optional[List[str]] = None,
        max_queue: Optional[int] = None,
        max_recursion: Optional[int] = None,
        max_dispatch_passes: Optional[int] = None,
        max_payloads: Optional[int] = None,
        max_total_bytes: Optional[int] = None,
        max_payload_size: Optional[int] = None,
        plugin_timeout: Optional[float] = None,
        consumers: Optional[int] = None,
        profile: Optional[str] = None,
        result_cache: Optional[str] = None,
        result_cache_ttl: Optional[float] = None,
        result_cache_max_bytes: Optional[int] = None,
        result_cache_max_entry_bytes: Optional[int] = None,
    ) -> None:
        explicit = {k: v for k, v in locals().items() if k in SETTING_KEYS}
        if provider_consumers is not None and consumers is None:
            explicit["consumers"] = provider_consumers
        if config_file is None and base_dir is not None:
            for name in ("stoq.toml", "stoq.cfg"):
                if os.path.isfile(os.path.join(base_dir, name)):
                    config_file = os.path.join(base_dir, name)
                    break
        #: Per-plugin options given as the argument (they beat the configuration file).
        self.plugin_opts: Dict[str, Dict[str, Any]] = {
            k: dict(v) for k, v in (plugin_opts or {}).items()
        }
        self.config = read_config_file(find_config_file(config_file))
        profile_file = load_profile(profile) if profile else None
        self.settings: CoreSettings = resolve_settings(
            explicit, self.config, profile_file, profile or ""
        )
        #: The folder v2 called base: its stoq.cfg/stoq.toml and plugins/ are used.
        self.base_dir = None if base_dir is None else os.fspath(base_dir)
        self.plugins = PluginManager(
            self.settings.plugin_dir_list,
            self.config.plugins,
            self.plugin_opts,
            self.settings.plugin_timeout,
            base_dir=self.base_dir,
        )
        self._drop_missing_profile_plugins()
        #: Every plugin call goes through this one object.
        self.calls = PluginCalls(self.plugins)
        self.calls.cache = open_cache(
            self.settings.result_cache,
            self.settings.result_cache_ttl,
            self.settings.result_cache_max_bytes,
            self.settings.result_cache_max_entry_bytes,
        )
        #: Totals over every request of this instance (each request reports its own Outcome).
        #: How many connector saves have failed since this instance was built.
        self.connector_failures = 0
        #: How many providers raised in run mode (or failed to acknowledge an item).
        self.provider_failures = 0
        #: The providers whose ``ingest`` raised in the last run, with the exception.
        self.provider_errors: List[Tuple[str, BaseException]] = []
        #: Whether the program built plugin instances with ``load_plugin`` (see ``run``).
        self._program_loaded_plugins = False
        self._rate_limiter = RateLimiter()
        #: How many responses carried errors (run mode and scans).
        self.responses_with_errors = 0
        #: How many consumer processes died in run mode.
        self.consumer_deaths = 0
        #: Set by ``stop()``: run mode finishes the request in flight and returns.
        self.stopping = threading.Event()

    def _drop_missing_profile_plugins(self) -> None:
        """A profile names plugins that may not be installed: skip those with a notice."""
        for key in PLUGIN_LIST_KEYS:
            if not self.settings.sources.get(key, "").startswith("profile"):
                continue
            names = getattr(self.settings, key)
            present = [n for n in names if self.plugins.is_available(n)]
            for missing in sorted(set(names) - set(present)):
                log.info("%s: plugin %r from the profile is not installed; skipped", key, missing)
            setattr(self.settings, key, present)

    def notice_not_installed(self, dispatcher: str, names: List[str]) -> None:
        """Log, once per ``Stoq``, that default routing named a plugin that is not installed."""
        self.calls.notice_not_installed(dispatcher, names)

    # -- plugins ---------------------------------------------------------------------------

    def load_plugin(self, plugin_name: str) -> BasePlugin:
        """The plugin's instance (loaded once per Stoq); raises StoqPluginException."""
        plugin = self.plugins.load(plugin_name.strip())
        self._program_loaded_plugins = True
        return plugin

    def preload_plugins(self) -> Dict[str, Tuple[BasePlugin, float]]:
        """Import every configured plugin's code, so forked consumers inherit it, and start the
        ``fork_safe`` ones; returns those (with their deadlines) for forked consumers to adopt.

        Failures are ignored here: the request that uses the plugin reports them.
        """
        started: Dict[str, Tuple[BasePlugin, float]] = {}
        for key in PLUGIN_LIST_KEYS:
            for name in getattr(self.settings, key):
                built = self.plugins.preload(name)
                if built is not None:
                    started[name] = built
        return started

    def timeout_for(self, plugin_name: str) -> float:
        """The deadline for one call of a loaded plugin: its ``timeout`` option or plugin_timeout."""
        return self.plugins.timeout_of(plugin_name)

    def close(self) -> None:
        """Stop every loaded plugin (their ``stop()`` hooks)."""
        self.plugins.close()
        self.calls.clear()
        if self.calls.cache is not None:
            self.calls.cache.close()

    def __enter__(self) -> Stoq:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------

    def scan(
        self,
        content: Union[bytes, str],
        payload_meta: Optional[PayloadMeta] = None,
        request_meta: Optional[RequestMeta] = None,
        add_start_dispatch: Optional[List[str]] = None,
        add_start_deep_dispatch: Optional[List[str]] = None,
        ratelimit: Optional[str] = None,
    ) -> StoqResponse:
        """Scan bytes as one request and return the response (after decorators and connectors).

        ``ratelimit="COUNT/SECONDS"`` (v2) first waits so that calls made with it are spaced
        SECONDS/COUNT apart.
        """
        if ratelimit:
            self._rate_limiter.wait(ratelimit)
        payload = Payload(content, payload_meta)
        return self.scan_payload(payload, request_meta, add_start_dispatch, add_start_deep_dispatch)

    def scan_payload(
        self,
        payload: Payload,
        request_meta: Optional[RequestMeta] = None,
        add_start_dispatch: Optional[List[str]] = None,
        add_start_deep_dispatch: Optional[List[str]] = None,
        *,
        scan_id: Optional[str] = None,
    ) -> StoqResponse:
        """Scan a prepared Payload as one request; ``scan_id`` fixes the response's id (a
        provider's redelivered message keeps its id, so connectors can write idempotently)."""
        args = RequestArgs(request_meta, add_start_dispatch, add_start_deep_dispatch, None, scan_id)
        return self.request(payload, args).response

    def request(self, payload: Payload, args: RequestArgs) -> Outcome:
        """Run one request (scan, decorate, save) and report how it ended."""
        return self._count(run_request(self.calls, self.settings, payload, args))

    def request_item(self, item: Any, args: RequestArgs) -> Outcome:
        """One provider item as a request. An item that yields no payload is still saved, and
        the outcome says why; an ``Error`` item (a provider giving up on a message) is saved
        as a response holding just that error."""
        meta = RequestMeta() if args.request_meta is None else args.request_meta
        if isinstance(item, Error):
            return self._unscanned(StoqResponse([], meta, [item], scan_id=args.scan_id))
        errors: List[Error] = []
        payload = payload_for_item(self.calls, self.settings, item, errors)
        if payload is not None:
            return self.request(payload, args)
        response = StoqResponse([], meta, errors, scan_id=args.scan_id)
        reason = "no payload: " + "; ".join(e.error for e in errors)
        return self._unscanned(response, reason)

    def _unscanned(self, response: StoqResponse, reason: Optional[str] = None) -> Outcome:
        failures = save(self.calls, self.connectors, response)
        return self._count(Outcome(response, failures, reason))

    def _count(self, outcome: Outcome) -> Outcome:
        self.responses_with_errors += bool(outcome.response.errors)
        self.connector_failures += len(outcome.save_failures)
        return outcome

    def run(
        self,
        request_meta: Optional[RequestMeta] = None,
        add_start_dispatch: Optional[List[str]] = None,
        add_start_deep_dispatch: Optional[List[str]] = None,
    ) -> None:
        """Run mode: scan everything the configured providers ingest, then return.

        As in v2: no provider raises ``StoqException`` (a ``StoqConfigError``), and a provider
        whose ``ingest`` raised makes ``run`` raise ``StoqException`` (its cause chained) once
        the work the other providers gave is done. A program that built plugin instances with
        ``load_plugin()`` and set no consumer count runs in this process, with those
        instances; otherwise consumer processes scan, each with its own.
        """
        from stoq.run import run_providers

        if self._program_loaded_plugins and self.settings.sources["consumers"] == "default":
            log.info("run mode: one consumer in this process, using the plugins it loaded")
            self.settings.consumers = 1
        elif self._program_loaded_plugins and self.settings.consumers > 1:
            log.warning(
                "run mode: %d consumer processes build their own plugin instances; those this"
                " program set up with load_plugin() scan nothing (consumers = 1 uses them)",
                self.settings.consumers,
            )
        self.provider_errors = []
        run_providers(self, RequestArgs(request_meta, add_start_dispatch, add_start_deep_dispatch))
        if self.provider_errors:
            names = ", ".join(repr(name) for name, _ in self.provider_errors)
            raise StoqException(f"provider {names} failed") from self.provider_errors[0][1]

    def stop(self) -> None:
        """Ask run mode to stop after the request in flight (safe from a signal handler)."""
        self.stopping.set()

    def report_unscanned(self, response: StoqResponse) -> int:
        """Send a response that has errors but no payload (e.g. a failed archiver ``get``);
        returns the connectors' failures, as ``save``."""
        return len(self._unscanned(response).save_failures)

    def reconstruct_all_subresponses(self, stoq_response: StoqResponse) -> Iterator[StoqResponse]:
        """One response per payload, holding it and its descendants, re-decorated (v2 API)."""
        results = stoq_response.results
        for index, root in enumerate(results):
            family = {root.payload_id}
            subtree = [root]
            for result in results[index + 1 :]:
                if result.extracted_from in family:
                    family.add(result.payload_id)
                    subtree.append(result)
            errors = [e for e in stoq_response.errors if e.payload_id in family]
            response = StoqResponse(
                subtree, stoq_response.request_meta, errors, scan_id=stoq_response.scan_id
            )
            self._decorate(response)
            yield response

    def _decorate(self, response: StoqResponse) -> None:
        decorate(self.calls, self.decorators, response)

    def save(self, response: StoqResponse, connectors: Optional[List[str]] = None) -> int:
        """Send a finished response to the connectors (all configured ones by default).

        A failure is logged with the scan id and counted in ``connector_failures``; it never
        keeps the response from the other connectors. Returns this call's failures, so run
        mode acknowledges only what every connector saved.
        """
        failures = save(self.calls, self.connectors if connectors is None else connectors, response)
        self.connector_failures += len(failures)
        return len(failures)

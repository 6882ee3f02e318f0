"""``Stoq``: the object applications build — settings, plugins, and the request entry points."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple, Union

from stoq.config import find_config_file, read_config_file
from stoq.data_classes import (
    DecoratorResponse,
    Error,
    Payload,
    PayloadMeta,
    RequestMeta,
    StoqResponse,
)
from stoq.exceptions import StoqException, StoqPluginException
from stoq.invoke import PluginCall, invoke, normalise_errors
from stoq.loader import PluginManager
from stoq.plugin_manager import StoqPluginManager
from stoq.plugins import BasePlugin, ConnectorPlugin, DecoratorPlugin
from stoq.ratelimit import RateLimiter
from stoq.request import ScanRequest
from stoq.settings import (
    PLUGIN_LIST_KEYS,
    SETTING_KEYS,
    CoreSettings,
    load_profile,
    resolve_settings,
)

__all__ = ["Stoq"]

log = logging.getLogger("stoq")


class _Setting:
    """A v2 attribute of ``Stoq`` (``stoq.max_recursion``) read from and written to its setting."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, stoq: Any, owner: Optional[type] = None) -> Any:
        return self if stoq is None else getattr(stoq.settings, self.name)

    def __set__(self, stoq: Any, value: Any) -> None:
        setattr(stoq.settings, self.name, value)


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
    log = log

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
        s = self.settings
        self.always_dispatch = s.always_dispatch
        self.dispatchers = s.dispatchers
        self.deep_dispatchers = s.deep_dispatchers
        self.dest_archivers = s.dest_archivers
        self.decorators = s.decorators
        self.connectors = s.connectors
        self._timeouts: Dict[str, float] = {}
        self._calls: Dict[Tuple[Any, ...], PluginCall] = {}
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
        self._noticed: Set[Tuple[str, str]] = set()

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
        for name in names:
            if (dispatcher, name) not in self._noticed:
                self._noticed.add((dispatcher, name))
                log.info(
                    "%s: routes some payloads to plugin %r, which is not installed; skipped",
                    dispatcher,
                    name,
                )

    # -- plugins ---------------------------------------------------------------------------

    def load_plugin(self, plugin_name: str) -> BasePlugin:
        """The plugin's instance (loaded once per Stoq); raises StoqPluginException."""
        plugin = self.plugins.load(plugin_name.strip())
        self._program_loaded_plugins = True
        return plugin

    def plugin_for_role(
        self, errors: List[Error], name: str, role: type, stage: str, payload_id: Optional[str]
    ) -> Optional[Any]:
        """The loaded plugin if it serves ``role``; otherwise an Error in ``errors`` and None."""
        try:
            plugin = self.plugins.load(name)
        except StoqPluginException as exc:
            errors.append(Error(str(exc), name, payload_id, "load"))
            return None
        if not isinstance(plugin, role):
            errors.append(
                Error(f"plugin {name!r} is not a {role.__name__}", name, payload_id, stage)
            )
            return None
        return plugin

    def call_for(
        self,
        errors: List[Error],
        name: str,
        role: type,
        method: str,
        stage: str,
        payload_id: Optional[str],
    ) -> Optional[PluginCall]:
        """The plugin's ``method`` ready to invoke (cached), or None with an Error recorded."""
        call = self._calls.get((name, method))
        if call is None:
            plugin = self.plugin_for_role(errors, name, role, stage, payload_id)
            if plugin is None:
                return None
            call = self._calls[(name, method)] = PluginCall(
                name, getattr(plugin, method), self.timeout_for(name)
            )
        return call

    def preload_plugins(self) -> None:
        """Import (not start) every configured plugin's code, so forked consumers inherit it.

        Failures are ignored here: the request that uses the plugin reports them.
        """
        for key in PLUGIN_LIST_KEYS:
            for name in getattr(self.settings, key):
                self.plugins.preload(name)

    def timeout_for(self, plugin_name: str) -> float:
        """The deadline for one call of the plugin: its ``timeout`` option or plugin_timeout."""
        timeout = self._timeouts.get(plugin_name)
        if timeout is None:
            plugin = self.plugins.loaded.get(plugin_name)
            option = plugin.plugin_opts.get("timeout") if plugin is not None else None
            timeout = float(option) if option not in (None, "") else self.settings.plugin_timeout
            self._timeouts[plugin_name] = timeout
        return timeout

    def close(self) -> None:
        """Stop every loaded plugin (their ``stop()`` hooks)."""
        self.plugins.close()
        self._timeouts.clear()
        self._calls.clear()

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
        request_meta = RequestMeta() if request_meta is None else request_meta
        request = ScanRequest(self, request_meta, add_start_dispatch, add_start_deep_dispatch)
        request.run(payload)
        response = StoqResponse(request.results, request_meta, request.errors, scan_id=scan_id)
        self._decorate(response)
        if response.errors:
            self.responses_with_errors += 1
        self.save(response)
        return response

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
        run_providers(self, request_meta, add_start_dispatch, add_start_deep_dispatch)
        if self.provider_errors:
            names = ", ".join(repr(name) for name, _ in self.provider_errors)
            raise StoqException(f"provider {names} failed") from self.provider_errors[0][1]

    def stop(self) -> None:
        """Ask run mode to stop after the request in flight (safe from a signal handler)."""
        self.stopping.set()

    def report_unscanned(self, response: StoqResponse) -> int:
        """Send a response that has errors but no payload (e.g. a failed archiver ``get``);
        returns the connectors' failures, as ``save``."""
        self.responses_with_errors += 1
        return self.save(response)

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
        for name in self.decorators:
            call = self.call_for(
                response.errors, name, DecoratorPlugin, "decorate", "decorate", None
            )
            if call is None:
                continue
            result = invoke(response.errors, "decorate", None, call, DecoratorResponse, response)
            if result is None:
                continue
            if result.results is not None:
                response.decorators[name] = result.results
            response.errors.extend(normalise_errors(result.errors, name, None, "decorate"))

    def save(self, response: StoqResponse, connectors: Optional[List[str]] = None) -> int:
        """Send a finished response to the connectors (all configured ones by default).

        A failure is logged with the scan id and counted in ``connector_failures``; it never
        keeps the response from the other connectors. Returns this call's failures, so run
        mode acknowledges only what every connector saved.
        """
        failures = 0
        for name in self.connectors if connectors is None else connectors:
            failed: List[Error] = []
            call = self.call_for(failed, name, ConnectorPlugin, "save", "save", None)
            if call is not None:
                invoke(failed, "save", None, call, None, response)
            for error in failed:
                failures += 1
                log.error("scan %s: connector %r failed: %s", response.scan_id, name, error.error)
        self.connector_failures += failures
        return failures

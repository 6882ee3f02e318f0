"""The ``lnk`` stoQ plugin: where a Windows shortcut points and what it says about its maker."""

from __future__ import annotations

import datetime
import logging
import uuid
import warnings
from typing import Any, ClassVar, Dict, List, Optional

import LnkParse3

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

__all__ = ["LnkPlugin"]

log = logging.getLogger(__name__)

#: HeaderSize 0x4C, then the ShellLink CLSID {00021401-0000-0000-C000-000000000046}.
MAGIC = bytes.fromhex("4C0000000114020000000000C000000000000046")
NOT_LNK = "not a Windows shortcut (no shell link header)"


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _plain(value: Any) -> Any:
    """LnkParse3's values as JSON types: times in ISO 8601, bytes as hex."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def mac_address(droid_file_id: Optional[str]) -> Optional[str]:
    """The network card of the machine that made the link: the node of a time-based UUID."""
    try:
        parsed = uuid.UUID(str(droid_file_id))
    except ValueError:
        return None
    if parsed.version != 1:
        return None
    return ":".join(f"{parsed.node:012x}"[i : i + 2] for i in range(0, 12, 2))


def _target(info: Dict[str, Any], items: List[Dict[str, Any]]) -> Optional[str]:
    """The target path: LinkInfo's local or network path, else the ID list's names."""
    suffix = info.get("common_path_suffix") or ""
    if info.get("local_base_path"):
        return str(info["local_base_path"]) + suffix
    network = (info.get("location_info") or {}).get("net_name")
    if network:
        return f"{network}\\{suffix}" if suffix else str(network)
    names = [i.get("volume_name") or i.get("primary_name") for i in items if isinstance(i, dict)]
    names = [str(n) for n in names if n]
    return "\\".join(n.rstrip("\\") for n in names) or None


class LnkPlugin(WorkerPlugin):
    """Reports a shortcut's target, arguments, working directory, icon, the machine id and MAC
    address of the machine that made it (distributed link tracker block), and its timestamps.

    LnkParse3 keeps going past a damaged structure with a warning; those warnings are reported
    in ``warnings`` next to whatever could still be read.
    """

    #: Typed defaults; a config file's [plugins.lnk] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_argument_chars": 32768,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Parse the shortcut; a broken one gives ``error`` (or ``warnings``), never a crash."""
        if not payload.content.startswith(MAGIC):
            return WorkerResponse({"error": NOT_LNK})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                parsed = _plain(LnkParse3.lnk_file(indata=payload.content).get_json())
                results = self._summary(parsed)
            except Exception as exc:  # struct.error, IndexError, ... on truncated input
                log.debug("lnk: cannot parse payload %s", payload.payload_id, exc_info=True)
                error = f"cannot parse: {_describe(exc)}"
                return WorkerResponse({"error": error}, errors=[error])
        notes = list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
        if notes:
            results["warnings"] = notes
        return WorkerResponse(results)

    def _summary(self, parsed: Dict[str, Any]) -> Dict[str, Any]:
        header = parsed.get("header") or {}
        info = parsed.get("link_info") or {}
        data = parsed.get("data") or {}
        extra = parsed.get("extra") or {}
        tracker = extra.get("DISTRIBUTED_LINK_TRACKER_BLOCK") or {}
        location = info.get("location_info") or {}
        environment = extra.get("ENVIRONMENTAL_VARIABLES_LOCATION_BLOCK") or {}
        icon_environment = extra.get("ICON_LOCATION_BLOCK") or {}
        arguments = data.get("command_line_arguments")
        limit = self.plugin_opts["max_argument_chars"]
        found = {
            "target": _target(info, (parsed.get("target") or {}).get("items") or []),
            "arguments": arguments[:limit] if isinstance(arguments, str) else arguments,
            "working_directory": data.get("working_directory"),
            "relative_path": data.get("relative_path"),
            "description": data.get("description"),
            "icon_location": data.get("icon_location"),
            "icon_index": header.get("icon_index"),
            "environment_target": environment.get("target_unicode")
            or environment.get("target_ansi"),
            "icon_environment": icon_environment.get("target_unicode")
            or icon_environment.get("target_ansi"),
            "window_style": header.get("windowstyle"),
            "hotkey": header.get("hotkey"),
            "link_flags": header.get("link_flags"),
            "file_attributes": header.get("file_flags"),
            "target_size": header.get("file_size"),
            "creation_time": header.get("creation_time"),
            "accessed_time": header.get("accessed_time"),
            "modified_time": header.get("modified_time"),
            "drive_type": location.get("drive_type"),
            "drive_serial_number": location.get("drive_serial_number"),
            "volume_label": location.get("volume_label"),
            "network_share": location.get("net_name"),
            "machine_id": tracker.get("machine_identifier"),
            "mac_address": mac_address(tracker.get("droid_file_identifier")),
            "droid_volume_id": tracker.get("droid_volume_identifier"),
            "droid_file_id": tracker.get("droid_file_identifier"),
        }
        results = {k: v for k, v in found.items() if v not in (None, "", [])}
        if isinstance(arguments, str) and len(arguments) > limit:
            results["arguments_chars"] = len(arguments)
            results["limits_hit"] = [f"max_argument_chars {limit}: arguments cut"]
        return results

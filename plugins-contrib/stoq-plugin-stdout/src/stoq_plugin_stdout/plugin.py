"""Each response as JSON on standard output: indented for people, one line each for pipes."""

from __future__ import annotations

import sys
from configparser import ConfigParser
from typing import Any, ClassVar, Dict, Optional

from stoq.data_classes import StoqResponse
from stoq.plugins import ConnectorPlugin
from stoq.serialize import dumps

__all__ = ["StdoutPlugin", "parse_indent"]

#: Option values that mean "one compact line per response".
COMPACT = ("compact", "none", "")


def parse_indent(value: Any) -> Optional[int]:
    """The ``indent`` option as spaces per level, or None for compact one-line output."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in COMPACT:
            return None
        value = int(text) if text.isdigit() else value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(
        f"stdout: option 'indent' must be a whole number of spaces or 'compact', not {value!r}"
    )


class StdoutPlugin(ConnectorPlugin):
    """Writes every response as JSON followed by a newline, then flushes.

    Flushing at once means a reader at the other end of a pipe gets each response when it is
    saved, not when a buffer fills or the process ends.
    """

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {"indent": "compact"}
    #: Under the ``stoq`` command, this connector owns standard output (printed once).
    writes_stdout = True

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(config, plugin_opts)
        self.indent = parse_indent(self.plugin_opts.get("indent", "compact"))

    def save(self, response: StoqResponse) -> None:
        text = dumps(response.to_dict(), indent=self.indent) + "\n"
        sys.stdout.write(text)
        sys.stdout.flush()

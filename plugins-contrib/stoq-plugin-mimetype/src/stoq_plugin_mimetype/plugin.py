"""MIME type and description of a payload: libmagic when it loads, puremagic otherwise."""

from __future__ import annotations

from configparser import ConfigParser
from typing import Any, Callable, ClassVar, Dict, Optional, Tuple

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

__all__ = ["HEAD_BYTES", "MimetypePlugin", "load_libmagic", "mime_of_description"]

BACKENDS = ("auto", "libmagic", "puremagic")
#: How much of a payload libmagic looks at. libmagic reads up to 7 MiB of a buffer itself; on
#: 1,200 files of this project's build machine 1 MiB gave the same answers as the whole file,
#: while 256 KiB already changed TrueType and gettext descriptions and 4 KiB JSON's MIME type.
HEAD_BYTES = 1024 * 1024
#: Descriptions (their first clause) that libmagic gives for one MIME type only: content no
#: format matched. For these one libmagic call answers both questions.
MIME_OF_DESCRIPTION = {
    "data": "application/octet-stream",
    "empty": "application/x-empty",
    "ASCII text": "text/plain",
    "Unicode text": "text/plain",
    "ISO-8859 text": "text/plain",
    "Non-ISO extended-ASCII text": "text/plain",
}

Identify = Callable[[bytes], Tuple[str, str]]


def mime_of_description(description: str) -> Optional[str]:
    """The MIME type a description implies, or None when only libmagic can tell."""
    return MIME_OF_DESCRIPTION.get(description.split(",", 1)[0])


def load_libmagic() -> Identify:
    """A libmagic-backed identify function; OSError when libmagic is missing."""
    from .libmagic import MAGIC_MIME_TYPE, MAGIC_NONE, Libmagic

    libmagic = Libmagic()

    def identify(content: bytes) -> Tuple[str, str]:
        head = content[:HEAD_BYTES]
        description = libmagic.identify(head, MAGIC_NONE)
        mimetype = mime_of_description(description) or libmagic.identify(head, MAGIC_MIME_TYPE)
        return mimetype, description

    return identify


def _fallback() -> Identify:
    """puremagic's identify function, imported only when used (its import costs ~9 ms)."""
    from .fallback import identify

    return identify


class MimetypePlugin(WorkerPlugin):
    """Reports ``{"mimetype", "description", "backend"}`` for each payload.

    ``backend = "auto"`` uses libmagic and falls back to puremagic, with a warning, when the
    library cannot be loaded; ``"libmagic"`` refuses to load without it; ``"puremagic"`` never
    touches libmagic.
    """

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {"backend": "auto"}

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(config, plugin_opts)
        wanted = str(self.plugin_opts.get("backend", "auto")).strip().lower()
        if wanted not in BACKENDS:
            choices = ", ".join(BACKENDS)
            raise ValueError(f"mimetype: option 'backend' must be one of {choices}, not {wanted!r}")
        self.backend, self._identify = self._choose(wanted)

    def _choose(self, wanted: str) -> Tuple[str, Identify]:
        if wanted == "puremagic":
            return "puremagic", _fallback()
        try:
            return "libmagic", load_libmagic()
        except OSError as exc:
            if wanted == "libmagic":
                raise ImportError(
                    f"mimetype: backend 'libmagic' requested but it cannot be loaded ({exc});"
                    " install libmagic (Debian/Ubuntu: libmagic1, RHEL: file-libs) or set"
                    " backend = 'auto'"
                ) from exc
            self.log.warning("libmagic cannot be loaded (%s); using puremagic instead", exc)
            return "puremagic", _fallback()

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        mimetype, description = self._identify(payload.content)
        return WorkerResponse(
            {"mimetype": mimetype, "description": description, "backend": self.backend}
        )

"""MIME type and description of a payload: libmagic when it loads, puremagic otherwise."""

from __future__ import annotations

from configparser import ConfigParser
from typing import Any, Callable, ClassVar, Dict, Optional, Tuple

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from . import fallback

__all__ = ["MimetypePlugin", "load_libmagic"]

BACKENDS = ("auto", "libmagic", "puremagic")

Identify = Callable[[bytes], Tuple[str, str]]


def load_libmagic() -> Identify:
    """A libmagic-backed identify function; ImportError or OSError when libmagic is missing."""
    import magic  # python-magic raises ImportError itself when it cannot find libmagic

    if not hasattr(magic, "Magic"):  # the unrelated "file-magic" binding is also named magic
        raise ImportError(f"the 'magic' module at {magic.__file__} is not python-magic")
    by_mime = magic.Magic(mime=True)
    by_text = magic.Magic()

    def identify(content: bytes) -> Tuple[str, str]:
        return by_mime.from_buffer(content), by_text.from_buffer(content)

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
            return "puremagic", fallback.identify
        try:
            return "libmagic", load_libmagic()
        except (ImportError, OSError) as exc:
            if wanted == "libmagic":
                raise ImportError(
                    f"mimetype: backend 'libmagic' requested but it cannot be loaded ({exc});"
                    " install libmagic (Debian/Ubuntu: libmagic1, RHEL: file-libs) or set"
                    " backend = 'auto'"
                ) from exc
            self.log.warning("libmagic cannot be loaded (%s); using puremagic instead", exc)
            return "puremagic", fallback.identify

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        mimetype, description = self._identify(payload.content)
        return WorkerResponse(
            {"mimetype": mimetype, "description": description, "backend": self.backend}
        )

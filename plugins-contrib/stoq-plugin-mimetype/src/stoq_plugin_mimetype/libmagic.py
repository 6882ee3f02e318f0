"""libmagic through ctypes: one handle, its database loaded once, asked by flags per call.

python-magic finds the library with ``ctypes.util.find_library``, which runs ``ldconfig -p``
in a child process, twice per import (its compatibility module loads the library again):
about 50 ms of CPU in every process, more than the rest of ``stoq scan``'s plugins take to
start. The library's usual names are tried first here, ``find_library`` only after them.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional, Tuple

__all__ = ["MAGIC_MIME_TYPE", "MAGIC_NONE", "Libmagic", "database_path", "open_library"]

MAGIC_NONE = 0x000000
MAGIC_MIME_TYPE = 0x000010
#: magic_setparam's "use count limit for name/use magic"; python-magic raises it to 64 (its
#: issue 190: some files exceed libmagic's default and fail), and so does this binding.
_PARAM_NAME_MAX, _NAME_MAX = 1, 64
#: Names a dynamic loader finds without a search of its own, by platform.
SONAMES = {
    "linux": ("libmagic.so.1",),
    "darwin": (
        "libmagic.1.dylib",
        "/opt/homebrew/lib/libmagic.1.dylib",
        "/usr/local/lib/libmagic.1.dylib",
        "/opt/local/lib/libmagic.1.dylib",
    ),
}


def open_library() -> Any:
    """The libmagic shared library; OSError when none can be opened."""
    for name in SONAMES.get(sys.platform, ()):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    from ctypes.util import find_library  # runs ldconfig: only when the usual names failed

    found = find_library("magic")
    if found is None:
        raise OSError("the libmagic shared library was not found")
    return ctypes.CDLL(found)


def _declare(lib: Any) -> None:
    handle, text, number = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    signatures: Tuple[Tuple[str, Any, Tuple[Any, ...]], ...] = (
        ("magic_open", handle, (number,)),
        ("magic_close", None, (handle,)),
        ("magic_error", text, (handle,)),
        ("magic_load", number, (handle, text)),
        ("magic_setflags", number, (handle, number)),
        ("magic_buffer", text, (handle, ctypes.c_void_p, ctypes.c_size_t)),
    )
    for name, restype, argtypes in signatures:
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, list(argtypes)


def database_path() -> Optional[str]:
    """The one compiled database libmagic loads by default, or None.

    libmagic loads each file of its search path (Debian's: ``/etc/magic:/usr/share/misc/magic``),
    the compiled ``NAME.mgc`` when there is one, else the text ``NAME``. None unless exactly one
    is compiled and every other is absent or holds only comments (Debian's ``/etc/magic``).
    """
    getpath = getattr(open_library(), "magic_getpath", None)
    if getpath is None:
        return None
    getpath.restype, getpath.argtypes = ctypes.c_char_p, [ctypes.c_char_p, ctypes.c_int]
    compiled = []
    for name in os.fsdecode(getpath(None, 0) or b"").split(":"):
        database = name if name.endswith(".mgc") else name + ".mgc"
        if os.path.isfile(database):
            compiled.append(database)
        elif os.path.isdir(name) or (os.path.exists(name) and not _only_comments(name)):
            return None
    return compiled[0] if len(compiled) == 1 else None


def _only_comments(path: str) -> bool:
    """Whether a text magic file has no rule: every line blank or a ``#`` comment."""
    try:
        with open(path, "rb") as stream:
            return all(not line.strip() or line.lstrip().startswith(b"#") for line in stream)
    except OSError:
        return False


class Libmagic:
    """One libmagic handle with the default database, or with ``database`` (a compiled one, in
    memory, kept here for as long as libmagic reads it); calls are serialised (a handle is not
    thread-safe) and each sets the flags it needs."""

    def __init__(self, database: Optional[bytes] = None) -> None:
        lib = open_library()
        _declare(lib)
        handle = lib.magic_open(MAGIC_NONE)
        if not handle:
            raise OSError("magic_open failed")
        self._database = database
        if database is None:
            loaded = lib.magic_load(handle, None)
        else:
            load_buffers = getattr(lib, "magic_load_buffers", None)  # libmagic 5.23 and later
            if load_buffers is None:
                lib.magic_close(handle)
                raise OSError("this libmagic cannot load a database from memory")
            load_buffers.restype = ctypes.c_int
            load_buffers.argtypes = [
                ctypes.c_void_p,
                ctypes.c_void_p,
                ctypes.c_void_p,
                ctypes.c_size_t,
            ]
            buffers, sizes = (ctypes.c_char_p * 1)(database), (ctypes.c_size_t * 1)(len(database))
            loaded = load_buffers(handle, buffers, sizes, 1)
        if loaded != 0:
            message = lib.magic_error(handle)
            lib.magic_close(handle)
            raise OSError(f"libmagic cannot load its database: {message!r}")
        setparam = getattr(lib, "magic_setparam", None)
        if setparam is not None:
            setparam.restype = ctypes.c_int
            setparam.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_size_t)]
            setparam(handle, _PARAM_NAME_MAX, ctypes.byref(ctypes.c_size_t(_NAME_MAX)))
        self._lib, self._handle = lib, handle
        self._flags = MAGIC_NONE
        self._lock = threading.Lock()

    def identify(self, content: bytes, flags: int) -> str:
        """libmagic's answer for ``content`` with ``flags`` (text, or a MIME type)."""
        with self._lock:
            if flags != self._flags:
                self._lib.magic_setflags(self._handle, flags)
                self._flags = flags
            answer = self._lib.magic_buffer(self._handle, content, len(content))
            if answer is None:
                error = self._lib.magic_error(self._handle)
                if error is None and flags & MAGIC_MIME_TYPE:
                    # A rule without a MIME type matched first and libmagic printed nothing
                    # (``file --mime-type`` prints "ERROR: (null)"): python-magic's answer.
                    return "application/octet-stream"
                raise OSError(f"libmagic: {error!r}")
        # The description may quote the file's own bytes (a document title) in any charset.
        return str(answer.decode("utf-8", "backslashreplace"))

    def __del__(self) -> None:
        """Close the handle (and unmap its database) with the plugin that owned it."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            self._lib.magic_close(handle)

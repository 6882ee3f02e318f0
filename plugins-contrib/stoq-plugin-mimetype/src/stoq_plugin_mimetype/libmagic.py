"""libmagic through ctypes: one handle, its database loaded once, asked by flags per call.

python-magic finds the library with ``ctypes.util.find_library``, which runs ``ldconfig -p``
in a child process, twice per import (its compatibility module loads the library again):
about 50 ms of CPU in every process, more than the rest of ``stoq scan``'s plugins take to
start. The library's usual names are tried first here, ``find_library`` only after them.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from typing import Any, Tuple

__all__ = ["MAGIC_MIME_TYPE", "MAGIC_NONE", "Libmagic", "open_library"]

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


class Libmagic:
    """One libmagic handle with the default database; calls are serialised (a handle is not
    thread-safe) and each sets the flags it needs."""

    def __init__(self) -> None:
        lib = open_library()
        _declare(lib)
        handle = lib.magic_open(MAGIC_NONE)
        if not handle:
            raise OSError("magic_open failed")
        if lib.magic_load(handle, None) != 0:
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
                raise OSError(f"libmagic: {self._lib.magic_error(self._handle)!r}")
        # The description may quote the file's own bytes (a document title) in any charset.
        return str(answer.decode("utf-8", "backslashreplace"))

    def __del__(self) -> None:
        """Close the handle (and unmap its database) with the plugin that owned it."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            self._lib.magic_close(handle)

"""Compiling YARA rule files once per process, shared by every role and every instance.

Compiling is the slow part of YARA, so compiled rules are cached per location (a file or a
folder of ``.yar``/``.yara`` files) and reused until one of the files changes: the cache key
holds each file's path and modification time, so an edited rule file is picked up by the
next scan without a restart.

Between processes, compiled rules are kept in the user's cache folder, in a file named by a
digest of the rules' bytes and the YARA version: loading them costs ~0.5 M instructions where
compiling the shipped dispatch rules costs ~14 M (a twentieth of ``stoq scan``'s start).

Paths are text (``os.path``): on Python 3.11 and 3.12 ``pathlib`` imports ``urllib.parse`` and
``ipaddress``, ~6 % of a small ``stoq scan``, which needs no path objects.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading

import yara

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Dict, Iterator, List, Optional, Tuple

    Stamp = Tuple[Tuple[str, int], ...]

__all__ = ["RULE_SUFFIXES", "RuleLoadError", "load_rules", "rule_files"]

RULE_SUFFIXES = (".yar", ".yara")


_lock = threading.Lock()
#: resolved location → (files and their mtimes, compiled rules)
_cache: Dict[str, Tuple[Stamp, yara.Rules]] = {}
#: Compiled rule files kept in the cache folder; older ones are removed when one is written.
KEEP_COMPILED = 32


class RuleLoadError(ValueError):
    """Rules that cannot be used; the message names the file (and line, for syntax errors)."""


def rule_files(location: str) -> List[str]:
    """The rule files at ``location``: the file itself, or a folder's rule files (below it at
    any depth, not through links to folders), sorted folder by folder."""
    path = os.path.expanduser(location)
    if os.path.isdir(path):
        files = sorted(_rule_files_below(path), key=lambda p: p.split(os.sep))
        if not files:
            raise RuleLoadError(f"{path}: no {' or '.join(RULE_SUFFIXES)} files in this folder")
        return files
    if os.path.isfile(path):
        return [path]
    raise RuleLoadError(f"{path}: YARA rule file or folder not found")


def _rule_files_below(folder: str) -> Iterator[str]:
    for root, _folders, names in os.walk(folder):
        for name in names:
            candidate = os.path.join(root, name)
            if os.path.splitext(name)[1].lower() in RULE_SUFFIXES and os.path.isfile(candidate):
                yield candidate


def _namespaces(location: str, files: List[str]) -> Dict[str, str]:
    """One namespace per file: its path below the folder without the suffix (or its stem)."""
    if len(files) == 1 and files[0] == location:
        return {os.path.splitext(os.path.basename(location))[0]: location}
    return {
        os.path.splitext(os.path.relpath(f, location))[0].replace(os.sep, "/"): f for f in files
    }


def _compile(location: str, namespaces: Dict[str, str]) -> yara.Rules:
    try:
        return yara.compile(filepaths=namespaces)
    except yara.SyntaxError as exc:
        # yara's message already reads "<file>(<line>): <problem>".
        raise RuleLoadError(f"YARA rules in {location} do not compile: {exc}") from None
    except yara.Error as exc:
        raise RuleLoadError(f"YARA rules in {location} cannot be read: {exc}") from None


def cache_folder() -> Path:
    """``$XDG_CACHE_HOME/stoq/yara`` (``%LOCALAPPDATA%`` on Windows, else ``~/.cache``)."""
    from pathlib import Path

    return Path(_cache_folder())


def _cache_folder() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or (os.name == "nt" and os.environ.get("LOCALAPPDATA"))
    return os.path.join(base or os.path.join(os.path.expanduser("~"), ".cache"), "stoq", "yara")


def _compiled_path(namespaces: Dict[str, str]) -> Optional[str]:
    """Where the compiled form of these rules is kept, or None not to keep it: a file uses
    ``include`` (the included file is not in the digest), or the folder is not the user's own
    (compiled rules are trusted as code is)."""
    digest = hashlib.sha256(
        f"{yara.__version__} {yara.YARA_VERSION} {sys.byteorder} {sys.maxsize}".encode()
    )
    for namespace, filename in sorted(namespaces.items()):
        with open(filename, "rb") as handle:
            data = handle.read()
        if b"include" in data:
            return None
        digest.update(b"%d:%s%d:" % (len(namespace), namespace.encode(), len(data)) + data)
    folder = _cache_folder()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    status = os.stat(folder)
    if hasattr(os, "getuid") and (status.st_uid != os.getuid() or status.st_mode & 0o022):
        return None
    return os.path.join(folder, f"{digest.hexdigest()}.yarc")


def _save(rules: yara.Rules, path: str) -> None:
    """Write atomically (a reader never sees part of a file), then drop the oldest files."""
    partial = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        rules.save(partial)
        os.replace(partial, path)
        folder = os.path.dirname(path)
        compiled = [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".yarc")]
        kept = sorted(compiled, key=lambda p: os.stat(p).st_mtime, reverse=True)
        for old in kept[KEEP_COMPILED:]:
            os.unlink(old)
    except Exception:  # noqa: BLE001 - a file not kept is compiled again next time
        with contextlib.suppress(OSError):
            os.unlink(partial)


def _compiled(location: str, files: List[str], keep: bool) -> yara.Rules:
    """The rules compiled, or loaded as compiled by an earlier process; any problem with the
    kept file means compiling them."""
    namespaces = _namespaces(location, files)
    path = None
    if keep:
        with contextlib.suppress(Exception):
            path = _compiled_path(namespaces)
    if path is not None:
        with contextlib.suppress(Exception):
            return yara.load(path)
    rules = _compile(location, namespaces)
    if path is not None:
        _save(rules, path)
    return rules


def load_rules(location: str, keep_compiled: bool = True) -> yara.Rules:
    """Compiled rules for ``location``, compiled at most once per change of its files (and
    with ``keep_compiled``, once per content and YARA version on this account)."""
    files = rule_files(location)
    try:
        stamp: Stamp = tuple((f, os.stat(f).st_mtime_ns) for f in files)
    except OSError as exc:
        raise RuleLoadError(f"{location}: cannot read rule files: {exc}") from None
    key = os.path.realpath(os.path.expanduser(location))
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        rules = _compiled(os.path.expanduser(location), files, keep_compiled)
        _cache[key] = (stamp, rules)
        return rules

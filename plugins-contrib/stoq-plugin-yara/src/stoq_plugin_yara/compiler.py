"""Compiling YARA rule files once per process, shared by every role and every instance.

Compiling is the slow part of YARA, so compiled rules are cached per location (a file or a
folder of ``.yar``/``.yara`` files) and reused until one of the files changes: the cache key
holds each file's path and modification time, so an edited rule file is picked up by the
next scan without a restart.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Dict, List, Tuple

import yara

__all__ = ["RULE_SUFFIXES", "RuleLoadError", "load_rules", "rule_files"]

RULE_SUFFIXES = (".yar", ".yara")

Stamp = Tuple[Tuple[str, int], ...]

_lock = threading.Lock()
#: resolved location → (files and their mtimes, compiled rules)
_cache: Dict[str, Tuple[Stamp, yara.Rules]] = {}


class RuleLoadError(ValueError):
    """Rules that cannot be used; the message names the file (and line, for syntax errors)."""


def rule_files(location: str) -> List[Path]:
    """The rule files at ``location``: the file itself, or a folder's rule files, sorted."""
    path = Path(location).expanduser()
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.suffix.lower() in RULE_SUFFIXES and p.is_file()
        )
        if not files:
            raise RuleLoadError(f"{path}: no {' or '.join(RULE_SUFFIXES)} files in this folder")
        return files
    if path.is_file():
        return [path]
    raise RuleLoadError(f"{path}: YARA rule file or folder not found")


def _namespaces(location: Path, files: List[Path]) -> Dict[str, str]:
    """One namespace per file: its path below the folder without the suffix (or its stem)."""
    if len(files) == 1 and files[0] == location:
        return {files[0].stem: str(files[0])}
    return {f.relative_to(location).with_suffix("").as_posix(): str(f) for f in files}


def _compile(location: Path, files: List[Path]) -> yara.Rules:
    try:
        return yara.compile(filepaths=_namespaces(location, files))
    except yara.SyntaxError as exc:
        # yara's message already reads "<file>(<line>): <problem>".
        raise RuleLoadError(f"YARA rules in {location} do not compile: {exc}") from None
    except yara.Error as exc:
        raise RuleLoadError(f"YARA rules in {location} cannot be read: {exc}") from None


def load_rules(location: str) -> yara.Rules:
    """Compiled rules for ``location``, compiled at most once per change of its files."""
    files = rule_files(location)
    try:
        stamp: Stamp = tuple((str(f), f.stat().st_mtime_ns) for f in files)
    except OSError as exc:
        raise RuleLoadError(f"{location}: cannot read rule files: {exc}") from None
    key = str(Path(location).expanduser().resolve())
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        rules = _compile(Path(location).expanduser(), files)
        _cache[key] = (stamp, rules)
        return rules

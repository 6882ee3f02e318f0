"""Tests for the ``exif`` worker on a real camera JPEG and on images Pillow writes here."""

from __future__ import annotations

import io
import json
import logging
import random
import struct
import time

import pytest
from PIL import Image

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

#: A photograph taken with a Canon PowerShot S40, shipped in olefile's source distribution.
FLOWER = pinned_sample(
    "olefile-0.47.zip",
    "olefile-0.47/tests/images/flower.jpg",
    "8a9d04b92d0de5836c59ede8ae421235488e4031e893e07b1fe7e4b78f6a9901",
)


def scan(data: bytes, **options: object):
    return run_plugin("exif", "scan", data, plugin_opts=options or None)


def tagged_jpeg(latitude_ref: str = "N", longitude_ref: str = "E") -> bytes:
    """A JPEG with camera, software, date and a GPS position, written by Pillow."""
    exif = Image.Exif()
    exif[0x010F] = "stoQ Test Camera"
    exif[0x0110] = "Model 14"
    exif[0x0131] = "stoq-tests 1.0"
    exif[0x0132] = "2024:05:01 10:20:30"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = latitude_ref, (48.0, 51.0, 29.6)
    gps[3], gps[4] = longitude_ref, (2.0, 17.0, 40.2)
    gps[5], gps[6] = b"\x00", 35.0
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


class TestExifPluginConformance(WorkerConformance):
    plugin_name = "exif"
    samples = (FLOWER,)


def test_camera_and_dates_of_a_real_photograph() -> None:
    results = scan(FLOWER.read_bytes()).results
    assert results["make"] == "Canon"
    assert results["model"] == "Canon PowerShot S40"
    assert results["datetime_original"] == "2003-12-14 12:01:44"
    assert results["gps"] is None
    assert results["tags"]["EXIF ExifImageWidth"] == 2272
    json.dumps(results)


def test_the_thumbnail_is_extracted() -> None:
    """The camera's embedded JPEG thumbnail comes back as a payload of its declared length."""
    response = scan(FLOWER.read_bytes())
    [thumbnail] = response.extracted
    assert thumbnail.content.startswith(b"\xff\xd8")
    assert len(thumbnail.content) == response.results["thumbnail_size"] == 5448
    assert scan(FLOWER.read_bytes(), extract_thumbnail=False).extracted == []


def test_gps_position_in_decimal_degrees() -> None:
    """48°51'29.6"N 2°17'40.2"E at 35 m is reported as signed decimal degrees."""
    results = scan(tagged_jpeg()).results
    assert results["software"] == "stoq-tests 1.0"
    assert results["gps"]["latitude"] == pytest.approx(48 + 51 / 60 + 29.6 / 3600, abs=1e-6)
    assert results["gps"]["longitude"] == pytest.approx(2 + 17 / 60 + 40.2 / 3600, abs=1e-6)
    assert results["gps"]["altitude"] == 35


def test_south_and_west_are_negative() -> None:
    gps = scan(tagged_jpeg("S", "W")).results["gps"]
    assert gps["latitude"] < 0 and gps["longitude"] < 0


def test_tag_count_limit_is_reported() -> None:
    results = scan(FLOWER.read_bytes(), max_tags=5).results
    assert len(results["tags"]) == 5
    assert results["tags_not_listed"] > 0
    assert results["make"] == "Canon"  # the summary does not depend on the limit


def test_image_without_exif_gives_nothing() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    assert scan(buffer.getvalue()) is None


@pytest.mark.parametrize("size", [2, 20, 200, 2000, 8000])
def test_truncated_photo_through_the_engine(stoq_factory, size: int) -> None:
    """A cut-short JPEG gives results, nothing, or one error for exif: the response stays valid."""
    stoq = stoq_factory()
    response = stoq.scan(FLOWER.read_bytes()[:size], add_start_dispatch=["exif"])
    assert {e.plugin_name for e in response.errors} <= {"exif"}
    assert len(response.errors) <= 1
    json.loads(str(response))


def test_corrupted_headers_through_the_engine(stoq_factory) -> None:
    """Random bytes changed in the EXIF block: every response is valid JSON, at most one error."""
    stoq = stoq_factory()
    original = FLOWER.read_bytes()
    rng = random.Random(14)
    failed = 0
    for _ in range(60):
        data = bytearray(original)
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(2, 600)] = rng.randrange(256)
        response = stoq.scan(bytes(data), add_start_dispatch=["exif"])
        errors = [e for e in response.errors if e.plugin_name == "exif"]
        assert len(errors) <= 1 and len(errors) == len(response.errors)
        failed += len(errors)
        json.loads(str(response))
    assert failed, "these seeds damage the EXIF block enough for exifread to give up at least once"


def test_full_scan_extracts_the_thumbnail(stoq_factory) -> None:
    stoq = stoq_factory()
    response = stoq.scan(FLOWER.read_bytes(), add_start_dispatch=["exif"])
    assert response.errors == []
    found = list(walk(response))
    assert found[0][1].workers[0]["exif"]["model"] == "Canon PowerShot S40"
    assert [r.extracted_by for depth, r in found if depth == 1] == ["exif"]


def test_huge_declared_tag_count(stoq_factory) -> None:
    """IFD0 declaring 65,535 entries: results, nothing or one exif error, within seconds."""
    data = bytearray(FLOWER.read_bytes())
    tiff = data.index(b"Exif\0\0") + 6
    order = "<" if data[tiff : tiff + 2] == b"II" else ">"
    (ifd0,) = struct.unpack_from(order + "I", data, tiff + 4)
    struct.pack_into(order + "H", data, tiff + ifd0, 0xFFFF)
    stoq = stoq_factory()
    started = time.monotonic()
    response = stoq.scan(bytes(data), add_start_dispatch=["exif"])
    assert time.monotonic() - started < 30
    assert {e.plugin_name for e in response.errors} <= {"exif"}
    json.loads(str(response))


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real JPEGs end in a result or an Error, in budget and memory."""
    check_hostile_corpus("exif", [FLOWER.read_bytes()])


@pytest.mark.parametrize("set_by_application", [logging.NOTSET, logging.DEBUG])
def test_exifread_warnings_are_quiet_unless_the_application_chose(
    monkeypatch: pytest.MonkeyPatch, set_by_application: int
) -> None:
    """exifread's warnings on damaged files are hidden, but a level the application gave
    that logger stays, scan after scan."""
    exifread_log = logging.getLogger("exifread")
    monkeypatch.setattr(exifread_log, "level", set_by_application)
    assert scan(tagged_jpeg()).results["make"] == "stoQ Test Camera"
    expected = logging.ERROR if set_by_application == logging.NOTSET else set_by_application
    assert exifread_log.level == expected

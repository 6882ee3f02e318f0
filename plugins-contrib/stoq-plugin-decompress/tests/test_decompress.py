"""Behaviour of the ``decompress`` worker: each format, passwords, options, conformance."""

from __future__ import annotations

import lzma
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Callable, Dict, List

import decompress_samples as samples
import pytest
from decompress_harness import decompress

from stoq import PayloadMeta, RequestMeta, StoqPluginLoadError
from stoq.testing import WorkerConformance, make_stoq
from stoq_plugin_decompress.formats import libarchive_reader
from stoq_plugin_decompress.plugin import DecompressPlugin

TEXT = b"The quick brown fox jumps over the lazy dog.\n" * 20
BINARY = bytes(range(256)) * 8
MEMBERS = {"docs/readme.txt": TEXT, "bin/blob.dat": BINARY}

#: format name -> a real archive holding MEMBERS
ARCHIVES: Dict[str, Callable[[], bytes]] = {
    "zip": lambda: samples.zip_archive(MEMBERS),
    "7z": lambda: samples.sevenzip(MEMBERS),
    "tar": lambda: samples.tar_archive(MEMBERS),
    "tar.gz": lambda: samples.tar_archive(MEMBERS, "gz"),
    "tar.bz2": lambda: samples.tar_archive(MEMBERS, "bz2"),
    "tar.xz": lambda: samples.tar_archive(MEMBERS, "xz"),
    "cpio": lambda: samples.libarchive_archive("cpio_newc", MEMBERS),
    "ar": lambda: samples.libarchive_archive("ar_svr4", {"readme.txt": TEXT, "blob.dat": BINARY}),
    "iso9660": lambda: samples.libarchive_archive("iso9660", MEMBERS),
    "cab": lambda: samples.cabinet(MEMBERS),
}


def extracted(response: object) -> Dict[str, bytes]:
    """archive_path -> content of every extracted payload."""
    return {e.payload_meta.extra_data["archive_path"]: e.content for e in response.extracted}  # type: ignore[attr-defined]


@pytest.mark.parametrize("fmt", sorted(ARCHIVES))
def test_members_of_each_archive_format_are_extracted(fmt: str) -> None:
    """Every file member comes back byte for byte, with its name, path and format."""
    response = decompress(ARCHIVES[fmt]())
    assert response.errors == []
    assert response.results["format"] == fmt
    contents = extracted(response)
    assert sorted(contents.values()) == sorted(MEMBERS.values())
    for item in response.extracted:
        meta = item.payload_meta.extra_data
        assert meta["format"] == fmt
        assert meta["archive_path"].endswith(meta["filename"])
    assert response.results["extracted"] == 2
    assert response.results["total_bytes"] == len(TEXT) + len(BINARY)
    assert response.results["limits_hit"] == []


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_zip_compression_methods(compression: int) -> None:
    """Stored, deflated, bzip2 and LZMA zip members all decompress, read by the standard
    library (the results name the library that read them)."""
    response = decompress(samples.zip_archive(MEMBERS, compression))
    assert extracted(response) == MEMBERS
    assert response.results["reader"] == "zipfile"


@pytest.mark.parametrize("fmt", sorted(samples.STREAMS))
def test_single_compressed_streams_give_one_member(fmt: str) -> None:
    """gzip, bzip2, xz and lzma each hold one unnamed member: the decompressed bytes."""
    response = decompress(samples.STREAMS[fmt](TEXT))
    assert response.errors == []
    assert response.results["format"] == fmt
    [item] = response.extracted
    assert item.content == TEXT
    assert item.payload_meta.extra_data == {"filename": None, "archive_path": None, "format": fmt}


@pytest.mark.parametrize(
    ("dict_size", "lc", "lp", "pb"), [(3 * 2**15, 0, 2, 0), (2**12, 4, 0, 0), (2**20, 3, 0, 2)]
)
def test_lzma_alone_with_unusual_properties_decompresses(
    dict_size: int, lc: int, lp: int, pb: int
) -> None:
    """LZMA_Alone streams with properties other than 0x5D or odd dictionaries are recognised."""
    lzma_filter = {"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": lc, "lp": lp, "pb": pb}
    data = lzma.compress(TEXT, format=lzma.FORMAT_ALONE, filters=[lzma_filter])
    response = decompress(data)
    assert response.results["format"] == "lzma"
    assert [item.content for item in response.extracted] == [TEXT]


def test_gzip_header_name_becomes_the_member_name() -> None:
    """The original name stored in a gzip header (FNAME) is reported as metadata."""
    response = decompress(samples.gzip_named("report.csv", TEXT))
    [item] = response.extracted
    assert item.payload_meta.extra_data["filename"] == "report.csv"


def test_tar_lists_directories_and_links_without_following_them() -> None:
    """Directories and symlinks are listed with their targets; only regular files extract."""
    data = samples.tar_archive(
        {"d/file.txt": TEXT}, "gz", links={"d/link": "/etc/passwd"}, dirs=["d"]
    )
    response = decompress(data)
    members = response.results["members"]
    assert {"archive_path": "d", "type": "directory"} in members
    assert {"archive_path": "d/link", "type": "symlink", "link": "/etc/passwd"} in members
    assert extracted(response) == {"d/file.txt": TEXT}


def test_format_is_detected_by_magic_bytes_not_by_filename() -> None:
    """A zip named .txt is a zip; text named .zip is not an archive."""
    zip_named_txt = decompress(
        samples.zip_archive(MEMBERS), payload_meta=PayloadMeta(extra_data={"filename": "a.txt"})
    )
    assert zip_named_txt.results["format"] == "zip"
    text_named_zip = decompress(TEXT, payload_meta=PayloadMeta(extra_data={"filename": "a.zip"}))
    assert text_named_zip.results["format"] is None
    assert text_named_zip.errors == [
        "decompress: no supported archive or compression format recognised by its magic bytes"
    ]


def test_truncated_zip_falls_back_to_libarchive_for_the_complete_members() -> None:
    """Without a central directory, libarchive reads the local headers that are intact."""
    data = samples.zip_archive({"first.txt": TEXT, "second.bin": BINARY})
    cut = data[: data.index(b"PK\x01\x02")]  # everything before the central directory
    response = decompress(cut)
    assert response.results["reader"] == "libarchive"
    assert response.results["fallback_from"][0].startswith("zipfile: cannot be opened: BadZipFile")
    assert extracted(response) == {"first.txt": TEXT, "second.bin": BINARY}


def test_a_7z_that_py7zr_refuses_is_read_by_libarchive() -> None:
    """py7zr refuses traversal names; libarchive reads them as the metadata they are."""
    data = samples.libarchive_archive("7zip", {"../../escape.txt": TEXT})
    response = decompress(data)
    assert response.results["reader"] == "libarchive"
    assert extracted(response) == {"../../escape.txt": TEXT}


def test_without_libarchive_its_formats_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the system library missing, a cpio archive reports it instead of failing to load."""
    monkeypatch.setattr(libarchive_reader, "libarchive", None)
    monkeypatch.setattr(
        libarchive_reader, "UNAVAILABLE", "libarchive not available (OSError: not found)"
    )
    response = decompress(ARCHIVES["cpio"]())
    assert response.results["error"].startswith("libarchive not available")
    assert response.extracted == []
    zip_response = decompress(samples.zip_archive(MEMBERS))
    assert extracted(zip_response) == MEMBERS


def test_loading_the_plugin_imports_no_archive_library_until_one_is_needed(tmp_path: Path) -> None:
    """py7zr (~85 ms to import) and pyzipper (~44 ms) are imported for the first 7z and the
    first encrypted zip: a scan that meets a plain zip, or no archive, does without them."""
    import sys

    samples_in_order = {
        "plain.zip": samples.zip_archive(MEMBERS),
        "secret.zip": samples.zipcrypto_zip(MEMBERS, "infected"),
        "archive.7z": ARCHIVES["7z"](),
    }
    for name, data in samples_in_order.items():
        (tmp_path / name).write_bytes(data)
    script = """
import sys
from pathlib import Path
from stoq import Payload, RequestMeta, Stoq
plugin = Stoq().load_plugin("decompress")
print(sorted(m for m in ("py7zr", "pyzipper") if m in sys.modules))
for name in ("plain.zip", "secret.zip", "archive.7z"):
    response = plugin.scan(Payload(Path(name).read_bytes()), RequestMeta())
    assert len(response.extracted) == 2, (name, response.results)
    print(sorted(m for m in ("py7zr", "pyzipper") if m in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "[]", "['pyzipper']", "['py7zr', 'pyzipper']"]


# -- passwords -----------------------------------------------------------------------------


def test_zipcrypto_member_opens_with_a_configured_password() -> None:
    """Traditional PKWARE encryption, password from the passwords option."""
    data = samples.zipcrypto_zip(
        {"secret.txt": TEXT, "plain.txt": BINARY}, "s3cret", encrypted=["secret.txt"]
    )
    response = decompress(data, plugin_opts={"passwords": ["wrong", "s3cret"]})
    assert response.errors == []
    assert extracted(response) == {"secret.txt": TEXT, "plain.txt": BINARY}
    assert response.results["reader"] == "pyzipper"
    assert {"archive_path": "secret.txt", "encrypted": True, "size": len(TEXT)} in response.results[
        "members"
    ]


def test_aes_zip_opens_with_the_payload_password() -> None:
    """WinZip AES, password from the payload's extra_data."""
    data = samples.aes_zip(MEMBERS, "from-payload")
    response = decompress(data, payload_meta=PayloadMeta(extra_data={"password": "from-payload"}))
    assert extracted(response) == MEMBERS
    assert response.results["reader"] == "pyzipper"


def test_request_passwords_are_tried_too() -> None:
    """A request's extra_data passwords (a list) open an encrypted 7z."""
    data = samples.sevenzip(MEMBERS, password="from-request")
    response = decompress(
        data, request_meta=RequestMeta(extra_data={"passwords": ["x", "from-request"]})
    )
    assert extracted(response) == MEMBERS


def test_encrypted_7z_headers_open_with_the_right_password() -> None:
    """An archive whose file list is encrypted too opens with the configured password."""
    data = samples.sevenzip(MEMBERS, password="infected", header_encryption=True)
    assert extracted(decompress(data)) == MEMBERS


@pytest.mark.parametrize(
    "data",
    [
        samples.zipcrypto_zip({"secret.txt": TEXT}, "unguessable"),
        samples.aes_zip({"secret.txt": TEXT}, "unguessable"),
        samples.sevenzip({"secret.txt": TEXT}, password="unguessable"),
    ],
    ids=["zipcrypto", "aes", "7z"],
)
def test_wrong_password_is_an_error_naming_the_member(data: bytes) -> None:
    """No exception: the member is listed with its error, and the errors name it."""
    response = decompress(data, plugin_opts={"passwords": ["one", "two"]})
    assert response.extracted == []
    [member] = response.results["members"]
    assert member["archive_path"] == "secret.txt"
    assert member["error"].startswith("wrong password (tried 2 passwords)")
    [error] = response.errors
    assert "member 'secret.txt': wrong password" in error


def test_wrong_password_on_an_encrypted_7z_header() -> None:
    """When even the names are encrypted, the archive-level error says so."""
    data = samples.sevenzip(MEMBERS, password="unguessable", header_encryption=True)
    response = decompress(data, plugin_opts={"passwords": "one"})
    assert response.results["error"].startswith(
        "encrypted header: wrong password (tried 1 password)"
    )
    assert "fallback_from" not in response.results


def test_no_password_at_all_says_where_to_give_one() -> None:
    """With the password list emptied, the error explains where passwords come from."""
    response = decompress(samples.aes_zip({"a.txt": TEXT}, "pw"), plugin_opts={"passwords": []})
    assert "no password was given" in response.results["members"][0]["error"]


@pytest.mark.skipif(
    shutil.which("zip") is None, reason="the zip command-line tool is not installed"
)
def test_zip_tool_encrypted_archive_opens(tmp_path: Path) -> None:
    """Interoperability: an archive made by Info-ZIP's zip -P opens with the password."""
    (tmp_path / "note.txt").write_bytes(TEXT)
    subprocess.run(["zip", "-q", "-P", "infected", "out.zip", "note.txt"], cwd=tmp_path, check=True)
    assert extracted(decompress((tmp_path / "out.zip").read_bytes())) == {"note.txt": TEXT}


# -- options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option", ["max_members", "max_member_size", "max_total_bytes", "max_ratio"]
)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "must be a positive number"),
        (-1, "must be a positive number"),
        ("many", "= 'many': expected a"),  # the core's typing of options says so
        (True, "= True: expected a"),
    ],
)
def test_bad_limit_options_fail_the_load_naming_them(
    option: str, value: object, message: str
) -> None:
    """A limit that is not a positive number stops the plugin from loading."""
    stoq = make_stoq(plugin_opts={"decompress": {option: value}})
    try:
        with pytest.raises(StoqPluginLoadError, match=f"option '{option}' {message}"):
            stoq.load_plugin("decompress")
    finally:
        stoq.close()


def test_ini_text_options_work(tmp_path: Path) -> None:
    """INI gives text: limits as digits, passwords as a comma-separated list."""
    config = tmp_path / "stoq.cfg"
    config.write_text("[decompress]\nmax_members = 1\npasswords = a,b,pw\n")
    stoq = make_stoq(config_file=config, always_dispatch=["decompress"])
    try:
        response = stoq.scan(samples.aes_zip({"1.txt": b"one", "2.txt": b"two"}, "pw"))
    finally:
        stoq.close()
    results = response.results[0].workers[0]["decompress"]
    assert results["extracted"] == 1
    assert results["limits_hit"] == ["max_members 1 reached; later members not extracted"]


def test_plugin_class_is_the_entry_point() -> None:
    """The installed entry point ``decompress`` loads this class."""
    stoq = make_stoq()
    try:
        assert isinstance(stoq.load_plugin("decompress"), DecompressPlugin)
    finally:
        stoq.close()


def _conformance_samples() -> List[bytes]:
    built = [make() for make in ARCHIVES.values()]
    built += [compress(TEXT) for compress in samples.STREAMS.values()]
    return [*built, samples.aes_zip(MEMBERS, "infected"), samples.nested_zips(3)]


class TestDecompressConformance(WorkerConformance):
    """The stoq.testing worker conformance suite on every format."""

    plugin_name = "decompress"
    samples = tuple(_conformance_samples())

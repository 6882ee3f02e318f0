"""The plugin's own CLSID table and OLE Package parser, checked against oletools' answers
(oletools is in the test extra only) on the real samples the plugin tests use."""

from __future__ import annotations

import re
import warnings
from typing import Dict, List, Set

import olefile
import pytest

from stoq.testing import pinned_sample
from stoq_plugin_ole.clsids import CLSID_NAMES, clsid_name
from stoq_plugin_ole.native import parse_native

with warnings.catch_warnings():  # oletools uses pyparsing names that pyparsing 3.3 deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.common.clsid import KNOWN_CLSIDS
    from oletools.oleobj import OleNativeStream

SAMPLES = {
    "sample_with_lnk_file.doc": (
        "oletools-0.60.2.zip",
        "oletools-0.60.2/tests/test-data/oleobj/sample_with_lnk_file.doc",
        "2f226f9332ebeadde64984238600ff62f75c7407f2c508e1ce953d4e1c9422b2",
    ),
    "embedded-simple-2007.doc": (
        "oletools-0.60.2.zip",
        "oletools-0.60.2/tests/test-data/oleobj/embedded-simple-2007.doc",
        "046d782f71172d119204f9d7be45eb478413da3afbe97af6b787aa5cf6fa25ad",
    ),
    "autostart-encrypt-standardpassword.xls": (
        "oletools-0.60.2.zip",
        "oletools-0.60.2/tests/test-data/encrypted/autostart-encrypt-standardpassword.xls",
        "607f6f160adfe499195942273d7f66a2feb442aa3e63a988ac2e5bb1dde1ca05",
    ),
    "test-ole-file.doc": (
        "olefile-0.47.zip",
        "olefile-0.47/tests/images/test-ole-file.doc",
        "a9645cd22f59f2314d0d0cf7ded60a536fb8422ed6b26115d2faa5442fad3336",
    ),
}
#: What kind of object a name says it is: one word per kind, matched case-insensitively.
KINDS = (
    "equation", "mathtype", "package", "link", "moniker", "word", "excel", "powerpoint",
    "bitmap", "forms", "listview", "treectrl", "flash", "html", "installer|msi",
)  # fmt: skip


def _sample(name: str) -> bytes:
    return pinned_sample(*SAMPLES[name]).read_bytes()


def _kinds(name: str) -> Set[str]:
    squashed = name.lower().replace(" ", "")
    return {kind for kind in KINDS if re.search(kind, squashed)}


def _native_streams(content: bytes) -> List[bytes]:
    with olefile.OleFileIO(content) as ole:
        return [
            ole.openstream(parts).read()
            for parts in ole.listdir()
            if parts[-1].lower() == "\x01ole10native"
        ]


def _storage_clsids(content: bytes) -> Dict[str, str]:
    with olefile.OleFileIO(content) as ole:
        found = {"/": ole.root.clsid}
        for parts in ole.listdir(streams=False, storages=True):
            found["/".join(parts)] = ole.getclsid(parts)
    return {path: clsid for path, clsid in found.items() if clsid.strip("0-")}


def test_every_shared_clsid_names_the_same_kind_of_object_as_oletools() -> None:
    """Where both tables know a CLSID, both say it is the same kind of thing."""
    shared = sorted(set(CLSID_NAMES) & set(KNOWN_CLSIDS))
    assert len(shared) >= 30
    for clsid in shared:
        ours, theirs = _kinds(CLSID_NAMES[clsid]), _kinds(KNOWN_CLSIDS[clsid])
        assert ours and ours & theirs, (clsid, CLSID_NAMES[clsid], KNOWN_CLSIDS[clsid])


def test_table_keys_are_upper_case_clsids() -> None:
    pattern = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")
    assert all(pattern.fullmatch(clsid) for clsid in CLSID_NAMES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_samples_clsids_are_named(name: str) -> None:
    """Every CLSID of the samples' storages that oletools names, the table names too."""
    known = {p: c for p, c in _storage_clsids(_sample(name)).items() if c in KNOWN_CLSIDS}
    assert known
    for path, clsid in known.items():
        assert clsid_name(clsid.lower()) is not None, (path, clsid)


@pytest.mark.parametrize("name", ["sample_with_lnk_file.doc", "embedded-simple-2007.doc"])
def test_native_streams_parse_as_oletools_parses_them(name: str) -> None:
    """Names and file bytes of the samples' packages equal oletools' OleNativeStream's."""
    [stream] = _native_streams(_sample(name))
    ours, theirs = parse_native(stream), OleNativeStream(stream)
    assert (ours.filename, ours.src_path, ours.temp_path) == (
        theirs.filename,
        theirs.src_path,
        theirs.temp_path,
    )
    assert ours.data == bytes(theirs.data) and len(ours.data) == theirs.actual_size > 0
    assert ours.is_link is False
    assert parse_native(stream[4:], sized=False) == ours


def test_every_prefix_of_a_native_stream_parses_or_raises_value_error() -> None:
    """Truncated anywhere, the record is refused with the field it stopped in, or parses (a
    cut right after the paths reads as a link; one in the trailing Unicode copies of the names
    leaves the file whole); never IndexError or struct.error."""
    [stream] = _native_streams(_sample("sample_with_lnk_file.doc"))
    body = stream[4:]
    whole = parse_native(stream)
    outcomes = set()
    for cut in range(len(body)):
        try:
            parsed = parse_native(body[:cut], sized=False)
        except ValueError as exc:
            outcomes.add(str(exc).split(":", 1)[0])
        else:
            if parsed.is_link:
                assert parsed.data == b"" and cut < len(body) - len(whole.data)
                outcomes.add("link")
            else:
                assert parsed == whole
                outcomes.add("whole")
        with pytest.raises(ValueError, match=r"^native (size|record): "):
            parse_native(stream[:cut])
    assert {"type", "filename", "temp_path", "data size", "data", "link", "whole"} <= outcomes


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"", "native size"),
        (b"\xff\xff\xff\xff" + b"\x02\x00", "native record"),
        (b"\x02\x00" + b"A" * 100, "filename"),
        (b"\x02\x00a\x00b\x00\x00\x00\x03\x00\xff\xff\xff\x7f", "temp_path"),
        (b"\x02\x00a\x00b\x00\x00\x00\x03\x00\x02\x00\x00\x00c\x00\xff\xff\xff\xff", "data"),
    ],
    ids=["empty", "huge-record", "no-nul", "huge-temp-path", "huge-data"],
)
def test_garbage_and_forged_sizes_name_the_field(data: bytes, field: str) -> None:
    sized = field in ("native size", "native record")
    with pytest.raises(ValueError, match=f"^{field}: "):
        parse_native(data, sized=sized)

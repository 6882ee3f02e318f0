"""End to end with the default profile: Office documents, RTF, OneNote and shortcuts reach the
workers made for them (issue 13), and each payload's dispatch meta says why each one ran.

Samples are real: oletools', olefile's and one-extract's test files from their pinned sdists;
the OOXML document with a remote template and the RTF around a real OLE Package are written
here with zipfile and the RTF object layout.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from typing import Any, Dict, Set

import olefile
import pytest
from e2e_helpers import found, require_installed, yara_rules_for

from stoq.testing import make_stoq, pinned_sample

PLUGINS = ("mimetype", "yara", "results", "ole", "olevba", "ooxml", "rtf", "onenote", "lnk")
OLETOOLS = "oletools-0.60.2.zip"
TEST_DATA = "oletools-0.60.2/tests/test-data/"
LNK_DOC = pinned_sample(
    OLETOOLS,
    TEST_DATA + "oleobj/sample_with_lnk_file.doc",
    "2f226f9332ebeadde64984238600ff62f75c7407f2c508e1ce953d4e1c9422b2",
).read_bytes()
PPT_VBA = pinned_sample(
    OLETOOLS,
    TEST_DATA + "olevba/sample_with_vba.ppt",
    "618644f5fe56d83b13cbc0f95f944a88617ab096088fbfcc52d395ef84424ea4",
).read_bytes()
VELVET_XLS = pinned_sample(
    OLETOOLS,
    TEST_DATA + "encrypted/autostart-encrypt-standardpassword.xls",
    "607f6f160adfe499195942273d7f66a2feb442aa3e63a988ac2e5bb1dde1ca05",
).read_bytes()
ONENOTE = pinned_sample(
    "one_extract-0.1.4.tar.gz",
    "one_extract-0.1.4/tests/files/example.one",
    "48e7fc11c3fd42270f58d16f4ba5dde87fa86522be1052695f5d44b086544710",
).read_bytes()
TEMPLATE_URL = "http://templates.example.org/invoice.dotm"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    require_installed(PLUGINS)


def _remote_template_docx() -> bytes:
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
        '.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
        "</Types>",
        "_rels/.rels": f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
        f'Type="{OFFICE}/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": '<w:document xmlns:w="http://schemas.openxmlformats.org/'
        'wordprocessingml/2006/main"><w:body><w:p/></w:body></w:document>',
        "word/_rels/settings.xml.rels": f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
        f'Type="{OFFICE}/attachedTemplate" Target="{TEMPLATE_URL}" TargetMode="External"/>'
        "</Relationships>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, text in parts.items():
            zipped.writestr(name, text)
    return buffer.getvalue()


def _package_rtf() -> bytes:
    """An RTF whose OLE 1.0 Package object is the calc.lnk package of oletools' .doc sample."""
    with olefile.OleFileIO(io.BytesIO(LNK_DOC)) as ole:
        native = ole.openstream("ObjectPool/_1573545115/\x01Ole10Native").read()[4:]
    name = b"Package\x00"
    ole1 = struct.pack("<III", 0x0501, 2, len(name)) + name + struct.pack("<III", 0, 0, len(native))
    return (
        b"{\\rtf1{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata "
        + (ole1 + native).hex().encode()
        + b"}}}"
    )


def scan(content: bytes) -> Dict[str, Any]:
    with make_stoq(profile="default") as stoq:
        response = json.loads(str(stoq.scan(content)))
    assert response["errors"] == []
    return response


def ran(result: Dict[str, Any]) -> Set[str]:
    return {worker for round_ in result["plugins_run"]["workers"] for worker in round_}


def test_ole_document_runs_ole_and_olevba_and_the_packaged_shortcut_runs_lnk() -> None:
    """.doc → ole + olevba (yara ole_compound_file); its calc.lnk → lnk (yara windows_shortcut)."""
    root, child = scan(LNK_DOC)["results"]
    assert {"ole", "olevba"} <= ran(root)
    assert yara_rules_for(root, "ole") == yara_rules_for(root, "olevba") == ["ole_compound_file"]
    assert found(root, "olevba")["vba_macros"] is False
    assert child["extracted_by"] == "ole"
    assert child["payload_meta"]["extra_data"]["filename"] == "calc.lnk"
    assert yara_rules_for(child, "lnk") == ["windows_shortcut"]
    assert found(child, "lnk")["target"] == "C:\\Windows\\System32\\calc.exe"
    assert found(child, "lnk")["machine_id"] == "gwt-7-32-ol2003"


def test_powerpoint_macro_is_reported_with_its_autoexec_trigger() -> None:
    """.ppt with VBA: olevba reports the module and Action_Click."""
    [root] = scan(PPT_VBA)["results"]
    macros = found(root, "olevba")
    assert [m["name"] for m in macros["modules"]] == ["Module1.bas"]
    assert [a["keyword"] for a in macros["autoexec"]] == ["Action_Click"]


def test_workbook_encrypted_with_velvetsweatshop_shows_its_auto_open_macro() -> None:
    """ole decrypts Excel's silent default password; olevba reads the child's Auto_Open."""
    root, child = scan(VELVET_XLS)["results"]
    assert found(root, "olevba")["encrypted"] is True
    assert found(root, "ole")["decryption"]["password"] == "VelvetSweatshop"
    assert child["extracted_by"] == "ole"
    assert yara_rules_for(child, "olevba") == ["ole_compound_file"]
    assert "Auto_Open" in [a["keyword"] for a in found(child, "olevba")["autoexec"]]


def test_ooxml_document_runs_ooxml_and_olevba_and_reports_the_remote_template() -> None:
    """.docx with an external attachedTemplate: yara ooxml_document routes ooxml and olevba."""
    root = scan(_remote_template_docx())["results"][0]
    assert yara_rules_for(root, "ooxml") == yara_rules_for(root, "olevba") == ["ooxml_document"]
    assert found(root, "ooxml")["remote_templates"] == [TEMPLATE_URL]
    assert found(root, "olevba")["container"] == "OpenXML"


def test_rtf_package_is_extracted_and_its_shortcut_parsed() -> None:
    """RTF → rtf (yara rtf_document and results rtf-mimetype); the packaged calc.lnk → lnk."""
    response = scan(_package_rtf())
    root = response["results"][0]
    assert yara_rules_for(root, "rtf") == ["rtf_document"]
    assert found(root, "rtf")["objects"][0]["filename"] == "calc.lnk"
    [child] = [r for r in response["results"] if r["extracted_by"] == "rtf"]
    assert child["payload_meta"]["extra_data"]["filename"] == "calc.lnk"
    assert found(child, "lnk")["target"] == "C:\\Windows\\System32\\calc.exe"


def test_onenote_section_runs_onenote_and_its_image_is_a_child() -> None:
    """.one → onenote (yara onenote_document); the embedded PNG is scanned as a child."""
    response = scan(ONENOTE)
    root = response["results"][0]
    assert yara_rules_for(root, "onenote") == ["onenote_document"]
    assert found(root, "onenote")["files"][0]["size"] == 1906
    [child] = [r for r in response["results"] if r["extracted_by"] == "onenote"]
    assert found(child, "mimetype")["mimetype"] == "image/png"

"""End to end (issue 13, "Done when"): one ``stoq scan`` with the default profile of a phishing
email whose attachments are a zip holding oletools' VBA sample, pypdf's JavaScript and
file-attachment samples and a real Windows PE (from the Python installation), and an OOXML
document with a remote template.

The response must report the macros with their AutoExec triggers, the PDF's JavaScript and its
attached file, the remote template URL, the IOCs in the message bodies and a ``summary`` naming
each finding and its payload (the executable in the zip among them); every worker that ran on
a payload beyond the always-dispatched three must be explained by the payload's
``dispatch_meta`` (yara) or ``deep_dispatch_meta`` (results). Samples are real files from
pinned sdists; the zip, the OOXML package and the email are made here with zipfile and the
standard library's email package.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Dict, List

import pytest
from e2e_helpers import found, reasons, require_installed

from stoq.testing import make_stoq, pinned_sample

PLUGINS = (
    "hash", "entropy", "mimetype", "yara", "results", "decompress",
    "email", "olevba", "ooxml", "pdf", "iocs", "html", "summary",
)  # fmt: skip
ALWAYS = {"hash", "entropy", "mimetype"}
PPT_VBA = pinned_sample(
    "oletools-0.60.2.zip",
    "oletools-0.60.2/tests/test-data/olevba/sample_with_vba.ppt",
    "618644f5fe56d83b13cbc0f95f944a88617ab096088fbfcc52d395ef84424ea4",
).read_bytes()
PDF_JS = pinned_sample(
    "pypdf-7.1.1.tar.gz",
    "pypdf-7.1.1/resources/issue-297.pdf",
    "87c0fa472c602de676d93d044b3619afd9e450d039101c70ca3550356d1537e1",
).read_bytes()
PDF_ATTACHMENT = pinned_sample(
    "pypdf-7.1.1.tar.gz",
    "pypdf-7.1.1/resources/attachment.pdf",
    "c621f5136783216a2011c128a3d23ce1e4390c2a2f246ceb67f8901c1c1b0f96",
).read_bytes()
TEMPLATE_URL = "http://198.51.100.77/templates/invoice.dotm"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
TEXT_BODY = "Your invoice is overdue. Pay at hxxps://pay-portal[.]example[.]com/invoice today.\n"
HTML_BODY = (
    '<html><body><p>Sign in at <a href="https://login.example.net/verify">the portal</a>.</p>'
    '<form action="https://collect.example.org/post" method="post">'
    '<input name="user"><input name="password" type="password"></form></body></html>\n'
)


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    require_installed(PLUGINS)


def remote_template_docx() -> bytes:
    """A Word document whose settings relationships load a template from a URL on open."""
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


def samples_zip(windows_pe: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("setup.exe", windows_pe)
        zipped.writestr("sample_with_vba.ppt", PPT_VBA)
        zipped.writestr("issue-297.pdf", PDF_JS)
        zipped.writestr("attachment.pdf", PDF_ATTACHMENT)
    return buffer.getvalue()


def phishing_email(windows_pe: bytes) -> bytes:
    message = EmailMessage()
    message["Received"] = (
        "from mail.example.com (mail.example.com [203.0.113.5]) by mx.example.org with ESMTPS;"
        " Wed, 2 Dec 2026 06:00:00 +0000"
    )
    message["Authentication-Results"] = "mx.example.org; spf=fail; dkim=none; dmarc=fail"
    message["From"] = "Accounts <accounts@example.com>"
    message["To"] = "victim@example.org"
    message["Subject"] = "Overdue invoice"
    message.set_content(TEXT_BODY)
    message.add_alternative(HTML_BODY, subtype="html")
    message.add_attachment(
        samples_zip(windows_pe), maintype="application", subtype="zip", filename="samples.zip"
    )
    message.add_attachment(
        remote_template_docx(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="invoice.docx",
    )
    return message.as_bytes()


@pytest.fixture(scope="module")
def response(tmp_path_factory: pytest.TempPathFactory, windows_pe: bytes) -> Dict[str, Any]:
    """One ``stoq scan`` of the email with no configuration: the default profile."""
    folder = tmp_path_factory.mktemp("wave1")
    sample = folder / "overdue.eml"
    sample.write_bytes(phishing_email(windows_pe))
    script = Path(sys.executable).with_name("stoq")
    done = subprocess.run(
        [str(script), "scan", "--jsonl", str(sample)],
        env={**os.environ, "STOQ_HOME": str(folder / "no-stoq-home")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    return json.loads(line)


def named(response: Dict[str, Any], filename: str) -> Dict[str, Any]:
    [result] = [
        r
        for r in response["results"]
        if str(r["payload_meta"]["extra_data"].get("filename", "")).endswith(filename)
    ]
    return result


def findings(response: Dict[str, Any], finding: str) -> List[Dict[str, Any]]:
    return [f for f in response["decorators"]["summary"]["findings"] if f["finding"] == finding]


def test_no_errors_and_every_worker_says_why_it_ran(response: Dict[str, Any]) -> None:
    assert response["errors"] == []
    for result in response["results"]:
        for worker in {w for r in result["plugins_run"]["workers"] for w in r} - ALWAYS:
            assert reasons(result, worker), (
                f"{worker} ran on {result['payload_meta']['extra_data']} with no rule naming it"
            )


def test_the_email_is_parsed_and_its_parts_extracted(response: Dict[str, Any]) -> None:
    root = response["results"][0]
    assert "yara:email_message" in reasons(root, "email")
    mail = found(root, "email")
    assert mail["subject"] == "Overdue invoice"
    assert mail["authentication_results"][0]["results"]["dmarc"] == "fail"
    assert [a["filename"] for a in mail["attachments"]] == ["samples.zip", "invoice.docx"]
    zipped = named(response, "samples.zip")
    assert zipped["extracted_by"] == "email"
    members = {m["archive_path"] for m in found(zipped, "decompress")["members"]}
    assert members == {"setup.exe", "sample_with_vba.ppt", "issue-297.pdf", "attachment.pdf"}


def test_macros_with_their_autoexec_trigger(response: Dict[str, Any]) -> None:
    ppt = named(response, "sample_with_vba.ppt")
    assert "yara:ole_compound_file" in reasons(ppt, "olevba")
    macros = found(ppt, "olevba")
    assert [m["name"] for m in macros["modules"]] == ["Module1.bas"]
    assert [a["keyword"] for a in macros["autoexec"]] == ["Action_Click"]


def test_pdf_javascript_and_attachment(response: Dict[str, Any]) -> None:
    script_pdf = named(response, "issue-297.pdf")
    assert "yara:pdf_document" in reasons(script_pdf, "pdf")
    [script] = found(script_pdf, "pdf")["javascript"]
    assert (script["trigger"], script["on_open"]) == ("open", True)
    assert script["source"].startswith("app.alert(")
    carrier = named(response, "attachment.pdf")
    [embedded] = found(carrier, "pdf")["embedded_files"]
    assert (embedded["filename"], embedded["source"]) == ("jpeg.pdf", "FileAttachment annotation")
    inner = named(response, "jpeg.pdf")
    assert (inner["extracted_by"], inner["extracted_from"]) == ("pdf", carrier["payload_id"])
    assert "javascript" in found(inner, "pdf")


def test_remote_template_url(response: Dict[str, Any]) -> None:
    docx = named(response, "invoice.docx")
    assert "yara:ooxml_document" in reasons(docx, "ooxml")
    assert found(docx, "ooxml")["remote_templates"] == [TEMPLATE_URL]


def test_iocs_from_the_bodies(response: Dict[str, Any]) -> None:
    text = named(response, "body-1.txt")
    assert reasons(text, "iocs") == ["results:text-mimetype"]
    text_iocs = found(text, "iocs")
    assert text_iocs["urls"] == ["https://pay-portal.example.com/invoice"]
    assert text_iocs["defanged"] == [
        "https://pay-portal.example.com/invoice",
        "pay-portal.example.com",
    ]
    page = named(response, "body-2.html")
    assert reasons(page, "html") == ["results:html-mimetype"]
    assert found(page, "html")["forms"][0]["password"] is True
    assert "https://login.example.net/verify" in found(page, "iocs")["urls"]


def test_summary_names_each_finding_and_its_payload(response: Dict[str, Any]) -> None:
    summary = response["decorators"]["summary"]
    assert summary["severity"] == "high"
    by_id = {r["payload_id"]: r for r in response["results"]}
    expected = {
        "autoexec_macro": "sample_with_vba.ppt",
        "pdf_javascript_on_open": "issue-297.pdf",
        "pdf_embedded_file": "attachment.pdf",
        "remote_template": "invoice.docx",
        "credential_form": "body-2.html",
        "sender_authentication": "overdue.eml",
        "executable_inside": "setup.exe",
    }
    for finding, filename in expected.items():
        [entry] = findings(response, finding)
        assert entry["payload_id"] == named(response, filename)["payload_id"], finding
        assert entry["payload_id"] in by_id
        assert entry["path"].endswith(filename)
    assert TEMPLATE_URL in findings(response, "remote_template")[0]["reason"]
    assert findings(response, "executable_inside")[0]["severity"] == "high"
    assert "Action_Click" in findings(response, "autoexec_macro")[0]["reason"]
    assert findings(response, "autoexec_macro")[0]["path"] == (
        f"{response['results'][0]['payload_meta']['extra_data']['filename']}"
        " > samples.zip > sample_with_vba.ppt"
    )


def test_an_outlook_message_reaches_email_and_its_attachments_are_scanned() -> None:
    """msg_parser's complete.msg: yara's outlook_message rule adds email beside ole/olevba."""
    content = pinned_sample(
        "msg_parser-1.2.0.tar.gz",
        "msg_parser-1.2.0/tests/files/complete.msg",
        "e50d12b8f3e75c0f30596ab05c6a026da0265020385acbe6fd01b35987f0c9c3",
    ).read_bytes()
    with make_stoq(profile="default") as stoq:
        response = json.loads(str(stoq.scan(content)))
    root = response["results"][0]
    assert reasons(root, "email") == ["yara:outlook_message"]
    assert found(root, "email")["subject"] == "Test Multiple attachments complete email!!"
    docx = named(response, "[MS-OXPROPS]-181001.docx")
    assert docx["extracted_by"] == "email"
    assert "ooxml" in {w for r in docx["plugins_run"]["workers"] for w in r}
    assert found(named(response, "body-2.html"), "html")["links"]

"""Tests for the ``summary`` plugin: the stoq conformance suite, then its own behaviour.

The workers below stand in for the document, mail and archive plugins, returning results with
the keys their READMEs document; the cross-package test in the repository's ``tests/e2e``
checks the summary against the real plugins on real files.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from stoq import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin
from stoq.testing import DecoratorConformance

#: What each stand-in reports for a payload whose content names it.
SHAPES: Dict[bytes, Dict[str, Any]] = {
    b"olevba": {
        "vba_macros": True,
        "autoexec": [{"keyword": "AutoOpen", "description": "Runs when the document opens"}],
        "suspicious": [{"keyword": "Shell", "description": "May run a program"}],
    },
    b"ooxml": {
        "remote_templates": ["http://203.0.113.9/template.dotm"],
        "external_relationships": [
            {"part": "word/_rels/settings.xml.rels", "type": "attachedTemplate", "target": "x"}
        ],
        "dde": [],
    },
    b"pdf": {
        "javascript": [{"trigger": "open", "on_open": True}],
        "javascript_on_open": True,
        "actions": [
            {"type": "Launch", "target": "cmd.exe"},
            {"type": "URI", "target": "http://example.org/"},
        ],
        "embedded_files": [{"filename": "jpeg.pdf"}],
    },
    b"ole": {"packages": [{"filename": "calc.lnk"}], "encrypted": False},
    b"rtf": {"equation_editor": True, "objects": []},
    b"decompress": {
        "members": [{"archive_path": "secret.exe", "encrypted": True, "error": "wrong password"}]
    },
    b"email": {
        "authentication_results": [{"results": {"spf": "fail", "dkim": "pass", "dmarc": "fail"}}]
    },
    b"html": {
        "forms": [{"action": "https://collect.example.net/", "password": True}],
        "meta_refresh": [{"delay": 0.0, "url": "https://next.example.net/"}],
    },
    b"olevba-error": {"error": "cannot parse: truncated"},
}


class StandIn(WorkerPlugin):
    """Reports its SHAPES entry under whichever worker name the payload's content names."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse(SHAPES.get(payload.content.split(b":")[0]))


class Mail(WorkerPlugin):
    """Extracts an attachment named like an executable and one that is a Windows PE."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        if payload.extracted_from is not None:
            return None
        return WorkerResponse(
            {"attachments": 2},
            extracted=[
                ExtractedPayload(b"attachment one", PayloadMeta(extra_data={"filename": "run.js"})),
                ExtractedPayload(b"MZ" + b"\0" * 62, PayloadMeta(extra_data={"filename": "a.bin"})),
            ],
        )


class Mime(WorkerPlugin):
    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        dosexec = payload.content.startswith(b"MZ")
        return WorkerResponse({"mimetype": "application/x-dosexec" if dosexec else "text/plain"})


class TestSummaryPluginConformance(DecoratorConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "summary"
    samples = (b"olevba: sample",)


def summarise(stoq_factory, content: bytes, worker: str) -> Dict[str, Any]:
    stoq = stoq_factory(always_dispatch=[worker], decorators=["summary"])
    stoq.plugins.build(worker, StandIn)
    response = stoq.scan(content, PayloadMeta(extra_data={"filename": "sample.bin"}))
    assert response.errors == []
    summary = response.decorators["summary"]
    for finding in summary["findings"]:
        assert finding["payload_id"] == response.results[0].payload_id
        assert (finding["plugin"], finding["filename"], finding["path"]) == (
            worker,
            "sample.bin",
            "sample.bin",
        )
    return summary


def findings(summary: Dict[str, Any]) -> list:
    return [(f["severity"], f["finding"], f["reason"]) for f in summary["findings"]]


def test_auto_executing_macro(stoq_factory) -> None:
    summary = summarise(stoq_factory, b"olevba: doc", "olevba")
    assert findings(summary) == [
        ("high", "autoexec_macro", "macro runs on its own: AutoOpen; suspicious: Shell")
    ]
    assert summary["severity"] == "high"
    assert summary["counts"] == {"high": 1, "medium": 0, "low": 0}


def test_remote_template(stoq_factory) -> None:
    assert findings(summarise(stoq_factory, b"ooxml: docx", "ooxml")) == [
        (
            "high",
            "remote_template",
            "remote template loaded on open: http://203.0.113.9/template.dotm",
        )
    ]


def test_pdf_javascript_on_open_launch_and_files(stoq_factory) -> None:
    assert findings(summarise(stoq_factory, b"pdf: x", "pdf")) == [
        ("high", "pdf_javascript_on_open", "PDF JavaScript runs when the document opens"),
        ("high", "pdf_launch", "PDF Launch action: cmd.exe"),
        ("medium", "pdf_embedded_file", "PDF carries files: jpeg.pdf"),
        ("low", "pdf_uri", "PDF links: http://example.org/"),
    ]


def test_ole_package_equation_editor_archive_mail_and_html(stoq_factory) -> None:
    assert findings(summarise(stoq_factory, b"ole: x", "ole")) == [
        ("high", "ole_package", "embedded OLE package: calc.lnk")
    ]
    assert findings(summarise(stoq_factory, b"rtf: x", "rtf"))[0][1] == "equation_editor"
    assert findings(summarise(stoq_factory, b"decompress: x", "decompress")) == [
        ("high", "password_archive", "password-protected archive, not opened: secret.exe")
    ]
    assert findings(summarise(stoq_factory, b"email: x", "email")) == [
        ("medium", "sender_authentication", "sender authentication failed: dmarc=fail, spf=fail")
    ]
    assert findings(summarise(stoq_factory, b"html: x", "html")) == [
        ("medium", "credential_form", "password form posting to https://collect.example.net/"),
        ("low", "meta_refresh", "page redirects to https://next.example.net/"),
    ]


def test_unexpected_or_error_results_add_nothing(stoq_factory) -> None:
    """A worker's error result, or a shape the summary does not know, is no finding."""
    summary = summarise(stoq_factory, b"olevba-error: x", "olevba")
    assert summary == {
        "severity": None,
        "counts": {"high": 0, "medium": 0, "low": 0},
        "findings": [],
    }


def test_executables_inside_mail_point_at_their_payload(stoq_factory) -> None:
    stoq = stoq_factory(always_dispatch=["email", "mimetype"], decorators=["summary"])
    stoq.plugins.build("email", Mail)
    stoq.plugins.build("mimetype", Mime)
    response = stoq.scan(b"a message", PayloadMeta(extra_data={"filename": "mail.eml"}))
    _, script, exe = response.results
    assert [
        (f["severity"], f["finding"], f["payload_id"], f["path"])
        for f in response.decorators["summary"]["findings"]
    ] == [
        ("high", "executable_inside", exe.payload_id, "mail.eml > a.bin"),
        ("medium", "executable_inside", script.payload_id, "mail.eml > run.js"),
    ]


def test_max_findings_is_honoured_and_counted(stoq_factory) -> None:
    stoq = stoq_factory(
        always_dispatch=["pdf"],
        decorators=["summary"],
        plugin_opts={"summary": {"max_findings": 1}},
    )
    stoq.plugins.build("pdf", StandIn)
    summary = stoq.scan(b"pdf: x").decorators["summary"]
    assert len(summary["findings"]) == 1
    assert summary["findings_omitted"] == 3
    assert summary["counts"] == {"high": 2, "medium": 1, "low": 1}

"""Tests for the ``pdf`` plugin: the stoq conformance suite, then its own behaviour.

Real files: pypdf's own test PDFs (taken out of its pinned sdist) and PDFs made here with
pikepdf, the library the plugin reads them with.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from typing import Any, Dict, List

import pikepdf
import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk
from stoq_plugin_pdf import backends
from stoq_plugin_pdf.walk import walk as walk_pdf

PYPDF = "pypdf-7.1.1.tar.gz"


def attachment_pdf() -> bytes:
    """A file in a page's FileAttachment annotation (not in the EmbeddedFiles tree)."""
    return pinned_sample(
        PYPDF,
        "pypdf-7.1.1/resources/attachment.pdf",
        "c621f5136783216a2011c128a3d23ce1e4390c2a2f246ceb67f8901c1c1b0f96",
    ).read_bytes()


def javascript_pdf() -> bytes:
    """A JavaScript OpenAction (and a damaged xref table qpdf must rebuild)."""
    return pinned_sample(
        PYPDF,
        "pypdf-7.1.1/resources/issue-297.pdf",
        "87c0fa472c602de676d93d044b3619afd9e450d039101c70ca3550356d1537e1",
    ).read_bytes()


def saved(pdf: pikepdf.Pdf, **save_args: Any) -> bytes:
    buffer = io.BytesIO()
    pdf.save(buffer, **save_args)
    return buffer.getvalue()


def made_pdf() -> bytes:
    """A PDF with each kind of thing the plugin reports, made with pikepdf."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0]
    pdf.attachments["invoice.exe"] = pikepdf.AttachedFileSpec(
        pdf, b"MZ pretend executable", filename="invoice.exe"
    )
    # pikepdf also lists it in the catalog's /AF (associated files); keep only the tree.
    if "/AF" in pdf.Root:
        del pdf.Root.AF
    document_js = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS="doc()"))
    pdf.Root.Names.JavaScript = pikepdf.Dictionary(
        Names=pikepdf.Array([pikepdf.String("init"), document_js])
    )
    page_open = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pdf.make_stream(b"pageOpen()"))
    page.obj.AA = pikepdf.Dictionary(O=page_open)
    actions = [
        pikepdf.Dictionary(S=pikepdf.Name.URI, URI="http://example.org/landing"),
        pikepdf.Dictionary(
            S=pikepdf.Name.Launch,
            F="cmd.exe",
            Win=pikepdf.Dictionary(F="cmd.exe", P="/c calc"),
        ),
        pikepdf.Dictionary(
            S=pikepdf.Name.SubmitForm,
            F=pikepdf.Dictionary(FS=pikepdf.Name.URL, F="https://example.com/collect"),
        ),
    ]
    page.obj.Annots = pdf.make_indirect(
        pikepdf.Array(
            [
                pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, A=action)
                for action in actions
            ]
        )
    )
    return saved(pdf)


def self_referencing_pdf() -> bytes:
    """The catalog points at itself and an action is its own /Next: the walk must end."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.Self = pdf.Root
    action = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS="loop()"))
    action.Next = action
    pdf.Root.OpenAction = action
    return saved(pdf)


def scan(content: bytes, **options: Any) -> Any:
    return run_plugin("pdf", "scan", content, plugin_opts=options)


class TestPdfPluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "pdf"
    samples = (attachment_pdf(), javascript_pdf(), made_pdf(), self_referencing_pdf())


def test_openaction_javascript_is_reported_as_run_on_open() -> None:
    """pypdf's issue-297.pdf: the script, where it sits, and that it runs when opened."""
    response = scan(javascript_pdf())
    results = response.results
    assert response.errors == []
    assert results["javascript"] == [
        {
            "trigger": "open",
            "on_open": True,
            "path": "Root/OpenAction",
            "length": 66,
            "source": "app.alert({cMsg: 'Hello alert', cTitle: 'Testing PDF', nIcon: 3});",
            "source_truncated": False,
        }
    ]
    assert results["javascript_on_open"] is True
    assert any("reconstruct" in warning for warning in results["warnings"])
    assert not any("BytesIO" in warning for warning in results["warnings"])
    [script] = response.extracted
    assert script.content.startswith(b"app.alert(")
    assert script.payload_meta.extra_data == {"filename": "javascript-1.js", "trigger": "open"}


def test_file_attachment_annotation_is_extracted_with_its_name() -> None:
    """pypdf's attachment.pdf keeps jpeg.pdf in a FileAttachment annotation: it is extracted."""
    response = scan(attachment_pdf())
    [meta] = response.results["embedded_files"]
    assert meta["filename"] == "jpeg.pdf"
    assert meta["source"] == "FileAttachment annotation"
    assert meta["size"] == 100898
    assert response.results["annotations"] == 1
    [child] = response.extracted
    assert child.content.startswith(b"%PDF-")
    assert len(child.content) == 100898
    assert child.payload_meta.extra_data["filename"] == "jpeg.pdf"


def test_embedded_files_document_and_page_scripts_and_actions() -> None:
    """Each kind of content in a PDF made with pikepdf is found, with its trigger."""
    results = scan(made_pdf()).results
    assert [(f["filename"], f["source"]) for f in results["embedded_files"]] == [
        ("invoice.exe", "EmbeddedFiles")
    ]
    scripts = {js["source"]: (js["trigger"], js["on_open"]) for js in results["javascript"]}
    assert scripts == {"doc()": ("document", True), "pageOpen()": ("page O", True)}
    actions = {a["type"]: a for a in results["actions"]}
    assert actions["URI"]["target"] == "http://example.org/landing"
    assert actions["URI"]["trigger"] == "annotation"
    assert actions["Launch"]["target"] == "cmd.exe"
    assert actions["Launch"]["windows"] == {"F": "cmd.exe", "P": "/c calc"}
    assert actions["SubmitForm"]["target"] == "https://example.com/collect"
    assert results["objects"] >= results["objects_reachable"] > 0


def test_children_carry_the_embedded_bytes() -> None:
    response = scan(made_pdf())
    contents = {c.payload_meta.extra_data["filename"]: c.content for c in response.extracted}
    assert contents["invoice.exe"] == b"MZ pretend executable"
    assert sorted(k for k in contents if k.endswith(".js")) == [
        "javascript-1.js",
        "javascript-2.js",
    ]


def test_an_object_referencing_itself_ends_the_walk() -> None:
    """A catalog that contains itself and an action that is its own /Next: visited once."""
    response = scan(self_referencing_pdf())
    assert response.errors == []
    [script] = response.results["javascript"]
    assert (script["source"], script["trigger"]) == ("loop()", "open")


def test_encryption_is_reported_when_the_file_opens_without_a_password() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    content = saved(pdf, encryption=pikepdf.Encryption(owner="secret", user="", R=6))
    results = scan(content).results
    assert results["encrypted"] is True
    assert results["encryption"] == {"method": "aesv3", "bits": 256}


def test_a_user_password_is_reported_not_an_error() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    content = saved(pdf, encryption=pikepdf.Encryption(owner="o", user="u", R=4))
    response = scan(content)
    assert response.errors == []
    assert response.results["encrypted"] is True
    assert response.results["needs_password"] is True


def test_pypdf_backend_finds_the_same_things() -> None:
    """The fallback reads the real samples to the same findings as pikepdf."""
    for content in (javascript_pdf(), attachment_pdf(), made_pdf()):
        pike = walk_pdf(backends._Pike(content), 1000, 1000)
        pure = walk_pdf(backends._PyPdf(content), 1000, 1000)
        assert pure.javascript == pike.javascript
        assert pure.actions == pike.actions
        assert [meta for meta, _ in pure.files] == [meta for meta, _ in pike.files]
        assert [data for _, data in pure.files] == [data for _, data in pike.files]


def test_findings_come_in_one_order_whatever_the_process_or_backend() -> None:
    """pikepdf gives a dictionary's keys as a set, whose order follows the hash seed: walked
    as given, a Launch action's ``windows`` came out as P, F in one process and F, P in
    another. Keys are walked in sorted order, by both backends."""
    content = made_pdf()
    outputs = set()
    for seed in range(1, 5):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        for backend in ("_Pike", "_PyPdf"):
            script = (
                "import json, sys\n"
                "from stoq_plugin_pdf import backends\n"
                "from stoq_plugin_pdf.walk import walk\n"
                f"found = walk(backends.{backend}(sys.stdin.buffer.read()), 1000, 1000)\n"
                "files = [meta for meta, _ in found.files]\n"
                "print(json.dumps([found.javascript, found.actions, files], default=str))\n"
            )
            done = subprocess.run(
                [sys.executable, "-c", script], input=content, capture_output=True, env=env
            )
            assert done.returncode == 0, done.stderr.decode()
            outputs.add(done.stdout)
    assert len(outputs) == 1, outputs
    assert b'"windows": {"F": "cmd.exe", "P": "/c calc"}' in outputs.pop()


def test_pypdf_takes_over_when_pikepdf_cannot_open(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(content: bytes) -> None:
        raise pikepdf.PdfError("qpdf refused it")

    monkeypatch.setattr(backends._Pike, "__init__", lambda self, content: refuse(content))
    results = scan(javascript_pdf()).results
    assert results["backend"] == "pypdf"
    assert results["backend_failures"] == ["pikepdf: PdfError: qpdf refused it"]
    assert results["javascript"][0]["trigger"] == "open"


def test_limits_are_honoured_and_reported() -> None:
    response = scan(made_pdf(), max_extracted=1, max_objects=3, max_script_chars=2)
    assert len(response.extracted) <= 1
    assert response.results["objects_reachable"] == 3
    assert any("max_objects (3)" in s for s in response.results["skipped"])
    response = scan(made_pdf(), max_extracted=1)
    assert response.results["skipped"] == [
        "2 files and scripts beyond max_extracted (1) not extracted"
    ]
    script = scan(javascript_pdf(), max_script_chars=9).results["javascript"][0]
    assert (script["source"], script["source_truncated"], script["length"]) == (
        "app.alert",
        True,
        66,
    )


def hostile_variants() -> Dict[str, bytes]:
    content = javascript_pdf()
    flipped = bytearray(made_pdf())
    for offset in range(200, len(flipped), 97):
        flipped[offset] ^= 0xFF
    return {
        "empty": b"",
        "header only": b"%PDF-1.7\n",
        "truncated": content[: len(content) // 2],
        "bit-flipped": bytes(flipped),
        "not a pdf": b"GIF89a" + bytes(range(256)),
    }


@pytest.mark.parametrize("name", list(hostile_variants()))
def test_hostile_variants_give_a_result_or_an_error_never_a_crash(stoq_factory, name: str) -> None:
    """Through the engine: one result, any failure as an Error of the pdf plugin, valid JSON."""
    stoq = stoq_factory(always_dispatch=["pdf"])
    response = stoq.scan(hostile_variants()[name])
    json.loads(str(response))
    root = response.results[0]
    errors: List[Any] = [e for e in response.errors if e.payload_id == root.payload_id]
    assert "pdf" in root.workers[0] or [e.plugin_name for e in errors] == ["pdf"]
    assert all(e.stage == "scan" for e in errors)


def test_full_scan_extracts_children_through_the_engine(stoq_factory) -> None:
    stoq = stoq_factory(always_dispatch=["pdf"])
    response = stoq.scan(attachment_pdf())
    [(_, root), (depth, child)] = list(walk(response))
    assert root.workers[0]["pdf"]["embedded_files"][0]["filename"] == "jpeg.pdf"
    assert (depth, child.extracted_by) == (1, "pdf")
    assert child.payload_meta.extra_data["filename"] == "jpeg.pdf"


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real PDFs end in a result or an Error, in budget and memory."""
    check_hostile_corpus("pdf", [javascript_pdf(), made_pdf()])

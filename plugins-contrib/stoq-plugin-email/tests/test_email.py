"""Tests for the ``email`` plugin: the stoq conformance suite, then its own behaviour.

Real files: an Outlook message from msg_parser's pinned sdist, and RFC 822 messages made here
with the standard library's ``email`` package.
"""

from __future__ import annotations

import io
import json
import sysconfig
import time
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any, List

import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk


def outlook_msg() -> bytes:
    return pinned_sample(
        "msg_parser-1.2.0.tar.gz",
        "msg_parser-1.2.0/tests/files/complete.msg",
        "e50d12b8f3e75c0f30596ab05c6a026da0265020385acbe6fd01b35987f0c9c3",
    ).read_bytes()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # A fixed date: the same bytes on every call.
        archive.writestr(zipfile.ZipInfo("readme.txt", (2026, 12, 1, 0, 0, 0)), "inside\n")
    return buffer.getvalue()


def rfc822_message() -> bytes:
    """A phishing-shaped message: two hops, auth results, both bodies, a zip, a forward."""
    forwarded = EmailMessage()
    forwarded["From"] = "boss@example.com"
    forwarded["Subject"] = "Original request"
    forwarded.set_content("see attached\n")
    message = EmailMessage()
    message["Received"] = (
        "from mx.example.net (mx.example.net [192.0.2.10]) by inbound.example.org"
        " with ESMTPS id abc123 for <victim@example.org>; Tue, 1 Dec 2026 10:00:02 +0000"
    )
    message["Received"] = (
        "from [198.51.100.7] by mx.example.net with ESMTP; Tue, 1 Dec 2026 10:00:00 +0000"
    )
    message["Authentication-Results"] = (
        "inbound.example.org; spf=fail smtp.mailfrom=example.com; dkim=none; dmarc=fail"
        " header.from=example.com"
    )
    message["From"] = "=?utf-8?q?Caf=C3=A9_Billing?= <billing@example.com>"
    message["To"] = "victim@example.org"
    message["Subject"] = "Invoice overdue"
    message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    message["Message-ID"] = "<invoice-1@example.com>"
    message.set_content("Pay at http://pay.example.net/now today.\n")
    message.add_alternative(
        '<p><a href="https://portal.example.com/login">log in</a></p>\n', "html"
    )
    message.add_attachment(
        zip_bytes(), maintype="application", subtype="zip", filename="invoice.zip"
    )
    message.add_attachment(forwarded, filename="original.eml")
    return message.as_bytes()


def cpython_messages() -> Path:
    """CPython's own test messages, shipped with the interpreter's ``test`` package."""
    folder = Path(sysconfig.get_paths()["stdlib"], "test", "test_email", "data")
    if not (folder / "msg_02.txt").is_file():
        pytest.fail(f"CPython's test_email data is not installed at {folder} (the 'test' package)")
    return folder


def nested_message(depth: int) -> bytes:
    """A message holding a message holding ... ``depth`` levels of message/rfc822."""
    level = b"Subject: level\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n"
    return level * depth + b"Subject: leaf\r\n\r\nbottom\r\n"


def scan(content: bytes, **options: Any) -> Any:
    return run_plugin("email", "scan", content, plugin_opts=options)


class TestEmailPluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "email"
    samples = (outlook_msg(), rfc822_message(), nested_message(1000))


def test_rfc822_headers_received_chain_and_authentication_results() -> None:
    results = scan(rfc822_message()).results
    assert results["format"] == "rfc822"
    assert results["from"] == "Café Billing <billing@example.com>"
    assert (results["to"], results["subject"]) == ("victim@example.org", "Invoice overdue")
    assert results["message_id"] == "<invoice-1@example.com>"
    first, second = results["received"]
    assert (first["from"], first["by"], first["with"], first["for"]) == (
        "mx.example.net",
        "inbound.example.org",
        "ESMTPS",
        "victim@example.org",
    )
    assert first["date"] == "Tue, 1 Dec 2026 10:00:02 +0000"
    assert (second["from"], second["by"]) == ("[198.51.100.7]", "mx.example.net")
    [auth] = results["authentication_results"]
    assert auth["authserv_id"] == "inbound.example.org"
    assert auth["results"] == {"spf": "fail", "dkim": "none", "dmarc": "fail"}


def test_rfc822_bodies_urls_attachments_and_nested_messages_are_extracted() -> None:
    response = scan(rfc822_message())
    results = response.results
    assert [b["content_type"] for b in results["bodies"]] == ["text/plain", "text/html"]
    assert results["urls"] == ["http://pay.example.net/now", "https://portal.example.com/login"]
    assert results["attachments"] == [
        {
            "filename": "invoice.zip",
            "content_type": "application/zip",
            "disposition": "attachment",
            "size": len(zip_bytes()),
        }
    ]
    [nested] = results["messages"]
    assert (nested["filename"], nested["subject"]) == ("original.eml", "Original request")
    children = {c.payload_meta.extra_data["filename"]: c.content for c in response.extracted}
    assert sorted(children) == ["body-1.txt", "body-2.html", "invoice.zip", "original.eml"]
    assert children["invoice.zip"] == zip_bytes()
    assert b"Subject: Original request" in children["original.eml"]
    assert children["body-1.txt"] == b"Pay at http://pay.example.net/now today.\n"


def test_outlook_msg_properties_recipients_headers_and_attachments() -> None:
    """msg_parser's complete.msg: read with olefile, attached messages read in place."""
    response = scan(outlook_msg())
    results = response.results
    assert results["format"] == "outlook-msg"
    assert results["subject"] == "Test Multiple attachments complete email!!"
    assert results["sender_email"] == "admin@fegraph.onmicrosoft.com"
    assert {"name": "invotas.cnb@gmail.com", "address": "invotas.cnb@gmail.com"} in results[
        "recipients"
    ]
    transport = results["transport_headers"]
    assert len(transport["received"]) == 6
    assert transport["authentication_results"][0]["results"]["dkim"] == "fail"
    names = [a["filename"] for a in results["attachments"]]
    assert "[MS-OXPROPS]-181001.docx" in names
    attached = [a for a in results["attachments"] if "message" in a]
    assert attached[0]["message"]["subject"] == "Create a database on Azure in 90 seconds"
    children = {c.payload_meta.extra_data["filename"]: c.content for c in response.extracted}
    assert children["[MS-OXPROPS]-181001.docx"][:2] == b"PK"
    assert children["body-1.txt"].startswith(results["bodies"][0]["text"][:20].encode())


def test_cpython_digest_message_extracts_each_message_of_the_digest() -> None:
    """msg_02.txt, a Mailman digest: its five messages are extracted whole, with subjects."""
    response = scan((cpython_messages() / "msg_02.txt").read_bytes())
    results = response.results
    assert results["subject"] == "Ppp digest, Vol 1 #2 - 5 msgs"
    assert results["x_mailer"] == "Mailman v2.0.4"
    assert [m["subject"] for m in results["messages"]] == [
        "[Ppp] testing #1",
        None,
        "[Ppp] testing #3",
        "[Ppp] testing #4",
        "[Ppp] testing #5",
    ]
    assert "http://www.zzz.org/mailman/listinfo/ppp" in results["urls"]
    names = [c.payload_meta.extra_data["filename"] for c in response.extracted]
    assert [n for n in names if n.endswith(".eml")] == [f"message-{i}.eml" for i in range(1, 6)]


def test_every_cpython_test_message_gives_a_result() -> None:
    """All of CPython's msg_*.txt (some deliberately malformed) parse without an error."""
    paths = sorted(cpython_messages().glob("msg_*.txt"))
    assert len(paths) >= 45
    for path in paths:
        response = scan(path.read_bytes())
        assert response.errors == [], path.name
        assert response.results["format"] == "rfc822", path.name


def test_a_message_nested_1000_deep_is_bounded_and_reported() -> None:
    """Past max_nested the body is not parsed (it would take the parser quadratic time)."""
    started = time.monotonic()
    response = scan(nested_message(1000))
    assert time.monotonic() - started < 5
    assert response.results["subject"] == "level"
    assert response.results["skipped"] == [
        "body not parsed: 1000 nested messages and multiparts, more than max_nested (50)"
    ]
    assert response.extracted == []


def test_nested_messages_within_the_limit_are_extracted_one_level_at_a_time() -> None:
    response = scan(nested_message(3))
    [child] = response.extracted
    assert child.content.count(b"message/rfc822") == 2


def test_attached_outlook_messages_are_bounded_too() -> None:
    """complete.msg attaches messages: with max_parts 1 only the first is read, the rest noted."""
    results = scan(outlook_msg(), max_parts=1).results
    read = [a for a in results["attachments"] if "message" in a]
    assert len(read) == 1
    assert any("beyond max_parts not read" in note for note in results["skipped"])


def test_max_parts_is_honoured_and_reported() -> None:
    response = scan(rfc822_message(), max_parts=2)
    assert len(response.extracted) == 2
    assert response.results["skipped"] == ["2 parts beyond max_parts (2) not extracted"]


def hostile_variants() -> dict:
    msg = outlook_msg()
    flipped = bytearray(msg)
    for offset in range(512, len(flipped), 4099):
        flipped[offset] ^= 0xFF
    return {
        "empty": b"",
        "truncated msg": msg[:4096],
        "bit-flipped msg": bytes(flipped),
        "truncated rfc822": rfc822_message()[:700],
        "binary": bytes(range(256)) * 4,
    }


@pytest.mark.parametrize("name", list(hostile_variants()))
def test_hostile_variants_give_a_result_or_an_error_never_a_crash(stoq_factory, name: str) -> None:
    stoq = stoq_factory(always_dispatch=["email"])
    response = stoq.scan(hostile_variants()[name])
    json.loads(str(response))
    root = response.results[0]
    errors: List[Any] = [e for e in response.errors if e.payload_id == root.payload_id]
    assert "email" in root.workers[0] or [e.plugin_name for e in errors] == ["email"]


def test_full_scan_extracts_children_with_filenames(stoq_factory) -> None:
    stoq = stoq_factory(always_dispatch=["email"])
    response = stoq.scan(rfc822_message())
    names = {r.payload_meta.extra_data.get("filename") for _, r in walk(response)}
    assert {"invoice.zip", "original.eml", "body-1.txt", "body-2.html"} <= names


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real messages end in a result or an Error, in budget and memory."""
    check_hostile_corpus("email", [rfc822_message(), outlook_msg()])

"""Tests for the ``html`` plugin: the stoq conformance suite, then its own behaviour.

Real pages: the HTML body of msg_parser's ``complete.msg`` (a real marketing mail, read out of
the pinned sdist with olefile), and a phishing-shaped page written here.
"""

from __future__ import annotations

import json
from typing import Any

import olefile
import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

PAGE = b"""<html><head><title> Sign in </title>
<meta http-equiv="Refresh" content="5; url=https://next.example.com/">
<script src="https://cdn.example.com/lib.js"></script>
<script>var u = "http://c2.example.net/"; eval(atob("YWxlcnQoMSk="));</script></head>
<body><a href="https://login.example.com/">log in</a>
<form action="https://collect.example.net/post.php" method="POST">
<input name="user"><input name="pass" type="password"></form>
<iframe src="http://ads.example.org/" width="0" height="0"></iframe>
<iframe src="https://video.example.org/" width="640" height="360"></iframe>
<object data="movie.swf"></object></body></html>"""


def mail_html() -> bytes:
    """The HTML body of a real Outlook message."""
    path = pinned_sample(
        "msg_parser-1.2.0.tar.gz",
        "msg_parser-1.2.0/tests/files/complete.msg",
        "e50d12b8f3e75c0f30596ab05c6a026da0265020385acbe6fd01b35987f0c9c3",
    )
    with olefile.OleFileIO(str(path)) as ole:
        return bytes(ole.openstream("__substg1.0_10130102").read())


def scan(content: bytes, **options: Any) -> Any:
    return run_plugin("html", "scan", content, plugin_opts=options)


class TestHtmlPluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "html"
    samples = (PAGE, mail_html(), b"<div>" * 20000)


def test_scripts_links_forms_iframes_refresh_and_objects() -> None:
    response = scan(PAGE)
    results = response.results
    assert results["title"] == "Sign in"
    assert results["scripts"] == [
        {"src": "https://cdn.example.com/lib.js", "type": None, "length": 0},
        {"src": None, "type": None, "length": 61, "filename": "script-2.js"},
    ]
    assert results["links"] == ["https://login.example.com/"]
    assert results["forms"] == [
        {
            "action": "https://collect.example.net/post.php",
            "method": "post",
            "inputs": [{"name": "user", "type": "text"}, {"name": "pass", "type": "password"}],
            "password": True,
        }
    ]
    assert results["iframes"] == [
        {"src": "http://ads.example.org/", "hidden": True},
        {"src": "https://video.example.org/", "hidden": False},
    ]
    assert results["meta_refresh"] == [{"delay": 5.0, "url": "https://next.example.com/"}]
    assert results["objects"] == [{"tag": "object", "src": "movie.swf"}]


def test_inline_scripts_are_extracted_as_children() -> None:
    [child] = scan(PAGE).extracted
    assert child.content == b'var u = "http://c2.example.net/"; eval(atob("YWxlcnQoMSk="));'
    assert child.payload_meta.extra_data == {"filename": "script-2.js"}


def test_a_real_mail_body() -> None:
    results = scan(mail_html()).results
    assert "https://reallygoodemails.com/us/en/nokia" in results["links"]
    assert results["forms"] == []


def test_limits_are_honoured_and_reported() -> None:
    page = b"".join(b'<a href="/%d">x</a><script>s%d()</script>' % (n, n) for n in range(5))
    response = scan(page, max_items=2, max_scripts=1)
    assert response.results["links"] == ["/0", "/1"]
    assert len(response.extracted) == 1
    assert response.results["skipped"] == [
        "4 inline scripts beyond max_scripts (1) not extracted",
        "3 scripts beyond max_items (2)",
        "3 links beyond max_items (2)",
    ]


@pytest.mark.parametrize(
    "content",
    [b"", b"<" * 100000, PAGE[: len(PAGE) // 2], bytes(range(256)) * 16],
    ids=["empty", "angles", "truncated", "binary"],
)
def test_hostile_pages_give_a_result(stoq_factory, content: bytes) -> None:
    stoq = stoq_factory(always_dispatch=["html"])
    response = stoq.scan(content)
    json.loads(str(response))
    assert response.errors == []
    assert "scripts" in response.results[0].workers[0]["html"]


def test_full_scan_extracts_scripts(stoq_factory) -> None:
    stoq = stoq_factory(always_dispatch=["html"])
    names = [r.payload_meta.extra_data.get("filename") for _, r in walk(stoq.scan(PAGE))]
    assert "script-2.js" in names


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real HTML pages end in a result or an Error, in budget and memory."""
    check_hostile_corpus("html", [PAGE, mail_html()])

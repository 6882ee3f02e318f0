"""Reasons a human should look, read from each worker's results.

One function per worker, each tolerant of a result it does not expect (another version of the
worker, an error result, the worker absent): it yields ``(severity, finding, reason)`` for
what it recognises and nothing otherwise.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterator, List, Tuple

    Finding = Tuple[str, str, str]

__all__ = ["EXECUTABLE_EXTENSIONS", "READERS", "Finding"]


#: File names a double click runs (or that Windows hands to a script host or installer).
EXECUTABLE_EXTENSIONS = {
    ".exe", ".scr", ".com", ".pif", ".dll", ".cpl", ".msi", ".bat", ".cmd", ".ps1", ".vbs",
    ".vbe", ".js", ".jse", ".wsf", ".wsh", ".hta", ".jar", ".lnk", ".reg", ".iso", ".img",
}  # fmt: skip


def _list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(items: List[Any], key: str, most: int = 5) -> str:
    names = [str(_dict(item).get(key)) for item in items if _dict(item).get(key)]
    shown = ", ".join(names[:most])
    return shown + (f" (+{len(names) - most} more)" if len(names) > most else "")


def olevba(r: Dict[str, Any]) -> Iterator[Finding]:
    autoexec = _list(r.get("autoexec"))
    suspicious = _names(_list(r.get("suspicious")), "keyword")
    has_macros = bool(r.get("vba_macros") or r.get("xlm_macros") or r.get("modules"))
    if autoexec:
        extra = f"; suspicious: {suspicious}" if suspicious else ""
        yield (
            "high",
            "autoexec_macro",
            f"macro runs on its own: {_names(autoexec, 'keyword')}{extra}",
        )
    elif has_macros:
        yield (
            "medium",
            "macro",
            "macros present" + (f"; suspicious: {suspicious}" if suspicious else ""),
        )
    if r.get("encrypted") is True:
        yield (
            "medium",
            "encrypted_document",
            "encrypted Office document: its content cannot be seen",
        )


def ooxml(r: Dict[str, Any]) -> Iterator[Finding]:
    for target in _list(r.get("remote_templates")):
        yield "high", "remote_template", f"remote template loaded on open: {target}"
    dde = _list(r.get("dde"))
    if dde:
        yield "high", "dde", f"DDE field: {str(dde[0])[:200]}"
    for rel in _list(r.get("external_relationships")):
        if _dict(rel).get("type") in ("oleObject", "frame", "subDocument"):
            yield "medium", "external_object", f"external {rel['type']}: {rel.get('target')}"


def ole(r: Dict[str, Any]) -> Iterator[Finding]:
    packages = _list(r.get("packages"))
    if packages:
        yield "high", "ole_package", f"embedded OLE package: {_names(packages, 'filename')}"
    if r.get("encrypted") is True:
        yield (
            "medium",
            "encrypted_document",
            "encrypted Office document: its content cannot be seen",
        )


def rtf(r: Dict[str, Any]) -> Iterator[Finding]:
    if r.get("equation_editor") is True:
        yield "high", "equation_editor", "Equation Editor object (the CVE-2017-11882 exploit class)"
    packages = [o for o in _list(r.get("objects")) if _dict(o).get("package")]
    if packages:
        yield "high", "ole_package", f"embedded OLE package: {_names(packages, 'filename')}"


def pdf(r: Dict[str, Any]) -> Iterator[Finding]:
    scripts = _list(r.get("javascript"))
    if r.get("javascript_on_open") is True:
        yield "high", "pdf_javascript_on_open", "PDF JavaScript runs when the document opens"
    elif scripts:
        yield "medium", "pdf_javascript", f"PDF JavaScript ({len(scripts)} scripts)"
    for action in _list(r.get("actions")):
        kind = _dict(action).get("type")
        if kind == "Launch":
            yield "high", "pdf_launch", f"PDF Launch action: {action.get('target')}"
        elif kind in ("SubmitForm", "ImportData", "GoToR", "GoToE"):
            yield "medium", "pdf_action", f"PDF {kind} action: {action.get('target')}"
    links = [a for a in _list(r.get("actions")) if _dict(a).get("type") == "URI"]
    if links:
        yield "low", "pdf_uri", f"PDF links: {_names(links, 'target')}"
    files = _list(r.get("embedded_files"))
    if files:
        yield "medium", "pdf_embedded_file", f"PDF carries files: {_names(files, 'filename')}"


def onenote(r: Dict[str, Any]) -> Iterator[Finding]:
    files = _list(r.get("files"))
    if files:
        yield "medium", "onenote_embedded_file", f"OneNote section embeds {len(files)} files"


def lnk(r: Dict[str, Any]) -> Iterator[Finding]:
    if r.get("target") or r.get("arguments"):
        command = " ".join(str(r[k]) for k in ("target", "arguments") if r.get(k))
        yield "medium", "shortcut", f"Windows shortcut runs: {command[:300]}"


def decompress(r: Dict[str, Any]) -> Iterator[Finding]:
    members = [_dict(m) for m in _list(r.get("members"))]
    locked = [m for m in members if m.get("encrypted") and m.get("error")]
    opened = [m for m in members if m.get("encrypted") and not m.get("error")]
    if locked:
        names = _names(locked, "archive_path")
        yield "high", "password_archive", f"password-protected archive, not opened: {names}"
    elif opened:
        names = _names(opened, "archive_path")
        yield (
            "medium",
            "password_archive",
            f"password-protected archive (a known password opened it): {names}",
        )


def email(r: Dict[str, Any]) -> Iterator[Finding]:
    headers = _dict(r.get("transport_headers")) or r
    failed = sorted(
        {
            f"{method}={result}"
            for auth in _list(headers.get("authentication_results"))
            for method, result in _dict(_dict(auth).get("results")).items()
            if method in ("spf", "dkim", "dmarc") and result in ("fail", "softfail", "permerror")
        }
    )
    if failed:
        yield (
            "medium",
            "sender_authentication",
            f"sender authentication failed: {', '.join(failed)}",
        )


def html(r: Dict[str, Any]) -> Iterator[Finding]:
    for form in _list(r.get("forms")):
        if _dict(form).get("password"):
            yield "medium", "credential_form", f"password form posting to {form.get('action')}"
    hidden = [f for f in _list(r.get("iframes")) if _dict(f).get("hidden")]
    if hidden:
        yield "medium", "hidden_iframe", f"hidden iframe: {_names(hidden, 'src')}"
    refreshes = [m for m in _list(r.get("meta_refresh")) if _dict(m).get("url")]
    if refreshes:
        yield "low", "meta_refresh", f"page redirects to {_names(refreshes, 'url')}"


READERS: Dict[str, Callable[[Dict[str, Any]], Iterator[Finding]]] = {
    "olevba": olevba,
    "ooxml": ooxml,
    "ole": ole,
    "rtf": rtf,
    "pdf": pdf,
    "onenote": onenote,
    "lnk": lnk,
    "decompress": decompress,
    "email": email,
    "html": html,
}


def executable_name(filename: Any) -> bool:
    return (
        isinstance(filename, str) and os.path.splitext(filename.lower())[1] in EXECUTABLE_EXTENSIONS
    )

"""The metadata tables dnfile reads, as plain JSON values."""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Dict, List, Optional

__all__ = ["describe", "part"]

_FLAGS = (
    "CLR_ILONLY",
    "CLR_32BITREQUIRED",
    "CLR_IL_LIBRARY",
    "CLR_STRONGNAMESIGNED",
    "CLR_NATIVE_ENTRYPOINT",
    "CLR_TRACKDEBUGDATA",
    "CLR_PREFER_32BIT",
)


def _text(value: Any) -> Optional[str]:
    """dnfile heap items, bytes or text as text; None for nothing."""
    if value is None:
        return None
    raw = getattr(value, "value", value)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "backslashreplace")
    return str(raw)


def _version(row: Any) -> str:
    parts = (row.MajorVersion, row.MinorVersion, row.BuildNumber, row.RevisionNumber)
    return ".".join(str(part) for part in parts)


def _rows(table: Any) -> List[Any]:
    return list(table.rows) if table is not None and table.rows else []


def _public_key_token(public_key: Any) -> Optional[str]:
    """The last 8 bytes of the key's SHA-1, reversed: the token references quote (ECMA-335)."""
    raw = getattr(public_key, "value", public_key)
    if not isinstance(raw, bytes) or not raw:
        return None
    return hashlib.sha1(raw).digest()[-8:][::-1].hex()


def _assembly(tables: Any) -> Optional[Dict[str, Any]]:
    rows = _rows(tables.Assembly)
    if not rows:
        return None
    row = rows[0]
    return {
        "name": _text(row.Name),
        "version": _version(row),
        "culture": _text(row.Culture) or None,
        "public_key_token": _public_key_token(row.PublicKey),
    }


def part(errors: List[str], name: str, read: Callable[[], Any], empty: Any) -> Any:
    """``read()``, or ``empty`` with one line in ``errors`` naming what dnfile could not read.

    dnfile raises many types (AttributeError, IndexError, ...) on corrupt tables; one broken
    table must not hide the rest of the assembly.
    """
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - dnfile raises many types on corrupt tables
        errors.append(f"{name}: {type(exc).__name__}: {exc}")
        return empty


def describe(net: Any, limit: int, errors: List[str]) -> Dict[str, Any]:
    """Identity, runtime, references, P/Invoke modules, resources and counts of an assembly."""
    tables = net.mdtables
    namespaces = part(
        errors,
        "types",
        lambda: sorted({_text(r.TypeNamespace) for r in _rows(tables.TypeDef)} - {"", None}),
        [],
    )
    return {
        "runtime_version": _text(net.metadata.struct.Version.rstrip(b"\0")),
        "clr_header_version": f"{net.struct.MajorRuntimeVersion}.{net.struct.MinorRuntimeVersion}",
        "flags": [flag for flag in _FLAGS if getattr(net.Flags, flag, False)],
        "assembly": part(errors, "assembly", lambda: _assembly(tables), None),
        "module": part(errors, "module", lambda: _text(_rows(tables.Module)[0].Name), None),
        "references": part(
            errors,
            "references",
            lambda: [
                {"name": _text(r.Name), "version": _version(r)}
                for r in _rows(tables.AssemblyRef)[:limit]
            ],
            [],
        ),
        "module_references": part(
            errors,
            "module_references",
            lambda: [_text(r.Name) for r in _rows(tables.ModuleRef)[:limit]],
            [],
        ),
        "resources": part(
            errors,
            "resources",
            lambda: [
                {
                    "name": _text(r.name),
                    "size": len(r.data) if isinstance(r.data, bytes) else None,
                    "public": bool(r.public),
                }
                for r in (net.resources or [])[:limit]
            ],
            [],
        ),
        "namespaces": namespaces[:limit],
        "counts": {
            "types": len(_rows(tables.TypeDef)),
            "methods": len(_rows(tables.MethodDef)),
            "member_references": len(_rows(tables.MemberRef)),
            "pinvoke_methods": len(_rows(tables.ImplMap)),
        },
    }

"""Excel 4 (XLM) macros: macro sheets, Auto_Open names and formulas, in BIFF and SYLK.

Excel runs the formulas of a *macro sheet* as a program; a defined name ``Auto_Open`` (a
built-in name, code 0x01) starts it when the workbook opens. Malware hides whole droppers in
such sheets, so the plugin reports them like VBA: a text listing, scanned for keywords. The
formula decoder renders the common tokens (strings, numbers, references, operators, the
functions malware uses); anything else ends that formula with ``<?>`` instead of guessing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

__all__ = ["Xlm", "biff", "slk"]

#: Built-in defined names that run macros (MS-XLS 2.5.149 Lbl, the one-character names).
BUILTIN_NAMES = {0x01: "Auto_Open", 0x02: "Auto_Close"}
#: BoundSheet8's dt value of a macro sheet.
MACRO_SHEET = 0x01
#: Function ids (Ftab) and command ids (Cetab, with bit 15 set) of the functions that matter
#: when reading a macro: flow, files, DLL calls, strings and sheet tricks.
FUNCTIONS = {
    0x0001: "IF", 0x0004: "SUM", 0x001F: "MID", 0x0035: "GOTO", 0x0036: "HALT",
    0x0037: "RETURN", 0x004A: "NOW", 0x0054: "ERROR", 0x0058: "SET.NAME", 0x0059: "CALLER",
    0x006C: "SET.VALUE", 0x006E: "EXEC", 0x006F: "CHAR", 0x007B: "DIRECTORY",
    0x0084: "FOPEN", 0x0085: "FCLOSE", 0x0089: "FWRITELN", 0x008A: "FWRITE",
    0x0095: "REGISTER", 0x0096: "CALL", 0x00A6: "FILES", 0x00B9: "GET.CELL",
    0x00BA: "GET.WORKSPACE", 0x00BC: "GET.DOCUMENT", 0x0101: "EVALUATE", 0x010B: "REGISTER.ID",
    0x0150: "CONCATENATE", 0x8006: "FILE.DELETE", 0x8011: "RUN", 0x8060: "FORMULA",
    0x8061: "FORMULA.FILL", 0x8076: "ALERT", 0x8094: "ON.TIME", 0x8095: "WAIT",
    0x817F: "WORKBOOK.HIDE",
}  # fmt: skip
#: Arguments of the fixed-arity functions above (ptgFunc tokens do not say how many).
FIXED_ARITY = {0x001F: 3, 0x006C: 2, 0x006F: 1, 0x0101: 1}
#: Binary operator tokens and how they read.
OPERATORS = {
    0x03: "+", 0x04: "-", 0x05: "*", 0x06: "/", 0x07: "^", 0x08: "&", 0x09: "<", 0x0A: "<=",
    0x0B: "=", 0x0C: ">=", 0x0D: ">", 0x0E: "<>",
}  # fmt: skip
#: Operand tokens rendered only by their kind, and how many bytes follow each in BIFF8 and in
#: BIFF5 (Excel 5/95: 1-byte columns, longer names and 3-D references).
OPAQUE = {0x1C: 1, 0x1D: 1, 0x23: 4, 0x25: 8, 0x2A: 4, 0x2B: 8, 0x2C: 4, 0x2D: 8, 0x39: 6,
          0x3B: 10, 0x3C: 6, 0x3D: 10}  # fmt: skip
OPAQUE_BIFF5 = {**OPAQUE, 0x23: 14, 0x25: 6, 0x2A: 3, 0x2B: 6, 0x2C: 3, 0x2D: 6, 0x39: 24,
                0x3B: 20, 0x3C: 17, 0x3D: 20}  # fmt: skip


@dataclass
class Xlm:
    """What a workbook holds of Excel 4 macros."""

    sheets: List[str] = field(default_factory=list)
    names: List[str] = field(default_factory=list)
    formulas: List[str] = field(default_factory=list)

    def listing(self) -> str:
        """The text the keyword analysis reads and the ``xlm_macro.txt`` module shows."""
        lines = [f"' Macro sheet: {s}" for s in self.sheets]
        lines += [f"' Defined name: {n}" for n in self.names]
        return "\n".join(lines + self.formulas) + "\n"


def _biff_string(data: bytes, pos: int, count: int, biff8: bool) -> Tuple[str, int]:
    """``count`` characters at ``pos`` (BIFF8: after a flags byte saying 8 or 16 bits each)."""
    if not biff8:
        return data[pos : pos + count].decode("cp1252", "replace"), pos + count
    wide = pos < len(data) and data[pos] & 0x01
    size = count * (2 if wide else 1)
    text = data[pos + 1 : pos + 1 + size].decode("utf-16-le" if wide else "latin-1", "replace")
    return text, pos + 1 + size


def _cell(row: int, col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


def _reference(rgce: bytes, pos: int, biff8: bool) -> str:
    """A cell reference: BIFF8 keeps the relative flags in the column, BIFF5 in the row."""
    if biff8:
        row, col = struct.unpack_from("<HH", rgce, pos)
        return _cell(row, col & 0x3FFF)
    row, col = struct.unpack_from("<HB", rgce, pos)
    return _cell(row & 0x3FFF, col)


def _formula(rgce: bytes, biff8: bool) -> str:
    """A formula's RPN tokens rendered as text, ``<?>`` where an unknown token stops it."""
    opaque = OPAQUE if biff8 else OPAQUE_BIFF5
    stack: List[str] = []
    pos = 0
    while pos < len(rgce):
        ptg = rgce[pos]
        pos += 1
        base = (ptg & 0x1F) | 0x20 if ptg >= 0x20 else ptg
        if ptg in OPERATORS and len(stack) >= 2:
            right = stack.pop()
            stack.append(f"{stack.pop()}{OPERATORS[ptg]}{right}")
        elif ptg == 0x15 and stack:
            stack.append(f"({stack.pop()})")
        elif ptg == 0x16:
            stack.append("")
        elif ptg == 0x17 and pos < len(rgce):
            text, pos = _biff_string(rgce, pos + 1, rgce[pos], biff8)
            stack.append('"' + text.replace('"', '""') + '"')
        elif ptg == 0x19 and len(rgce) - pos >= 3:
            flags, count = rgce[pos], struct.unpack_from("<H", rgce, pos + 1)[0]
            pos += 3 + ((count + 1) * 2 if flags & 0x04 else 0)
        elif ptg == 0x1E and len(rgce) - pos >= 2:
            stack.append(str(struct.unpack_from("<H", rgce, pos)[0]))
            pos += 2
        elif ptg == 0x1F and len(rgce) - pos >= 8:
            stack.append(f"{struct.unpack_from('<d', rgce, pos)[0]:g}")
            pos += 8
        elif base == 0x24 and len(rgce) - pos >= (4 if biff8 else 3):
            stack.append(_reference(rgce, pos, biff8))
            pos += 4 if biff8 else 3
        elif base == 0x3A and len(rgce) - pos >= (6 if biff8 else 17):
            stack.append("!" + _reference(rgce, pos + (2 if biff8 else 14), biff8))
            pos += 6 if biff8 else 17
        elif base in (0x21, 0x22) and len(rgce) - pos >= (2 if base == 0x21 else 3):
            if base == 0x22:
                args, pos = rgce[pos] & 0x7F, pos + 1
            (index,) = struct.unpack_from("<H", rgce, pos)
            pos += 2
            name = FUNCTIONS.get(index, f"FUNC_{index:#06x}")
            if base == 0x21:  # a fixed-arity function: taken as 0 arguments when not known
                args = FIXED_ARITY.get(index, 0)
            taken = stack[len(stack) - min(args, len(stack)) :]
            del stack[len(stack) - len(taken) :]
            stack.append(f"{name}({','.join(taken)})")
        elif base in opaque and len(rgce) - pos >= opaque[base]:
            stack.append("<ref>" if base != 0x1D else str(bool(rgce[pos])).upper())
            pos += opaque[base]
        else:
            stack.append("<?>")
            break
    return " ".join(stack)


def _records(stream: bytes) -> List[Tuple[int, int, bytes]]:
    """``(offset, type, data)`` of every record, up to the first that runs past the end."""
    found = []
    pos = 0
    while len(stream) - pos >= 4:
        kind, size = struct.unpack_from("<HH", stream, pos)
        if size > len(stream) - pos - 4:
            break
        found.append((pos, kind, stream[pos + 4 : pos + 4 + size]))
        pos += 4 + size
    return found


def biff(stream: bytes) -> Xlm:
    """Macro sheets, macro-running names and macro sheet formulas of a Workbook/Book stream.

    Reading stops at FILEPASS: the records after it are encrypted.
    """
    found = Xlm()
    biff8 = True
    macro_at: Dict[int, str] = {}
    sheet: Optional[str] = None
    for offset, kind, data in _records(stream):
        if kind == 0x002F:  # FILEPASS
            break
        if kind == 0x0809 and len(data) >= 2:  # BOF: the globals, or a sheet at its lbPlyPos
            if offset == 0:
                biff8 = struct.unpack_from("<H", data)[0] >= 0x0600
            sheet = macro_at.get(offset)
        elif kind == 0x0085 and len(data) >= 7:  # BOUNDSHEET
            position, sheet_type = struct.unpack_from("<I", data)[0], data[5]
            name, _ = _biff_string(data, 7, data[6], biff8)
            if sheet_type == MACRO_SHEET:
                found.sheets.append(name)
                macro_at[position] = name
        elif kind == 0x0018 and len(data) >= 15:  # NAME (Lbl)
            flags, length = struct.unpack_from("<H", data)[0], data[3]
            name, _ = _biff_string(data, 14, length, biff8)
            if flags & 0x0020:
                name = BUILTIN_NAMES.get(ord(name[:1] or "\0"), "")
            if name.lower().startswith(("auto_open", "auto_close")):
                found.names.append(name)
        elif kind == 0x0006 and sheet is not None and len(data) >= 22:  # FORMULA
            row, col = struct.unpack_from("<HH", data)
            size = struct.unpack_from("<H", data, 20)[0]
            found.formulas.append(
                f"{sheet}!{_cell(row, col)}: {_formula(data[22 : 22 + size], biff8)}"
            )
    return found


def _sylk_fields(line: bytes) -> List[bytes]:
    """A SYLK record's ``;``-separated fields; ``;;`` is an escaped semicolon."""
    fields = [b""]
    pos = 0
    while pos < len(line):
        if line[pos : pos + 2] == b";;":
            fields[-1] += b";"
            pos += 2
            continue
        if line[pos : pos + 1] == b";":
            fields.append(b"")
        else:
            fields[-1] += line[pos : pos + 1]
        pos += 1
    return fields


def slk(data: bytes) -> Xlm:
    """A SYLK file's macro sheet (``O;...;E`` option), its names (``NN;N...``) and formulas."""
    found = Xlm()
    macro = False
    for line in data.splitlines():
        fields = _sylk_fields(line)
        if fields[0] == b"O" and any(f.startswith(b"E") for f in fields[1:]):
            macro = True
        elif fields[0] == b"NN" and macro:
            names = [f[1:] for f in fields[1:] if f.startswith(b"N")]
            found.names += [n.decode("cp1252", "replace") for n in names]
        elif fields[0] == b"C" and macro:
            formulas = [f[1:] for f in fields[1:] if f.startswith(b"E")]
            found.formulas += [f.decode("cp1252", "replace") for f in formulas]
    if macro:
        found.sheets.append("SLK")
    return found

"""What an analyst looks for in macro source: triggers, risky calls, IOCs, obfuscated strings.

The lists are the plugin's own, drawn from Office's documented auto-run names and events and
from calls macro malware is known to use; they are plain data so they can be reviewed. Matching
is by whole word and case-insensitive (VBA ignores case). Each keyword is reported once, as it
is spelled at its first occurrence; for ActiveX events (``*_Click``) that is the first control
with that event, so a form with fifty buttons gives one ``_Click`` entry, not fifty.

Strings that decode to text (hex, base64, Dridex's digit cipher, ``Chr()``/``StrReverse``
expressions) are counted, and what they decode to is searched for keywords and IOCs too.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from typing import Any, Dict, Iterator, List, Optional, Pattern, Tuple

__all__ = ["analyse"]

#: Procedures Office runs by name when a document opens, closes or changes.
AUTOEXEC = {
    "Runs when the Word document is opened": ("AutoExec", "AutoOpen", "DocumentOpen"),
    "Runs when the Word or Publisher document is opened": ("Document_Open",),
    "Runs when the Word document is closed": (
        "AutoExit", "AutoClose", "Document_Close", "DocumentBeforeClose", "Document_BeforeClose",
    ),
    "Runs when the Word document changes": ("DocumentChange",),
    "Runs when a new Word document is made": ("AutoNew", "Document_New", "NewDocument"),
    "Runs when the Excel workbook is opened": ("Auto_Open", "Workbook_Open", "Workbook_Activate"),
    "Runs when the Excel workbook is closed": (
        "Auto_Close", "Workbook_Close", "Workbook_BeforeClose",
    ),
    "May run when an Excel worksheet is recalculated": ("Worksheet_Calculate",),
}  # fmt: skip
#: Events of ActiveX controls a document can fire without a click from the user (a control
#: given the focus, an InkPicture painting, a browser control navigating) or with one.
ACTIVEX_EVENTS = {
    "Runs when ActiveX objects in the file fire events (also without user action)": (
        "Click", "Change", "GotFocus", "LostFocus", "MouseHover", "MouseMove", "MouseEnter",
        "MouseLeave", "Resize", "Layout", "Painted", "Painting", "BeforeNavigate2",
        "BeforeScriptExecute", "DocumentComplete", "DownloadBegin", "DownloadComplete",
        "FileDownload", "NavigateComplete2", "NavigateError", "ProgressChange",
        "PropertyChange", "SetSecureLockIcon", "StatusTextChange", "TitleChange",
        "OnConnecting", "FollowHyperlink", "ContentControlOnEnter",
    ),
}  # fmt: skip
#: Calls and names malware uses, by what they let a macro do.
SUSPICIOUS = {
    "May run an executable or a system command": (
        "Shell", "vbNormalFocus", "vbNormalNoFocus", "vbHide", "vbMinimizedFocus",
        "vbMaximizedFocus", "vbMinimizedNoFocus", "WScript.Shell", "Run", "ShellExecute",
        "ShellExecuteA", "ShellExecuteW", "Win32_Process", "MacScript", "AppleScript",
        "Exec", "ExecQuery", "Create", "popen", "system",
    ),
    "May run a command through a Windows tool": (
        "powershell", "cmd.exe", "mshta", "rundll32", "regsvr32", "certutil", "bitsadmin",
        "wscript", "cscript", "schtasks",
    ),
    "May create or get an OLE object": ("CreateObject", "GetObject"),
    "May download files from the Internet": (
        "URLDownloadToFile", "URLDownloadToFileA", "URLDownloadToFileW", "Msxml2.XMLHTTP",
        "Microsoft.XMLHTTP", "MSXML2.ServerXMLHTTP", "WinHttp.WinHttpRequest",
        "InternetOpen", "InternetOpenA", "InternetOpenUrl", "InternetOpenUrlA",
        "InternetReadFile", "Net.WebClient", "DownloadFile", "DownloadString",
    ),
    "May open, write, copy or delete files": (
        "Open", "SaveToFile", "ADODB.Stream", "CreateTextFile", "Scripting.FileSystemObject",
        "FileCopy", "CopyFile", "CopyHere", "MoveFile", "Kill", "DeleteFile", "Binary",
        "Output", "Put", "Print #",
    ),
    "May read or write the registry": (
        "RegOpenKeyEx", "RegOpenKeyExA", "RegSetValueEx", "RegRead", "RegWrite",
        "RegDelete", "GetPrivateProfileString", "SetPrivateProfileString",
    ),
    "May read environment variables": (
        "Environ", "ExpandEnvironmentStrings", "Win32_Environment",
    ),
    "May call Windows API functions or run shellcode": (
        "Lib", "VirtualAlloc", "VirtualAllocEx", "VirtualProtect", "RtlMoveMemory",
        "CreateThread", "CreateRemoteThread", "WriteProcessMemory", "CallWindowProc",
        "CallWindowProcA", "EnumSystemLanguageGroupsW", "EnumDateFormats", "EnumDateFormatsW",
        "EnumDateFormatsExEx",
    ),
    "May obfuscate strings": ("Chr", "ChrW", "ChrB", "StrReverse", "Xor", "CallByName"),
    "May change the VBA project (self-modifying code)": (
        "VBProject", "VBComponents", "CodeModule", "AddFromString", "AddFromFile",
    ),
    "May hide the application or windows": ("Application.Visible", "ShowWindow"),
}  # fmt: skip
#: Excel 4 functions that run programs, call DLLs or write files; matched in capitals before
#: "(" as Excel writes them, so VBA's ``Call`` statement is not taken for XLM's ``CALL``.
XLM_FUNCTIONS = (
    "EXEC", "CALL", "REGISTER", "REGISTER.ID", "FORMULA.FILL", "FOPEN", "FWRITE", "FWRITELN",
    "FILE.DELETE",
)  # fmt: skip
#: Patterns searched as regular expressions.
SUSPICIOUS_PATTERNS = {
    "May hide data in Word document variables": re.compile(r"(?i)\.\s*Variables\b"),
    "May run a program, call a DLL or write files with Excel 4 macros (XLM)": re.compile(
        rf"(?<![\w.])(?:{'|'.join(re.escape(f) for f in XLM_FUNCTIONS)})(?=\()"
    ),
}
#: IOC kinds, named as olevba names them, and their patterns.
IOC_PATTERNS: Tuple[Tuple[str, Pattern[str]], ...] = (
    ("URL", re.compile(r"\b(?:https?|ftps?)://[\w.\-]+(?::\d{1,5})?(?:/[\w\-.~?,'/\\+&%$#=]*)?")),
    ("IPv4 address", re.compile(
        r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])"
    )),
    ("Executable file name", re.compile(
        r"(?i)\b\w+\.(?:exe|pif|gadget|msi|msp|msc|vbs|vbe|vb|jse|js|wsf|wsc|wsh|ws|bat|cmd|"
        r"dll|scr|hta|cpl|class|jar|ps1xml|ps1|ps2xml|ps2|psc1|psc2|scf|lnk|inf|reg)\b"
    )),
)  # fmt: skip
#: Schema URLs every Office file carries; not IOCs.
HARMLESS_URLS = ("http://schemas.openxmlformats.org/", "http://schemas.microsoft.com/")
#: The names the obfuscation counts get in the results, and the marker keyword each adds.
ENCODINGS = {
    "hex_strings": "Hex Strings",
    "base64_strings": "Base64 Strings",
    "dridex_strings": "Dridex Strings",
    "vba_strings": "VBA obfuscated Strings",
}
HEX = re.compile(r"(?:[0-9A-Fa-f]{2}){4,}")
#: Quoted base64 of at least 8 characters; shorter ones are mostly ordinary words.
BASE64 = re.compile(r'"((?:[A-Za-z0-9+/]{4}){2,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)"')
#: Common identifiers that happen to be valid base64.
BASE64_WORDS = {"thisdocument", "thisworkbook", "kernel32", "virtualalloc", "createthread"}
DRIDEX = re.compile(r'"([0-9A-Za-z]{20,})"')
NOT_HEX = re.compile(r"[G-Zg-z]")
#: A concatenation of string literals, ``Chr(n)`` and ``StrReverse("...")`` terms.
VBA_TERM = r'(?:Chr[BW]?\$?\(\s*\d{1,7}\s*\)|StrReverse\(\s*"[^"\r\n]*"\s*\)|"[^"\r\n]*")'
VBA_EXPRESSION = re.compile(rf"(?i){VBA_TERM}(?:\s*[&+]\s*{VBA_TERM})*")
VBA_FUNCTION = re.compile(r'(?i)(Chr[BW]?\$?|StrReverse)\(\s*(?:(\d+)|"([^"]*)")\s*\)|"([^"]*)"')
PRINTABLE = set(string.printable)


def _words(words: Tuple[str, ...]) -> Pattern[str]:
    """Any of ``words``, whole and in any case; the longest wins where several start alike."""
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?i)(?<!\w)(?:{alternatives})(?!\w)")


def _first_of_each(code: str, pattern: Pattern[str], group: int) -> Iterator[str]:
    """Each match of ``pattern`` whose ``group`` (case-insensitive) was not matched before,
    as first spelled in ``code``."""
    seen = set()
    for match in pattern.finditer(code):
        key = match.group(group).lower()
        if key not in seen:
            seen.add(key)
            yield match.group()


#: (description, pattern, the group whose first match alone counts: 0 for the whole match)
AUTOEXEC_RE = [(d, _words(w), 0) for d, w in AUTOEXEC.items()] + [
    (d, re.compile(rf"(?i)\b\w+_({'|'.join(events)})\b"), 1) for d, events in ACTIVEX_EVENTS.items()
]
SUSPICIOUS_RE = [(d, _words(w), 0) for d, w in SUSPICIOUS.items()]
SUSPICIOUS_RE += [(d, p, 0) for d, p in SUSPICIOUS_PATTERNS.items()]


def _printable(text: str) -> bool:
    return bool(text) and set(text) <= PRINTABLE


def _hex(code: str) -> List[str]:
    decoded = (binascii.unhexlify(m).decode("latin-1") for m in dict.fromkeys(HEX.findall(code)))
    return [text for text in decoded if _printable(text)]


def _base64(code: str) -> List[str]:
    found = []
    for value in dict.fromkeys(BASE64.findall(code)):
        if not NOT_HEX.search(value) or value.lower() in BASE64_WORDS:
            continue
        text = base64.b64decode(value).decode("latin-1")
        if _printable(text):
            found.append(text)
    return found


def _digits(text: str, zero_for_others: bool = False) -> int:
    kept = "".join(c if c.isdigit() else "0" for c in text if c.isdigit() or zero_for_others)
    return int(kept) if kept else 0


def dridex_decode(value: str) -> Optional[str]:
    """Dridex's digit cipher: two key fields in the middle, then digit groups each holding
    ``char * key``; None when ``value`` is not shaped like one."""
    work = value[4:-4]
    half = len(work) // 2
    size = _digits(work[half : half + 2], True) - _digits(work[half - 2 : half], True)
    work = work[: half - 2] + work[half + 2 :]
    half, side = len(work) // 2, size // 2
    key = _digits(work[half - side : half + side])
    work = work[: half - side] + work[half + side :]
    if size <= 0 or key <= 0 or not work:
        return None
    codes = [_digits(work[i : i + size]) // key for i in range(0, len(work), size)]
    return "".join(chr(c) for c in codes) if all(0 < c < 0x110000 for c in codes) else None


def _dridex(code: str) -> List[str]:
    decoded = (dridex_decode(v) for v in dict.fromkeys(DRIDEX.findall(code)) if NOT_HEX.search(v))
    return [text for text in decoded if text is not None and _printable(text)]


def _vba_value(expression: str) -> Optional[str]:
    """The value of a literal/Chr/StrReverse concatenation; None if it calls no function."""
    parts, called = [], False
    for function, number, argument, literal in VBA_FUNCTION.findall(expression):
        if not function:
            parts.append(literal)
            continue
        called = True
        if function.lower() == "strreverse":
            parts.append(argument[::-1])
        elif int(number or 0) < 0x110000:
            parts.append(chr(int(number or 0)))
        else:
            return None
    return "".join(parts) if called else None


def _vba_strings(code: str) -> List[str]:
    values = (_vba_value(m) for m in dict.fromkeys(VBA_EXPRESSION.findall(code)))
    return [text for text in values if text is not None and _printable(text)]


def _scan(code: str, patterns: List[Tuple[str, Pattern[str], int]]) -> Iterator[Tuple[str, str]]:
    for description, pattern, group in patterns:
        for keyword in _first_of_each(code, pattern, group):
            yield keyword, description


def _iocs(code: str) -> Iterator[Tuple[str, str]]:
    for kind, pattern in IOC_PATTERNS:
        for value in dict.fromkeys(pattern.findall(code)):
            if not value.startswith(HARMLESS_URLS):
                yield kind, value


def analyse(code: str, xlm: bool = False) -> Dict[str, Any]:
    """The ``autoexec``, ``suspicious``, ``iocs`` and ``obfuscation`` results for ``code``
    (every module's source, joined); ``xlm`` adds the "XLM macro" finding."""
    code = re.sub(r" _\r?\n", " ", code)  # a continued line is one statement
    decoded = {
        "hex_strings": _hex(code),
        "base64_strings": _base64(code),
        "dridex_strings": _dridex(code),
        "vba_strings": _vba_strings(code),
    }
    hidden = "\n".join(text for texts in decoded.values() for text in texts)
    autoexec: Dict[str, str] = {}
    suspicious: Dict[str, str] = {}
    iocs: Dict[str, str] = {}
    for text, note in ((code, ""), (hidden, " (in an encoded string)")):
        for keyword, description in _scan(text, AUTOEXEC_RE):
            autoexec.setdefault(keyword, description + note)
        for keyword, description in _scan(text, SUSPICIOUS_RE):
            suspicious.setdefault(keyword, description + note)
        for kind, value in _iocs(text):
            iocs.setdefault(value, kind + note)
    for name, marker in ENCODINGS.items():
        if decoded[name]:
            suspicious[marker] = f"Strings that decode to text ({name.replace('_', ' ')})"
    if xlm:
        suspicious["XLM macro"] = "Excel 4 (XLM) macros, which can run code like VBA"
    return {
        "autoexec": [{"keyword": k, "description": d} for k, d in autoexec.items()],
        "suspicious": [{"keyword": k, "description": d} for k, d in suspicious.items()],
        "iocs": [{"type": t, "value": v} for v, t in iocs.items()],
        "obfuscation": {name: len(texts) for name, texts in decoded.items()},
    }

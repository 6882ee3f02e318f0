"""String literals and ``String.fromCharCode`` calls decoded, and suspicious calls counted.

Obfuscated scripts hide their URLs and commands in escapes (``\\x68``, ``\\u0068``, ``%u0068``,
``%68``) and character codes; an analyst wants the decoded text. Regular expressions only:
nothing here runs the script.
"""

from __future__ import annotations

import re
from typing import Dict, Iterator

__all__ = ["INDICATORS", "count_indicators", "decoded_strings"]

_LITERAL = re.compile(r"""(["'])((?:\\.|(?!\1)[^\\\n]){1,65536})\1""")
_ESCAPE = re.compile(
    r"\\x([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})|%u([0-9A-Fa-f]{4})|%([0-9A-Fa-f]{2})"
)
_CHAR_CODES = re.compile(r"String\.fromCharCode\(\s*((?:\d{1,7}\s*,\s*){0,4095}\d{1,7})\s*\)")

#: Indicator name → pattern; each is counted in the script.
INDICATORS: Dict[str, re.Pattern[str]] = {
    "eval": re.compile(r"\beval\s*\("),
    "function_constructor": re.compile(r"\bnew\s+Function\s*\(|\bFunction\s*\(\s*['\"]"),
    "unescape": re.compile(r"\bunescape\s*\("),
    "atob": re.compile(r"\batob\s*\("),
    "from_char_code": re.compile(r"String\.fromCharCode"),
    "document_write": re.compile(r"document\.write(?:ln)?\s*\("),
    "activex": re.compile(r"\bActiveXObject\b"),
    "wscript": re.compile(r"\bWScript\.(?!Shell\b)\w+"),
    "wscript_shell": re.compile(r"WScript\.Shell", re.IGNORECASE),
    "shell_application": re.compile(r"Shell\.Application", re.IGNORECASE),
    "xmlhttp": re.compile(
        r"\b(?:MSXML2|Microsoft)\.(?:Server)?XMLHTTP|\bXMLHttpRequest\b", re.IGNORECASE
    ),
    "adodb_stream": re.compile(r"ADODB\.Stream", re.IGNORECASE),
    "powershell": re.compile(r"powershell", re.IGNORECASE),
    "cmd_exe": re.compile(r"\bcmd(?:\.exe)?\s+/c\b", re.IGNORECASE),
    "location_change": re.compile(
        r"\b(?:window|document)\.location\b|\blocation\.(?:href|replace)\b"
    ),
}


def count_indicators(text: str) -> Dict[str, int]:
    """Each indicator that occurs, with how often."""
    counts = {name: len(pattern.findall(text)) for name, pattern in INDICATORS.items()}
    return {name: count for name, count in counts.items() if count}


def _unescape(match: re.Match[str]) -> str:
    code = next(group for group in match.groups() if group is not None)
    return chr(int(code, 16))


def decoded_strings(text: str) -> Iterator[str]:
    """Each string literal that holds escapes, decoded; then each fromCharCode call's text."""
    for literal in _LITERAL.finditer(text):
        body = literal.group(2)
        if _ESCAPE.search(body):
            yield _ESCAPE.sub(_unescape, body)
    for call in _CHAR_CODES.finditer(text):
        codes = [int(code) for code in call.group(1).split(",")]
        yield "".join(chr(code) for code in codes if code <= 0x10FFFF)

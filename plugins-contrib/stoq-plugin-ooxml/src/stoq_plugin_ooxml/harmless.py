"""Which Word field instructions are harmless, so that the report keeps only the others.

A field that only shows a date, a page number or a document property cannot fetch or run
anything; DDE, DDEAUTO, INCLUDETEXT, INCLUDEPICTURE, IMPORT, LINK, HYPERLINK, IF, the mail merge
fields and anything unknown can. A field counts as harmless only if its command is listed below
and its arguments and switches fit that command (ECMA-376 part 1, 17.16.5), so a listed command
smuggling an unexpected switch or argument is still reported. The list and its rules give the
same answers as oletools' msodde in its default (blacklist) mode.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, List, NamedTuple

__all__ = ["is_harmless"]


class _Syntax(NamedTuple):
    required: int
    optional: int
    #: Switches that take an argument, and switches that stand alone.
    with_argument: str = ""
    alone: str = ""
    #: Formats the field accepts: ``\# numeric``, ``\@ date-time``, ``\* text case``.
    formats: FrozenSet[str] = frozenset()


_DATE = frozenset({"datetime"})
_NUMBER = frozenset({"numeric"})
_TEXT = frozenset({"string"})

_LISTED: Dict[str, _Syntax] = {
    # dates and times
    "CREATEDATE": _Syntax(0, 0, alone="hs", formats=_DATE),
    "DATE": _Syntax(0, 0, alone="hls", formats=_DATE),
    "EDITTIME": _Syntax(0, 0, formats=_NUMBER),
    "PRINTDATE": _Syntax(0, 0, alone="hs", formats=_DATE),
    "SAVEDATE": _Syntax(0, 0, alone="hs", formats=_DATE),
    "TIME": _Syntax(0, 0, formats=_DATE),
    # document information
    "AUTHOR": _Syntax(0, 1, formats=_TEXT),
    "COMMENTS": _Syntax(0, 1, formats=_TEXT),
    "DOCPROPERTY": _Syntax(1, 0, formats=_TEXT | _NUMBER | _DATE),
    "FILENAME": _Syntax(0, 0, alone="p", formats=_TEXT),
    "FILESIZE": _Syntax(0, 0, alone="km", formats=_NUMBER),
    "KEYWORDS": _Syntax(0, 1, formats=_TEXT),
    "LASTSAVEDBY": _Syntax(0, 0, formats=_TEXT),
    "NUMCHARS": _Syntax(0, 0, formats=_NUMBER),
    "NUMPAGES": _Syntax(0, 0, formats=_NUMBER),
    "NUMWORDS": _Syntax(0, 0, formats=_NUMBER),
    "SUBJECT": _Syntax(0, 1, formats=_TEXT),
    "TEMPLATE": _Syntax(0, 0, alone="p", formats=_TEXT),
    "TITLE": _Syntax(0, 1, formats=_TEXT),
    # layout and symbols
    "ADVANCE": _Syntax(0, 0, with_argument="dlruxy"),
    "SYMBOL": _Syntax(1, 0, with_argument="fs", alone="ahju"),
    # form fields
    "FORMCHECKBOX": _Syntax(0, 0),
    "FORMDROPDOWN": _Syntax(0, 0),
    "FORMTEXT": _Syntax(0, 0),
    # indexes and tables
    "INDEX": _Syntax(0, 0, with_argument="bcdefghklpsz", alone="ry"),
    "TA": _Syntax(0, 0, with_argument="clrs", alone="bi"),
    "TC": _Syntax(1, 0, with_argument="fl", alone="n"),
    "TOA": _Syntax(0, 0, with_argument="bcdegls", alone="fhp"),
    "TOC": _Syntax(0, 0, with_argument="abcdflnopst", alone="huwxz"),
    "XE": _Syntax(1, 0, with_argument="frty", alone="bi"),
    # references inside the document
    "BIBLIOGRAPHY": _Syntax(0, 0, with_argument="lfm"),
    "CITATION": _Syntax(1, 0, with_argument="lfspvm", alone="nty"),
    "NOTEREF": _Syntax(1, 0, alone="fhp"),
    "PAGEREF": _Syntax(1, 0, alone="hp"),
    "QUOTE": _Syntax(1, 0, formats=_DATE),
    "STYLEREF": _Syntax(1, 0, alone="lnprtw"),
    # numbering
    "LISTNUM": _Syntax(0, 1, with_argument="ls"),
    "PAGE": _Syntax(0, 0, formats=_NUMBER),
    "REVNUM": _Syntax(0, 0),
    "SECTION": _Syntax(0, 0, formats=_NUMBER),
    "SECTIONPAGES": _Syntax(0, 0, formats=_NUMBER),
    "SEQ": _Syntax(1, 1, with_argument="rs", alone="chn", formats=_NUMBER),
    # user information
    "USERADDRESS": _Syntax(0, 1, formats=_TEXT),
    "USERINITIALS": _Syntax(0, 1, formats=_TEXT),
    "USERNAME": _Syntax(0, 1, formats=_TEXT),
}

#: Commands are matched without regard to case.
_HARMLESS = {command.lower(): syntax for command, syntax in _LISTED.items()}
#: A quoted string (possibly empty) or a run of non-blanks.
_WORD = re.compile(r'"[^"]*"|\S+')
#: A switch: a backslash and one letter, digit, ``#``, ``*`` or ``@``.
_SWITCH = re.compile(r"\\[\w#*@]")
_GENERAL_FORMATS = ("CHARFORMAT", "MERGEFORMAT")
_CASE_FORMATS = ("Caps", "FirstCap", "Lower", "Upper")


def is_harmless(instruction: str) -> bool:
    """True if the instruction is a listed command with arguments and switches that fit it."""
    words = _WORD.findall(instruction)
    if not words:
        return False
    syntax = _HARMLESS.get(words[0].lower())
    if syntax is None:
        return False
    arguments = 0
    for word in words[1:]:
        if word.startswith("\\"):
            break
        arguments += 1
    if not syntax.required <= arguments <= syntax.required + syntax.optional:
        return False
    return _switches_fit(words[1 + arguments :], syntax)


def _switches_fit(words: List[str], syntax: _Syntax) -> bool:
    """Each word is an allowed switch or the argument of the switch before it."""
    index = 0
    while index < len(words):
        word = words[index]
        if not _SWITCH.fullmatch(word):
            return False
        switch = word[1]
        index += 1
        if switch in syntax.alone:
            continue
        if switch == "*":
            allowed = _format_choices(syntax)
            if index < len(words) and allowed and words[index] not in allowed:
                return False
        elif not (
            switch in syntax.with_argument
            or (switch == "#" and "numeric" in syntax.formats)
            or (switch == "@" and "datetime" in syntax.formats)
        ):
            return False
        index += 1  # the switch's argument (a missing last one is tolerated)
    return True


def _format_choices(syntax: _Syntax) -> List[str]:
    """Arguments allowed after ``\\*``; an empty list allows any (numeric formats are many)."""
    if "numeric" in syntax.formats:
        return []
    choices = list(_GENERAL_FORMATS)
    if "string" in syntax.formats:
        choices += _CASE_FORMATS
    return choices

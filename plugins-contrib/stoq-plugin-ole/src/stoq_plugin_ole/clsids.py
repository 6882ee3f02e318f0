"""Names for the COM class ids an analyst meets in OLE files and embedded objects.

An OLE storage (a document's root, an embedded object) records the CLSID of the program that
opens it. Most are ordinary Office documents; a few name programs with a history of exploits
(the Equation Editor, monikers that fetch remote content, ActiveX controls), and the Packager
runs whatever file it holds. The names give the ProgID Windows registers for the class.
"""

from __future__ import annotations

from typing import Dict, Optional

__all__ = ["CLSID_NAMES", "clsid_name"]

_OFFICE = "-0000-0000-C000-000000000046"  # the suffix of Microsoft's OLE and Office class ids
_PACKAGE = "Packager: OLE Package object, runs the file it holds on a double click (Package)"
_EQUATION = "Equation Editor {}, exploited by CVE-2017-11882 and CVE-2018-0802 ({})"

#: Upper-case CLSID -> what it is, with its ProgID.
CLSID_NAMES: Dict[str, str] = {
    # Word, Excel and PowerPoint documents.
    "00020900" + _OFFICE: "Word 6.0-95 document (Word.Document.6)",
    "00020906" + _OFFICE: "Word 97-2003 document (Word.Document.8)",
    "00020907" + _OFFICE: "Word picture (Word.Picture.8)",
    "F4754C9B-64F5-4B40-8AF4-679732AC0607": "Word 2007+ document (Word.Document.12)",
    "18A06B6B-2F3F-4E2B-A611-52BE631B2D22": "Word 2007+ macro document (Word.DocumentMacroEnabled.12)",
    "00020810" + _OFFICE: "Excel 5.0-95 worksheet (Excel.Sheet.5)",
    "00020811" + _OFFICE: "Excel 5.0-95 chart (Excel.Chart.5)",
    "00020820" + _OFFICE: "Excel 97-2003 worksheet (Excel.Sheet.8)",
    "00020821" + _OFFICE: "Excel 97-2003 chart (Excel.Chart.8)",
    "00020830" + _OFFICE: "Excel 2007+ worksheet (Excel.Sheet.12)",
    "00020832" + _OFFICE: "Excel 2007+ macro worksheet (Excel.SheetMacroEnabled.12)",
    "00020833" + _OFFICE: "Excel 2007+ binary macro worksheet (Excel.SheetBinaryMacroEnabled.12)",
    "64818D10-4F9B-11CF-86EA-00AA00B929E8": "PowerPoint 97-2003 presentation (PowerPoint.Show.8)",
    "64818D11-4F9B-11CF-86EA-00AA00B929E8": "PowerPoint 97-2003 slide (PowerPoint.Slide.8)",
    "000C1084" + _OFFICE: "Windows Installer package (MSI)",
    # Equation editors.
    "00021700" + _OFFICE: _EQUATION.format("2.0", "Equation.2"),
    "0002CE02" + _OFFICE: _EQUATION.format("3.0", "Equation.3"),
    "0002CE03" + _OFFICE: "MathType equation, Design Science's Equation Editor (MathType)",
    # Packages: any file, run on a double click.
    "0003000C" + _OFFICE: _PACKAGE,
    "F20DA720-C02F-11CE-927B-0800095AE340": _PACKAGE,
    # Pictures.
    "0003000A" + _OFFICE: "Paintbrush picture, a bitmap image (PBrush)",
    "D3E34B21-9D75-101A-8C3D-00AA001A1652": "Paint bitmap image (Paint.Picture)",
    # Links and monikers: an object that fetches its content from a file or URL when opened.
    "00000300" + _OFFICE: "OLE link, content fetched through a moniker (StdOleLink, OLE2Link; "
    "CVE-2017-0199, CVE-2017-8570)",
    "00000303" + _OFFICE: "File moniker, a link to a file or share (CVE-2017-0199, CVE-2017-8570)",
    "00000304" + _OFFICE: "Item moniker, a link to an item inside a document",
    "00000309" + _OFFICE: "Composite moniker, a chain of monikers (CVE-2017-8570)",
    "79EAC9E0-BAF9-11CE-8C82-00AA004BA90B": "URL moniker, a link to a web address (CVE-2017-0199)",
    "ECABB0C7-7F19-11D2-978E-0000F8757E2A": "SOAP moniker, a web service call (CVE-2017-8759)",
    "06290BD3-48AA-11D2-8432-006008C3FBFC": "Script moniker, runs a Windows Script Component "
    "(scriptlet)",
    "3050F4D8-98B5-11CF-BB82-00AA00BDCE0B": "HTML Application, runs script (htafile)",
    # Microsoft Forms 2.0 controls (VBA user forms, ActiveX controls in documents).
    "C62A69F0-16DC-11CE-9E98-00AA00574A4F": "Microsoft Forms 2.0 form (Forms.Form.1)",
    "6E182020-F460-11CE-9BCD-00AA00608E01": "Microsoft Forms 2.0 frame (Forms.Frame.1)",
    "46E31370-3F7A-11CE-BED6-00AA00611080": "Microsoft Forms 2.0 multi-page (Forms.MultiPage.1)",
    "978C9E23-D4B0-11CE-BF2D-00AA003F40D0": "Microsoft Forms 2.0 label (Forms.Label.1)",
    "4C599241-6926-101B-9992-00000B65C6F9": "Microsoft Forms 2.0 image (Forms.Image.1)",
    "D7053240-CE69-11CD-A777-00DD01143C57": "Microsoft Forms 2.0 command button "
    "(Forms.CommandButton.1)",
    "8BD21D10-EC42-11CE-9E0D-00AA006002F3": "Microsoft Forms 2.0 text box (Forms.TextBox.1)",
    "8BD21D20-EC42-11CE-9E0D-00AA006002F3": "Microsoft Forms 2.0 list box (Forms.ListBox.1)",
    "8BD21D30-EC42-11CE-9E0D-00AA006002F3": "Microsoft Forms 2.0 combo box (Forms.ComboBox.1)",
    "8BD21D40-EC42-11CE-9E0D-00AA006002F3": "Microsoft Forms 2.0 check box (Forms.CheckBox.1)",
    "8BD21D50-EC42-11CE-9E0D-00AA006002F3": "Microsoft Forms 2.0 option button "
    "(Forms.OptionButton.1)",
    # ActiveX controls with exploit history.
    "BDD1F04B-858B-11D1-B16A-00C0F0283628": "Common Controls list view (MSComctlLib.ListViewCtrl.2; "
    "CVE-2012-0158)",
    "C74190B6-8589-11D1-B16A-00C0F0283628": "Common Controls tree view (MSComctlLib.TreeCtrl.2; "
    "CVE-2012-0158)",
    "D27CDB6E-AE6D-11CF-96B8-444553540000": "Shockwave Flash object, many Flash Player exploits "
    "(ShockwaveFlash.ShockwaveFlash)",
}


def clsid_name(clsid: str) -> Optional[str]:
    """The name of ``clsid`` (any case), or ``None`` for one not in the table."""
    return CLSID_NAMES.get(clsid.upper())

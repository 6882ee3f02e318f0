/*
    stoq-plugin-yara: the default worker rules (indicators, not malware signatures).

    The worker's default rule file: its results hold these indicator matches; the format
    rules of dispatch.yar are the dispatcher's, reported in dispatch_meta. Each rule's meta
    says what it points at; none of them alone means a file is malicious.
*/

rule ole_vba_macros
{
    meta:
        description = "OLE compound file holding a VBA project (legacy Office macros)"
        category = "macro"
    strings:
        $vba_project = "_VBA_PROJECT" wide
        $dir_stream = "VBA" wide
    condition:
        uint32be(0) == 0xD0CF11E0 and $vba_project and $dir_stream
}

rule ooxml_vba_project
{
    meta:
        description = "Office Open XML document carrying vbaProject.bin (macro-enabled)"
        category = "macro"
    strings:
        $part = "vbaProject.bin"
    condition:
        uint32(0) == 0x04034B50 and $part
}

rule pdf_javascript
{
    meta:
        description = "PDF with JavaScript"
        category = "script"
    strings:
        $header = "%PDF-"
        $javascript = "/JavaScript"
        $js = /\/JS[\s\(<\/\[]/
    condition:
        $header in (0..1024) and ($javascript or $js)
}

rule pdf_automatic_action
{
    meta:
        description = "PDF that acts when opened (/OpenAction or /AA) or launches a program (/Launch)"
        category = "action"
    strings:
        $header = "%PDF-"
        $open_action = "/OpenAction"
        $additional_actions = "/AA"
        $launch = "/Launch"
    condition:
        $header in (0..1024) and any of ($open_action, $additional_actions, $launch)
}

rule pdf_embedded_file
{
    meta:
        description = "PDF with an embedded file"
        category = "embedded"
    strings:
        $header = "%PDF-"
        $embedded = "/EmbeddedFile"
    condition:
        $header in (0..1024) and $embedded
}

rule rtf_embedded_object
{
    meta:
        description = "RTF with an embedded OLE object"
        category = "embedded"
    strings:
        $object = "\\object"
        $objdata = "\\objdata"
    condition:
        uint32be(0) == 0x7B5C7274 and $object and $objdata
}

rule pe_dotnet_assembly
{
    meta:
        description = "PE that loads the .NET runtime (a managed assembly)"
        category = "executable"
    strings:
        $mscoree = "mscoree.dll" nocase
        $cor_exe = "_CorExeMain"
        $cor_dll = "_CorDllMain"
    condition:
        uint16(0) == 0x5A4D and $mscoree and ($cor_exe or $cor_dll)
}

rule pe_upx_packed
{
    meta:
        description = "PE packed with UPX (section names and the UPX! marker)"
        category = "packer"
    strings:
        $section0 = "UPX0"
        $section1 = "UPX1"
        $marker = "UPX!"
    condition:
        uint16(0) == 0x5A4D and $section0 and $section1 and $marker
}

rule embedded_pe
{
    meta:
        description = "a DOS stub of a PE inside a file that is not itself a PE"
        category = "embedded"
    strings:
        $dos_stub = "This program cannot be run in DOS mode"
    condition:
        uint16(0) != 0x5A4D and $dos_stub
}

rule powershell_encoded_command
{
    meta:
        description = "PowerShell started with a base64-encoded command"
        category = "script"
    strings:
        $powershell = "powershell" nocase
        $encoded = /\s-e(nc(odedcommand)?|c)?\s+[A-Za-z0-9+\/]{20}/ nocase
    condition:
        $powershell and $encoded
}

rule script_download_cradle
{
    meta:
        description = "script text that downloads and runs content"
        category = "script"
    strings:
        $download_string = "DownloadString" nocase
        $download_file = "DownloadFile" nocase
        $web_request = "Invoke-WebRequest" nocase
        $url_download = "URLDownloadToFile" nocase
        $invoke_expression = /\b(IEX|Invoke-Expression)\b/ nocase
    condition:
        any of ($download_string, $download_file, $web_request, $url_download)
        and $invoke_expression
}

rule windows_shortcut
{
    meta:
        description = "Windows shell link (.lnk)"
        category = "format"
    condition:
        uint32(0) == 0x0000004C and uint32(4) == 0x00021401
}

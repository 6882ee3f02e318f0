/*
    stoq-plugin-yara: the default dispatch rules.

    Each rule recognises one file format by its magic bytes (never by a file name).
      type   = the format recognised; it appears in dispatch_meta["yara"][<rule>]
      plugin = the workers to run on the payload, comma separated

    These rules are default routing: a worker they name that is not installed is skipped,
    noted in dispatch_meta["yara"]["not_installed"] and logged once, never an error. So every
    format names the plugin that handles it, installed or not. (Rules in a file of your own
    name required workers; give a rule `if_installed = true` to make its workers optional.)
*/

rule zip_archive
{
    meta:
        type = "zip"
        plugin = "decompress"
    condition:
        uint32(0) == 0x04034B50 or uint32(0) == 0x06054B50
}

rule ooxml_document
{
    meta:
        type = "ooxml"
        description = "Office Open XML (docx, xlsx, pptx, ...): a zip of XML parts"
        plugin = "decompress,ooxml,olevba"
    strings:
        $content_types = "[Content_Types].xml"
    condition:
        uint32(0) == 0x04034B50 and $content_types
}

rule sevenzip_archive
{
    meta:
        type = "7z"
        plugin = "decompress"
    condition:
        uint32be(0) == 0x377ABCAF and uint16be(4) == 0x271C
}

rule gzip_compressed
{
    meta:
        type = "gzip"
        plugin = "decompress"
    condition:
        uint16(0) == 0x8B1F and uint8(2) == 0x08
}

rule bzip2_compressed
{
    meta:
        type = "bzip2"
        plugin = "decompress"
    condition:
        uint16be(0) == 0x425A and uint8(2) == 0x68 and uint8(3) >= 0x31 and uint8(3) <= 0x39
        and (uint32be(4) == 0x31415926 or uint32be(4) == 0x17724538)
}

rule xz_compressed
{
    meta:
        type = "xz"
        plugin = "decompress"
    condition:
        uint32be(0) == 0xFD377A58 and uint16be(4) == 0x5A00
}

rule lzma_compressed
{
    meta:
        type = "lzma"
        description = "legacy .lzma (LZMA_Alone): properties 0x5D, then the dictionary and size fields"
        plugin = "decompress"
    condition:
        filesize > 13 and uint8(0) == 0x5D and uint16(1) == 0
        and ((uint32(5) == 0xFFFFFFFF and uint32(9) == 0xFFFFFFFF) or uint16(11) == 0)
}

rule tar_archive
{
    meta:
        type = "tar"
        plugin = "decompress"
    condition:
        uint32be(257) == 0x75737461 and uint8(261) == 0x72
}

rule rar_archive
{
    meta:
        type = "rar"
        description = "decompress reads it through libarchive when libarchive is installed"
        plugin = "decompress"
    condition:
        uint32be(0) == 0x52617221 and uint16be(4) == 0x1A07
}

rule cab_archive
{
    meta:
        type = "cab"
        description = "decompress reads it through libarchive when libarchive is installed"
        plugin = "decompress"
    condition:
        uint32be(0) == 0x4D534346 and uint32(4) == 0
}

rule iso9660_image
{
    meta:
        type = "iso9660"
        description = "ISO 9660 disc image (also Joliet, Rock Ridge and UDF bridge images): the iso worker extracts its files"
        plugin = "iso"
    condition:
        uint32be(0x8001) == 0x43443030 and uint8(0x8005) == 0x31
}

rule cpio_archive
{
    meta:
        type = "cpio"
        description = "decompress reads it through libarchive when libarchive is installed"
        plugin = "decompress"
    condition:
        (uint32be(0) == 0x30373037 and (uint16be(4) == 0x3031 or uint16be(4) == 0x3032 or uint16be(4) == 0x3037))
        or uint16(0) == 0x71C7 or uint16be(0) == 0x71C7
}

rule ar_archive
{
    meta:
        type = "ar"
        description = "Unix ar (static libraries, .deb packages); read through libarchive"
        plugin = "decompress"
    condition:
        uint32be(0) == 0x213C6172 and uint32be(4) == 0x63683E0A
}

rule ole_compound_file
{
    meta:
        type = "ole"
        description = "OLE2 compound file: legacy Office documents, MSI packages"
        plugin = "ole,olevba"
    condition:
        uint32be(0) == 0xD0CF11E0 and uint32be(4) == 0xA1B11AE1
}

rule pe_executable
{
    meta:
        type = "pe"
        description = "Windows Portable Executable (exe, dll, sys)"
        plugin = "pe"
    condition:
        uint16(0) == 0x5A4D and uint32(0x3C) + 4 < filesize and uint32(uint32(0x3C)) == 0x00004550
}

rule elf_executable
{
    meta:
        type = "elf"
        description = "ELF executable, shared object or core file"
        plugin = "elf"
    condition:
        uint32be(0) == 0x7F454C46
}

rule macho_executable
{
    meta:
        type = "macho"
        description = "Mach-O executable, dylib or bundle (one architecture), either byte order"
        plugin = "macho"
    condition:
        uint32(0) == 0xFEEDFACE or uint32(0) == 0xFEEDFACF
        or uint32be(0) == 0xFEEDFACE or uint32be(0) == 0xFEEDFACF
}

rule image_with_metadata
{
    meta:
        type = "image"
        description = "JPEG, TIFF, PNG, WebP or HEIC: the formats that carry EXIF metadata"
        plugin = "exif"
    condition:
        (uint16be(0) == 0xFFD8 and uint8(2) == 0xFF)
        or uint32be(0) == 0x49492A00 or uint32be(0) == 0x4D4D002A
        or uint32be(0) == 0x89504E47
        or (uint32be(0) == 0x52494646 and uint32be(8) == 0x57454250)
        or (uint32be(4) == 0x66747970 and (uint32be(8) == 0x68656963 or uint32be(8) == 0x68656978
            or uint32be(8) == 0x6D696631))
}

rule x509_certificate_pem
{
    meta:
        type = "x509"
        description = "PEM certificates or PKCS#7 bundles (a CA bundle may start with comments)"
        plugin = "x509"
    strings:
        $certificate = "-----BEGIN CERTIFICATE-----"
        $trusted = "-----BEGIN TRUSTED CERTIFICATE-----"
        $pkcs7 = "-----BEGIN PKCS7-----"
    condition:
        any of them in (0..4096)
}

rule x509_certificate_der
{
    meta:
        type = "x509"
        description = "DER certificate (SEQUENCE, SEQUENCE, [0] version 3) or DER PKCS#7 signedData"
        plugin = "x509"
    condition:
        (uint16be(0) == 0x3082 and uint16be(4) == 0x3082 and uint32be(8) == 0xA0030201)
        or (uint16be(0) == 0x3082 and uint16be(4) == 0x0609 and uint32be(6) == 0x2A864886
            and uint32be(10) == 0xF70D0107 and uint8(14) == 0x02)
        or (uint16be(0) == 0x3080 and uint16be(2) == 0x0609 and uint32be(4) == 0x2A864886
            and uint32be(8) == 0xF70D0107 and uint8(12) == 0x02)
}

rule pdf_document
{
    meta:
        type = "pdf"
        plugin = "pdf"
    strings:
        $header = "%PDF-"
    condition:
        $header in (0..1024)
}

rule rtf_document
{
    meta:
        type = "rtf"
        plugin = "rtf"
    condition:
        uint32be(0) == 0x7B5C7274 and uint8(4) == 0x66
}

rule email_message
{
    meta:
        type = "email"
        description = "RFC 822 message: a known header first, and at least two more in the first 8 KiB"
        plugin = "email"
    strings:
        $first_received = "Received:" nocase
        $first_return_path = "Return-Path:" nocase
        $first_delivered_to = "Delivered-To:" nocase
        $first_from = "From:" nocase
        $first_message_id = "Message-ID:" nocase
        $first_mime = "MIME-Version:" nocase
        $first_mbox = "From "
        $header_from = "\nFrom:" nocase
        $header_to = "\nTo:" nocase
        $header_subject = "\nSubject:" nocase
        $header_date = "\nDate:" nocase
        $header_message_id = "\nMessage-ID:" nocase
        $header_mime = "\nMIME-Version:" nocase
    condition:
        any of ($first_*) at 0 and 2 of ($header_*) in (0..8192)
}

rule outlook_message
{
    meta:
        type = "outlook-msg"
        description = "Outlook .msg: an OLE2 file of MAPI property streams (ole_compound_file matches too)"
        plugin = "email"
    strings:
        $properties = "__properties_version1.0" wide
        $property_stream = "__substg1.0_" wide
    condition:
        uint32be(0) == 0xD0CF11E0 and uint32be(4) == 0xA1B11AE1 and $properties and $property_stream
}

rule onenote_document
{
    meta:
        type = "onenote"
        description = "OneNote section (.one): the file format GUID {7B5C52E4-D88C-4DA7-AEB1-5378D02996D3}"
        plugin = "onenote"
    condition:
        uint32be(0) == 0xE4525C7B and uint32be(4) == 0x8CD8A74D
        and uint32be(8) == 0xAEB15378 and uint32be(12) == 0xD02996D3
}

rule windows_shortcut
{
    meta:
        type = "lnk"
        description = "Windows shortcut (.lnk): header size 0x4C and the ShellLink CLSID"
        plugin = "lnk"
    condition:
        uint32(0) == 0x0000004C and uint32be(4) == 0x01140200 and uint32be(8) == 0
        and uint32be(12) == 0xC0000000 and uint32be(16) == 0x00000046
}

/*
    Wave 2 (issue 14): formats libmagic names weakly, scripts, and the rule for every payload.
*/

rule lzma_alone_unusual_header
{
    meta:
        type = "lzma"
        description = "LZMA_Alone with properties or a dictionary other than lzma_compressed expects: a properties byte below 225, a dictionary an encoder writes (2^n, 3*2^(n-1) or whole MiB, 4 KiB to 1.5 GiB), a size below 2^38 or unknown, and the range coder's first byte 0"
        plugin = "decompress"
    condition:
        filesize > 18 and uint8(0) < 225 and uint8(13) == 0
        and uint32(1) >= 0x1000 and uint32(1) <= 0x60000000
        and ((uint32(1) & (uint32(1) - 1)) == 0
             or (uint32(1) % 3 == 0 and ((uint32(1) \ 3) & ((uint32(1) \ 3) - 1)) == 0)
             or uint32(1) % 0x100000 == 0)
        and ((uint32(5) == 0xFFFFFFFF and uint32(9) == 0xFFFFFFFF)
             or (uint32(9) < 0x40 and (uint32(5) != 0 or uint32(9) != 0)))
}

rule macho_fat_binary
{
    meta:
        type = "macho-fat"
        description = "Mach-O universal (fat) binary: CAFEBABE (or CAFEBABF, 64-bit) with 1 to 19 slices of a Mach-O CPU type; a Java class file has its version (45 or more) where the slice count would be"
        plugin = "macho"
    condition:
        (uint32be(0) == 0xCAFEBABE or uint32be(0) == 0xCAFEBABF)
        and uint32be(4) > 0 and uint32be(4) < 20
        and ((uint32be(8) & 0xFEFFFFFF) == 7 or (uint32be(8) & 0xFEFFFFFF) == 12
             or (uint32be(8) & 0xFEFFFFFF) == 18)
}

rule javascript_source
{
    meta:
        type = "javascript"
        description = "script text (libmagic often says text/plain): two JavaScript constructs droppers use, starting with a printable byte that is not markup"
        plugin = "javascript"
    strings:
        $function = /function\s*[A-Za-z0-9_$]*\s*\(/
        $declaration = /\b(var|let|const)\s+[A-Za-z_$][A-Za-z0-9_$]*\s*=/
        $eval = "eval("
        $unescape = "unescape("
        $from_char_code = "String.fromCharCode"
        $activex = "ActiveXObject"
        $wscript = "WScript."
        $document_write = "document.write"
    condition:
        filesize < 16MB and uint8(0) >= 0x09 and uint8(0) < 0x7F and uint8(0) != 0x3C
        and 2 of them
}

rule payload_above_minimum_size
{
    meta:
        type = "any"
        description = "every payload of at least 1 KiB: carve looks for files embedded in it, fuzzyhash computes its similarity hashes"
        plugin = "carve,fuzzyhash"
    condition:
        filesize >= 1024
}

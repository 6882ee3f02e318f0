"""stoq.testing's real system binaries: what plugin tests use instead of committed samples."""

from __future__ import annotations

from stoq.testing import elf_binary, windows_pe


def test_windows_pe_is_a_real_pe_file() -> None:
    """An MZ header whose e_lfanew points at a 'PE\\0\\0' signature."""
    content = windows_pe()
    assert content[:2] == b"MZ"
    offset = int.from_bytes(content[0x3C:0x40], "little")
    assert content[offset : offset + 4] == b"PE\x00\x00"


def test_elf_binary_is_an_elf_executable() -> None:
    """The ELF magic, and a size no stub would have."""
    content = elf_binary()
    assert content[:4] == b"\x7fELF" and len(content) > 10_000

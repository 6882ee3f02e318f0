"""stoQ plugin ``xordecode``: Single-byte and short-key XOR found by known plaintext, decoded payloads extracted."""

from .plugin import XordecodePlugin

__all__ = ["XordecodePlugin"]

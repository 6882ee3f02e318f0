"""stoQ plugin ``iocs``: Indicators of compromise in text: URLs, domains, IP addresses, email addresses and hashes, defanged forms included."""

from .plugin import IocsPlugin

__all__ = ["IocsPlugin"]

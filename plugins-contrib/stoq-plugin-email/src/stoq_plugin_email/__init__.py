"""stoQ plugin ``email``: Email messages (RFC 822 and Outlook .msg): headers, Received chain, authentication results, bodies, URLs; attachments extracted."""

from .plugin import EmailPlugin

__all__ = ["EmailPlugin"]

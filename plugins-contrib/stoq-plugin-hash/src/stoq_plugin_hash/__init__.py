"""stoQ plugin ``hash``: md5, sha1, sha256 and sha512 digests (any hashlib algorithm) in one pass over each payload."""

from .plugin import HashPlugin

__all__ = ["HashPlugin"]

"""stoQ plugin ``s3``: Payloads content-addressed and responses in S3-compatible storage."""

from .plugin import S3Plugin

__all__ = ["S3Plugin"]

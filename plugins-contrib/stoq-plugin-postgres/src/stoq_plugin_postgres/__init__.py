"""stoQ plugin ``postgres``: Responses as JSONB rows in PostgreSQL, upserted by scan_id."""

from .plugin import PostgresPlugin

__all__ = ["PostgresPlugin"]

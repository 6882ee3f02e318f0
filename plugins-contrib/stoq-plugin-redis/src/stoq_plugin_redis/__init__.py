"""stoQ plugin ``redis``: Redis Streams consumer group, at-least-once with dead-letter: run mode on many machines."""

from .plugin import RedisPlugin

__all__ = ["RedisPlugin"]

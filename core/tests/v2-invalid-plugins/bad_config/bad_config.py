"""A worker whose .stoq file cannot be parsed."""

from stoq.plugins import WorkerPlugin


class BadConfig(WorkerPlugin):
    pass

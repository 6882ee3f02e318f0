"""A worker that says it needs a stoQ far newer than any that exists."""

from stoq.plugins import WorkerPlugin


class TooNew(WorkerPlugin):
    pass

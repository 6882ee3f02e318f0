"""Two plugin classes in one module: v2 cannot tell which one the .stoq file means."""

from stoq.plugins import WorkerPlugin


class First(WorkerPlugin):
    pass


class Second(WorkerPlugin):
    pass

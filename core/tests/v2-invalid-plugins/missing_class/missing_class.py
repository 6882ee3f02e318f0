"""A module beside its .stoq file that defines no plugin class."""

from stoq.plugins import WorkerPlugin

NOT_A_PLUGIN = WorkerPlugin

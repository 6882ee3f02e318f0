"""``stoq.testing``: build a Stoq for a test, run one plugin, walk results, check conformance.

Plugin test modules import from here; the fixtures ``stoq_factory`` (``make_stoq`` with cleanup)
and ``data_dir`` (the test module's ``data/`` folder) come from the pytest plugin this package
registers under ``pytest11``. ``windows_pe()`` and ``elf_binary()`` give real binaries the
machine already has, and ``pinned_sample()`` takes a named file out of a pinned
distribution on the package index, so plugin tests need no committed samples.
``check_hostile_corpus()`` runs a plugin on hostile variants of such a sample (truncated,
bit-flipped, lying lengths, ...) under a time budget and a memory cap. Requires pytest.
"""

from stoq.testing._build import make_stoq
from stoq.testing._conformance import PluginConformance
from stoq.testing._hostile import check_hostile_corpus, hostile_variants
from stoq.testing._roles import (
    ArchiverConformance,
    ConnectorConformance,
    DecoratorConformance,
    DeepDispatcherConformance,
    DispatcherConformance,
    ProviderConformance,
    WorkerConformance,
)
from stoq.testing._run import read_input, run_plugin, walk
from stoq.testing._samples import SampleError, pinned_sample
from stoq.testing._system_files import elf_binary, windows_pe

__all__ = [
    "ArchiverConformance",
    "ConnectorConformance",
    "DecoratorConformance",
    "DeepDispatcherConformance",
    "DispatcherConformance",
    "PluginConformance",
    "ProviderConformance",
    "SampleError",
    "WorkerConformance",
    "check_hostile_corpus",
    "elf_binary",
    "hostile_variants",
    "make_stoq",
    "pinned_sample",
    "read_input",
    "run_plugin",
    "walk",
    "windows_pe",
]

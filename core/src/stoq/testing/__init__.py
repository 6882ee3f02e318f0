"""``stoq.testing``: build a Stoq for a test, run one plugin, walk results, check conformance.

Plugin test modules import from here; the fixtures ``stoq_factory`` and ``data_dir`` come from
the pytest plugin this package registers.
"""

from stoq.testing._build import make_stoq

__all__ = ["make_stoq"]

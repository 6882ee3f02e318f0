"""oletools calls pyparsing's old camelCase names, which pyparsing 3.3+ deprecates.

The warnings are the library's business, not the analyst's: they are silenced around the
import and around each analysis, so hosts that turn warnings into errors still run the plugin.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

__all__ = ["library_warnings_silenced"]


@contextlib.contextmanager
def library_warnings_silenced() -> Iterator[None]:
    """Ignore DeprecationWarning (and subclasses) raised inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield

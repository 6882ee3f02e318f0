"""stoQ: analyse files at scale through plugins.

The public API is listed here, in one place; every other module is an implementation detail
except ``stoq.plugins`` and ``stoq.data_classes`` (kept importable as in stoQ v2).
"""

import logging

from stoq.__about__ import __version__
from stoq.config import StoqConfigParser
from stoq.core import Stoq
from stoq.data_classes import (
    ArchiverResponse,
    DecoratorResponse,
    DeepDispatcherResponse,
    DispatcherResponse,
    Error,
    ExtractedPayload,
    Payload,
    PayloadMeta,
    PayloadResults,
    RequestMeta,
    StoqResponse,
    WorkerResponse,
)
from stoq.exceptions import (
    StoqConfigError,
    StoqDuplicatePlugin,
    StoqException,
    StoqPluginException,
    StoqPluginLoadError,
    StoqPluginNotFound,
    StoqPluginTimeout,
)
from stoq.log import configure_logging

logging.getLogger("stoq").addHandler(logging.NullHandler())

__all__ = [
    "ArchiverResponse",
    "DecoratorResponse",
    "DeepDispatcherResponse",
    "DispatcherResponse",
    "Error",
    "ExtractedPayload",
    "Payload",
    "PayloadMeta",
    "PayloadResults",
    "RequestMeta",
    "Stoq",
    "StoqConfigError",
    "StoqConfigParser",
    "StoqDuplicatePlugin",
    "StoqException",
    "StoqPluginException",
    "StoqPluginLoadError",
    "StoqPluginNotFound",
    "StoqPluginTimeout",
    "StoqResponse",
    "WorkerResponse",
    "__version__",
    "configure_logging",
]

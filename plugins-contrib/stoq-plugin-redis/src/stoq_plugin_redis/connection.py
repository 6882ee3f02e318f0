"""A Redis client from the plugin's options, with the environment as fallback.

Secrets are better kept out of configuration files: ``STOQ_REDIS_URL``, ``STOQ_REDIS_USERNAME``
and ``STOQ_REDIS_PASSWORD`` are read when the matching option is empty. TLS is chosen by the
``rediss://`` scheme; the certificate options only apply there.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping

import redis

__all__ = ["DEFAULT_URL", "connect"]

DEFAULT_URL = "redis://127.0.0.1:6379/0"
_TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")


def connect(options: Mapping[str, Any]) -> redis.Redis:
    """A client for ``url`` (or ``STOQ_REDIS_URL``) with ACL user and password when given."""
    url = str(options.get("url") or os.environ.get("STOQ_REDIS_URL") or DEFAULT_URL)
    kwargs: Dict[str, Any] = {"health_check_interval": 30}
    username = options.get("username") or os.environ.get("STOQ_REDIS_USERNAME")
    password = options.get("password") or os.environ.get("STOQ_REDIS_PASSWORD")
    if username:
        kwargs["username"] = str(username)
    if password:
        kwargs["password"] = str(password)
    tls = {key: str(options[key]) for key in _TLS_OPTIONS if options.get(key)}
    if tls and not url.startswith("rediss://"):
        raise ValueError(f"{', '.join(sorted(tls))} set, but url {url!r} is not rediss:// (TLS)")
    kwargs.update(tls)
    return redis.Redis.from_url(url, **kwargs)

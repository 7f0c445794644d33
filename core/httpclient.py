"""HTTP clients of the server-side components, sharing one TLS context per process.

httpx builds a new SSL context for every client it makes, loading the whole CA bundle each
time (about 40 ms of CPU). The services make clients per time-series store, per alert
channel and per retention check, so the console loads the bundle again for every one of
them; one context, built on first use and shared (an `ssl.SSLContext` is safe to share
between clients and threads), verifies exactly as httpx's default would.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (its CA bundle, or SSL_CERT_FILE/SSL_CERT_DIR)."""
    return httpx.create_ssl_context()


def http_client(**kwargs: Any) -> httpx.Client:
    """An `httpx.Client` with the process's shared TLS context (kwargs as for httpx)."""
    return httpx.Client(verify=tls_context(), **kwargs)

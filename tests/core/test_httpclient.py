"""The services' HTTP clients share one verifying TLS context."""

from __future__ import annotations

import ssl

import httpx

from bldgwatch.core.httpclient import http_client, tls_context


def test_clients_share_one_context_that_verifies_as_httpx_does() -> None:
    ctx = tls_context()
    assert tls_context() is ctx  # built once per process
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    default = httpx.create_ssl_context()
    assert ctx.cert_store_stats()["x509_ca"] == default.cert_store_stats()["x509_ca"] > 0
    with http_client(base_url="http://127.0.0.1:9", timeout=1) as a, http_client() as b:
        assert a.timeout.connect == 1 and str(a.base_url) == "http://127.0.0.1:9"
        pools = [c._transport._pool._ssl_context for c in (a, b)]  # type: ignore[attr-defined]
        assert pools == [ctx, ctx]

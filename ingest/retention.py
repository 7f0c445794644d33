"""Retention and downsampling on InfluxDB 1.x, set up when ingest starts.

Raw readings live in one retention policy (`influx.retention_policy`, else `autogen`) for
`retention.duration`; a continuous query keeps `rollup_interval` mean/min/max of every field
of every measurement in `rollup_policy` for `rollup_duration`. InfluxDB 2.x has neither:
there a bucket's retention and a Flux task do the same (docs/ingest.md).
The statements are planned by a pure function from what the server already has.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.httpclient import http_client
from bldgwatch.core.tsdb import TsdbError
from bldgwatch.ingest.config import RetentionConfig

logger = logging.getLogger(__name__)

DEFAULT_POLICY = "autogen"
CQ_PREFIX = "bw_rollup_"


@dataclass(frozen=True, slots=True)
class Existing:
    """What the database has: retention policy names and continuous query names."""

    policies: frozenset[str]
    queries: frozenset[str]


def cq_name(cfg: RetentionConfig) -> str:
    """The name of the downsampling continuous query (names the window)."""
    return f"{CQ_PREFIX}{cfg.rollup_interval}"


def plan(database: str, raw_policy: str, cfg: RetentionConfig, have: Existing) -> list[str]:
    """InfluxQL statements that bring `database` to the configured retention (idempotent).

    Existing policies are altered rather than created; the continuous query is dropped and
    created again, since InfluxDB cannot alter one and its definition may have changed.
    """
    db = _ident(database)
    out = [_policy(db, raw_policy, cfg.duration, exists=raw_policy in have.policies)]
    if not cfg.downsample:
        return out
    out.append(
        _policy(
            db, cfg.rollup_policy, cfg.rollup_duration, exists=cfg.rollup_policy in have.policies
        )
    )
    name = _ident(cq_name(cfg))
    if cq_name(cfg) in have.queries:
        out.append(f"DROP CONTINUOUS QUERY {name} ON {db}")
    # Identifiers are quoted; the durations were checked against a strict pattern.
    into = f"{db}.{_ident(cfg.rollup_policy)}.:MEASUREMENT"
    source = f"{db}.{_ident(raw_policy)}./.*/"
    select = f"SELECT mean(*), min(*), max(*) INTO {into} FROM {source}"  # noqa: S608
    out.append(
        f"CREATE CONTINUOUS QUERY {name} ON {db} BEGIN "
        f"{select} GROUP BY time({cfg.rollup_interval}), * END"
    )
    return out


def _policy(db: str, name: str, duration: str, *, exists: bool) -> str:
    verb = "ALTER" if exists else "CREATE"
    tail = "" if exists else " REPLICATION 1"
    return f"{verb} RETENTION POLICY {_ident(name)} ON {db} DURATION {duration}{tail}"


def _ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run_tolerating_races(admin: InfluxAdmin, statement: str) -> None:
    """Run a statement; another instance starting at once may have won the race."""
    try:
        admin.run(statement)
    except TsdbError as err:
        if "already exists" in str(err) or "not found" in str(err):
            logger.debug("retention set up concurrently: %s", err)
            return
        raise


class InfluxAdmin:
    """The few InfluxQL statements ingest runs on a 1.x server (POST /query)."""

    def __init__(self, settings: InfluxSettings, *, client: httpx.Client | None = None) -> None:
        self._s = settings
        auth = (settings.username, settings.password or "") if settings.username else None
        self._http = client or http_client(
            base_url=settings.url, timeout=settings.timeout_s, auth=auth
        )

    def run(self, statement: str) -> list[dict[str, Any]]:
        """Run one statement; return its series (raise TsdbError on failure)."""
        try:
            resp = self._http.post("/query", params={"db": self._s.database, "q": statement})
        except httpx.TransportError as err:
            raise TsdbError(f"InfluxDB unreachable: {err}", retryable=True) from err
        if resp.status_code != 200:
            raise TsdbError(
                f"InfluxDB {resp.status_code}: {resp.text.strip()[:300]}",
                retryable=resp.status_code >= 500 or resp.status_code == 429,
                status=resp.status_code,
            )
        series: list[dict[str, Any]] = []
        for result in resp.json().get("results", []):
            if "error" in result:
                raise TsdbError(f"InfluxQL error: {result['error']}", retryable=False)
            series.extend(result.get("series", []))
        return series

    def existing(self) -> Existing:
        """The database's retention policies and continuous queries."""
        db = _ident(self._s.database)
        policies = {
            str(v[0]) for s in self.run(f"SHOW RETENTION POLICIES ON {db}") for v in s["values"]
        }
        queries = {
            str(v[0])
            for s in self.run("SHOW CONTINUOUS QUERIES")
            if s.get("name") == self._s.database
            for v in s.get("values", [])
        }
        return Existing(frozenset(policies), frozenset(queries))

    def close(self) -> None:
        """Release the connection."""
        self._http.close()


def apply_retention(settings: InfluxSettings, cfg: RetentionConfig) -> list[str]:
    """Set up retention and downsampling on a 1.x server; the statements run.

    Raises TsdbError (retryable when the server is not reachable yet).
    """
    if not cfg.enabled:
        return []
    if settings.api != "v1":
        logger.info("retention: InfluxDB 2.x keeps it on the bucket (docs/ingest.md)")
        return []
    admin = InfluxAdmin(settings)
    try:
        raw = settings.retention_policy or DEFAULT_POLICY
        statements = plan(settings.database, raw, cfg, admin.existing())
        for statement in statements:
            _run_tolerating_races(admin, statement)
    finally:
        admin.close()
    logger.info(
        "retention: raw %s kept %s; %s rollups in %s kept %s",
        raw,
        cfg.duration,
        cfg.rollup_interval if cfg.downsample else "no",
        cfg.rollup_policy,
        cfg.rollup_duration,
    )
    return statements

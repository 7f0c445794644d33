"""The retained status document of an ingest instance (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

# Totals always present in the document, zero until first counted.
TOTALS = ("received", "readings", "written", "acked", "retries", "stale_acks")
GROUPS = ("rejected", "dead_letters", "dropped")


def status_document(
    *,
    instance: str,
    group: str,
    state: str,
    at: datetime,
    counters: dict[str, Any],
    pending: int,
    lag_s: float | None = None,
) -> bytes:
    """JSON for `bw/v1/_svc/ingest/{instance}/status`.

    `received` counts messages, `readings` readings in decodable messages, `written` lines
    stored, `acked` messages acknowledged, `rejected` refused messages/readings/lines per
    reason, `pending` lines buffered and not yet written, `lag_s` the age of the newest
    reading of the last acknowledged message (null before the first).
    """
    doc: dict[str, Any] = {
        "component": "ingest",
        "instance": instance,
        "group": group,
        "state": state,
        "at": at.isoformat(),
    }
    doc.update({name: int(counters.get(name, 0)) for name in TOTALS})
    doc.update({name: dict(counters.get(name, {})) for name in GROUPS})
    doc["pending"] = pending
    doc["lag_s"] = None if lag_s is None else round(lag_s, 3)
    return orjson.dumps(doc)


def offline_document(*, instance: str, group: str) -> bytes:
    """The last will: what the status says when the instance vanished."""
    return orjson.dumps(
        {"component": "ingest", "instance": instance, "group": group, "state": "offline"}
    )

"""Ingest: readings from the broker (shared subscription, manual acks) validated and written
to InfluxDB; what it refuses goes to dead letters with the reason.

Public API (what the composition root uses):

- `config`: `IngestConfig` and the retention settings nested in it.
- `service`: `run`, the ingest process, and `IngestService`.

Everything else is internal: the pure parts (`validate`, `lines`, `telegraf`, `status`) and
the shells around them (`pipeline`, `fastpath`, `writer`, `link`, `deadletter`, `retention`,
`counters`, `metrics`, `store`). Importing the package imports none of its modules.
"""

__all__ = ["config", "service"]

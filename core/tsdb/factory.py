"""Pick the adapter for the configured API."""

from __future__ import annotations

from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb.base import TimeSeriesStore


def open_store(settings: InfluxSettings) -> TimeSeriesStore:
    """The time-series store for `settings.api`."""
    if settings.api == "v2":
        from bldgwatch.core.tsdb.v2 import InfluxV2

        return InfluxV2(settings)
    from bldgwatch.core.tsdb.v1 import InfluxV1

    return InfluxV1(settings)

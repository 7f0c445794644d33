"""Time-series store: one interface, InfluxDB v1 and v2 adapters."""

from bldgwatch.core.tsdb.base import PartialWriteError, TimeSeriesStore, TsdbError
from bldgwatch.core.tsdb.factory import open_store

__all__ = ["PartialWriteError", "TimeSeriesStore", "TsdbError", "open_store"]

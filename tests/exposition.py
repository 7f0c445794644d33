"""Reading Prometheus text exposition in tests (with prometheus_client's own parser)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Series = tuple[str, frozenset[tuple[str, str]]]


def series(name: str, **labels: str) -> Series:
    """The key of one time series: its name and its labels (their order does not matter)."""
    return name, frozenset(labels.items())


def samples(text: str) -> dict[Series, float]:
    """Every sample of an exposition, by series."""
    return {
        series(sample.name, **sample.labels): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }

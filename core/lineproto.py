"""InfluxDB line protocol encoding (pure). Numbers are always written as floats so that a
point never changes field type between writes (InfluxDB refuses that); booleans stay booleans."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_MEAS_ESC = str.maketrans({",": r"\,", " ": r"\ "})
_TAG_ESC = str.maketrans({",": r"\,", " ": r"\ ", "=": r"\="})


def escape_measurement(name: str) -> str:
    """Escape a measurement name."""
    return name.translate(_MEAS_ESC)


def escape_key(name: str) -> str:
    """Escape a tag key, tag value or field key."""
    return name.translate(_TAG_ESC)


def field_value(value: float | int | bool | str) -> str:
    """Format one field value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value))
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, float | int | bool | str],
    ts: int,
) -> str:
    """One line; tags sorted by key (what InfluxDB prefers), timestamp in the write precision."""
    tag_part = "".join(
        f",{escape_key(k)}={escape_key(v)}" for k, v in sorted(tags.items()) if v != ""
    )
    field_part = ",".join(f"{escape_key(k)}={field_value(v)}" for k, v in fields.items())
    return f"{escape_measurement(measurement)}{tag_part} {field_part} {ts}"


def join(lines: Iterable[str]) -> bytes:
    """A write body."""
    return "\n".join(lines).encode("utf-8")

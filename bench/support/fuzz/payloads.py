"""Structure-aware hostile payloads for every consumer, generated with hypothesis.

Each strategy starts from a well-formed document of the consumer's own kind (a readings batch,
an alarm event, a work-order event, a gateway status, a sensor message) and damages it the
ways the issue lists: a field replaced by a value of the wrong type, a huge integer, NaN or an
infinity, deep nesting, a lone surrogate, an oversize string; a field deleted or one added;
the encoded bytes truncated, given invalid UTF-8, or replaced altogether. Some mutations leave
the message valid; consumers must handle those as the good messages they are.

`generate` draws many payloads per hypothesis example (the per-example overhead dominates
otherwise), reproducibly for a seed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

NOW_MS = 1_767_225_600_000  # replaced by the caller's clock (see `readings`)
PER_EXAMPLE = 20
RARELY = st.sampled_from([False] * 399 + [True])  # uniform: one in 400


class Raw:
    """A fragment of JSON text put into a document as it is (deep nesting, NaN, ...)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _dumps(doc: Any) -> bytes:
    raws: list[str] = []

    def mark(obj: Any) -> Any:
        if isinstance(obj, Raw):
            raws.append(obj.text)
            return f"\x00RAW{len(raws) - 1}\x00"
        if isinstance(obj, dict):
            return {str(k): mark(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [mark(v) for v in obj]
        return obj

    text = json.dumps(mark(doc), allow_nan=True)
    for n, raw in enumerate(raws):
        text = text.replace(f'"\\u0000RAW{n}\\u0000"', raw)
    return text.encode("utf-8", errors="surrogatepass")


hostile_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**400),
    st.integers(max_value=-(10**19)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e999"), Raw("-0")]),
    st.integers(1, 3000).map(lambda d: Raw("[" * d + "]" * d)),
    st.integers(1, 300).map(lambda d: Raw('{"a":' * d + "1" + "}" * d)),
    st.text(max_size=12),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "a/b", "+", "#", "$SYS", "time", "a\nb"]),
    st.integers(100, 5_000).map(lambda n: "x" * n),
    st.lists(st.integers(), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc[:6]):
            out += _paths(value, (*prefix, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return doc


def _delete(doc: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return doc


@st.composite
def damaged(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> bytes:
    """A document from `base`, damaged by up to three mutations, encoded (and maybe its bytes
    damaged too)."""
    doc = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
        if op == "set":
            doc = _set(doc, path, draw(hostile_value))
        elif op == "delete" and path:
            doc = _delete(doc, path)
        elif op == "add" and isinstance(doc, dict):
            doc[draw(st.text(min_size=1, max_size=8))] = draw(hostile_value)
    payload = _dumps(doc)
    if draw(RARELY):  # larger than the consumers take
        payload = payload[:-1] + b', "pad": "' + b"x" * 1_200_000 + b'"}' if payload else payload
    cut = draw(st.sampled_from(["none", "none", "none", "truncate", "utf8", "bytes"]))
    if cut == "truncate" and payload:
        payload = payload[: draw(st.integers(0, len(payload) - 1))]
    elif cut == "utf8":
        at = draw(st.integers(0, len(payload)))
        payload = payload[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"]))
        payload += payload[at:]
    elif cut == "bytes":
        payload = draw(st.binary(max_size=64))
    return payload


def readings(site: str, gateway: str, equipment: list[str], now_ms: int) -> st.SearchStrategy[Any]:
    """Well-formed readings batches of `gateway` (before damage)."""

    @st.composite
    def batch(draw: st.DrawFn) -> dict[str, Any]:
        n = draw(st.integers(1, 4))
        eqs = [draw(st.sampled_from(equipment)) for _ in range(n)]
        offsets = st.sampled_from([0, -1000, -60_000, 200_000, 400_000, 400 * 86_400_000])
        return {
            "schema": 1,
            "site": site,
            "gateway": gateway,
            "seq": draw(st.integers(0, 10**6)),
            "equipment": {eq: {"type": "pump", "building": "B1"} for eq in set(eqs)},
            "readings": {
                "equipment": eqs,
                "point": [draw(st.sampled_from(["bearing_temp_c", "current_a", "x"])) for _ in eqs],
                "ts": [now_ms + draw(offsets) for _ in eqs],
                "value": [draw(st.floats(-1e6, 1e6) | st.booleans()) for _ in eqs],
                "quality": [draw(st.sampled_from([0, 0, 0, 1, 2])) for _ in eqs],
            },
        }

    return batch()


def alarm_events(site: str, equipment: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed alarm events (before damage)."""
    return st.fixed_dictionaries(
        {
            "schema": st.just(1),
            "event_id": st.uuids().map(str),
            "alarm_id": st.uuids().map(str),
            "site": st.just(site),
            "building": st.just("B1"),
            "equipment": st.sampled_from(equipment),
            "equipment_type": st.just("pump"),
            "rule": st.just("pump.bearing_temp_high"),
            "fault_code": st.just("PUMP_BEARING_TEMP"),
            "family": st.sampled_from(["bearing", "electrical"]),
            "severity": st.sampled_from(["critical", "major", "minor", "warning"]),
            "priority": st.integers(1, 4),
            "transition": st.sampled_from(["activate", "clear", "acknowledge"]),
            "state": st.sampled_from(["active_unack", "normal", "rtn_unack"]),
            "previous_state": st.sampled_from(["normal", "active_unack"]),
            "at": st.just("2026-12-06T08:00:00+00:00"),
            "value": st.floats(0, 200),
            "message": st.text(max_size=10),
            "maintenance": st.sampled_from(["none", "reactive", "planned"]),
        }
    )


def work_order_events(site: str, equipment: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed work-order events (before damage)."""
    return st.fixed_dictionaries(
        {
            "schema": st.just(1),
            "event_id": st.uuids().map(str),
            "work_order_id": st.integers(1, 10**6),
            "site": st.just(site),
            "equipment": st.sampled_from(equipment),
            "kind": st.just("reactive"),
            "change": st.just("created"),
            "status": st.just("open"),
            "priority": st.integers(1, 4),
            "title": st.text(max_size=10),
            "at": st.just("2026-12-06T08:00:00+00:00"),
        }
    )


def gateway_status() -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed gateway status documents (before damage)."""
    return st.fixed_dictionaries(
        {
            "state": st.sampled_from(["online", "offline"]),
            "devices": st.dictionaries(
                st.sampled_from(["P-01", "E-01"]),
                st.fixed_dictionaries({"available": st.booleans()}),
                max_size=2,
            ),
        }
    )


def sensor_messages() -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed sensor messages (before damage): {"ts": ..., "data": {"temp": ...}}."""
    return st.fixed_dictionaries(
        {
            "ts": st.sampled_from(["2026-12-06T08:00:00+00:00", NOW_MS]),
            "data": st.fixed_dictionaries({"temp": st.floats(-40, 80)}),
        }
    )


def generate(strategy: st.SearchStrategy[bytes], n: int, *, rng_seed: int = 0) -> list[bytes]:
    """`n` payloads drawn from `strategy`, the same ones for the same seed."""
    out: list[bytes] = []
    round_ = 0
    while len(out) < n:  # hypothesis may stop early when it runs out of new examples
        examples = -(-(n - len(out)) // PER_EXAMPLE)

        @seed(rng_seed * 1000 + round_)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(strategy, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
        def draw(batch: list[bytes]) -> None:
            out.extend(batch)

        draw()
        round_ += 1
    return out[:n]


def chunks(
    strategy: st.SearchStrategy[bytes], n: int, *, size: int = 2000, rng_seed: int = 0
) -> Iterator[list[bytes]]:
    """`n` payloads in chunks of `size` (generated as they are needed, so memory stays small)."""
    done = 0
    while done < n:
        chunk = generate(strategy, min(size, n - done), rng_seed=rng_seed * 100_000 + done)
        done += len(chunk)
        yield chunk

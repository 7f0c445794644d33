"""≥ 10,000 generated bad payloads through the pipeline (in process, fake store at the
transport boundary): no crash, per-reason counts that add up, good readings of mixed
batches kept."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.register import EquipmentRegister
from bldgwatch.core.safejson import DecodeLimits
from bldgwatch.core.site import BuildingSpec, EquipmentSpec, SiteSpec
from bldgwatch.ingest.counters import Counters
from bldgwatch.ingest.deadletter import DeadLetterBox
from bldgwatch.ingest.fastpath import fast_lines
from bldgwatch.ingest.lines import batch_to_lines
from bldgwatch.ingest.pipeline import ReadingsPipeline
from bldgwatch.ingest.validate import ValidationPolicy, validate
from bldgwatch.ingest.writer import BatchWriter, Delivery, WriterSettings
from tests.ingest.fakes import FakeStore

TOPIC = "bw/v1/demo/gw-1/readings"
POLICY = ValidationPolicy(
    max_future_s=300,
    max_age_s=30 * 86_400,
    registry=EquipmentRegister(
        [
            SiteSpec(
                site="demo",
                buildings=[BuildingSpec(id="B1")],
                equipment=[EquipmentSpec(id="P-01", type="pump", building="B1", gateway="gw-1")],
            )
        ]
    ),
)

CLOCK = ManualClock()
NOW = to_epoch_ms(CLOCK.now())
MESSAGE_KINDS = ("malformed_json", "schema_version", "unknown_field")
READING_KINDS = (
    "non_finite",
    "value_out_of_range",
    "future_timestamp",
    "too_old",
    "unknown_equipment",
)
MAX_ABS = DecodeLimits().max_abs_value
EXAMPLES, MIN_PER_EXAMPLE = 420, 25


@dataclass
class Case:
    """One payload, what it should be refused for, and the good readings it carries."""

    payload: bytes
    rejected: Counter[str] = field(default_factory=Counter)
    good_ts: list[int] = field(default_factory=list)


def _seq_of(readings: list[tuple[str, int, Any]]) -> int:
    """A seq of its own for each content (the same seq with other readings is refused as
    duplicate_seq), derived from the readings so generation stays deterministic."""
    digest = hashlib.blake2b(repr(readings).encode(), digest_size=7).digest()
    return int.from_bytes(digest, "big")


def _doc(readings: list[tuple[str, int, Any]]) -> dict[str, Any]:
    return {
        "schema": 1,
        "site": "demo",
        "gateway": "gw-1",
        "seq": _seq_of(readings),
        "equipment": {
            "P-01": {"type": "pump", "building": "B1"},
            "X-99": {"type": "pump", "building": "B1"},
        },
        "readings": {
            "equipment": [eq for eq, _, _ in readings],
            "point": ["p"] * len(readings),
            "ts": [ts for _, ts, _ in readings],
            "value": [v for _, _, v in readings],
            "quality": [0] * len(readings),
        },
    }


good_ts = st.integers(NOW - 29 * 86_400_000, NOW + 299_000)
good_value = st.floats(-MAX_ABS, MAX_ABS) | st.booleans()
bad_reading = {
    "non_finite": st.tuples(
        st.just("P-01"), good_ts, st.sampled_from([float("nan"), float("inf"), -float("inf")])
    ),
    "value_out_of_range": st.tuples(
        st.just("P-01"),
        good_ts,
        st.floats(min_value=MAX_ABS, exclude_min=True, allow_infinity=False).map(
            lambda v: v if v % 2 else -v  # both signs
        ),
    ),
    "future_timestamp": st.tuples(
        st.just("P-01"), st.integers(NOW + 300_001, NOW + 10**12), good_value
    ),
    "too_old": st.tuples(st.just("P-01"), st.integers(0, NOW - 30 * 86_400_000 - 1), good_value),
    "unknown_equipment": st.tuples(st.just("X-99"), good_ts, good_value),
}


@st.composite
def mixed_batch(draw: st.DrawFn) -> Case:
    """Good readings (distinct timestamps) mixed with bad ones of one or more kinds."""
    kinds = draw(st.lists(st.sampled_from(READING_KINDS), min_size=1, max_size=3))
    stamps = draw(st.lists(good_ts, max_size=8, unique=True))
    good = [("P-01", ts, draw(good_value)) for ts in stamps]
    bad = [draw(bad_reading[kind]) for kind in kinds]
    readings = draw(st.permutations(good + bad))
    return Case(_dumps(_doc(readings)), Counter(kinds), sorted(stamps))


def _dumps(doc: dict[str, Any]) -> bytes:
    # The stdlib writes NaN/Infinity tokens (orjson would write null), as a sloppy sender does.
    return json.dumps(doc, allow_nan=True).encode()


@st.composite
def bad_message(draw: st.DrawFn) -> Case:
    """A message refused as a whole."""
    kind = draw(st.sampled_from(MESSAGE_KINDS))
    doc = _doc([("P-01", draw(good_ts), 1.0)])
    if kind == "malformed_json":
        whole = orjson.dumps(doc)
        cut = draw(st.integers(0, len(whole) - 1))
        payload = draw(st.sampled_from([whole[:cut], b"\xff" + whole, whole[:cut] + b"\x00"]))
    elif kind == "schema_version":
        doc["schema"] = draw(
            st.integers(-(2**63), 2**63 - 1).filter(lambda v: v != 1)
            | st.text(max_size=5)
            | st.none()
            | st.floats(allow_nan=False).filter(lambda v: v != 1)
        )
        payload = orjson.dumps(doc)
    else:
        name = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in doc))
        doc[name] = draw(st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5) | st.none())
        payload = orjson.dumps(doc)
    return Case(payload, Counter({kind: 1}))


class Rig:
    """The real pipeline and writer; fakes only for the store and the publish."""

    def __init__(self) -> None:
        self.store = FakeStore()
        self.counters = Counters()
        self.letters: list[dict[str, Any]] = []
        self.acked = 0
        self.writer = BatchWriter(
            self.store,
            settings=WriterSettings(batch_messages=10_000, flush_interval_s=3600),
            ack=self._ack,
            reject_line=lambda *_: None,
            counters=self.counters,
            sleep=lambda _s: None,
        )
        box = DeadLetterBox(lambda _t, p: self.letters.append(orjson.loads(p)), self.counters)
        self.pipeline = ReadingsPipeline(
            writer=self.writer, dead_letters=box, counters=self.counters, policy=POLICY, clock=CLOCK
        )

    def _ack(self, _delivery: Delivery) -> None:
        self.acked += 1

    def drain(self) -> None:
        while self.writer.flush_batch():
            pass


thrown = Counter[str]()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(mixed_batch() | bad_message(), min_size=MIN_PER_EXAMPLE, max_size=30))
def _throw(cases: list[Case]) -> None:
    rig = Rig()
    expected: Counter[str] = Counter()
    good: list[int] = []
    for mid, case in enumerate(cases, start=1):
        rig.pipeline.handle(Delivery(mid=mid, qos=1, topic=TOPIC), case.payload)
        expected.update(case.rejected)
        good.extend(case.good_ts)
    rig.drain()
    assert rig.counters.reasons("rejected") == dict(expected)
    assert rig.counters.get("received") == len(cases)
    # Every message is acknowledged: the refused ones too, once their turn comes.
    assert rig.acked == len(cases)
    letters = Counter(letter["reason"] for letter in rig.letters)
    assert letters == Counter(r for case in cases for r in case.rejected)
    kept_ts = sorted(int(line.rsplit(" ", 1)[1]) for line in rig.store.kept)
    assert kept_ts == sorted(good)
    thrown["payloads"] += len(cases)
    thrown.update(expected)


@pytest.mark.long(seconds=52)
def test_ten_thousand_bad_payloads_are_counted_per_reason_and_good_readings_kept() -> None:
    thrown.clear()
    _throw()
    assert thrown["payloads"] >= 10_000
    # Every reason was exercised many times.
    assert all(thrown[kind] >= 500 for kind in MESSAGE_KINDS + READING_KINDS), thrown


def _full_path(payload: bytes) -> tuple[list[str], int] | None:
    """(lines, seq) by the codec and per-reading validation, or None when anything is refused."""
    try:
        decoded = decode_batch(payload)
        checked = validate(TOPIC, decoded, now=CLOCK.now(), policy=POLICY)
    except DecodeError:
        return None
    if checked.rejections:
        return None
    return batch_to_lines(checked.batch).lines, checked.batch.seq


clean_batch = st.builds(
    lambda stamps, values, quality: _doc_q(
        [("P-01", ts, v) for ts, v in zip(stamps, values, strict=False)], quality
    ),
    st.lists(good_ts, max_size=20),
    st.lists(good_value, min_size=20, max_size=20),
    st.sampled_from([0, 1, 2]),
)


def _doc_q(readings: list[tuple[str, int, Any]], quality: int) -> bytes:
    doc = _doc(readings)
    doc["readings"]["quality"] = [quality] * len(readings)
    return orjson.dumps(doc)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(
    clean_batch | mixed_batch().map(lambda c: c.payload) | bad_message().map(lambda c: c.payload)
)
def test_fast_path_takes_only_clean_messages_and_writes_the_same_lines(payload: bytes) -> None:
    fast = fast_lines(TOPIC, payload, now_ms=NOW, policy=POLICY)
    full = _full_path(payload)
    if fast is None:
        assert full is None
    else:
        assert full == (fast.out.lines, fast.seq)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(clean_batch)
def test_clean_messages_take_the_fast_path(payload: bytes) -> None:
    fast = fast_lines(TOPIC, payload, now_ms=NOW, policy=POLICY)
    assert fast is not None
    assert _full_path(payload) == (fast.out.lines, fast.seq)

"""Message handling and dead letters, with fakes only at the transports (store, publish)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.models import EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.ingest.counters import Counters
from bldgwatch.ingest.deadletter import DeadLetter, DeadLetterBox, deadletter_topic, encode
from bldgwatch.ingest.pipeline import ReadingsPipeline
from bldgwatch.ingest.validate import ValidationPolicy
from bldgwatch.ingest.writer import BatchWriter, Delivery, WriterSettings
from tests.ingest.fakes import FakeStore

TOPIC = "bw/v1/demo/gw-1/readings"
DL_TOPIC = "bw/v1/demo/deadletter/ingest"


class Rig:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.now = to_epoch_ms(self.clock.now())
        self.store = FakeStore()
        self.counters = Counters()
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.acks: list[int] = []
        self.writer = BatchWriter(
            self.store,
            settings=WriterSettings(),
            ack=lambda d: self.acks.append(d.mid),
            reject_line=lambda *_: None,
            counters=self.counters,
            monotonic=lambda: self.clock.now().timestamp(),
            sleep=lambda _s: None,
        )
        box = DeadLetterBox(lambda t, p: self.published.append((t, orjson.loads(p))), self.counters)
        self.pipeline = ReadingsPipeline(
            writer=self.writer,
            dead_letters=box,
            counters=self.counters,
            policy=ValidationPolicy(),
            clock=self.clock,
        )

    def handle(self, mid: int, payload: bytes, topic: str = TOPIC) -> None:
        self.pipeline.handle(Delivery(mid=mid, qos=1, topic=topic), payload)

    def flush(self) -> None:
        self.clock.advance(1)
        self.writer.poll()

    def batch(self, *readings: tuple[str, int, float, Quality]) -> bytes:
        rs = [Reading("P-01", p, self.now + dt, v, q) for p, dt, v, q in readings]
        return encode_batch(
            ReadingBatch("demo", "gw-1", 9, {"P-01": EquipmentInfo("pump", "B1")}, rs)
        )


G = Quality.GOOD


def test_good_batch_is_written_then_acked() -> None:
    rig = Rig()
    rig.handle(1, rig.batch(("flow", 0, 1.0, G), ("temp", 0, 40.0, G), ("flow", 1000, 2.0, G)))
    assert rig.acks == []
    rig.flush()
    assert rig.acks == [1]
    assert len(rig.store.kept) == 2
    assert rig.published == []
    snap = rig.counters.snapshot()
    assert (snap["received"], snap["readings"], snap["written"]) == (1, 3, 2)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b'{"schema": 2}', "schema_version"),
        (b"[1, 2]", "bad_schema"),
    ],
)
def test_unusable_message_is_dead_lettered_and_acked(payload: bytes, reason: str) -> None:
    rig = Rig()
    rig.handle(4, payload)
    assert rig.acks == [4]
    [(topic, letter)] = rig.published
    assert topic == DL_TOPIC
    assert letter == {
        "component": "ingest",
        "reason": reason,
        "detail": letter["detail"],
        "topic": TOPIC,
        "seq": None,
        "payload": payload.decode(),
    }
    assert letter["detail"]
    assert rig.counters.reasons("rejected") == {reason: 1}
    assert rig.counters.reasons("dead_letters") == {reason: 1}


def test_unknown_field_and_topic_mismatch_name_their_reason() -> None:
    rig = Rig()
    doc = orjson.loads(rig.batch(("flow", 0, 1.0, G)))
    rig.handle(1, orjson.dumps({**doc, "extra": 1}))
    rig.handle(2, rig.batch(("flow", 0, 1.0, G)), topic="bw/v1/demo/gw-9/readings")
    assert [(t, lt["reason"], lt["seq"]) for t, lt in rig.published] == [
        (DL_TOPIC, "unknown_field", None),
        (DL_TOPIC, "topic_mismatch", 9),
    ]
    assert rig.acks == [1, 2]


def test_some_bad_readings_keep_the_good_ones() -> None:
    rig = Rig()
    payload = rig.batch(
        ("flow", 0, 1.0, G),
        ("flow", 10**9, 2.0, G),  # far future
        ("temp", 10**9, 3.0, G),  # far future
        ("time", 0, 4.0, G),  # reserved name
        ("vib", 0, 9.0, Quality.BAD),  # dropped, not rejected
    )
    rig.handle(1, payload)
    rig.flush()
    assert rig.store.kept == [
        "pump,building=B1,equipment=P-01,gateway=gw-1,site=demo flow=1.0 " + str(rig.now)
    ]
    assert rig.acks == [1]
    letters = {lt["reason"]: lt for _t, lt in rig.published}
    assert set(letters) == {"future_timestamp", "bad_point"}
    assert letters["future_timestamp"]["detail"].startswith("2 reading(s): [1] P-01.flow")
    assert letters["future_timestamp"]["seq"] == 9
    assert rig.counters.reasons("rejected") == {"future_timestamp": 2, "bad_point": 1}
    assert rig.counters.reasons("dropped") == {"bad_quality": 1}


@pytest.mark.parametrize(
    ("source", "topic"),
    [
        (TOPIC, DL_TOPIC),
        ("bw/v1/site-b/gw/readings", "bw/v1/site-b/deadletter/ingest"),
        ("garbage", "bw/v1/_unknown/deadletter/ingest"),
        ("bw/v1/_svc/x/status", "bw/v1/_unknown/deadletter/ingest"),
        ("bw/v1/$odd/gw/readings", "bw/v1/_unknown/deadletter/ingest"),
    ],
)
def test_deadletter_topic(source: str, topic: str) -> None:
    assert deadletter_topic(source) == topic


def test_dead_letter_payload_is_cut_to_2_kib_of_text() -> None:
    letter = DeadLetter("r", "d", TOPIC, 3, b"\xff" + b"x" * 5000)
    doc = orjson.loads(encode(letter))
    assert doc["payload"] == "\ufffd" + "x" * 2047
    assert doc["seq"] == 3

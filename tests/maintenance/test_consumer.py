"""The consumer between MQTT and the store: decoding, dead letters, ack only after commit."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from core.clock import ManualClock
from core.config import DatabaseSettings
from core.db import make_engine, migrate, session_factory
from core.errors import DecodeError
from maintenance.consumer import AlarmConsumer, Delivery, decode_event
from maintenance.incidents import IncidentPolicy
from maintenance.models import WorkOrderRow
from tests.maintenance.conftest import EventFactory

TOPIC = "bw/v1/demo/alarms/P-01"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (TOPIC, b"\xff\xfe", "invalid_json"),
        (TOPIC, b"[1, 2", "invalid_json"),
        (TOPIC, b'{"schema": 1}', "invalid_schema"),
        ("bw/v1/other/alarms/P-01", None, "topic_mismatch"),
        ("bw/v1/demo/alarms/P-02", None, "topic_mismatch"),
    ],
)
def test_decode_rejects(
    topic: str, payload: bytes | None, reason: str, make_event: EventFactory
) -> None:
    body = payload if payload is not None else make_event().model_dump_json(by_alias=True)
    with pytest.raises(DecodeError) as info:
        decode_event(topic, body if isinstance(body, bytes) else body.encode())
    assert info.value.reason == reason


def test_decode_rejects_unstorable_and_unknown_schema(make_event: EventFactory) -> None:
    too_long = make_event(event_id="x" * 37).model_dump_json(by_alias=True).encode()
    with pytest.raises(DecodeError, match="event_id"):
        decode_event(TOPIC, too_long)
    future = make_event(schema_version=2).model_dump_json(by_alias=True).encode()
    with pytest.raises(DecodeError) as info:
        decode_event(TOPIC, future)
    assert info.value.reason == "unsupported_schema"


def test_decode_accepts(make_event: EventFactory) -> None:
    event = make_event()
    assert decode_event(TOPIC, event.model_dump_json(by_alias=True).encode()) == event


class Transport:
    """What the consumer sends back to the broker (the transport boundary)."""

    def __init__(self) -> None:
        self.acks: list[tuple[int, int]] = []
        self.published: list[tuple[str, bytes]] = []

    def ack(self, mid: int, qos: int) -> None:
        self.acks.append((mid, qos))

    def publish(self, topic: str, body: bytes) -> None:
        self.published.append((topic, body))


def _consumer(settings: DatabaseSettings, transport: Transport) -> AlarmConsumer:
    return AlarmConsumer(
        sessions=session_factory(make_engine(settings)),
        policy=IncidentPolicy(),
        publish=transport.publish,
        ack=transport.ack,
        clock=ManualClock(),
        instance="t",
    )


def test_ack_only_after_commit(tmp_path: Path, make_event: EventFactory) -> None:
    settings = DatabaseSettings(url=f"sqlite:///{tmp_path / 'm.db'}")
    transport = Transport()
    consumer = _consumer(settings, transport)
    event = make_event()
    delivery = Delivery(TOPIC, event.model_dump_json(by_alias=True).encode(), 7, 1, 0)
    # store not migrated yet: the transaction fails, nothing is acked, retry later
    assert consumer.handle(delivery) is False
    assert transport.acks == []
    assert consumer.counters.db_errors == 1
    engine = make_engine(settings)
    migrate(engine)
    assert consumer.handle(delivery) is True
    assert transport.acks == [(7, 1)]
    assert consumer.counters.created == 1 and consumer.counters.received == 1
    with session_factory(engine)() as s:
        assert len(s.scalars(select(WorkOrderRow)).all()) == 1
    engine.dispose()


def test_bad_message_dead_lettered_and_acked(tmp_path: Path) -> None:
    settings = DatabaseSettings(url=f"sqlite:///{tmp_path / 'm.db'}")
    transport = Transport()
    consumer = _consumer(settings, transport)
    assert consumer.handle(Delivery(TOPIC, b"nope", 3, 1, 0)) is True
    assert transport.acks == [(3, 1)]
    [(topic, body)] = transport.published
    assert topic == "bw/v1/demo/deadletter/maintenance"
    letter = orjson.loads(body)
    assert letter["reason"] == "invalid_json" and letter["payload"] == "nope"
    assert letter["at"] == "2026-01-01T00:00:00+00:00"


def test_deliveries_of_a_dropped_connection_are_not_acked(
    tmp_path: Path, make_event: EventFactory
) -> None:
    settings = DatabaseSettings(url=f"sqlite:///{tmp_path / 'm.db'}")
    migrate(make_engine(settings))
    transport = Transport()
    consumer = _consumer(settings, transport)
    stale = Delivery(TOPIC, make_event().model_dump_json(by_alias=True).encode(), 5, 1, 0)
    consumer.on_connect()  # reconnected: mid 5 now means something else on the new connection
    assert consumer.handle(stale) is True
    assert transport.acks == []
    assert consumer.counters.created == 1

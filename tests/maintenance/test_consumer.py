"""The consumer between MQTT and the store: decoding, dead letters, ack only after commit."""

from __future__ import annotations

from datetime import timedelta

import orjson
import paho.mqtt.client as paho
import pytest
from sqlalchemy import Engine, select

from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine, session_factory
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.inbox import Delivery, Inbox
from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.consumer import AlarmConsumer, decode_event
from bldgwatch.maintenance.incidents import IncidentPolicy
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.outbox import OutboxRelay
from bldgwatch.migrations import migrate
from tests.maintenance.conftest import EventFactory, demo_site

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
        self.generation = 0

    def ack(self, mid: int, qos: int, *, generation: int | None = None) -> bool:
        if generation is not None and generation != self.generation:
            return False
        self.acks.append((mid, qos))
        return True

    def reconnect(self) -> None:
        self.generation += 1

    def publish(self, topic: str, body: bytes) -> None:
        self.published.append((topic, body))

    def confirm(self, topic: str, body: bytes) -> bool:
        """Publish, the broker confirming at once."""
        self.publish(topic, body)
        return True


def _migrate_with_the_demo_site(engine: Engine) -> None:
    """The newest schema and the demo site's assets (orders are only for registered ones)."""
    migrate(engine)
    with session_factory(engine)() as session:
        import_site(session, demo_site())
        session.commit()


def _consumer(settings: DatabaseSettings, transport: Transport) -> AlarmConsumer:
    return AlarmConsumer(
        sessions=session_factory(make_engine(settings)),
        policy=IncidentPolicy(),
        publish=transport.publish,
        inbox=Inbox(transport),
        clock=ManualClock(),
        instance="t",
    )


def test_ack_only_after_commit(
    empty_sqlite_settings: DatabaseSettings, make_event: EventFactory
) -> None:
    transport = Transport()
    consumer = _consumer(empty_sqlite_settings, transport)
    event = make_event()
    delivery = Delivery(TOPIC, event.model_dump_json(by_alias=True).encode(), 7, 1, 0)
    # store not migrated yet: the transaction fails, nothing is acked, retry later
    assert consumer.handle(delivery) is False
    assert transport.acks == []
    assert consumer.counters.db_errors == 1
    engine = make_engine(empty_sqlite_settings)
    _migrate_with_the_demo_site(engine)
    assert consumer.handle(delivery) is True
    assert transport.acks == [(7, 1)]
    assert consumer.counters.created == 1 and consumer.counters.received == 1
    with session_factory(engine)() as s:
        assert len(s.scalars(select(WorkOrderRow)).all()) == 1
    engine.dispose()


def test_bad_message_dead_lettered_and_acked(empty_sqlite_settings: DatabaseSettings) -> None:
    transport = Transport()
    consumer = _consumer(empty_sqlite_settings, transport)
    assert consumer.handle(Delivery(TOPIC, b"nope", 3, 1, 0)) is True
    assert transport.acks == [(3, 1)]
    [(topic, body)] = transport.published
    assert topic == "bw/v1/demo/deadletter/maintenance"
    letter = orjson.loads(body)
    assert letter["reason"] == "invalid_json" and letter["payload"] == "nope"
    assert letter["at"] == "2026-01-01T00:00:00+00:00"


def test_deliveries_of_a_dropped_connection_are_not_acked(
    sqlite_settings: DatabaseSettings, make_event: EventFactory
) -> None:
    _migrate_with_the_demo_site(make_engine(sqlite_settings))
    transport = Transport()
    consumer = _consumer(sqlite_settings, transport)
    stale = Delivery(TOPIC, make_event().model_dump_json(by_alias=True).encode(), 5, 1, 0)
    transport.reconnect()  # mid 5 now means something else on the new connection
    assert consumer.handle(stale) is True
    assert transport.acks == []
    assert consumer.counters.created == 1


def test_work_order_events_published_after_commit(
    sqlite_settings: DatabaseSettings, make_event: EventFactory
) -> None:
    _migrate_with_the_demo_site(make_engine(sqlite_settings))
    transport = Transport()
    consumer = _consumer(sqlite_settings, transport)
    first = make_event()
    again = make_event(at=first.at + timedelta(minutes=5))
    for mid, event in ((1, first), (2, first), (3, again)):  # the second is a redelivery
        body = event.model_dump_json(by_alias=True).encode()
        assert consumer.handle(Delivery(TOPIC, body, mid, 1, 0)) is True
    assert transport.acks == [(1, 1), (2, 1), (3, 1)]
    # The service's outbox relay publishes what the transactions committed.
    OutboxRelay(session_factory(make_engine(sqlite_settings)), publish=transport.confirm).relay()
    wire = [
        (topic, WorkOrderEvent.model_validate_json(body)) for topic, body in transport.published
    ]
    assert [topic for topic, _ in wire] == ["bw/v1/demo/workorders/P-01"] * 2
    created, attached = (event for _, event in wire)
    assert (created.change, created.status, created.kind) == ("created", "open", "reactive")
    assert (attached.change, attached.previous_status) == ("alarm_attached", "open")
    assert created.work_order_id == attached.work_order_id
    assert created.event_id != attached.event_id


@pytest.mark.parametrize(("site", "equipment"), [("ghost", "NOPE"), ("demo", "NOPE")])
def test_an_alarm_for_equipment_not_in_the_register_opens_no_order(
    sqlite_settings: DatabaseSettings, make_event: EventFactory, site: str, equipment: str
) -> None:
    settings = sqlite_settings
    _migrate_with_the_demo_site(make_engine(settings))
    transport = Transport()
    consumer = _consumer(settings, transport)
    forged = make_event(site=site, equipment=equipment)
    body = forged.model_dump_json(by_alias=True).encode()
    assert consumer.handle(Delivery(f"bw/v1/{site}/alarms/{equipment}", body, 9, 1, 0)) is True
    assert transport.acks == [(9, 1)]
    [(topic, letter)] = transport.published
    assert topic == f"bw/v1/{site}/deadletter/maintenance"
    assert orjson.loads(letter)["reason"] == "unknown_equipment"
    assert consumer.counters.created == 0
    assert consumer.counters.dead_letters == {"unknown_equipment": 1}


def test_inbox_drops_deliveries_of_an_old_connection() -> None:
    transport = Transport()
    inbox = Inbox(transport)
    message = paho.MQTTMessage(mid=4, topic=TOPIC.encode())
    message.payload = b"{}"
    message.qos = 1
    inbox.put(message)
    transport.reconnect()
    inbox.on_connect()
    assert inbox.pending == 0


def test_a_handler_that_raises_costs_its_message_only(
    sqlite_settings: DatabaseSettings, make_event: EventFactory
) -> None:
    settings = sqlite_settings
    _migrate_with_the_demo_site(make_engine(settings))
    transport = Transport()

    def broken_reader(*_args: object) -> None:
        raise RuntimeError("the condition reader has a bug")

    consumer = AlarmConsumer(
        sessions=session_factory(make_engine(settings)),
        policy=IncidentPolicy(condition=broken_reader),  # type: ignore[arg-type]
        publish=transport.publish,
        inbox=Inbox(transport),
        clock=ManualClock(),
        instance="t",
    )
    body = make_event().model_dump_json(by_alias=True).encode()
    assert consumer.handle(Delivery(TOPIC, body, 11, 1, 0)) is True  # acked, not retried
    assert transport.acks == [(11, 1)]
    [(topic, letter)] = transport.published
    assert topic == "bw/v1/demo/deadletter/maintenance"
    assert orjson.loads(letter)["reason"] == "handler_failed"
    assert "the condition reader has a bug" in orjson.loads(letter)["detail"]
    assert consumer.counters.handler_failures == 1

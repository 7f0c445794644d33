"""The work-order outbox: changes leave their events and notices in their own transaction; the
relay publishes events until the broker confirms them and sends each notice once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.core.resend import ResendWindow
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.errors import InvalidTransition
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.models import WorkOrderOutboxRow
from bldgwatch.maintenance.models import WorkOrderStatus as S
from bldgwatch.maintenance.notify import Notifier, NotifySettings, WebhookTarget
from bldgwatch.maintenance.outbox import OutboxRelay, RelayThread
from bldgwatch.maintenance.roster import RosterSettings, Technician
from tests.maintenance.conftest import T0, EventFactory, demo_site
from tests.maintenance.desks import seeded_desk
from tests.maintenance.servers import HttpSink, http_sink

ROSTER = RosterSettings(
    technicians=[Technician(id="li", sites=["demo"], skills=["mechanical"], email="li@x.org")]
)


class Broker:
    """The transport boundary: records what is published; confirms only while `up`."""

    def __init__(self) -> None:
        self.up = True
        self.events: list[WorkOrderEvent] = []

    def publish(self, topic: str, payload: bytes) -> bool:
        if not self.up:
            return False
        event = WorkOrderEvent.model_validate_json(payload)
        assert topic == f"bw/v1/{event.site}/workorders/{event.equipment}"
        self.events.append(event)
        return True


@pytest.fixture
def order_id(sessions: sessionmaker[Session], make_event: EventFactory) -> int:
    with sessions() as s:
        import_site(s, demo_site())
        s.commit()
    outcome = process_event(sessions, make_event())
    assert outcome.work_order_id is not None
    return outcome.work_order_id


@pytest.fixture
def webhook() -> Iterator[tuple[HttpSink, Notifier]]:
    with http_sink() as (hook, url):
        notifier = Notifier(NotifySettings(webhooks=[WebhookTarget(url=url)]))
        yield hook, notifier
        notifier.close()


def _outbox(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as s:
        rows = s.scalars(select(WorkOrderOutboxRow).order_by(WorkOrderOutboxRow.id)).all()
        return [(r.kind, WorkOrderEvent.model_validate_json(r.payload).change) for r in rows]


def test_changes_wait_in_the_outbox_until_a_relay_sends_them(
    sessions: sessionmaker[Session], order_id: int, webhook: tuple[HttpSink, Notifier]
) -> None:
    hook, notifier = webhook
    desk = seeded_desk(sessions, ROSTER)
    desk.assign(order_id, at=T0, actor="dispatcher", technician="li")
    with pytest.raises(InvalidTransition):
        desk.move(order_id, S.RESOLVED, at=T0, actor="li")  # refused: leaves nothing behind
    desk.move(order_id, S.IN_PROGRESS, at=T0, actor="li")
    # Committed, nothing sent yet (as when the service is down, or stops after the commit).
    assert _outbox(sessions) == [
        ("event", "created"),
        ("event", "assigned"),
        ("notice", "assigned"),
        ("event", "in_progress"),
    ]
    broker = Broker()
    relay = OutboxRelay(sessions, publish=broker.publish, notifier=notifier, roster=ROSTER)
    assert relay.relay() == 4
    assert [e.change for e in broker.events] == ["created", "assigned", "in_progress"]
    assert [orjson.loads(b)["kind"] for b in hook.bodies] == ["assigned"]
    assert orjson.loads(hook.bodies[0])["recipients"] == ["li@x.org"]
    assert _outbox(sessions) == []
    assert relay.relay() == 0  # a later pass (or a restart) sends nothing again
    assert (len(broker.events), len(hook.bodies)) == (3, 1)
    assert (relay.published, relay.noticed) == (3, 1)


def test_unconfirmed_events_stay_in_order_and_notices_go_once(
    sessions: sessionmaker[Session], order_id: int, webhook: tuple[HttpSink, Notifier]
) -> None:
    hook, notifier = webhook
    seeded_desk(sessions, ROSTER).assign(order_id, at=T0, actor="dispatcher")
    broker = Broker()
    broker.up = False  # connection lost: no PUBACK
    first = OutboxRelay(sessions, publish=broker.publish, notifier=notifier, roster=ROSTER)
    second = OutboxRelay(sessions, publish=broker.publish, notifier=notifier, roster=ROSTER)
    assert first.relay() == 1  # the notice; the events wait
    assert _outbox(sessions) == [("event", "created"), ("event", "assigned")]
    broker.up = True
    assert second.relay() == 2  # another instance (or a restart) publishes them, in order
    assert first.relay() == 0
    assert [e.change for e in broker.events] == ["created", "assigned"]
    assert [orjson.loads(b)["kind"] for b in hook.bodies] == ["assigned"]
    assert (first.noticed, second.noticed) == (1, 0)


def test_a_relay_that_fails_stops_its_service(
    sessions: sessionmaker[Session], order_id: int
) -> None:
    with sessions() as s:  # a notice nobody can read (written by hand, not by a writer)
        s.add(
            WorkOrderOutboxRow(
                kind="notice",
                event_id="x",
                topic="bw/v1/demo/workorders/P-01",
                payload="{",
                created_at=T0,
            )
        )
        s.commit()
    stopped = threading.Event()
    relay = OutboxRelay(sessions, publish=Broker().publish)
    thread = RelayThread(relay, every_s=0.05, on_failure=stopped.set)
    thread.start()
    assert stopped.wait(10)
    thread.stop(timeout=10)
    assert thread.failed


def test_a_resent_event_is_sent_again_after_a_second_drop_following_a_long_outage(
    sessions: sessionmaker[Session], order_id: int
) -> None:
    """The resend window on an injected monotonic clock (no sleeping): the broker acknowledged
    the event, dropped, stayed away longer than the window (60 s) and came back: the event
    goes out again, and the copy's acknowledgement confirms it anew, so a second drop soon
    after (before the broker saved it) sends it once more (review 12/13 finding 7)."""
    now = [1000.0]
    broker = Broker()
    window = ResendWindow(60.0, now=lambda: now[0])
    relay = OutboxRelay(sessions, publish=broker.publish, resend=window)
    assert relay.relay() == 1  # `created`, acknowledged at t=1000
    window.connection_lost()  # killed before its autosave
    now[0] += 300  # a five-minute outage
    relay.reconnected()
    relay.relay()
    assert [e.change for e in broker.events] == ["created", "created"]
    now[0] += 3
    window.connection_lost()  # killed again before its autosave
    now[0] += 10
    relay.reconnected()
    relay.relay()
    assert [e.change for e in broker.events] == ["created"] * 3
    assert relay.republished == 2

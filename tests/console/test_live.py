"""The live hub (numbering, ring buffer, dedupe, site filter) and the `/api/live` WebSocket."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.websockets import WebSocketDisconnect

from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.live import LiveHub, parse_message
from bldgwatch.core.deadletter import DeadLetters
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import AlarmEvent, AlarmState, Severity, WorkOrderEvent
from tests.console.conftest import ClientFactory, auth_headers


def alarm_event(site: str, event_id: str, equipment: str = "P-01") -> AlarmEvent:
    return AlarmEvent(
        event_id=event_id,
        alarm_id="a1",
        site=site,
        building="B1",
        equipment=equipment,
        equipment_type="pump",
        rule="pump.bearing_temp_high",
        fault_code="PUMP_BEARING_TEMP",
        family="bearing",
        severity=Severity.MAJOR,
        priority=2,
        transition="activate",
        state=AlarmState.ACTIVE_UNACK,
        previous_state=AlarmState.NORMAL,
        at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
    )


def alarm_msg(site: str, event_id: str, equipment: str = "P-01") -> tuple[str, bytes]:
    body = alarm_event(site, event_id, equipment).model_dump_json(by_alias=True).encode()
    return f"bw/v1/{site}/alarms/{equipment}", body


ORDER = WorkOrderEvent(
    event_id="w",
    work_order_id=1,
    site="demo",
    equipment="P-01",
    kind="reactive",
    change="created",
    status="open",
    priority=2,
    title="bearing",
    at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("topic", "payload", "kind"),
    [
        ("bw/v1/demo/alarms/P-01", alarm_msg("demo", "e")[1], "alarm"),
        ("bw/v1/demo/workorders/P-01", ORDER.model_dump_json().encode(), "work_order"),
        ("bw/v1/demo/gw-1/status", b'{"state": "online", "devices": {}}', "equipment"),
        ("bw/v1/_sim/demo/status", b"{}", None),
        ("bw/v1/demo/gw-1/readings", b"{}", None),
    ],
)
def test_parse_message(topic: str, payload: bytes, kind: str | None) -> None:
    parsed = parse_message(topic, payload)
    assert (parsed[0] if parsed else None) == kind


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("bw/v1/demo/alarms/P-01", b"not json", "malformed_json"),
        ("bw/v1/demo/alarms/P-01", b'{"event_id": "e"}', "invalid_schema"),
        ("bw/v1/demo/alarms/P-02", alarm_msg("demo", "e")[1], "topic_mismatch"),
        ("bw/v1/ghost/alarms/P-01", alarm_msg("demo", "e")[1], "topic_mismatch"),
        ("bw/v1/demo/workorders/P-01", b'{"event_id": "w"}', "invalid_schema"),
        ("bw/v1/demo/gw-1/status", b'{"state": "hacked"}', "invalid_schema"),
        ("bw/v1/demo/gw-1/status", b'{"state": "online", "gateway": "gw-2"}', "topic_mismatch"),
        ("bw/v1/demo/gw-1/status", b'{"state": "online", "devices": {"E": 1}}', "invalid_schema"),
        ("bw/v1/demo/gw-1/status", b"[" * 100 + b"]" * 100, "too_deep"),
    ],
)
def test_what_the_stream_does_not_carry_is_refused_with_a_reason(
    topic: str, payload: bytes, reason: str
) -> None:
    with pytest.raises(DecodeError) as err:
        parse_message(topic, payload)
    assert err.value.reason == reason


def test_the_hub_drops_counts_and_dead_letters_what_is_not_valid() -> None:
    hub = LiveHub()
    sent: list[tuple[str, bytes]] = []
    hub.dead_letters = DeadLetters("console", lambda t, p: sent.append((t, p)))
    sub, _ = hub.subscribe(None, None)
    forged = orjson.dumps({"event_id": "x", "site": "demo", "state": "active_unack"})
    assert hub.ingest("bw/v1/demo/alarms/NOPE", forged) is None
    assert hub.ingest("bw/v1/demo/gw-1/status", b'{"state": "pwned"}') is None
    assert hub.ingest(*alarm_msg("demo", "good")) is not None
    assert sub.queue.qsize() == 1
    assert hub.dropped == {"invalid_schema": 2}
    assert hub.relayed == 1
    assert [(t, orjson.loads(p)["reason"]) for t, p in sent] == [
        ("bw/v1/demo/deadletter/console", "invalid_schema")
    ] * 2


def test_hub_numbers_dedupes_and_resumes() -> None:
    hub = LiveHub(buffer=3, client_queue=10)
    for i in range(5):
        hub.ingest(*alarm_msg("demo", f"e{i}"))
    assert hub.ingest(*alarm_msg("demo", "e4")) is None  # QoS 1 redelivery
    assert hub.last_id == 5
    _, resume = hub.subscribe(None, 3)
    assert ([e.id for e in resume.backlog], resume.complete) == ([4, 5], True)
    _, too_old = hub.subscribe(None, 1)
    assert too_old.complete is False and [e.id for e in too_old.backlog] == [3, 4, 5]
    _, from_future = hub.subscribe(None, 99)  # ids of an earlier console process
    assert from_future.complete is False


def test_a_work_order_event_sent_again_is_relayed_once() -> None:
    """Maintenance publishes its recent events again after a reconnect (core.resend)."""
    hub = LiveHub(buffer=3, client_queue=10)
    body = ORDER.model_dump_json().encode()
    assert hub.ingest("bw/v1/demo/workorders/P-01", body) is not None
    assert hub.ingest("bw/v1/demo/workorders/P-01", body) is None
    assert hub.last_id == 1


def test_equipment_status_only_when_it_changes() -> None:
    hub = LiveHub()
    online = orjson.dumps({"state": "online", "devices": {"P-01": {"available": True}}})
    assert hub.ingest("bw/v1/demo/gw-1/status", online) is not None
    assert hub.ingest("bw/v1/demo/gw-1/status", online) is None
    event = hub.ingest("bw/v1/demo/gw-1/status", b'{"state":"offline"}')
    assert event is not None and orjson.loads(event.text)["data"]["state"] == "offline"


def test_a_gateway_status_before_its_first_poll_is_relayed() -> None:
    """Right after start a gateway reports its devices' availability as unknown (null)."""
    hub = LiveHub()
    unknown = orjson.dumps({"state": "online", "devices": {"P-01": {"available": None}}})
    event = hub.ingest("bw/v1/demo/gw-1/status", unknown)
    assert event is not None and orjson.loads(event.text)["data"]["available"] == {"P-01": False}
    assert hub.dropped == {}


def test_slow_client_is_cut_off_not_the_hub() -> None:
    hub = LiveHub(client_queue=10)
    sub, _ = hub.subscribe(None, None)
    for i in range(12):
        hub.ingest(*alarm_msg("demo", f"e{i}"))
    assert sub.overflowed and sub.queue.qsize() == 10


class FakeSocket:
    """The transport boundary of a stream: takes frames until it is `slow` (its send buffer
    full), then refuses them."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.slow = False

    def write(self, frame: bytes) -> bool:
        if self.slow:
            return False
        self.frames.append(frame)
        return True


def test_an_idle_stream_gets_the_frame_built_once_and_a_slow_one_is_cut_off_alone() -> None:
    """One frame per event for every stream (no message of its own), written straight while
    the stream is idle; a stream whose socket stops taking frames gets its events queued
    and, once its queue is full, is cut off, while the others keep getting every event."""
    hub = LiveHub(client_queue=10)
    fast, slow = FakeSocket(), FakeSocket()
    subs = [hub.subscribe(None, None)[0] for _ in range(2)]
    subs[0].write, subs[1].write = fast.write, slow.write
    dropped: list[int] = []
    subs[0].drop, subs[1].drop = (lambda: dropped.append(0)), (lambda: dropped.append(1))
    first = hub.ingest(*alarm_msg("demo", "e0"))
    assert first is not None and fast.frames == slow.frames == [first.frame]
    assert first.frame[0] == 0x81 and first.frame.endswith(first.text.encode())  # final text
    slow.slow = True
    for i in range(1, 13):
        hub.ingest(*alarm_msg("demo", f"e{i}"))
    assert len(fast.frames) == 13 and subs[0].queue.empty() and not subs[0].overflowed
    assert len(slow.frames) == 1 and subs[1].overflowed and subs[1].queue.qsize() == 10
    assert dropped == [1]  # closed at once: its sender may be stuck on the full socket


def test_a_frame_is_not_written_past_events_still_queued_or_being_sent() -> None:
    """The order stays: while a stream's sender holds events (busy) or some wait in its
    queue, a new event queues behind them instead of being written straight."""
    hub = LiveHub(client_queue=10)
    socket = FakeSocket()
    sub, _ = hub.subscribe(None, None)
    sub.write = socket.write
    sub.busy = True
    hub.ingest(*alarm_msg("demo", "e0"))
    sub.busy = False
    hub.ingest(*alarm_msg("demo", "e1"))
    assert socket.frames == [] and sub.queue.qsize() == 2


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    return make_client(sqlite_db, user=None)


def _token(client: TestClient, user: str) -> str:
    return auth_headers(client, user)["Authorization"].split()[1]


def _recv(ws: Any) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(ws.receive_text())
    return data


def test_websocket_streams_the_users_sites_and_resumes(client: TestClient) -> None:
    with client:
        hub: LiveHub = client.app.state.hub  # type: ignore[attr-defined]
        url = f"/api/live?access_token={_token(client, 'engineer')}"  # site demo only
        with client.websocket_connect(url) as ws:
            assert _recv(ws) == {"kind": "hello", "last_id": 0, "complete": True}
            hub.ingest_threadsafe(*alarm_msg("north", "n1"))
            hub.ingest_threadsafe(*alarm_msg("demo", "d1"))
            got = _recv(ws)
            assert (got["id"], got["kind"], got["site"]) == (2, "alarm", "demo")
            assert got["data"]["event_id"] == "d1"
        # Missed while away: delivered on reconnect after the last seen id.
        hub.ingest_threadsafe(*alarm_msg("demo", "d2"))
        hub.ingest_threadsafe(*alarm_msg("demo", "d3"))
        with client.websocket_connect(f"{url}&last_event_id=2") as ws:
            assert _recv(ws)["complete"] is True
            assert [_recv(ws)["data"]["event_id"] for _ in range(2)] == ["d2", "d3"]


@pytest.mark.parametrize("token", [None, "garbage"])
def test_websocket_refuses_anonymous(client: TestClient, token: str | None) -> None:
    url = "/api/live" + (f"?access_token={token}" if token else "")
    with client, pytest.raises(WebSocketDisconnect) as err, client.websocket_connect(url) as ws:
        ws.receive_text()
    assert err.value.code == 1008


def test_metrics_show_what_the_stream_dropped(client: TestClient) -> None:
    hub: LiveHub = client.app.state.hub  # type: ignore[attr-defined]
    hub.ingest("bw/v1/demo/gw-1/status", b'{"state": "pwned"}')
    hub.ingest(*alarm_msg("demo", "m1"))
    text = client.get("/metrics").text
    assert 'bldgwatch_console_live_dropped_total{reason="invalid_schema"} 1.0' in text
    assert "bldgwatch_console_live_relayed_total 1.0" in text


def test_one_user_holds_at_most_its_cap_of_streams(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    """`live.max_streams_per_user` (2 here): the third stream of one user is accepted and
    closed at once with 4429 and a reason naming the limit in the reader's language (what a
    browser can read); another user still gets one, and once a stream closed the first user
    gets one again."""
    cfg = ConsoleConfig.model_validate({"dev": True, "live": {"max_streams_per_user": 2}})
    client = make_client(sqlite_db, user=None, cfg=cfg)
    with client, ExitStack() as stack:
        url = f"/api/live?access_token={_token(client, 'engineer')}"
        with client.websocket_connect(url) as first:
            second = stack.enter_context(client.websocket_connect(url))
            for ws in (first, second):
                assert _recv(ws)["kind"] == "hello"
            for language, says in (("en", "2 live streams"), ("zh-CN", "2 个实时数据流")):
                third = client.websocket_connect(url, headers={"accept-language": language})
                with third as refused, pytest.raises(WebSocketDisconnect) as closed:
                    refused.receive_text()
                assert closed.value.code == 4429
                assert says in closed.value.reason, closed.value.reason
                assert len(closed.value.reason.encode()) <= 123
            other = f"/api/live?access_token={_token(client, 'admin')}"
            with client.websocket_connect(other) as ws:
                assert _recv(ws)["kind"] == "hello"
        with client.websocket_connect(url) as ws:  # the first one has ended
            assert _recv(ws)["kind"] == "hello"


def test_a_close_reason_is_cut_to_a_close_frame_on_a_character() -> None:
    """A close frame carries at most 123 bytes of reason; Chinese text is cut on a character."""
    from bldgwatch.console.routers.live import close_reason

    cut = close_reason("数据流" * 100)
    assert len(cut.encode()) <= 123
    assert cut == "数据流" * 13 + "数据"  # 41 characters of 3 bytes
    assert close_reason("short") == "short"

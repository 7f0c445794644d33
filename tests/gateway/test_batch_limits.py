"""Point 7 of issue 12: the gateway never builds a batch larger than the broker accepts, and a
batch the broker refuses is split or kept locally, never sent again and again. Unit tests at
the transport boundary, then a real Mosquitto with a small max_packet_size."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

from bldgwatch.core.clock import ManualClock, SystemClock, from_epoch_ms
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.models import EquipmentInfo, Reading
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.gateway.publisher import PACKET_OVERHEAD, BatchPublisher
from bldgwatch.gateway.queue import ReadingQueue
from bldgwatch.servers import Server, find_binary, free_port
from tests.gateway.test_publisher import wait
from tests.tools import unavailable
from tests.waiting import wait_for

NOW_MS = 1_767_225_600_000
TOPIC = "bw/v1/t/gw-lim/readings"
TABLE = {"P-01": EquipmentInfo("pump", "B1")}


class Broker:
    """The transport boundary: records what is published, answers PUBACKs when told."""

    def __init__(self, max_packet_size: int | None) -> None:
        self.connected = threading.Event()
        self.connected.set()
        self.max_packet_size = max_packet_size
        self.sent: dict[int, bytes] = {}

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> Any:
        mid = len(self.sent) + 1
        self.sent[mid] = payload

        class Info:
            pass

        info = Info()
        info.mid = mid  # type: ignore[attr-defined]
        return info


def _publisher(
    tmp_path: Path,
    broker: Broker,
    clock: ManualClock | SystemClock,
    *,
    max_inflight: int = 1000,
    flush_interval_s: float = 1.0,
    **kw: Any,
) -> tuple[BatchPublisher, ReadingQueue]:
    """A publisher on a real SQLite queue and the fake broker (shared with
    test_flush_deadline)."""
    queue = ReadingQueue(tmp_path / "q.sqlite", max_bytes=1 << 30)
    pub = BatchPublisher(
        queue=queue,
        client=broker,
        topic=TOPIC,
        site="t",
        gateway="gw-lim",
        equipment=TABLE,
        batch_max_readings=500,
        max_inflight=max_inflight,
        flush_interval_s=flush_interval_s,
        clock=clock,
        **kw,
    )
    return pub, queue


def _readings(n: int, point: str = "flow_m3h") -> list[Reading]:
    return [Reading("P-01", point, NOW_MS - n + i, float(i)) for i in range(n)]


def _packet(payload: bytes) -> int:
    return len(payload) + len(TOPIC) + PACKET_OVERHEAD


def test_no_batch_exceeds_the_packet_size_the_broker_announced(tmp_path: Path) -> None:
    broker = Broker(max_packet_size=2048)
    pub, queue = _publisher(tmp_path, broker, ManualClock(from_epoch_ms(NOW_MS)))
    queue.put(_readings(3000))
    while pub.fill():
        pass
    for mid in list(broker.sent):
        pub.on_puback(mid, 0)
    while pub.fill():
        for mid in list(broker.sent):
            pub.on_puback(mid, 0)
    assert max(_packet(p) for p in broker.sent.values()) <= 2048
    delivered = [r for p in broker.sent.values() for r in decode_batch(p).batch.readings]
    assert sorted(r.ts_ms for r in delivered) == [r.ts_ms for r in _readings(3000)]
    assert queue.stats().depth == 0
    assert pub.stats.rebatched >= 1  # the first 500-reading batch was split before sending
    queue.close()


def test_a_reading_too_large_even_alone_is_kept_locally_not_resent(tmp_path: Path) -> None:
    broker = Broker(max_packet_size=1024)
    pub, queue = _publisher(tmp_path, broker, ManualClock(from_epoch_ms(NOW_MS)))
    queue.put([*_readings(3), Reading("P-01", "x" * 2000, NOW_MS, 1.0), *_readings(2)])
    for _ in range(20):
        pub.fill()
        for mid in list(broker.sent):
            pub.on_puback(mid, 0)
    points = [r.point for p in broker.sent.values() for r in decode_batch(p).batch.readings]
    assert len(points) == 5 and "x" * 2000 not in points
    assert (pub.stats.dead_lettered, queue.stats().dead_lettered, queue.stats().depth) == (1, 1, 0)
    queue.close()


def test_a_refused_batch_is_split_and_a_not_authorised_one_kept_and_retried_later(
    tmp_path: Path,
) -> None:
    clock = ManualClock(from_epoch_ms(NOW_MS))
    broker = Broker(max_packet_size=None)
    pub, queue = _publisher(tmp_path, broker, clock)
    queue.put(_readings(8))
    assert pub.fill() == 1
    pub.on_puback(1, 0x99)  # payload format invalid: the broker dropped it
    assert pub.stats.refused == 1 and pub.stats.rebatched == 1
    pub.fill()
    sizes = [len(decode_batch(broker.sent[m]).batch.readings) for m in sorted(broker.sent)[1:]]
    assert sizes == [4, 4]
    for mid in sorted(broker.sent)[1:]:
        pub.on_puback(mid, 0x87)  # not authorised: keep the batch, pause
    assert pub.fill() == 0 and queue.stats().depth == 8
    clock.advance(6)
    assert pub.fill() >= 1  # the pause is over: the same batches go again
    again = [decode_batch(broker.sent[m]).batch.seq for m in sorted(broker.sent)[3:]]
    assert again == [2, 3][: len(again)]
    queue.close()


def test_after_a_reconnect_recently_acknowledged_batches_go_again(tmp_path: Path) -> None:
    clock = ManualClock(from_epoch_ms(NOW_MS))
    broker = Broker(max_packet_size=None)
    pub, queue = _publisher(tmp_path, broker, clock, resend_window_s=60)
    queue.put(_readings(10))
    pub.fill()
    pub.on_puback(1, 0)
    clock.advance(120)
    queue.put(_readings(3, point="later"))
    pub.fill()
    pub.on_puback(2, 0)  # acked 120 s after the first
    clock.advance(1)
    pub.on_disconnect()  # e.g. the broker was killed before its autosave
    pub.fill()
    resent = [decode_batch(broker.sent[m]).batch for m in sorted(broker.sent)[2:]]
    assert [(b.seq, len(b.readings)) for b in resent] == [(2, 3)]  # only within the window
    pub.on_puback(3, 0)
    pub.on_disconnect()
    pub.fill()
    assert len(broker.sent) == 3  # sent again once, then forgotten
    queue.close()


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


def _small_broker(tmp_path: Path, max_packet_size: int) -> Server:
    """Mosquitto with a small max_packet_size (announced in its CONNACK)."""
    binary = find_binary("mosquitto")
    if binary is None:
        unavailable("mosquitto not installed")
    port = free_port()
    conf = tmp_path / "small.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_packet_size {max_packet_size}\n"
        "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
        "connection_messages true\n"
    )
    log = tmp_path / "small.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(binary), "-c", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server("mosquitto", proc, port, tmp_path, log)
    wait_for(lambda: _accepts(port), timeout=10, what="mosquitto up")
    return server


async def test_on_a_real_broker_with_a_small_limit_everything_arrives_without_a_disconnect(
    tmp_path: Path,
) -> None:
    server = _small_broker(tmp_path, 4096)
    settings = MqttSettings(port=server.port)
    got: list[bytes] = []
    sub = MqttClient(settings, client_id=f"sub-{uuid.uuid4().hex[:6]}")
    sub.subscribe(TOPIC, lambda m: got.append(bytes(m.payload)))
    sub.start()
    loop = asyncio.get_running_loop()
    queue = ReadingQueue(tmp_path / "real.sqlite", max_bytes=1 << 30)
    holder: list[BatchPublisher] = []
    drops: list[int] = []
    client = MqttClient(
        settings,
        client_id="gw-lim",
        on_publish=lambda mid, rc: loop.call_soon_threadsafe(holder[0].on_puback, mid, rc),
        on_disconnect=lambda: drops.append(1),
    )
    pub = BatchPublisher(
        queue=queue,
        client=client,
        topic=TOPIC,
        site="t",
        gateway="gw-lim",
        equipment=TABLE,
        batch_max_readings=2000,
        max_inflight=5,
        flush_interval_s=0.05,
        clock=SystemClock(),
    )
    holder.append(pub)
    stop = asyncio.Event()
    try:
        assert await asyncio.to_thread(sub.wait_subscribed, 10)
        client.start()
        assert await asyncio.to_thread(client.wait_connected, 10)
        assert client.max_packet_size == 4096
        queue.put(_readings(5000))
        task = asyncio.create_task(pub.run(stop))
        await wait(lambda: queue.stats().depth == 0, timeout=60, what="everything acknowledged")
        stop.set()
        await task
        await asyncio.to_thread(
            wait_for,
            lambda: sum(len(decode_batch(p).batch.readings) for p in got) >= 5000,
            timeout=20,
            what="5000 readings at the subscriber",
        )
        assert max(_packet(p) for p in got) <= 4096
        assert drops == []  # never disconnected for an oversize packet
        assert "oversize" not in (tmp_path / "small.log").read_text()
    finally:
        client.stop()
        sub.stop()
        queue.close()
        server.stop()

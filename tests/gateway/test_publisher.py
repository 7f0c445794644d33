"""The publisher against real Mosquitto: every seq once and in order; nothing lost on restart."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from bldgwatch.core import topics
from bldgwatch.core.clock import SystemClock
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.models import EquipmentInfo, Reading
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.gateway.publisher import BatchPublisher
from bldgwatch.gateway.queue import ReadingQueue
from bldgwatch.servers import restart, start_mosquitto
from tests.waiting import wait_for

SITE = "t"
EQUIPMENT = {"P-01": EquipmentInfo("pump", "B1")}


class Collector:
    """Subscribes to one gateway's readings topic and keeps what arrives (paho thread)."""

    def __init__(self, settings: MqttSettings, gateway: str) -> None:
        self.lock = threading.Lock()
        self.seqs: list[int] = []
        self.ts: list[int] = []
        self.client = MqttClient(
            settings,
            client_id=f"sub-{uuid.uuid4().hex[:8]}",
            clean_start=False,
            session_expiry_s=300,
        )
        self.client.subscribe(topics.readings(SITE, gateway), self._on)

    def _on(self, msg: paho.MQTTMessage) -> None:
        decoded = decode_batch(bytes(msg.payload))
        assert not decoded.rejected
        assert decoded.batch.equipment == EQUIPMENT
        with self.lock:
            self.seqs.append(decoded.batch.seq)
            self.ts.extend(r.ts_ms for r in decoded.batch.readings)

    def snapshot(self) -> tuple[list[int], list[int]]:
        with self.lock:
            return list(self.seqs), list(self.ts)


def _to_loop(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: object) -> None:
    loop.call_soon_threadsafe(fn, *args)


@asynccontextmanager
async def publisher(
    tmp_path: Path, settings: MqttSettings, gateway: str, *, batch: int, inflight: int
) -> AsyncIterator[tuple[BatchPublisher, ReadingQueue, MqttClient]]:
    loop = asyncio.get_running_loop()
    queue = ReadingQueue(tmp_path / f"{gateway}.sqlite", max_bytes=1 << 30)
    holder: list[BatchPublisher] = []
    client = MqttClient(
        settings,
        client_id=f"gw-{gateway}",
        on_publish=lambda mid, rc: _to_loop(loop, holder[0].on_puback, mid, rc),
        on_connect=lambda: _to_loop(loop, holder[0].wake),
    )
    pub = BatchPublisher(
        queue=queue,
        client=client,
        topic=topics.readings(SITE, gateway),
        site=SITE,
        gateway=gateway,
        equipment=EQUIPMENT,
        batch_max_readings=batch,
        max_inflight=inflight,
        flush_interval_s=0.05,
        clock=SystemClock(),
    )
    holder.append(pub)
    stop = asyncio.Event()
    client.start()
    task = asyncio.create_task(pub.run(stop), name="publisher")
    try:
        yield pub, queue, client
    finally:
        stop.set()
        await task
        client.stop()
        queue.close()


def put(queue: ReadingQueue, pub: BatchPublisher, start: int, n: int) -> None:
    rs = [Reading("P-01", "flow_m3h", start + i, float(i)) for i in range(n)]
    queue.put(rs)
    pub.notify(n)


async def wait(probe: Callable[[], bool], *, timeout: float, what: str) -> None:
    """wait_for in a worker thread, each probe run on this loop (the queue's thread)."""
    loop = asyncio.get_running_loop()

    def on_loop() -> bool:
        done: concurrent.futures.Future[bool] = concurrent.futures.Future()
        loop.call_soon_threadsafe(lambda: done.set_result(probe()))
        return done.result(timeout=5)

    await asyncio.to_thread(wait_for, on_loop, timeout=timeout, what=what)


async def test_every_seq_once_in_order(tmp_path: Path, mqtt_settings: MqttSettings) -> None:
    gw = f"gw-{uuid.uuid4().hex[:6]}"
    sub = Collector(mqtt_settings, gw)
    sub.client.start()
    assert await asyncio.to_thread(sub.client.wait_connected, 10)
    try:
        async with publisher(tmp_path, mqtt_settings, gw, batch=7, inflight=2) as (pub, q, _):
            for k in range(10):
                put(q, pub, 1000 + 5 * k, 5)
                await asyncio.sleep(0)
            await wait(
                lambda: len(set(sub.snapshot()[1])) == 50,
                timeout=20,
                what="all 50 readings at the subscriber",
            )
            await wait(lambda: q.stats().depth == 0, timeout=10, what="the queue to empty")
            seqs, ts = sub.snapshot()
            assert seqs == list(range(1, len(seqs) + 1))
            assert sorted(ts) == list(range(1000, 1050))
            assert pub.stats.acked == len(seqs) and pub.inflight == 0
    finally:
        sub.client.stop()


@pytest.mark.timeout(120)
async def test_backlog_arrives_after_broker_restart(tmp_path: Path) -> None:
    server = start_mosquitto(tmp_path / "broker")
    settings = MqttSettings(host="127.0.0.1", port=server.port)
    sub = Collector(settings, "gw-r")
    sub.client.start()
    try:
        assert await asyncio.to_thread(sub.client.wait_connected, 10)
        async with publisher(tmp_path, settings, "gw-r", batch=10, inflight=3) as (pub, q, gwc):
            put(q, pub, 0, 30)
            await wait(
                lambda: len(set(sub.snapshot()[1])) == 30,
                timeout=20,
                what="readings before the outage",
            )
            await asyncio.to_thread(server.stop)
            await wait(lambda: not gwc.connected.is_set(), timeout=10, what="the disconnect")
            for k in range(10):  # the outage: readings keep coming and stay queued
                put(q, pub, 100 + 10 * k, 10)
                await asyncio.sleep(0.01)
            assert q.stats().depth >= 100
            server = await asyncio.to_thread(restart, server)
            await wait(
                lambda: q.stats().depth == 0, timeout=60, what="the backlog to be acknowledged"
            )
            await wait(
                lambda: len(set(sub.snapshot()[1])) == 130,
                timeout=30,
                what="the backlog at the subscriber",
            )
            seqs, ts = sub.snapshot()
            assert set(ts) == set(range(30)) | set(range(100, 200))
            assert set(seqs) == set(range(1, max(seqs) + 1))  # no seq missing
    finally:
        sub.client.stop()
        server.stop()

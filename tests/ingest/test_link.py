"""Guarded acks: only on the connection a message came on (no broker needed)."""

from __future__ import annotations

from bldgwatch.ingest.counters import Counters
from bldgwatch.ingest.link import Acker
from bldgwatch.ingest.writer import Delivery


class FakeClient:
    """The transport boundary: acks only the live connection's deliveries, records them."""

    def __init__(self) -> None:
        self.generation = 1
        self.acked: list[tuple[int, int]] = []

    def ack(self, mid: int, qos: int, *, generation: int | None = None) -> bool:
        if generation != self.generation:
            return False
        self.acked.append((mid, qos))
        return True


def test_stale_acks_are_skipped_and_counted() -> None:
    client, counters = FakeClient(), Counters()
    acker = Acker(client, counters)
    acker.ack(Delivery(mid=7, qos=1, topic="t", session=1))
    client.generation = 2  # reconnect: the broker redelivers mid 9 itself
    acker.ack(Delivery(mid=9, qos=1, topic="t", session=1))
    acker.ack(Delivery(mid=10, qos=1, topic="t", session=2))
    assert client.acked == [(7, 1), (10, 1)]
    assert counters.get("stale_acks") == 1

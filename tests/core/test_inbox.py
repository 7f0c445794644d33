"""The manual-ack inbox: hand-off, guarded acks, stale deliveries dropped on reconnect."""

from __future__ import annotations

import threading

import paho.mqtt.client as paho

from bldgwatch.core.inbox import Inbox


class FakeClient:
    """The transport boundary: a connection generation and the acks sent on it."""

    def __init__(self) -> None:
        self.generation = 1
        self.acked: list[int] = []

    def ack(self, mid: int, qos: int, *, generation: int | None = None) -> bool:
        if qos == 0:
            return True
        if generation != self.generation:
            return False
        self.acked.append(mid)
        return True


def _msg(mid: int, topic: str = "t/x", qos: int = 1) -> paho.MQTTMessage:
    msg = paho.MQTTMessage(mid=mid, topic=topic.encode())
    msg.qos = qos
    msg.payload = f"m{mid}".encode()
    return msg


def test_deliveries_are_handed_over_and_acked_once_handled() -> None:
    client = FakeClient()
    inbox = Inbox(client)
    inbox.put(_msg(1))
    inbox.put(_msg(2))
    assert inbox.pending == 2
    first = inbox.get(timeout=1)
    assert first is not None and (first.mid, first.payload, first.topic) == (1, b"m1", "t/x")
    assert inbox.ack(first)
    assert client.acked == [1]
    assert inbox.get(timeout=1) is not None
    assert inbox.get(timeout=0.01) is None


def test_reconnect_drops_old_deliveries_and_skips_their_acks() -> None:
    client = FakeClient()
    inbox = Inbox(client)
    inbox.put(_msg(1))
    inbox.put(_msg(2))
    taken = inbox.get(timeout=1)
    assert taken is not None
    client.generation = 2  # reconnected: the broker redelivers 1 and 2 itself
    inbox.on_connect()
    inbox.put(_msg(3))
    assert not inbox.ack(taken)  # its connection is gone
    assert inbox.stale_acks == 1
    left = inbox.get(timeout=1)
    assert left is not None and left.mid == 3  # mid 2 of the old connection was dropped
    assert inbox.get(timeout=0.01) is None


def test_a_full_inbox_blocks_until_closed() -> None:
    inbox = Inbox(FakeClient(), maxsize=1)
    inbox.put(_msg(1))
    blocked = threading.Thread(target=inbox.put, args=(_msg(2),))
    blocked.start()
    assert blocked.is_alive()
    inbox.close()
    blocked.join(timeout=5)
    assert not blocked.is_alive()
    assert inbox.pending == 1

"""The MQTT wrapper against a real Mosquitto: publish/subscribe, PUBACK, reconnect."""

from __future__ import annotations

import os
import queue
import resource
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from bldgwatch.core import mqtt
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient, Will
from bldgwatch.servers import Server, free_port, restart
from tests.tls import start_tls_broker
from tests.waiting import wait_for

pytestmark = pytest.mark.services


def test_publish_subscribe_and_puback(mqtt_settings: MqttSettings) -> None:
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    acked: list[int] = []
    sub = MqttClient(mqtt_settings, client_id="t-sub")
    pub = MqttClient(
        mqtt_settings, client_id="t-pub", on_publish=lambda mid, _rc: acked.append(mid)
    )
    sub.subscribe("t/wrapper/#", got.put)
    sub.start()
    pub.start()
    try:
        assert sub.wait_subscribed(10) and pub.wait_connected(10)
        info = pub.publish("t/wrapper/a", b"hello", qos=1)
        msg = got.get(timeout=10)
        assert (msg.topic, msg.payload) == ("t/wrapper/a", b"hello")
        wait_for(lambda: info.mid in acked, timeout=10, what="PUBACK")
    finally:
        sub.stop()
        pub.stop()


def test_will_is_published_when_a_client_vanishes(mqtt_settings: MqttSettings) -> None:
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    watcher = MqttClient(mqtt_settings, client_id="t-watch")
    watcher.subscribe("t/will/status", got.put)
    watcher.start()
    doomed = MqttClient(
        mqtt_settings, client_id="t-doomed", will=Will("t/will/status", b"offline", retain=False)
    )
    doomed.start()
    try:
        assert watcher.wait_subscribed(10) and doomed.wait_connected(10)
        # Drop the socket without DISCONNECT, as a crash or a cut cable would.
        doomed._client.socket().close()
        assert got.get(timeout=30).payload == b"offline"
    finally:
        watcher.stop()
        doomed.stop()


def test_resubscribes_after_broker_restart(mosquitto: Server, mqtt_settings: MqttSettings) -> None:
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    sub = MqttClient(mqtt_settings, client_id="t-resub")
    sub.subscribe("t/resub", got.put)
    sub.start()
    assert sub.wait_connected(10)
    mosquitto.stop()
    wait_for(lambda: not sub.connected.is_set(), timeout=10, what="disconnect noticed")
    revived = restart(mosquitto)
    mosquitto.proc = revived.proc  # the session fixture keeps serving other tests
    try:
        assert sub.wait_subscribed(60)
        pub = MqttClient(mqtt_settings, client_id="t-resub-pub")
        pub.start()
        assert pub.wait_connected(10)
        pub.publish("t/resub", b"again", qos=1)
        assert got.get(timeout=10).payload == b"again"
        pub.stop()
    finally:
        sub.stop()


def test_shared_subscription_messages_reach_their_handler(mqtt_settings: MqttSettings) -> None:
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    sub = MqttClient(mqtt_settings, client_id="t-shared")
    sub.subscribe("$share/grp/t/shared/+", got.put)
    sub.start()
    pub = MqttClient(mqtt_settings, client_id="t-shared-pub")
    pub.start()
    try:
        assert sub.wait_connected(10) and pub.wait_connected(10)
        # The subscription is in place once a first message gets through.
        wait_for(
            lambda: pub.publish("t/shared/a", b"x", qos=1) and got.qsize(),
            timeout=10,
            what="shared subscription active",
        )
        assert got.get(timeout=5).topic == "t/shared/a"
    finally:
        sub.stop()
        pub.stop()


def test_acks_from_an_earlier_connection_are_skipped(mqtt_settings: MqttSettings) -> None:
    client = MqttClient(mqtt_settings, client_id="t-gen", manual_ack=True)
    assert client.ack(1, 0, generation=0)  # QoS 0 needs no ack
    assert not client.ack(1, 1, generation=0)  # not connected: nothing to ack on
    client.start()
    try:
        assert client.wait_connected(10)
        live = client.generation
        assert live >= 1
        assert client.ack(1, 1, generation=live)  # the live connection acks
        assert not client.ack(2, 1, generation=live - 1)
    finally:
        client.stop()


@pytest.fixture
def many_open_files() -> Iterator[None]:
    """Hold 1,100 more open descriptors, as a console with thousands of WebSocket clients
    does: every socket opened meanwhile gets a descriptor above 1023, which select() refuses.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    held: list[int] = []
    with Path(os.devnull).open("rb") as devnull:
        held = [os.dup(devnull.fileno()) for _ in range(1100)]
    try:
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.usefixtures("many_open_files")
def test_works_and_reconnects_on_descriptors_past_1023(
    mosquitto: Server, mqtt_settings: MqttSettings
) -> None:
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    fds: list[int] = []
    sub = MqttClient(
        mqtt_settings,
        client_id="t-highfd",
        on_connect=lambda: fds.append(sub._client.socket().fileno()),  # type: ignore[union-attr]
    )
    sub.subscribe("t/highfd", got.put)
    pub = MqttClient(mqtt_settings, client_id="t-highfd-pub")
    sub.start()
    pub.start()
    try:
        assert sub.wait_subscribed(10) and pub.wait_connected(10)
        assert fds[0] >= 1024
        pub.publish("t/highfd", b"first", qos=1)
        assert got.get(timeout=10).payload == b"first"

        mosquitto.stop()
        wait_for(lambda: not sub.connected.is_set(), timeout=10, what="disconnect noticed")
        revived = restart(mosquitto)
        mosquitto.proc = revived.proc  # the session fixture keeps serving other tests
        assert sub.wait_subscribed(60) and pub.wait_connected(60)
        assert len(fds) == 2 and fds[1] >= 1024  # a new socket, again past select()'s limit
        pub.publish("t/highfd", b"again", qos=1)
        assert got.get(timeout=10).payload == b"again"
    finally:
        sub.stop()
        pub.stop()
    # stop() ends the network threads and closes their sockets.
    assert not any(t.name.startswith("mqtt-t-highfd") for t in threading.enumerate())


def test_a_publish_from_another_thread_wakes_the_loop(
    mqtt_settings: MqttSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With an hour between the loop's own turns, only the wake-up can send these in time.
    monkeypatch.setattr(mqtt, "LOOP_TIMEOUT_S", 3600.0)
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    watcher = MqttClient(mqtt_settings, client_id="t-wake-watch")
    watcher.subscribe("t/wake/#", got.put)
    watcher.start()
    doomed = MqttClient(
        mqtt_settings, client_id="t-wake", will=Will("t/wake/will", b"offline", retain=False)
    )
    doomed.start()
    try:
        assert watcher.wait_subscribed(10) and doomed.wait_connected(10)
        for n in range(3):
            doomed.publish("t/wake/data", str(n).encode(), qos=n % 2)
            assert got.get(timeout=10).payload == str(n).encode()
        doomed.stop()  # returns promptly and says goodbye: no will
        assert not doomed.connected.is_set()
        watcher.publish("t/wake/marker", b"after", qos=1)
        assert got.get(timeout=10).topic == "t/wake/marker"
    finally:
        watcher.stop()
        doomed.stop()


def test_reconnect_backoff_doubles_up_to_the_limit_and_resets(
    mqtt_settings: MqttSettings,
) -> None:
    client = MqttClient(mqtt_settings.model_copy(update={"reconnect_max_s": 5}), client_id="t-b")
    assert [client._next_delay() for _ in range(5)] == [1, 2, 4, 5, 5]
    client.start()
    try:
        assert client.wait_connected(10)
        assert client._next_delay() == 1  # a connection the broker accepted starts it over
    finally:
        client.stop()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[MqttSettings]:
    """A Mosquitto with a TLS listener only (production's transport), on a free port."""
    with start_tls_broker(tmp_path) as settings:
        yield settings


@pytest.mark.usefixtures("many_open_files")
def test_tls_connection_on_a_descriptor_past_1023(
    tls_broker: MqttSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No turn of the loop on its own: only network events and wake-ups move it.
    monkeypatch.setattr(mqtt, "LOOP_TIMEOUT_S", 3600.0)
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    sub = MqttClient(tls_broker, client_id="t-tls")
    sub.subscribe("t/tls/#", got.put)
    pub = MqttClient(tls_broker, client_id="t-tls-pub")
    sub.start()
    pub.start()
    try:
        assert sub.wait_subscribed(10) and pub.wait_connected(10)
        assert sub._client.socket().fileno() >= 1024  # type: ignore[union-attr]
        # Large messages span many TLS records: what is buffered in the TLS layer (not
        # visible to epoll) must be read too.
        payloads = [bytes([n]) * size for n, size in enumerate([10, 300_000, 20, 1_000_000, 5])]
        for payload in payloads:
            pub.publish("t/tls/x", payload, qos=1)
        assert [got.get(timeout=15).payload for _ in payloads] == payloads
    finally:
        sub.stop()
        pub.stop()


# -- the fourth review of issue 22 (review22m): wake-up, callbacks, oversize, restart -------
def test_a_wake_up_landing_while_the_loop_drains_is_never_lost(
    mqtt_settings: MqttSettings,
) -> None:
    """Another thread queues a packet while the loop empties the wake-up pair: afterwards a
    wake-up must still reach the loop (the flag cleared before draining stuck for good)."""
    client = MqttClient(mqtt_settings, client_id="t-drain")
    read, write = socket.socketpair()
    read.setblocking(False)

    class Racing:  # the pair's read end; the first read lets another thread wake the loop
        first = True

        def recv(self, n: int) -> bytes:
            data = read.recv(n)
            if Racing.first:
                Racing.first = False
                client._wake()
            return data

    client._wake_r, client._wake_w = Racing(), write  # type: ignore[assignment]
    try:
        client._wake()
        client._drain_wake()
        client._wake()  # the next packet from another thread
        assert read.recv(16) == b"\0"  # ... wakes the loop
    finally:
        read.close()
        write.close()


def test_a_restart_after_a_stop_in_the_backoff_still_wakes_the_loop(
    mqtt_settings: MqttSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mqtt, "LOOP_TIMEOUT_S", 3600.0)  # only a wake-up sends in time
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    watcher = MqttClient(mqtt_settings, client_id="t-restart-watch")
    watcher.subscribe("t/restart/#", got.put)
    watcher.start()
    client = MqttClient(mqtt_settings.model_copy(update={"port": free_port()}), client_id="t-rs")
    try:
        client.start()  # nobody listens: the loop waits out its backoff
        wait_for(lambda: client._reconnect_delay is not None, timeout=10, what="the backoff")
        client.stop()
        client._settings = mqtt_settings  # the broker is back where it should be
        client.start()
        assert watcher.wait_subscribed(10) and client.wait_connected(10)
        client.publish("t/restart/data", b"x", qos=1)
        assert got.get(timeout=10).payload == b"x"
    finally:
        client.stop()
        watcher.stop()


def test_a_failing_service_callback_does_not_end_the_network_loop(
    mqtt_settings: MqttSettings,
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a service's bug")

    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    client = MqttClient(
        mqtt_settings,
        client_id="t-broken-cb",
        on_connect=broken,
        on_publish=broken,
        on_disconnect=broken,
    )
    client.subscribe("t/broken/#", got.put)
    client.start()
    try:
        assert client.wait_subscribed(10)
        for n in range(3):  # each PUBACK calls the broken on_publish
            client.publish("t/broken/data", str(n).encode(), qos=1)
            assert got.get(timeout=10).payload == str(n).encode()
        assert client._thread is not None and client._thread.is_alive()
    finally:
        client.stop()


def test_a_message_above_the_brokers_limit_is_refused_and_the_rest_flows(
    mqtt_settings: MqttSettings,
) -> None:
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    client = MqttClient(mqtt_settings, client_id="t-oversize")
    client.subscribe("t/oversize/#", got.put)
    client.start()
    try:
        assert client.wait_subscribed(10)
        limit = client.max_packet_size
        assert limit is not None  # the demo broker announces 4 MiB
        generation = client.generation
        info = client.publish("t/oversize/big", b"x" * limit, qos=1)
        assert info.rc == paho.MQTT_ERR_PAYLOAD_SIZE
        client.publish("t/oversize/small", b"after", qos=1)
        assert got.get(timeout=10).payload == b"after"
        assert client.generation == generation  # the connection was never dropped
    finally:
        client.stop()


def test_a_subscribe_racing_the_connect_is_sent(mqtt_settings: MqttSettings) -> None:
    """A subscribe() that lands after the (re)connect took its list of filters, but before
    the client says it is connected, is sent all the same."""
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    client = MqttClient(mqtt_settings, client_id="t-late-sub")

    class Racing(threading.Event):  # set() runs between the snapshot and `connected`
        def set(self) -> None:
            if not client._subs:
                client.subscribe("t/late/#", got.put)
            super().set()

    client.subscribed = Racing()
    client.start()
    try:
        assert client.wait_connected(10)
        wait_for(lambda: not client._pending_subs, timeout=10, what="the SUBACK")
        client.publish("t/late/x", b"seen", qos=1)
        assert got.get(timeout=10).payload == b"seen"
    finally:
        client.stop()


def test_start_on_a_running_client_keeps_its_connection(mqtt_settings: MqttSettings) -> None:
    client = MqttClient(mqtt_settings, client_id="t-start-twice")
    client.start()
    try:
        assert client.wait_connected(10)
        generation = client.generation
        client.start()
        assert client.publish("t/twice", b"x", qos=1).wait_for_publish(10) is None
        assert client.generation == generation and client.connected.is_set()
    finally:
        client.stop()


def test_a_subscription_the_broker_refuses_is_not_reported_as_subscribed(
    mqtt_settings: MqttSettings,
) -> None:
    """Review 22m L3: a refused SUBACK counted as done, so a service whose broker will not
    let it read its topic said it was subscribed (ingest, rules, maintenance and alerts report
    "running" on `wait_subscribed`). Now the refused filter is named and the wait is False.
    Mosquitto 2.0 grants every subscription and filters at delivery, so the refusal is the
    SUBACK another broker (EMQX, VerneMQ) sends, given to the client as paho would."""
    client = MqttClient(mqtt_settings, client_id="t-refused-sub")
    client.subscribe("t/refused/ok/#", lambda _m: None)
    client.start()
    try:
        assert client.wait_subscribed(10) and client.refused == set()
        with client._lock:
            client._pending_subs[65000] = "t/refused/denied/#"
            client.subscribed.clear()
        not_authorised = ReasonCode(PacketTypes.SUBACK, identifier=0x87)
        client._on_subscribe(client._client, None, 65000, [not_authorised], None)
        assert client.refused == {"t/refused/denied/#"}
        assert client.wait_subscribed(1) is False
        generation = client.generation
        client._client.disconnect()  # the next connection asks again: all granted
        wait_for(lambda: client.generation > generation, timeout=30, what="the reconnect")
        assert client.wait_subscribed(10) is True and client.refused == set()
    finally:
        client.stop()


def test_two_filters_that_would_share_a_handler_are_refused(mqtt_settings: MqttSettings) -> None:
    """Review 22m L4: `$share/a/x/#` and `$share/b/x/#` (or `x/#`) arrive under the same
    topic, so the second handler took the first one's messages. Now the second is refused."""
    client = MqttClient(mqtt_settings, client_id="t-clash")
    client.subscribe("$share/a/t/clash/#", lambda _m: None)
    for clash in ("$share/b/t/clash/#", "t/clash/#"):
        with pytest.raises(ValueError, match=r"\$share/a/t/clash/#"):
            client.subscribe(clash, lambda _m: None)
    client.subscribe("$share/a/t/clash/#", lambda _m: None)  # the same one again: replaced
    client.unsubscribe("$share/a/t/clash/#")
    client.subscribe("t/clash/#", lambda _m: None)  # free once the first is gone

"""A thin wrapper around paho-mqtt (MQTT 5): connect, reconnect, resubscribe, publish.

The network loop runs in a thread of its own; message handlers are called on that thread.
A process that is asyncio hands messages over with `loop.call_soon_threadsafe`.

The loop is ours, not paho's `loop_start()`: paho waits in `select.select()`, which cannot
take a file descriptor of 1024 or more, and a process with many open sockets (the console
with thousands of WebSocket clients) gets such a descriptor when it reconnects. We drive
paho through its external-loop API (`loop_read`, `loop_write`, `loop_misc` and the socket
callbacks) over a `selectors` selector (epoll on Linux), which has no such limit.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from bldgwatch.core.config import MqttSettings

logger = logging.getLogger(__name__)

Handler = Callable[[paho.MQTTMessage], None]

SHARE_PREFIX = "$share/"
LOOP_TIMEOUT_S = 1.0  # the longest wait for network events (keepalive is checked after it)
PACKET_OVERHEAD = 16  # a PUBLISH's bytes besides topic and payload (header, id, properties)
STOP_GRACE_S = 5.0  # how long stop() lets the broker take the DISCONNECT


def local_filter(topic_filter: str) -> str:
    """The filter a subscription's messages arrive under: `$share/{group}/` removed.

    Messages of a shared subscription carry their plain topic, which paho's per-filter
    callbacks would never match against the `$share/...` filter itself.
    """
    if topic_filter.startswith(SHARE_PREFIX):
        _, _, rest = topic_filter[len(SHARE_PREFIX) :].partition("/")
        return rest
    return topic_filter


def _guarded(callback: Callable[..., None], name: str, *args: Any) -> None:
    """Call a service's callback on the network thread; its failure is logged, never the
    end of the loop (a dead loop would leave the process connected in name only)."""
    try:
        callback(*args)
    except Exception:
        logger.exception("MQTT %s callback failed", name)


@dataclass(frozen=True, slots=True)
class Will:
    """Last will: published by the broker when the client vanishes."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class MqttClient:
    """One MQTT 5 connection with automatic reconnect and resubscription."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        clean_start: bool = True,
        session_expiry_s: int = 0,
        manual_ack: bool = False,
        will: Will | None = None,
        on_connect: Callable[[], None] | None = None,
        on_publish: Callable[[int, int], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        max_inflight: int = 20,
    ) -> None:
        self._settings = settings
        self._client_id = settings.client_id or client_id
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=paho.MQTTv5,
            manual_ack=manual_ack,
        )
        self._clean_start = clean_start
        self._session_expiry_s = session_expiry_s
        self._subs: dict[str, tuple[int, Handler]] = {}
        self._lock = threading.Lock()
        self._user_on_connect = on_connect
        self._user_on_publish = on_publish
        self._user_on_disconnect = on_disconnect
        self._generation = 0
        self._refused = False
        self.max_packet_size: int | None = None  # the broker's, from CONNACK (MQTT 5)
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # every subscription of this connection acked
        self._pending_subs: dict[int, str] = {}  # SUBSCRIBE packet id → its filter
        self.refused: set[str] = set()  # filters the broker refused on this connection
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)
        # The reconnect backoff (our loop's): doubles from 1 s up to reconnect_max_s and
        # starts again from 1 s after a connection the broker accepted.
        self._reconnect_delay: float | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._wake_pending = False
        self._failing = False  # a connect attempt failed since the last accepted one
        self._sock_events = 0
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            ctx = ssl.create_default_context(
                cafile=str(settings.ca_file) if settings.ca_file else None,
                cadata=settings.ca_pem,
            )
            self._client.tls_set_context(ctx)
        if will is not None:
            self._client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._client.on_socket_open = self._on_socket_open
        self._client.on_socket_close = self._on_socket_close
        # paho calls these when a packet is queued (from any thread) or written out; the
        # loop itself asks want_write() each turn, so only the wake-up is needed here.
        self._client.on_socket_register_write = self._on_register_write
        self._client.on_socket_unregister_write = None

    # -- lifetime -------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; reconnects on its own until stop().

        On a client already running it does nothing (it used to drop and remake the
        connection without a word)."""
        if self._thread is not None:
            logger.debug("MQTT client %s already started", self._client_id)
            return
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if self._session_expiry_s:
            props.SessionExpiryInterval = self._session_expiry_s
        self._client.connect_async(
            self._settings.host,
            self._settings.port,
            keepalive=self._settings.keepalive,
            clean_start=self._clean_start,
            properties=props,
        )
        self._stopping.clear()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_pending = False  # a stop() may have left it set with the old pair
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._thread = threading.Thread(
            target=self._run, name=f"mqtt-{self._client_id}", daemon=True
        )
        self._thread.start()

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until connected and the broker answered every subscription; True only
        when it granted them all (a refused one is in `refused`, and logged)."""
        return self.connected.wait(timeout) and self.subscribed.wait(timeout) and not self.refused

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected or the timeout passes; True when connected."""
        return self.connected.wait(timeout)

    def stop(self) -> None:
        """Disconnect cleanly (the will is not sent) and stop the network thread."""
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            self._wake()  # the loop sends the DISCONNECT itself
            thread.join(STOP_GRACE_S + 5)
            if thread.is_alive():
                logger.error("MQTT network thread did not stop")
        self.connected.clear()

    # -- the network loop (its own thread) ----------------------------------------------
    def _run(self) -> None:
        """Connect, serve the connection, wait the backoff, reconnect; until stop()."""
        try:
            first = True
            while not self._stopping.is_set():
                if not first and self._stopping.wait(self._next_delay()):
                    break
                first = False
                try:
                    self._client.reconnect()
                except (OSError, ValueError) as err:  # refused, unreachable, bad name or CA
                    # Said once at WARNING (the operator must see a broker that never
                    # answers); repeats go to DEBUG until a connection is accepted.
                    log = logger.debug if self._failing else logger.warning
                    self._failing = True
                    log("MQTT connect to %s:%s failed: %s", *self._where(), err)
                    continue
                self._serve()
        except Exception:
            logger.exception("MQTT network loop failed")
            raise
        finally:
            self._close_loop()

    def _serve(self) -> None:
        """Run one connection until it ends (lost, refused, or closed by stop())."""
        client = self._client
        selector = self._selector
        assert selector is not None
        stop_deadline: float | None = None
        while True:
            sock = client.socket()
            if sock is None:
                return
            if self._stopping.is_set():
                # Say goodbye (so the will is not sent); a broker that does not take the
                # DISCONNECT in time is dropped (a dead peer must not hold up an exit).
                if stop_deadline is None:
                    stop_deadline = time.monotonic() + STOP_GRACE_S
                    client.disconnect()
                    continue
                if time.monotonic() > stop_deadline:
                    self._drop(sock)
                    return
            wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.want_write() else 0)
            pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
            try:
                if wanted != self._sock_events:
                    selector.modify(sock, wanted)
                    self._sock_events = wanted
                events = selector.select(0 if pending else LOOP_TIMEOUT_S)
            except (OSError, ValueError, KeyError) as err:
                # The socket was closed under us: let paho find out and report it lost.
                logger.debug("MQTT socket unusable: %s", err)
                self._drop(sock)
                return
            readable = pending > 0
            writable = False
            for key, mask in events:
                if key.fileobj is self._wake_r:
                    self._drain_wake()
                else:
                    readable = readable or bool(mask & selectors.EVENT_READ)
                    writable = bool(mask & selectors.EVENT_WRITE)
            if readable and (client.loop_read() or client.socket() is None):
                continue
            if writable and (client.loop_write() or client.socket() is None):
                continue
            client.loop_misc()

    def _drop(self, sock: Any) -> None:
        """Close a connection that did not end on its own (through paho, so it knows)."""
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        for _ in range(100):  # reads to the EOF: paho closes the socket and reports it
            if self._client.socket() is not sock:
                return
            self._client.loop_read()
        logger.error("MQTT socket would not close")

    def _next_delay(self) -> float:
        if self._reconnect_delay is None:
            self._reconnect_delay = 1.0
        else:
            self._reconnect_delay = min(
                self._reconnect_delay * 2, float(self._settings.reconnect_max_s)
            )
        return self._reconnect_delay

    def _where(self) -> tuple[str, int]:
        return self._settings.host, self._settings.port

    def _on_socket_open(self, _client: paho.Client, _ud: Any, sock: Any) -> None:
        assert self._selector is not None
        self._selector.register(sock, selectors.EVENT_READ)
        self._sock_events = selectors.EVENT_READ

    def _on_socket_close(self, _client: paho.Client, _ud: Any, sock: Any) -> None:
        assert self._selector is not None
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        self._sock_events = 0

    def _on_register_write(self, _client: paho.Client, _ud: Any, _sock: Any) -> None:
        if threading.current_thread() is not self._thread:
            self._wake()

    def _wake(self) -> None:
        """Interrupt the loop's wait (a packet was queued from another thread)."""
        wake = self._wake_w
        if self._wake_pending or wake is None:
            return
        self._wake_pending = True
        # Full (a wake-up is pending anyway) or closed (stopped): nothing to do.
        with contextlib.suppress(OSError):
            wake.send(b"\0")

    def _drain_wake(self) -> None:
        """Empty the wake-up pair, then allow the next wake-up.

        In this order: a wake-up that lands while draining finds the flag still set and
        sends nothing, and the loop's next turn asks `want_write()` anyway. Cleared first, a
        byte sent then would be drained with the flag left set: no wake-up ever again.
        """
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:  # drained
            pass
        self._wake_pending = False

    def _close_loop(self) -> None:
        if self._client.socket() is not None:
            self._drop(self._client.socket())
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for wake in (self._wake_r, self._wake_w):
            if wake is not None:
                wake.close()
        self._thread = None

    # -- subscribe / publish ------------------------------------------------------------
    def subscribe(self, topic_filter: str, handler: Handler, *, qos: int = 1) -> None:
        """Subscribe now (if connected) and again after every reconnect.

        Messages reach the handler by their topic: two subscriptions whose filters differ
        only by a `$share/{group}/` prefix would deliver to one handler slot, so the second
        is refused (ValueError) rather than silently taking the first one's messages.
        """
        local = local_filter(topic_filter)
        with self._lock:
            clash = next(
                (f for f in self._subs if f != topic_filter and local_filter(f) == local), None
            )
            if clash is not None:
                raise ValueError(
                    f"subscription {topic_filter!r} would share its messages' handler with "
                    f"{clash!r} (both arrive as {local!r}); unsubscribe that one first"
                )
            self._subs[topic_filter] = (qos, handler)
        self._client.message_callback_add(local, self._dispatch(handler))
        if self.connected.is_set():
            self._send_subscribe(self._client, topic_filter, qos)

    def unsubscribe(self, topic_filter: str) -> None:
        """Stop receiving a filter (also after reconnects)."""
        with self._lock:
            self._subs.pop(topic_filter, None)
        self._client.message_callback_remove(local_filter(topic_filter))
        if self.connected.is_set():
            self._client.unsubscribe(topic_filter)

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> paho.MQTTMessageInfo:
        """Queue a message; with QoS 1 the PUBACK is reported through `on_publish(mid)`.

        A message larger than the broker's announced maximum packet size is not sent: the
        broker would close the connection, and after every reconnect the same message at the
        head of the queue would close it again, holding up everything behind it. It is
        refused here (logged, `rc` MQTT_ERR_PAYLOAD_SIZE, never acknowledged).
        """
        limit = self.max_packet_size
        if limit is not None and len(payload) + len(topic.encode()) + PACKET_OVERHEAD > limit:
            logger.error(
                "MQTT message on %s not sent: %d bytes, the broker takes at most %d",
                topic,
                len(payload),
                limit,
            )
            info = paho.MQTTMessageInfo(0)
            info.rc = paho.MQTT_ERR_PAYLOAD_SIZE
            return info
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    @property
    def generation(self) -> int:
        """Number of the current (or last) connection; bumps on every (re)connect."""
        with self._lock:
            return self._generation

    def ack(self, mid: int, qos: int, *, generation: int | None = None) -> bool:
        """Acknowledge a received message (only with manual_ack=True).

        Give the `generation` the message arrived on: after a reconnect the broker
        redelivers what was not acknowledged and reuses packet ids, so an ack left over
        from an earlier connection is skipped (returns False) rather than acknowledging a
        different message. The redelivered copy is handled and acknowledged itself.
        """
        if qos == 0:
            return True
        if generation is not None and (
            generation != self.generation or not self.connected.is_set()
        ):
            logger.debug("skipping ack of mid %d from an earlier connection", mid)
            return False
        self._client.ack(mid, qos)
        return True

    # -- paho callbacks (network thread) --------------------------------------------------
    def _dispatch(self, handler: Handler) -> Callable[[paho.Client, Any, paho.MQTTMessage], None]:
        def call(_client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
            try:
                handler(msg)
            except Exception:
                # A supervisor's top: one bad message must not kill the network thread.
                logger.exception("handler for %s failed", msg.topic)

        return call

    def _on_connect(
        self, client: paho.Client, _ud: Any, _flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            # Say what is wrong once; repeats (every reconnect attempt) go to DEBUG.
            log = logger.debug if self._refused else logger.error
            self._refused = True
            log(
                "MQTT connect to %s:%s refused: %s",
                self._settings.host,
                self._settings.port,
                reason,
            )
            return
        self._refused = False
        self._failing = False
        self._reconnect_delay = None
        self.max_packet_size = getattr(props, "MaximumPacketSize", None)
        logger.info("MQTT connected to %s:%s", self._settings.host, self._settings.port)
        with self._lock:
            subs = list(self._subs.items())
            self._generation += 1
            self.refused.clear()
        for topic_filter, (qos, _handler) in subs:
            self._send_subscribe(client, topic_filter, qos)
        if not subs:
            self.subscribed.set()
        self.connected.set()
        # A subscribe() that came in after the snapshot but saw `connected` still clear
        # sent nothing: send it now (one after the set sends itself; twice is harmless).
        sent = {topic_filter for topic_filter, _ in subs}
        with self._lock:
            late = [(f, qos) for f, (qos, _h) in self._subs.items() if f not in sent]
        for topic_filter, qos in late:
            self._send_subscribe(client, topic_filter, qos)
        if self._user_on_connect is not None:
            _guarded(self._user_on_connect, "on_connect")

    def _send_subscribe(self, client: paho.Client, topic_filter: str, qos: int) -> None:
        with self._lock:
            self.subscribed.clear()
            _result, mid = client.subscribe(topic_filter, qos=qos)
            if mid is not None:
                self._pending_subs[mid] = topic_filter
            self.refused.discard(topic_filter)

    def _on_subscribe(
        self, _client: paho.Client, _ud: Any, mid: int, reasons: list[ReasonCode], _props: Any
    ) -> None:
        with self._lock:
            topic_filter = self._pending_subs.pop(mid, None)
            if any(reason.is_failure for reason in reasons) and topic_filter is not None:
                self.refused.add(topic_filter)
                logger.error("MQTT subscription to %s refused: %s", topic_filter, reasons[0])
            if not self._pending_subs:
                self.subscribed.set()

    def _on_disconnect(
        self, _client: paho.Client, _ud: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if self.connected.is_set():
            log = logger.info if self._stopping.is_set() else logger.warning
            log("MQTT disconnected: %s", reason)
        self.connected.clear()
        self.subscribed.clear()
        with self._lock:
            self._pending_subs.clear()
        if self._user_on_disconnect is not None:
            _guarded(self._user_on_disconnect, "on_disconnect")

    def _on_message(self, _client: paho.Client, _ud: Any, msg: paho.MQTTMessage) -> None:
        logger.debug("unrouted message on %s", msg.topic)

    def _on_publish(
        self, _client: paho.Client, _ud: Any, mid: int, reason: ReasonCode, _props: Any
    ) -> None:
        # The PUBACK's reason code: 0 (or 0x10, no subscribers) is accepted; 0x80 and above
        # is refused (not authorised, quota exceeded, ...) and the broker has dropped it.
        if self._user_on_publish is not None:
            _guarded(self._user_on_publish, "on_publish", mid, int(reason.value))

"""The live event hub: broker messages in, numbered events out to WebSocket clients.

Alarm transitions, work-order changes and equipment availability (from gateway status) are
numbered in arrival order and kept in a bounded ring buffer, so a client that reconnects with
the id of the last event it saw gets what it missed. Everything here runs on the event loop;
`ingest_threadsafe` is the door from paho's network thread and from request worker threads.

Nothing is relayed unchecked: a message must parse within the decode limits and match its
schema (`AlarmEvent`, `WorkOrderEvent`, a gateway status document) and its topic (site,
equipment). With a site register, a gateway's status may speak only of equipment the
register gives that gateway (`not_owner`, `unknown_equipment`). What does not pass is dropped,
counted by reason and dead-lettered on `bw/v1/{site}/deadletter/console` when the console is
on a broker.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from bldgwatch.console.wsframes import FrameWriter, text_frame
from bldgwatch.core.deadletter import DeadLetter, DeadLetters
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import AlarmEvent, WorkOrderEvent
from bldgwatch.core.register import EquipmentRegister
from bldgwatch.core.safejson import DEFAULT_LIMITS, DecodeLimits, load_json
from bldgwatch.core.topics import PREFIX

logger = logging.getLogger(__name__)

SEEN_IDS = 10_000
"""How many broker event ids are remembered to drop duplicates (QoS 1 redelivery)."""


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One numbered event; `text` is the JSON sent to clients, `frame` the same as a
    WebSocket text frame (built once for every stream)."""

    id: int
    site: str
    kind: str
    text: str
    frame: bytes = b""


@dataclass(eq=False)
class Subscription:
    """One connected client: its sites, its queue and whose it is; `write`, once its sender
    runs, takes an event's frame straight to its socket while it is idle (`busy`: the sender
    holds events not yet sent) and nothing is queued, so that the order stays."""

    sites: frozenset[str] | None
    queue: asyncio.Queue[LiveEvent]
    overflowed: bool = False
    principal: str = ""
    write: FrameWriter | None = None
    busy: bool = False
    drop: Callable[[], None] | None = None
    """Closes the stream at once when it overflows (its sender may be stuck on a full
    socket); without it, the sender closes the stream once it has sent what is queued."""

    def wants(self, event: LiveEvent) -> bool:
        """Whether the event belongs to one of the client's sites."""
        return self.sites is None or event.site in self.sites


@dataclass(frozen=True, slots=True)
class Resume:
    """What a (re)connecting client gets first."""

    backlog: list[LiveEvent]
    complete: bool = field(
        default=True, metadata={"doc": "False when events after last_id were already dropped."}
    )


class DeviceState(BaseModel):
    """What the stream takes of one device in a gateway's status."""

    model_config = ConfigDict(extra="allow")

    available: bool | None = None  # None until the gateway has polled it: not yet available


class GatewayStatus(BaseModel):
    """What the stream takes of a gateway's retained status (gateway/service.py)."""

    model_config = ConfigDict(extra="allow")

    state: Literal["online", "offline"]
    site: str | None = None
    gateway: str | None = None
    devices: dict[str, DeviceState] = {}


def _equipment_status(status: GatewayStatus, gateway: str) -> dict[str, Any]:
    available = {eq: bool(d.available) for eq, d in status.devices.items()}
    return {"gateway": gateway, "state": status.state, "available": available}


def _validated(kind: str, site: str, level: str, doc: Any) -> dict[str, Any]:
    """The data to relay; DecodeError (`invalid_schema`, `topic_mismatch`) otherwise."""
    try:
        if kind == "equipment":
            status = GatewayStatus.model_validate(doc)
            named = (status.site or site, status.gateway or level)
            if named != (site, level):
                raise DecodeError("topic_mismatch", f"status of {named} on {site}/{level}")
            return _equipment_status(status, level)
        model = AlarmEvent if kind == "alarm" else WorkOrderEvent
        event = model.model_validate(doc)
    except ValidationError as err:
        raise DecodeError("invalid_schema", str(err)) from err
    if (event.site, event.equipment) != (site, level):
        raise DecodeError(
            "topic_mismatch", f"{event.site}/{event.equipment} published for {site}/{level}"
        )
    return event.model_dump(mode="json", by_alias=True)


def parse_message(
    topic: str, payload: bytes, limits: DecodeLimits = DEFAULT_LIMITS
) -> tuple[str, str, dict[str, Any]] | None:
    """(kind, site, data) of a broker message the stream carries; None for other topics;
    DecodeError (with its reason) for a carried topic whose message is not valid."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != PREFIX or parts[2].startswith("_"):
        return None
    site, middle, last = parts[2], parts[3], parts[4]
    kind = {"alarms": "alarm", "workorders": "work_order"}.get(middle)
    if kind is None and last != "status":
        return None
    kind = kind or "equipment"
    level = middle if kind == "equipment" else last
    return kind, site, _validated(kind, site, level, load_json(payload, limits))


class LiveHub:
    """Numbers events, keeps the last `buffer` of them and fans them out to subscribers."""

    def __init__(
        self,
        *,
        buffer: int = 2000,
        client_queue: int = 1000,
        limits: DecodeLimits = DEFAULT_LIMITS,
        register: EquipmentRegister | None = None,
    ) -> None:
        self._limits = limits
        self._register = register
        self.dead_letters: DeadLetters | None = None  # set when the console is on a broker
        self.dropped: Counter[str] = Counter()  # refused messages, by reason
        self.relayed = 0
        self._ring: deque[LiveEvent] = deque(maxlen=buffer)
        self._client_queue = client_queue
        self._next_id = 1
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._equipment: dict[tuple[str, str], str] = {}
        self._subs: set[Subscription] = set()
        self._streams: Counter[str] = Counter()  # open subscriptions by principal
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def last_id(self) -> int:
        """Id of the newest event (0 before the first)."""
        return self._next_id - 1

    @property
    def subscribers(self) -> int:
        """Connected clients."""
        return len(self._subs)

    def streams_of(self, principal: str) -> int:
        """Open subscriptions of `principal`."""
        return self._streams[principal]

    def ingest_threadsafe(self, topic: str, payload: bytes) -> None:
        """Hand a message to the loop (any thread); ingested directly when no loop is bound."""
        loop = self.loop
        if loop is None or loop.is_closed():
            self.ingest(topic, payload)
        else:
            loop.call_soon_threadsafe(self.ingest, topic, payload)

    def ingest(self, topic: str, payload: bytes) -> LiveEvent | None:
        """Number and fan out one broker message (event loop); None when not streamed.

        A message that is not valid is dropped, counted and dead-lettered, never relayed.
        """
        try:
            parsed = parse_message(topic, payload, self._limits)
            if parsed is not None and parsed[0] == "equipment":
                self._check_owner(parsed[1], parsed[2])
        except DecodeError as err:
            self._refuse(topic, payload, err)
            return None
        if parsed is None:
            return None
        kind, site, data = parsed
        if self._duplicate(kind, site, data):
            return None
        self.relayed += 1
        return self.add(kind, site, data)

    def _check_owner(self, site: str, data: dict[str, Any]) -> None:
        """DecodeError when a gateway's status speaks of equipment the register does not
        give it (no register: the broker's ACL is the only check)."""
        if self._register is None:
            return
        for equipment in data["available"]:
            problem = self._register.check(site, str(data["gateway"]), equipment)
            if problem is not None:
                raise DecodeError(*problem)

    def _refuse(self, topic: str, payload: bytes, err: DecodeError) -> None:
        self.dropped[err.reason] += 1
        # The first of each reason at WARNING, repeats at DEBUG: a flood must not flood the log.
        log = logger.warning if self.dropped[err.reason] == 1 else logger.debug
        log("live: dropped a message on %s: %s", topic, err)
        if self.dead_letters is not None:
            self.dead_letters.send(DeadLetter(err.reason, err.detail, topic, None, payload))

    def _duplicate(self, kind: str, site: str, data: dict[str, Any]) -> bool:
        if kind == "equipment":
            key = (site, str(data["gateway"]))
            signature = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
            if self._equipment.get(key) == signature:
                return True  # periodic status with nothing new
            self._equipment[key] = signature
            return False
        event_id = data.get("event_id")
        if not isinstance(event_id, str):
            return False
        if event_id in self._seen:
            return True
        self._seen[event_id] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)
        return False

    def add(self, kind: str, site: str, data: dict[str, Any]) -> LiveEvent:
        """Number an event, keep it and queue it for every subscriber of its site."""
        event_id = self._next_id
        self._next_id += 1
        raw = orjson.dumps({"id": event_id, "kind": kind, "site": site, "data": data})
        event = LiveEvent(event_id, site, kind, raw.decode(), text_frame(raw))
        self._ring.append(event)
        for sub in list(self._subs):
            if sub.overflowed or not sub.wants(event):
                continue
            write = sub.write
            if write is not None and not sub.busy and sub.queue.empty() and write(event.frame):
                continue  # written: no task step, no message of its own
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.overflowed = True  # the client is cut off and resumes from the ring
                if sub.drop is not None:
                    sub.drop()
        return event

    def subscribe(
        self, sites: Collection[str] | None, last_id: int | None, *, principal: str = ""
    ) -> tuple[Subscription, Resume]:
        """A new subscription of `principal` and, when `last_id` is given, the events after
        it."""
        sub = Subscription(
            sites=None if sites is None else frozenset(sites),
            queue=asyncio.Queue(self._client_queue),
            principal=principal,
        )
        self._subs.add(sub)
        self._streams[principal] += 1
        if last_id is None:
            return sub, Resume([])
        oldest = self._ring[0].id if self._ring else self._next_id
        complete = oldest - 1 <= last_id <= self.last_id
        backlog = [e for e in self._ring if e.id > last_id and sub.wants(e)]
        return sub, Resume(backlog, complete)

    def rescope_threadsafe(self, principal: str, sites: Collection[str] | None) -> None:
        """Give every stream of `principal` the sites `sites` (None: all), in order with the
        events handed to the loop after this call (any thread)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            self.rescope(principal, sites)
        else:
            loop.call_soon_threadsafe(self.rescope, principal, sites)

    def rescope(self, principal: str, sites: Collection[str] | None) -> None:
        """Give every stream of `principal` the sites `sites` (None: all)."""
        scope = None if sites is None else frozenset(sites)
        for sub in self._subs:
            if sub.principal == principal:
                sub.sites = scope

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a client."""
        if sub in self._subs:
            self._subs.discard(sub)
            self._streams[sub.principal] -= 1
            if not self._streams[sub.principal]:
                del self._streams[sub.principal]

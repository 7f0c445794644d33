"""How fresh the data is: per gateway and per device, the age of the newest reading the
console itself received, each gateway's retained status (its last will says `offline`),
and whether the console's own broker connection is up.

With a site register, a batch or status counts only for the equipment the register gives the
publishing gateway: another gateway's account cannot make a silent device look live.

The broker bridge feeds it from paho's thread (`saw_batch`, `saw_status`); requests and
the live stream's heartbeat read snapshots. "Live" means data is fresh — the newest reading
of the reader's sites came within `stale_after_s` and the broker connection is up — not
that a WebSocket happens to be open.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bldgwatch.core import topics
from bldgwatch.core.clock import Clock
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import Reading
from bldgwatch.core.points import AVAILABLE_POINT
from bldgwatch.core.register import EquipmentRegister
from bldgwatch.core.safejson import DEFAULT_LIMITS, DecodeLimits, load_json

READINGS = topics.ALL_READINGS
STALE_INTERVALS = 3
"""A gateway silent for more than this many of its status intervals is `stale`."""
DEFAULT_STATUS_INTERVAL_S = 10.0
"""The gateway's own default (gateway.config.GatewayConfig.status_interval_s)."""
STATUSES = f"{topics.PREFIX}/+/+/status"


@dataclass(slots=True)
class _Gateway:
    site: str
    id: str
    state: str = "unknown"
    status_at: datetime | None = None
    data_at: datetime | None = None
    equipment: set[str] = field(default_factory=set)
    doc: dict[str, Any] | None = None


@dataclass(slots=True)
class _Device:
    site: str
    id: str
    gateway: str
    data_at: datetime | None = None
    available: bool | None = None


@dataclass(frozen=True, slots=True)
class GatewayLife:
    """One gateway as the console sees it."""

    site: str
    gateway: str
    state: str
    data_age_s: float | None
    status_age_s: float | None
    live: bool
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeviceLife:
    """One device as the console sees it."""

    site: str
    equipment: str
    gateway: str
    data_age_s: float | None
    available: bool | None
    live: bool


@dataclass(frozen=True, slots=True)
class LifeSummary:
    """What the header says: is data fresh, and why not."""

    broker: bool
    fresh: bool
    newest_age_s: float | None
    stale_after_s: float
    gateways_offline: int
    devices_silent: int


def _heard(g: _Gateway) -> datetime | None:
    """When the gateway was last heard from: its newest status or batch."""
    return max((t for t in (g.data_at, g.status_at) if t is not None), default=None)


def _age(now: datetime, at: datetime | None) -> float | None:
    return None if at is None else max(0.0, round((now - at).total_seconds(), 1))


class Liveness:
    """Arrival times of readings and statuses (thread-safe)."""

    def __init__(
        self,
        clock: Clock,
        *,
        stale_after_s: float,
        device_silent_after_s: float,
        broker_up: Callable[[], bool] = lambda: False,
        register: EquipmentRegister | None = None,
        limits: DecodeLimits = DEFAULT_LIMITS,
    ) -> None:
        self._clock = clock
        self._register = register
        self._limits = limits
        self.stale_after_s = stale_after_s
        self.device_silent_after_s = device_silent_after_s
        self.broker_up = broker_up
        self._lock = threading.Lock()
        self._gateways: dict[tuple[str, str], _Gateway] = {}
        self._devices: dict[tuple[str, str], _Device] = {}

    def _gateway(self, site: str, gateway: str) -> _Gateway:
        found = self._gateways.get((site, gateway))
        if found is None:
            found = self._gateways[(site, gateway)] = _Gateway(site, gateway)
        return found

    def _device(self, site: str, equipment: str, gateway: str) -> _Device:
        found = self._devices.get((site, equipment))
        if found is None:
            found = self._devices[(site, equipment)] = _Device(site, equipment, gateway)
        found.gateway = gateway
        return found

    def ingest(self, topic: str, payload: bytes) -> bool:
        """Take a readings batch or a gateway status off the broker (paho's thread); False
        for anything else, what does not decode and what speaks only of equipment the
        gateway does not own (the consumers count and dead-letter those)."""
        where = topics.parse_readings(topic)
        if where is not None:
            return self._ingest_batch(where, payload)
        where = topics.parse_gateway_status(topic)
        return where is not None and self._ingest_status(where, payload)

    def _ingest_batch(self, where: topics.ReadingsTopic, payload: bytes) -> bool:
        try:
            batch = decode_batch(payload, self._limits).batch
        except DecodeError:
            return False
        owned = [r for r in batch.readings if self._owns(where, r.equipment)]
        if batch.readings and not owned:
            return False
        self.saw_batch(where.site, where.gateway, owned)
        return True

    def _ingest_status(self, where: topics.ReadingsTopic, payload: bytes) -> bool:
        try:
            doc = load_json(payload, self._limits)
        except DecodeError:
            return False
        if not isinstance(doc, dict) or doc.get("state") not in ("online", "offline"):
            return False
        devices = doc.get("devices")
        available = {
            str(eq): d.get("available") if isinstance(d.get("available"), bool) else None
            for eq, d in (devices.items() if isinstance(devices, dict) else ())
            if isinstance(d, dict) and self._owns(where, str(eq))
        }
        self.saw_status(where.site, where.gateway, str(doc["state"]), available, doc)
        return True

    def _owns(self, where: topics.ReadingsTopic, equipment: str) -> bool:
        """Whether the register gives `equipment` to the gateway of `where` (no register:
        the broker's ACL is the only check)."""
        return self._register is None or (
            self._register.check(where.site, where.gateway, equipment) is None
        )

    def saw_batch(self, site: str, gateway: str, readings: Iterable[Reading]) -> None:
        """A readings batch arrived now (whatever its source times: a backlog is old data
        that arrives now; freshness is about arrival)."""
        now = self._clock.now()
        with self._lock:
            gw = self._gateway(site, gateway)
            gw.data_at, gw.state = now, "online"
            for reading in readings:
                device = self._device(site, reading.equipment, gateway)
                gw.equipment.add(reading.equipment)
                if reading.point == AVAILABLE_POINT:
                    device.available = bool(reading.value)
                else:
                    device.data_at = now

    def saw_status(
        self,
        site: str,
        gateway: str,
        state: str,
        available: dict[str, bool | None],
        doc: dict[str, Any] | None = None,
    ) -> None:
        """A gateway's retained status (or its last will) arrived now; an online status's
        document is kept (health, devices, config) and an offline one keeps the last."""
        now = self._clock.now()
        with self._lock:
            gw = self._gateway(site, gateway)
            gw.state, gw.status_at = state, now
            if doc is not None and state == "online":
                gw.doc = doc
            for equipment, answers in available.items():
                gw.equipment.add(equipment)
                self._device(site, equipment, gateway).available = answers

    def gateways(self, sites: Collection[str] | None) -> list[GatewayLife]:
        """The gateways of `sites` (None: all), by site and id. One that said it is online
        but has been silent (no status, no batch) for more than STALE_INTERVALS of its
        status intervals is `stale`: only its last will says offline, and a gateway whose
        loop is wedged sends none (review 21d L4)."""
        now = self._clock.now()
        with self._lock:
            found = [g for g in self._gateways.values() if sites is None or g.site in sites]
            lives = []
            for g in sorted(found, key=lambda g: (g.site, g.id)):
                state = "stale" if self._stale(now, g) else g.state
                live = state not in ("offline", "stale") and self._fresh(
                    now, g.data_at, self.stale_after_s
                )
                lives.append(
                    GatewayLife(
                        g.site,
                        g.id,
                        state,
                        _age(now, g.data_at),
                        _age(now, g.status_at),
                        live,
                        _heard(g),
                    )
                )
            return lives

    def _stale(self, now: datetime, g: _Gateway) -> bool:
        """Online by its word, but silent for more than STALE_INTERVALS of the status
        interval its status gives (the gateway's default before the first)."""
        interval = (g.doc or {}).get("status_interval_s")
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            interval = DEFAULT_STATUS_INTERVAL_S
        return g.state == "online" and not self._fresh(
            now, _heard(g), STALE_INTERVALS * float(interval)
        )

    def status_doc(self, site: str, gateway: str) -> dict[str, Any] | None:
        """The newest online status document of one gateway (None: none seen)."""
        with self._lock:
            found = self._gateways.get((site, gateway))
            return None if found is None or found.doc is None else dict(found.doc)

    def devices(self, sites: Collection[str] | None) -> list[DeviceLife]:
        """The devices of `sites` (None: all) that data has come from, by site and id."""
        now = self._clock.now()
        with self._lock:
            found = [d for d in self._devices.values() if sites is None or d.site in sites]
            offline = {k for k, g in self._gateways.items() if g.state == "offline"}
            offline |= {k for k, g in self._gateways.items() if self._stale(now, g)}
            return [
                DeviceLife(
                    d.site,
                    d.id,
                    d.gateway,
                    _age(now, d.data_at),
                    d.available,
                    (d.site, d.gateway) not in offline
                    and d.available is not False
                    and self._fresh(now, d.data_at, self.device_silent_after_s),
                )
                for d in sorted(found, key=lambda d: (d.site, d.id))
            ]

    def summary(self, sites: Collection[str] | None) -> LifeSummary:
        """Is the data of `sites` fresh (and the broker connection up)?"""
        gateways, devices = self.gateways(sites), self.devices(sites)
        ages = [g.data_age_s for g in gateways if g.data_age_s is not None]
        newest = min(ages) if ages else None
        broker = self.broker_up()
        return LifeSummary(
            broker=broker,
            fresh=broker and newest is not None and newest <= self.stale_after_s,
            newest_age_s=newest,
            stale_after_s=self.stale_after_s,
            gateways_offline=sum(not g.live for g in gateways),
            devices_silent=sum(not d.live for d in devices),
        )

    @staticmethod
    def _fresh(now: datetime, at: datetime | None, limit: float) -> bool:
        return at is not None and (now - at).total_seconds() <= limit

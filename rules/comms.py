"""Communication loss of gateways and devices, judged on the clock (pure: no I/O).

The rules service tells it what arrives — every readings batch (which gateway sent it, which
equipment it carries, their `_available` readings) and every gateway status (retained;
`offline` is the gateway's last will) — and `tick(now)` turns that into condition changes of
`comms_loss` rules, with their on-/off-delays on the clock:

- a gateway is lost when its status says offline, or when neither a batch nor a status came
  for `silence_s` (a dead gateway, a cut link, or a broker that stopped delivering);
- a device is lost when its gateway says it does not answer (`_available` false) while the
  gateway itself reports. The devices of a lost gateway raise nothing of their own (the
  gateway's alarm is the first cause), and their stale points stop counting silence
  (`lost_gateways` tells the engine which).

Silence is counted from the last tick that saw something, on the rules clock, so a gateway
whose own clock is off does not look silent.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bldgwatch.core.clock import from_epoch_ms
from bldgwatch.core.models import Reading
from bldgwatch.core.points import AVAILABLE_POINT
from bldgwatch.rules.equipment import Equipment
from bldgwatch.rules.evaluator import AlarmKey, ChangeCause, ConditionChange
from bldgwatch.rules.kinds import CommsLossRule
from bldgwatch.rules.rulebase import GATEWAY, resolve_limit
from bldgwatch.rules.schema import Rule

GatewayKey = tuple[str, str]
"""(site, gateway id)."""


@dataclass(slots=True)
class _Watch:
    """The condition of one comms rule on one gateway or device."""

    equipment: Equipment
    rule: CommsLossRule
    active: bool = False
    pending_since_ms: int | None = None

    @property
    def key(self) -> AlarmKey:
        return (self.equipment.site, self.equipment.id, self.rule.id)


@dataclass(slots=True)
class _Gateway:
    """What is known of one gateway: when it last spoke, its last status, its equipment."""

    site: str
    id: str
    seen: bool = True
    since_ms: int | None = None
    offline: bool = False
    equipment: set[str] = field(default_factory=set)
    watches: list[_Watch] = field(default_factory=list)
    lost: bool = False  # the raw condition at the last tick (offline or silent)


@dataclass(slots=True)
class _Device:
    """What is known of one device: its gateway and whether the gateway says it answers."""

    gateway: str | None = None
    unavailable: bool = False
    watches: list[_Watch] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """What the watch takes of a gateway's status document (gateway/service.py)."""

    online: bool
    available: dict[str, bool]


def parse_status(doc: Any) -> GatewayStatus | None:
    """The state and device availability of a status document, None when it is not one."""
    if not isinstance(doc, dict) or doc.get("state") not in ("online", "offline"):
        return None
    devices = doc.get("devices")
    available = {
        str(eq): d["available"]
        for eq, d in (devices.items() if isinstance(devices, dict) else ())
        if isinstance(d, dict) and isinstance(d.get("available"), bool)
    }
    return GatewayStatus(doc["state"] == "online", available)


def _comms(rules: Iterable[Rule]) -> list[CommsLossRule]:
    return [r for r in rules if isinstance(r, CommsLossRule)]


class CommsWatch:
    """Gateways and devices of the engine's sites, and their communication-loss conditions."""

    def __init__(self, rules: Sequence[Rule], equipment: Iterable[Equipment]) -> None:
        found = _comms(rules)
        self._gateway_rules = [r for r in found if r.scope == GATEWAY]
        self._equipment = {(eq.site, eq.id): eq for eq in equipment}
        self._gateways: dict[GatewayKey, _Gateway] = {}
        self._devices: dict[tuple[str, str], _Device] = {}
        self._restored: dict[AlarmKey, bool] = {}
        for eq in self._equipment.values():
            rules_of_type = [
                r for r in found if r.scope == "device" and r.equipment_type == eq.type
            ]
            self._devices[(eq.site, eq.id)] = _Device(
                watches=[_Watch(eq, r) for r in rules_of_type]
            )

    @property
    def rule_ids(self) -> frozenset[str]:
        """Ids of the rules this watch judges."""
        watches = (w for d in self._devices.values() for w in d.watches)
        return frozenset({r.id for r in self._gateway_rules} | {w.rule.id for w in watches})

    # -- what arrives -------------------------------------------------------------------------
    def saw_batch(
        self, site: str, gateway: str, equipment: Collection[str], readings: Iterable[Reading]
    ) -> None:
        """A readings batch from `gateway`: it is alive, it reports `equipment`."""
        gw = self._gateway(site, gateway)
        gw.seen, gw.offline = True, False
        for eq in equipment:
            gw.equipment.add(eq)
            device = self._devices.get((site, eq))
            if device is not None:
                device.gateway = gateway
        for reading in readings:
            if reading.point == AVAILABLE_POINT:
                device = self._devices.get((site, reading.equipment))
                if device is not None:
                    device.unavailable = float(reading.value) < 0.5

    def saw_status(
        self, site: str, gateway: str, *, online: bool, available: Mapping[str, bool]
    ) -> None:
        """A status of `gateway` (`online` false: its last will, or a clean stop)."""
        gw = self._gateway(site, gateway)
        gw.seen, gw.offline = True, not online
        for eq, answers in available.items():
            gw.equipment.add(eq)
            device = self._devices.get((site, eq))
            if device is not None:
                device.gateway, device.unavailable = gateway, not answers

    def _gateway(self, site: str, gateway: str) -> _Gateway:
        gw = self._gateways.get((site, gateway))
        if gw is None:
            gw = _Gateway(site, gateway)
            for rule in self._gateway_rules:
                watch = _Watch(Equipment(site, gateway, GATEWAY, ""), rule)
                watch.active = self._restored.pop(watch.key, False)
                gw.watches.append(watch)
            self._gateways[(site, gateway)] = gw
        return gw

    # -- state ----------------------------------------------------------------------------------
    def restore(self, key: AlarmKey, *, active: bool) -> bool:
        """Set a condition from a stored alarm after a restart; False if no rule of this watch."""
        site, target, rule_id = key
        if rule_id not in self.rule_ids:
            return False
        device = self._devices.get((site, target))
        watches = device.watches if device is not None else []
        gw = self._gateways.get((site, target))
        watches = watches + (gw.watches if gw is not None else [])
        for watch in watches:
            if watch.rule.id == rule_id:
                watch.active = active
                return True
        self._restored[key] = active  # a gateway not heard of yet since the restart
        return True

    def lost_gateways(self) -> Iterator[tuple[str, set[str], bool]]:
        """(site, equipment of the gateway, whether it is lost) for every known gateway."""
        for gw in self._gateways.values():
            yield gw.site, gw.equipment, gw.lost

    # -- the clock -------------------------------------------------------------------------------
    def tick(self, now_ms: int) -> list[ConditionChange]:
        """Condition changes at `now_ms`."""
        changes: list[ConditionChange] = []
        for gw in self._gateways.values():
            if gw.seen or gw.since_ms is None:
                gw.since_ms, gw.seen = now_ms, False
            silence_s = (now_ms - gw.since_ms) / 1000
            gw.lost = False
            for watch in gw.watches:
                limit = self._silence_limit(gw, watch.rule)
                lost = gw.offline or silence_s >= limit
                gw.lost = gw.lost or lost
                cause = "offline" if gw.offline else "silent"
                change = _step(watch, lost, now_ms, limit=limit, silence_s=silence_s, cause=cause)
                if change is not None:
                    changes.append(change)
        for (site, _), device in self._devices.items():
            carrier = self._gateways.get((site, device.gateway)) if device.gateway else None
            if carrier is not None and carrier.lost:
                continue  # its gateway's alarm says it all; the device keeps its state
            for watch in device.watches:
                change = _step(watch, device.unavailable, now_ms, cause="unavailable")
                if change is not None:
                    changes.append(change)
        return changes

    def _silence_limit(self, gw: _Gateway, rule: CommsLossRule) -> float:
        assert rule.silence_s is not None  # the rule's validator requires it for gateways
        found = [self._equipment.get((gw.site, eq)) for eq in sorted(gw.equipment)]
        known = [eq for eq in found if eq is not None]
        if not known:
            return resolve_limit(rule.silence_s, {}, {}, rule=rule.id, equipment=gw.id)
        return min(
            resolve_limit(rule.silence_s, eq.params, eq.rated, rule=rule.id, equipment=gw.id)
            for eq in known
        )


def _step(
    watch: _Watch,
    lost: bool,
    now_ms: int,
    *,
    cause: str,
    limit: float | None = None,
    silence_s: float | None = None,
) -> ConditionChange | None:
    """Debounce one watch's raw condition with its rule's delays, on the clock."""
    if lost == watch.active:
        watch.pending_since_ms = None
        return None
    if watch.pending_since_ms is None:
        watch.pending_since_ms = now_ms
    delay_s = watch.rule.on_delay_s if lost else watch.rule.off_delay_s
    if now_ms - watch.pending_since_ms < delay_s * 1000:
        return None
    watch.active, watch.pending_since_ms = lost, None
    detail: dict[str, Any] = {"cause": {"key": f"comms.cause.{cause}", "params": {"limit": limit}}}
    value = None
    if silence_s is not None and cause == "silent":
        value = round(silence_s, 1)
        detail["unit"] = "s"
    return ConditionChange(
        equipment=watch.equipment,
        rule=watch.rule,
        at=from_epoch_ms(now_ms),
        cause=ChangeCause.CONDITION,
        active=lost,
        suppressed=False,
        value=value if lost else None,
        limit=limit,
        detail=detail if lost else None,
    )

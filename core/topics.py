"""The MQTT topic scheme (wire format v1); see docs/wire-format.md."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "bw/v1"


def _check_level(name: str, value: str) -> str:
    if (
        not value
        or any(c in value for c in "/+#")
        or value.startswith("$")
        or value in {"_svc", "_sim"}
    ):
        raise ValueError(f"{name} {value!r} is not a valid topic level")
    return value


def readings(site: str, gateway: str) -> str:
    """Batched readings from one gateway (QoS 1)."""
    return f"{PREFIX}/{_check_level('site', site)}/{_check_level('gateway', gateway)}/readings"


def gateway_status(site: str, gateway: str) -> str:
    """Retained gateway status; the LWT sets it to offline."""
    return f"{PREFIX}/{_check_level('site', site)}/{_check_level('gateway', gateway)}/status"


def gateway_config(site: str, gateway: str) -> str:
    """A gateway's retained, signed configuration: only the console writes it and only that
    gateway reads it (bldgwatch.broker_auth)."""
    return f"{PREFIX}/{_check_level('site', site)}/{_check_level('gateway', gateway)}/config"


def alarms(site: str, equipment: str) -> str:
    """Alarm transitions of one equipment."""
    return f"{PREFIX}/{_check_level('site', site)}/alarms/{_check_level('equipment', equipment)}"


def work_orders(site: str, equipment: str) -> str:
    """Work-order changes of one equipment (created, attached alarm, transitions)."""
    return (
        f"{PREFIX}/{_check_level('site', site)}/workorders/{_check_level('equipment', equipment)}"
    )


def deadletter(site: str, component: str) -> str:
    """Rejected input with the reason, per site and component."""
    comp = _check_level("component", component)
    return f"{PREFIX}/{_check_level('site', site)}/deadletter/{comp}"


def gateway_deadletter(site: str, gateway: str) -> str:
    """A gateway's dead letters (refused sensor payloads), under its own prefix: the only
    place its broker identity may write (docs/architecture.md)."""
    return f"{PREFIX}/{_check_level('site', site)}/{_check_level('gateway', gateway)}/deadletter"


def service_status(component: str, instance: str) -> str:
    """Retained health and counters of a backend service instance (not tied to a site)."""
    comp = _check_level("component", component)
    return f"{PREFIX}/_svc/{comp}/{_check_level('instance', instance)}/status"


def sim_control(site: str) -> str:
    """Run-time fault injection into a site's simulators."""
    return f"{PREFIX}/_sim/{_check_level('site', site)}/control"


def sim_status(site: str) -> str:
    """Retained status of a site's simulators (active faults)."""
    return f"{PREFIX}/_sim/{_check_level('site', site)}/status"


_RESERVED_LEVELS = frozenset({"_svc", "_sim"})

ALL_READINGS = f"{PREFIX}/+/+/readings"
ALL_ALARMS = f"{PREFIX}/+/alarms/+"
ALL_WORK_ORDERS = f"{PREFIX}/+/workorders/+"


def shared(group: str, topic_filter: str) -> str:
    """An MQTT 5 shared subscription of `topic_filter` for consumer group `group`."""
    return f"$share/{_check_level('group', group)}/{topic_filter}"


@dataclass(frozen=True, slots=True)
class ReadingsTopic:
    """The parts of a readings topic."""

    site: str
    gateway: str


def parse_readings(topic: str) -> ReadingsTopic | None:
    """Split a readings topic into site and gateway, or None when it is not one."""
    parts = topic.split("/")
    if len(parts) == 5 and f"{parts[0]}/{parts[1]}" == PREFIX and parts[4] == "readings":
        return ReadingsTopic(site=parts[2], gateway=parts[3])
    return None


def parse_gateway_status(topic: str) -> ReadingsTopic | None:
    """Site and gateway of a gateway's status topic, or None when it is not one (service
    statuses live under `_svc` and are not gateways)."""
    parts = topic.split("/")
    if (
        len(parts) == 5
        and f"{parts[0]}/{parts[1]}" == PREFIX
        and parts[4] == "status"
        and parts[2] not in _RESERVED_LEVELS
    ):
        return ReadingsTopic(site=parts[2], gateway=parts[3])
    return None


def site_of(topic: str) -> str | None:
    """The site level of any bw/v1 topic, or None."""
    parts = topic.split("/")
    if len(parts) >= 3 and f"{parts[0]}/{parts[1]}" == PREFIX and parts[2] not in _RESERVED_LEVELS:
        return parts[2]
    return None

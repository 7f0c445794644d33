"""Hostile review of issue 12: what a gateway account can make the console believe about
equipment it does not own (pure: the console's liveness and its live hub)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from bldgwatch.console.live import LiveHub
from bldgwatch.console.liveness import Liveness
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.models import EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.register import EquipmentRegister
from bldgwatch.core.site import SiteSpec

T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
# The site register (console `site_files`): E-01 belongs to gw-1.
REGISTER = EquipmentRegister(
    [
        SiteSpec.model_validate(
            {
                "site": "demo",
                "buildings": [{"id": "B1"}],
                "equipment": [
                    {"id": "E-01", "type": "elevator", "building": "B1", "gateway": "gw-1"}
                ],
            }
        )
    ]
)


def _batch(gateway: str, seq: int, reading: Reading) -> bytes:
    table = {reading.equipment: EquipmentInfo("elevator", "B1")}
    return encode_batch(ReadingBatch("demo", gateway, seq, table, [reading]))


def test_another_gateways_readings_do_not_make_a_silent_device_look_live() -> None:
    """FINDING (high): the console's liveness (data age, "live", devices_silent in the
    header and /healthz) takes every batch on any readings topic and rebinds each equipment
    in it to the publishing gateway, with no register or ownership check (it bypasses what
    ingest and rules enforce). E-01 belongs to gw-1, which has gone silent for 10 minutes (a
    dead elevator controller); one batch from gw-evil naming E-01 makes the console show
    E-01 live, fresh and carried by gw-evil, hiding the real outage from the operator."""
    clock = ManualClock(T0)
    life = Liveness(
        clock,
        stale_after_s=10,
        device_silent_after_s=30,
        broker_up=lambda: True,
        register=REGISTER,
    )
    life.ingest("bw/v1/demo/gw-1/readings", _batch("gw-1", 1, Reading("E-01", "speed_m_s", 1, 1.0)))
    clock.advance(600)
    forged = _batch("gw-evil", 1, Reading("E-01", "speed_m_s", 2, 1.0))
    life.ingest("bw/v1/demo/gw-evil/readings", forged)
    (lift,) = [d for d in life.devices(None) if d.equipment == "E-01"]
    assert lift.gateway == "gw-1"
    assert lift.live is False
    assert lift.data_age_s == 600.0


def test_the_live_hub_does_not_relay_availability_of_equipment_the_gateway_does_not_own() -> None:
    """FINDING (medium): issue 12 #3 says the live hub validates what it relays and that a
    gateway speaks only for the equipment the register gives it. The hub checks only that a
    status's own site/gateway fields match its topic; its `devices` map is relayed as is.
    gw-evil's retained status saying gw-1's E-01 is unavailable goes to every live console of
    the site as an equipment event from gw-evil (and, retained, to every console that
    connects later)."""
    hub = LiveHub(register=REGISTER)
    own = {"state": "online", "devices": {"E-01": {"available": True}}}
    assert hub.ingest("bw/v1/demo/gw-1/status", orjson.dumps(own)) is not None
    forged = {"state": "online", "devices": {"E-01": {"available": False}}}
    assert hub.ingest("bw/v1/demo/gw-evil/status", orjson.dumps(forged)) is None
    assert hub.dropped["not_owner"] == 1

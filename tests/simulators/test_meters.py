"""Meters: daily profiles of a building's electricity and water, the meter faults (leak, stuck,
rollover, replaced) stepped by driven time, and what the DL/T 645 line answers."""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import serial

from bldgwatch.core import dlt645
from bldgwatch.core.config import parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.profiles import load_dlt645_profiles
from bldgwatch.simulators.config import SimulatorConfig
from bldgwatch.simulators.devices import ElectricityMeterModel, WaterMeterModel
from bldgwatch.simulators.dlt645_server import Dlt645Server, MeterBinding, answer
from bldgwatch.simulators.equipment import SimulatedEquipment
from bldgwatch.simulators.errors import FaultError
from bldgwatch.simulators.service import build_servers
from bldgwatch.simulators.simulation import Simulation
from tests.simulators.helpers import T0, last, num, run_for

# Local midnight in Shanghai (the models' default offset is +8 h).
MIDNIGHT = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)


def local_hour(now: datetime) -> int:
    return (now.hour + 8) % 24


def electricity(seed: int = 3, **params: float) -> SimulatedEquipment:
    model = ElectricityMeterModel.build(start=MIDNIGHT, rng=random.Random(seed), params=params)
    return SimulatedEquipment("EM-01", model)


def water(seed: int = 3, **params: float) -> SimulatedEquipment:
    model = WaterMeterModel.build(start=MIDNIGHT, rng=random.Random(seed), params=params)
    return SimulatedEquipment("WM-01", model)


def by_local_hour(eq: SimulatedEquipment, point: str, start: datetime) -> dict[int, float]:
    rows: dict[int, list[float]] = {}
    for now, values in run_for(eq, start, 86_400, 60.0):
        rows.setdefault(local_hour(now - timedelta(seconds=1)), []).append(num(values[point]))
    return {hour: statistics.mean(v) for hour, v in rows.items()}


def test_building_load_has_a_night_base_and_a_day_peak_and_the_register_integrates_it() -> None:
    meter = electricity(base_kw=12.0, peak_kw=60.0)
    start_kwh = num(meter.values()["energy_kwh"])
    power = by_local_hour(meter, "power_kw", MIDNIGHT)
    assert 10 < power[3] < 20 and power[11] > 60
    values = meter.values()
    used = num(values["energy_kwh"]) - start_kwh
    assert used == pytest.approx(sum(power.values()), rel=0.03)  # kWh = mean kW x 1 h, summed
    phases = sum(num(values[f"power_l{n}_kw"]) for n in (1, 2, 3))
    assert phases == pytest.approx(num(values["power_kw"]))
    for n in (1, 2, 3):
        volt_amps = num(values[f"voltage_l{n}_v"]) * num(values[f"current_l{n}_a"])
        kw = volt_amps * num(values["power_factor"]) / 1000
        assert kw == pytest.approx(num(values[f"power_l{n}_kw"]))
        assert 220 < num(values[f"voltage_l{n}_v"]) < 240
    assert 49.9 < num(values["frequency_hz"]) < 50.1
    assert 0.85 < num(values["power_factor"]) <= 1.0


def test_water_has_morning_and_evening_peaks_and_a_night_minimum_near_zero() -> None:
    flow = by_local_hour(water(mean_m3h=2.0), "flow_m3h", MIDNIGHT)
    assert max(flow[h] for h in (1, 2, 3)) < 0.05 * 2.0  # under 5 % of the mean
    assert flow[7] > 3.0 and flow[19] > 3.0
    assert flow[7] > 2 * flow[14] and flow[19] > 2 * flow[14]


def test_a_leak_keeps_the_night_flow_from_falling() -> None:
    meter = water(mean_m3h=2.0)
    meter.start_fault("leak", {"flow_m3h": 0.4}, MIDNIGHT)
    flow = by_local_hour(meter, "flow_m3h", MIDNIGHT)
    assert min(flow[h] for h in (1, 2, 3, 4)) > 0.4
    end = MIDNIGHT + timedelta(days=1)
    meter.stop_fault("leak", end)
    night = [num(v["flow_m3h"]) for _t, v in run_for(meter, end, 4 * 3600, 60.0)][60:]
    assert statistics.mean(night) < 0.1


@pytest.mark.parametrize(("make", "counter"), [(electricity, "energy_kwh"), (water, "volume_m3")])
def test_a_stuck_counter_stops_while_use_goes_on(make: Any, counter: str) -> None:
    meter = make()
    t = last(meter, T0, 600, 10.0)
    meter.start_fault("counter_stuck", {}, t)
    frozen = num(meter.values()[counter])
    rows = [v for _t, v in run_for(meter, t, 3600, 10.0)]
    assert {num(v[counter]) for v in rows} == {frozen}
    if counter == "volume_m3":
        assert {num(v["flow_m3h"]) for v in rows} == {0.0}  # it measures what it counts
    else:
        assert min(num(v["power_kw"]) for v in rows) > 5  # the load is still there
    meter.stop_fault("counter_stuck", t + timedelta(hours=1))
    last(meter, t + timedelta(hours=1), 600, 10.0)
    assert num(meter.values()[counter]) > frozen


@pytest.mark.parametrize(
    ("make", "counter", "wrap"),
    [(electricity, "energy_kwh", 1_000_000.0), (water, "volume_m3", 4_294_967.296)],
)
def test_a_counter_rolls_over_at_its_format_s_maximum(make: Any, counter: str, wrap: float) -> None:
    meter = make()
    meter.start_fault("counter_rollover", {"margin": 0.5}, T0)
    seen = [num(v[counter]) for _t, v in run_for(meter, T0, 4 * 3600, 10.0)]
    assert seen[0] > wrap - 0.5
    drop = next(i for i in range(1, len(seen)) if seen[i] < seen[i - 1])
    assert seen[drop] < 5.0 and all(b >= a for a, b in itertools.pairwise(seen[drop:]))
    assert all(0 <= v < wrap for v in seen)


@pytest.mark.parametrize(("make", "counter"), [(electricity, "energy_kwh"), (water, "volume_m3")])
def test_a_replaced_meter_restarts_near_zero_with_a_new_number(make: Any, counter: str) -> None:
    meter = make()
    t = last(meter, T0, 600, 10.0)
    old = meter.values()
    assert num(old[counter]) > 100
    meter.start_fault("meter_replaced", {"reading": 0.2}, t)
    t = last(meter, t, 60, 10.0)
    new = meter.values()
    assert 0.2 <= num(new[counter]) < 2.0
    assert new["meter_number"] == num(old["meter_number"]) + 1
    meter.stop_fault("meter_replaced", t)
    last(meter, t, 60, 10.0)
    assert meter.values()["meter_number"] == new["meter_number"]  # the old one stays gone


def test_meter_faults_apply_only_to_meters() -> None:
    with pytest.raises(FaultError, match="does not apply to a electricity_meter"):
        electricity().start_fault("leak", {}, T0)
    with pytest.raises(FaultError, match="bad params"):
        water().start_fault("counter_rollover", {"margin": -1}, T0)
    with pytest.raises(FaultError, match="bad params"):
        water().start_fault("meter_replaced", {"meter_number": 10**12}, T0)


def test_the_same_seed_gives_the_same_meter() -> None:
    a, b = electricity(seed=8), electricity(seed=8)
    last(a, MIDNIGHT, 3600, 5.0)
    last(b, MIDNIGHT, 3600, 5.0)
    assert a.values() == b.values()


# -- what the DL/T 645 line answers -----------------------------------------------------------
PROFILE = load_dlt645_profiles()["dlt645-3ph"]
NUMBER = 230_000_000_417
ADDRESS = f"{NUMBER:012d}"


def line(*meters: SimulatedEquipment) -> list[MeterBinding]:
    return [MeterBinding(PROFILE, m) for m in meters]


def test_a_meter_answers_its_identifiers_in_the_standard_s_formats() -> None:
    meter = electricity(meter_number=NUMBER)
    last(meter, T0, 120, 10.0)
    values = meter.values()
    request = dlt645.read_request(ADDRESS, 0x00010000)
    reply = dlt645.check_reply(request, answer(line(meter), request))  # type: ignore[arg-type]
    [energy] = dlt645.decode_values(reply.payload, dlt645.DATA_ITEMS[0x00010000])
    assert energy == pytest.approx(num(values["energy_kwh"]), abs=0.005)
    block = dlt645.read_request(ADDRESS, 0x0203FF00)
    reply = dlt645.check_reply(block, answer(line(meter), block))  # type: ignore[arg-type]
    powers = dlt645.decode_values(reply.payload, dlt645.DATA_ITEMS[0x0203FF00])
    names = ["power_kw", "power_l1_kw", "power_l2_kw", "power_l3_kw"]
    assert powers == pytest.approx([num(values[n]) for n in names], abs=0.00005)
    single = dlt645.read_request(ADDRESS, 0x02010200)  # a member of a block the profile reads
    reply = dlt645.check_reply(single, answer(line(meter), single))  # type: ignore[arg-type]
    assert dlt645.decode_values(reply.payload, dlt645.DATA_ITEMS[0x02010200]) == [
        pytest.approx(num(values["voltage_l2_v"]), abs=0.05)
    ]


def test_what_a_line_does_not_answer_or_answers_with_an_error() -> None:
    meter, other = electricity(meter_number=NUMBER), electricity(seed=4, meter_number=NUMBER + 1)
    unknown = answer(line(meter), dlt645.read_request(ADDRESS, 0x04000401))
    assert unknown is not None and unknown.error and unknown.data == bytes([dlt645.ERR_NO_DATA])
    assert answer(line(meter), dlt645.read_request("000000000001", 0x00010000)) is None
    assert answer(line(meter), dlt645.read_request(dlt645.BROADCAST, 0x00010000)) is None
    wildcard = dlt645.read_request(dlt645.WILDCARD, 0x00010000)
    assert answer(line(meter, other), wildcard) is None  # two replies would collide
    found = answer(line(meter), dlt645.read_address_request())
    assert found is not None and found.data == dlt645.encode_address(ADDRESS)
    meter.start_fault("silent", {}, T0)
    assert answer(line(meter), dlt645.read_request(ADDRESS, 0x00010000)) is None
    meter.stop_fault("silent", T0)
    meter.start_fault("modbus_exception", {}, T0)
    failed = answer(line(meter), dlt645.read_request(ADDRESS, 0x00010000))
    assert failed is not None and failed.control == 0xD1


def test_a_replaced_meter_answers_at_its_new_address_only() -> None:
    meter = electricity(meter_number=NUMBER)
    meter.start_fault("meter_replaced", {"meter_number": 230_000_009_999}, T0)
    assert answer(line(meter), dlt645.read_request(ADDRESS, 0x00010000)) is None
    found = answer(line(meter), dlt645.read_address_request())
    assert found is not None and found.address == "230000009999"


# -- configuration ----------------------------------------------------------------------------
def sim_config(devices: list[dict[str, Any]]) -> SimulatorConfig:
    return parse_config({"devices": devices}, SimulatorConfig)


METER = {"equipment": "EM-1", "kind": "electricity_meter", "protocol": "dlt645"}


def test_meters_on_a_dlt645_line_get_one_server() -> None:
    cfg = sim_config(
        [
            {**METER, "profile": "dlt645-3ph", "serial_port": "/dev/x", "params": {}},
            {**METER, "equipment": "EM-2", "profile": "dlt645-3ph", "serial_port": "/dev/x"},
            {
                "equipment": "WM-1",
                "kind": "water_meter",
                "profile": "water-meter-modbus",
                "port": 15020,
            },
        ]
    )
    servers = build_servers(cfg, Simulation.from_config(cfg, start=T0))
    [meters] = [s for s in servers if isinstance(s, Dlt645Server)]
    assert meters.where == "/dev/x" and meters.baudrate == 2400 and len(meters.meters) == 2


@pytest.mark.parametrize(
    ("devices", "message"),
    [
        ([{**METER, "profile": "dlt645-3ph", "port": 15020}], "needs serial_port and no port"),
        ([{**METER, "profile": "electricity-meter-sdm", "serial_port": "/x"}], "unknown dlt645"),
        (
            [{**METER, "kind": "water_meter", "profile": "dlt645-3ph", "serial_port": "/x"}],
            "is for a electricity_meter",
        ),
        (
            [
                {**METER, "profile": "dlt645-3ph", "serial_port": "/x"},
                {
                    "equipment": "P-1",
                    "kind": "pump",
                    "profile": "pump-generic",
                    "serial_port": "/x",
                    "baudrate": 2400,
                },
            ],
            "one protocol per serial port",
        ),
        (
            [{**METER, "profile": "dlt645-3ph", "serial_port": "/x", "params": {"x": 1}}],
            "bad params",
        ),
    ],
)
def test_bad_meter_configs_are_refused(devices: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        sim_config(devices)


# -- on a serial line (socat pty pair) --------------------------------------------------------
async def test_the_server_answers_on_a_serial_line_through_noise(pty_pair: tuple[str, str]) -> None:
    server_end, client_end = pty_pair
    meter = electricity(meter_number=NUMBER)
    last(meter, T0, 120, 10.0)
    server = Dlt645Server(server_end, line(meter))
    await server.start()
    client = serial.Serial(client_end, baudrate=2400, parity=serial.PARITY_EVEN, timeout=0)
    try:
        request = dlt645.read_request(ADDRESS, 0x02800002)
        client.write(b"\x00\x13\x68" + dlt645.encode_frame(request))  # noise before the frame
        reader = dlt645.FrameReader()
        frames: list[dlt645.Frame] = []

        async def replied() -> bool:
            frames.extend(reader.feed(client.read(256)))
            return bool(frames)

        for _ in range(200):  # the server answers on this event loop: give it turns
            if await replied():
                break
            await asyncio.sleep(0.01)
        reply = dlt645.check_reply(request, frames[0])
        [hz] = dlt645.decode_values(reply.payload, dlt645.DATA_ITEMS[0x02800002])
        assert hz == pytest.approx(num(meter.values()["frequency_hz"]), abs=0.005)
        assert server.requests == 1 and server.refused >= 1
    finally:
        client.close()
        await server.stop()

"""DL/T 645-2007 meters in the gateway: the meter poller with a fake line (the transport
boundary) and driven time, the config's checks, and end to end over a socat serial pair with
the simulated meter."""

from __future__ import annotations

import asyncio
import functools
import random
import struct
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import serial
from pymodbus.framer import FramerRTU

from bldgwatch.core import dlt645, topics
from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.config import MqttSettings, parse_config
from bldgwatch.core.dlt645 import Frame
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.models import Reading
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.profiles import Dlt645Profile, load_dlt645_profiles
from bldgwatch.gateway.config import Dlt645MeterConfig, GatewayConfig
from bldgwatch.gateway.dlt645_poller import METER_ADDRESS, MeterPoller
from bldgwatch.gateway.errors import DeviceError
from bldgwatch.gateway.metrics import status_metrics
from bldgwatch.gateway.modbus_poller import AVAILABLE_POINT
from bldgwatch.gateway.service import Gateway
from bldgwatch.simulators.config import SimulatorConfig
from bldgwatch.simulators.devices import ElectricityMeterModel
from bldgwatch.simulators.dlt645_server import Dlt645Server, MeterBinding, answer
from bldgwatch.simulators.equipment import SimulatedEquipment
from bldgwatch.simulators.service import run as run_simulator
from tests.gateway.harness import Collector, in_process_config, serving
from tests.gateway.test_modbus_poller import wait_driven
from tests.waiting import wait_for

T0 = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai: a working day's load
NUMBER = 230_000_000_417
ADDRESS = f"{NUMBER:012d}"
PROFILE = load_dlt645_profiles()["dlt645-3ph"]


def simulated_meter(number: int = NUMBER, seed: int = 1) -> SimulatedEquipment:
    model = ElectricityMeterModel.build(
        start=T0, rng=random.Random(seed), params={"meter_number": number}
    )
    return SimulatedEquipment(f"EM-{seed}", model)


class FakeLine:
    """The line at the transport boundary: the simulated meters' answers, or a script."""

    def __init__(self, *meters: SimulatedEquipment) -> None:
        self.meters = [MeterBinding(PROFILE, m) for m in meters]
        self.connected = False
        self.up = True
        self.requests: list[Frame] = []
        self.script: Callable[[Frame], Frame | None] | None = None

    async def connect(self) -> bool:
        self.connected = self.up
        return self.up

    async def exchange(self, request: Frame) -> Frame:
        self.requests.append(request)
        reply = (self.script or functools.partial(answer, self.meters))(request)
        if not self.up or reply is None:
            raise DeviceError(f"meter {request.address}: no reply within 0.5 s", retryable=True)
        return reply

    def close(self) -> None:
        """The line stays open for the other devices on it."""


def make_poller(
    line: FakeLine, profile: Dlt645Profile = PROFILE, **config: Any
) -> tuple[MeterPoller, ManualClock, list[Reading]]:
    clock = ManualClock(T0)
    got: list[Reading] = []
    meter = Dlt645MeterConfig.model_validate(
        {
            "equipment": "EM-01",
            "building": "B1",
            "profile": profile.profile,
            "serial_port": "bus1",
            "address": ADDRESS,
            **config,
        }
    )
    poller = MeterPoller(
        meter,
        profile,
        line,
        sink=got.extend,
        clock=clock,
        rng=random.Random(0),
        wait=functools.partial(wait_driven, clock=clock),
    )
    return poller, clock, got


def values(readings: list[Reading]) -> dict[str, Any]:
    return {r.point: r.value for r in readings}


RESOLUTION = {"energy_kwh": 0.005, "voltage": 0.05, "current": 0.0005, "power": 0.00005}


def assert_meter_values(got: dict[str, Any], meter: SimulatedEquipment) -> None:
    """Every point of the profile, as the meter holds it, to the format's resolution."""
    model = meter.values()
    for name in PROFILE.point_names():
        step = next((v for k, v in RESOLUTION.items() if name.startswith(k)), 0.005)
        assert got[name] == pytest.approx(float(model[name]), abs=step), name


async def test_a_poll_reads_every_identifier_into_readings() -> None:
    meter = simulated_meter()
    line = FakeLine(meter)
    poller, _clock, got = make_poller(line)
    await poller.poll_once()
    assert_meter_values(values(got), meter)
    assert values(got)[AVAILABLE_POINT] is True
    assert {r.ts_ms for r in got} == {to_epoch_ms(T0)}
    assert [r.data[:4] for r in line.requests] == [
        dlt645.di_bytes(dlt645.parse_di(p.di)) for p in PROFILE.points
    ]  # one exchange per identifier; blocks read three or four values at once
    assert poller.stats.texts[METER_ADDRESS] == ADDRESS


async def test_a_wildcard_asks_the_address_and_asks_again_when_the_meter_was_replaced() -> None:
    meter = simulated_meter()
    line = FakeLine(meter)
    poller, clock, got = make_poller(line, address="AAAAAAAAAAAA")
    await poller.poll_once()
    assert line.requests[0] == dlt645.read_address_request()
    assert {r.address for r in line.requests[1:]} == {ADDRESS}  # then at its own address
    assert poller.stats.texts[METER_ADDRESS] == ADDRESS
    old_energy = values(got)["energy_kwh"]
    meter.start_fault("meter_replaced", {"reading": 0.5}, T0)
    got.clear()
    clock.advance(1.0)
    await poller.poll_once()  # the old address answers no more: a failed poll
    assert "no reply" in (poller.stats.last_error or "") and not got
    clock.advance(60.0)
    await poller.poll_once()
    assert poller.stats.texts[METER_ADDRESS] == "230000000418"
    assert values(got)["energy_kwh"] == pytest.approx(0.5) and old_energy > 1000


async def test_a_bad_read_address_reply_fails_the_poll_with_its_reason() -> None:
    line = FakeLine()
    line.script = lambda rq: Frame(ADDRESS, 0x93, b"\xff" * 6)
    poller, _clock, got = make_poller(line, address="AAAAAAAAAAAA", unavailable_after=1)
    await poller.poll_once()
    assert values(got) == {AVAILABLE_POINT: False}
    assert "read address" in (poller.stats.last_error or "")
    assert "not BCD" in (poller.stats.last_error or "")


async def test_an_identifier_the_meter_lacks_costs_only_itself(tmp_path: Path) -> None:
    folder = tmp_path / "dlt645"
    folder.mkdir()
    (folder / "m.yaml").write_text(
        "profile: site-meter\nequipment_type: electricity_meter\npoints:\n"
        '  - {di: "00010000", name: energy_kwh}\n'
        '  - {di: "00900200", name: balance_kwh, length: 4, decimals: 2}\n',
        encoding="utf-8",
    )
    profile = load_dlt645_profiles(tmp_path)["site-meter"]
    poller, _clock, got = make_poller(FakeLine(simulated_meter()), profile)
    await poller.poll_once()
    assert set(values(got)) == {"energy_kwh", AVAILABLE_POINT}
    assert poller.stats.exceptions == {dlt645.ERR_NO_DATA: 1}


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (lambda rq: dlt645.data_reply("000000000001", 0x00010000, b"\0" * 4), "reply from"),
        (lambda rq: dlt645.error_reply(rq.address, 0x11, 0x04), "password wrong"),
        (lambda rq: dlt645.data_reply(rq.address, 0x02010100, b"\x01\x22"), "identifier"),
        (lambda rq: Frame(rq.address, 0x91, rq.data[:4] + b"\x1a\x1a\x1a\x1a"), "not BCD"),
        (lambda rq: Frame(rq.address, 0x91, rq.data[:4] + b"\x00"), "value bytes"),
    ],
)
async def test_replies_that_are_not_the_answer_are_refused_with_their_reason(
    reply: Callable[[Frame], Frame], reason: str
) -> None:
    line = FakeLine()
    line.script = reply
    poller, _clock, got = make_poller(line, unavailable_after=1)
    await poller.poll_once()  # never raises: every identifier refused, the poll failed
    assert values(got) == {AVAILABLE_POINT: False}
    assert poller.stats.last_error is not None and reason in poller.stats.last_error


async def test_a_silent_meter_becomes_unavailable_and_recovers() -> None:
    meter = simulated_meter()
    line = FakeLine(meter)
    poller, clock, got = make_poller(line, unavailable_after=3, reconnect_min_s=1.0)
    await poller.poll_once()
    meter.start_fault("silent", {}, T0)
    got.clear()
    for _ in range(4):
        clock.advance(5.0)
        await poller.poll_once()
    assert got == [Reading("EM-01", AVAILABLE_POINT, to_epoch_ms(T0) + 15_000, False)]
    assert "no reply" in (poller.stats.last_error or "")
    meter.stop_fault("silent", T0)
    got.clear()
    clock.advance(120.0)
    await poller.poll_once()
    assert values(got)[AVAILABLE_POINT] is True and poller.stats.failed_polls == 4


async def test_follow_up_frames_are_joined() -> None:
    line = FakeLine()
    voltages = dlt645.encode_values([229.5, 230.1, 231.0], dlt645.DATA_ITEMS[0x0201FF00])

    def split(request: Frame) -> Frame:
        di = int.from_bytes(request.data[:4], "little")
        if request.function == dlt645.READ_DATA:
            return dlt645.data_reply(request.address, di, voltages[:2], follows=True)
        seq = request.data[4]
        rest = voltages[2:4] if seq == 1 else voltages[4:]
        control = 0xB2 if seq == 1 else 0x92  # read follow-up, more after the first
        return Frame(request.address, control, request.data[:4] + rest + bytes([seq]))

    line.script = split
    profile = Dlt645Profile.model_validate(
        {
            "profile": "volts",
            "equipment_type": "electricity_meter",
            "points": [{"di": "0201FF00", "names": ["v1", "v2", "v3"]}],
        }
    )
    poller, _clock, got = make_poller(line, profile)
    await poller.poll_once()
    assert values(got) == {"v1": 229.5, "v2": 230.1, "v3": 231.0, AVAILABLE_POINT: True}
    assert [r.control for r in line.requests] == [0x11, 0x12, 0x12]


# -- configuration ----------------------------------------------------------------------------
def gateway_config(meters: list[dict[str, Any]], **extra: Any) -> GatewayConfig:
    return parse_config(
        {
            "site": "t",
            "gateway_id": "gw",
            "serial_ports": [{"name": "bus1", "device": "/dev/x", "baudrate": 2400, "parity": "E"}],
            "dlt645_meters": [
                {"building": "B1", "profile": "dlt645-3ph", "serial_port": "bus1", **m}
                for m in meters
            ],
            **extra,
        },
        GatewayConfig,
    )


def test_meters_join_the_equipment_table() -> None:
    cfg = gateway_config(
        [{"equipment": "EM-1", "address": ADDRESS}, {"equipment": "EM-2", "address": "1" * 12}]
    )
    table = cfg.equipment_table(cfg.load_profiles())
    assert table["EM-1"].type == "electricity_meter" and table["EM-2"].building == "B1"


@pytest.mark.parametrize(
    ("meters", "message"),
    [
        ([{"equipment": "EM-1", "address": "12345"}], "12 digits"),
        ([{"equipment": "EM-1", "address": "999999999999"}], "broadcast"),
        ([{"equipment": "EM-1", "address": ADDRESS, "serial_port": "bus9"}], "unknown serial_port"),
        ([{"equipment": "EM-1", "address": ADDRESS, "profile": "x"}], "unknown DL/T 645 profile"),
        (
            [{"equipment": "EM-1", "address": ADDRESS}, {"equipment": "EM-2", "address": ADDRESS}],
            "is EM-1's already",
        ),
        (
            [
                {"equipment": "EM-1", "address": ADDRESS},
                {"equipment": "EM-2", "address": "AAAAAAAAAAAA"},
            ],
            "reach the same meter; a wildcard address needs the meter alone",
        ),
        (
            [{"equipment": "EM-1", "address": ADDRESS}, {"equipment": "EM-1", "address": "1" * 12}],
            "duplicate equipment id",
        ),
    ],
)
def test_bad_meter_configs_stop_the_gateway_at_start(
    meters: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        gateway_config(meters)


# -- end to end: the gateway polls simulated meters over a socat serial pair --------------------
class MeterLineServer:
    """The simulator's DL/T 645 server on one end of the pty pair, in its own loop thread."""

    def __init__(self, port: str, meters: list[SimulatedEquipment]) -> None:
        self.server = Dlt645Server(port, [MeterBinding(PROFILE, m) for m in meters])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.mark.timeout(120)
def test_the_gateway_polls_simulated_meters_over_a_serial_line(
    tmp_path: Path, pty_pair: tuple[Path, Path], mqtt_settings: MqttSettings
) -> None:
    gw_end, meter_end = pty_pair
    meters = [simulated_meter(NUMBER, seed=1), simulated_meter(NUMBER + 1, seed=2)]
    line = MeterLineServer(str(meter_end), meters)
    cfg = in_process_config(
        tmp_path,
        mqtt_settings,
        "gw-meters",
        status_interval_s=0.5,
        serial_ports=[
            {
                "name": "meters",
                "device": str(gw_end),
                "baudrate": 2400,
                "parity": "E",
                "timeout_s": 0.5,
            }
        ],
        dlt645_meters=[
            {
                "equipment": f"EM-0{i + 1}",
                "building": "B1",
                "profile": "dlt645-3ph",
                "serial_port": "meters",
                "address": f"{NUMBER + i:012d}",
                "poll_interval_s": 0.3,
            }
            for i in range(2)
        ],
    )
    collector = Collector(mqtt_settings, "t", "gw-meters")
    try:
        with serving(cfg) as gateway:
            wanted = [(f"EM-0{i}", n) for i in (1, 2) for n in PROFILE.point_names()]

            online: dict[str, Any] = {}

            def status_has_meters() -> bool:
                online.update(collector.status or {})
                devices = online.get("devices", {})
                return all(devices.get(f"EM-0{i}", {}).get("polls", 0) >= 2 for i in (1, 2))

            wait_for(
                lambda: all(k in collector.values for k in wanted) and status_has_meters(),
                timeout=40,
                what="readings of both meters and their status",
            )
    finally:
        line.close()
        collector.close()
    for i, meter in enumerate(meters, start=1):  # each meter's own values, not its neighbour's
        got = {n: collector.values[(f"EM-0{i}", n)] for n in PROFILE.point_names()}
        assert_meter_values(got, meter)
        assert collector.values[(f"EM-0{i}", AVAILABLE_POINT)] is True
    assert collector.values[("EM-01", "energy_kwh")] != collector.values[("EM-02", "energy_kwh")]
    em1 = online["devices"]["EM-01"]
    assert em1["text"][METER_ADDRESS] == ADDRESS and em1["failed_polls"] == 0
    polls = {  # the same metrics as a Modbus device's
        sample.labels["equipment"]: sample.value
        for family in status_metrics(online)
        if family.name == "bldgwatch_gateway_device_polls"
        for sample in family.samples
    }
    assert polls["EM-01"] >= 2 and polls["EM-02"] >= 2
    assert gateway.buses["meters"].exchanges >= 2 * 2 * len(PROFILE.points)


class MixedLine:
    """The far end of one RS-485 line with a Modbus RTU unit (unit 5: holding registers
    0..3 = 500..503) and a DL/T 645 meter on it, answering each protocol's requests."""

    def __init__(self, port: str, meter: SimulatedEquipment) -> None:
        self.port = serial.Serial(port, baudrate=2400, timeout=0.02)
        self.meters = [MeterBinding(PROFILE, meter)]
        self.served: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        buffer = bytearray()
        reader = dlt645.FrameReader()
        while not self._stop.is_set():
            buffer += self.port.read(256)
            if buffer[:1] in (b"\xfe", b"\x68"):
                for request in reader.feed(bytes(buffer)):
                    reply = answer(self.meters, request)
                    if reply is not None:
                        self.served.append("dlt645")
                        self.port.write(dlt645.encode_frame(reply))
                buffer.clear()
            elif len(buffer) >= 8:
                self._modbus(bytes(buffer[:8]))
                buffer.clear()

    def _modbus(self, request: bytes) -> None:
        unit, function, address, count = request[0], request[1], *struct.unpack(">HH", request[2:6])
        assert FramerRTU.compute_CRC(request[:6]).to_bytes(2, "big") == request[6:]
        if unit != 5 or function != 3:
            return
        body = bytes([unit, 3, 2 * count]) + b"".join(
            struct.pack(">H", 500 + a) for a in range(address, address + count)
        )
        self.served.append("modbus")
        self.port.write(body + FramerRTU.compute_CRC(body).to_bytes(2, "big"))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.port.close()


@pytest.mark.timeout(120)
def test_modbus_units_and_meters_share_one_line_owner(
    tmp_path: Path, pty_pair: tuple[Path, Path], mqtt_settings: MqttSettings
) -> None:
    gw_end, far_end = pty_pair
    meter = simulated_meter()
    line = MixedLine(str(far_end), meter)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "regs.yaml").write_text(
        "profile: regs\nequipment_type: load_test\npoints:\n"
        + "".join(
            f"  - {{name: r{i}, table: holding, address: {i}, type: uint16}}\n" for i in range(4)
        ),
        encoding="utf-8",
    )
    cfg = in_process_config(
        tmp_path,
        mqtt_settings,
        "gw-mixed",
        profiles_dir=str(profiles),
        serial_ports=[
            # 8N1: Linux ptys refuse every other reopen with even parity (EINVAL), and
            # this line is reopened at every handover
            {"name": "bus", "device": str(gw_end), "baudrate": 2400}
        ],
        devices=[
            {
                "equipment": "R-05",
                "building": "B1",
                "profile": "regs",
                "serial_port": "bus",
                "unit": 5,
                "poll_interval_s": 0.3,
            }
        ],
        dlt645_meters=[
            {
                "equipment": "EM-01",
                "building": "B1",
                "profile": "dlt645-3ph",
                "serial_port": "bus",
                "address": "AAAAAAAAAAAA",
                "poll_interval_s": 0.3,
            }
        ],
    )
    collector = Collector(mqtt_settings, "t", "gw-mixed")
    try:
        with serving(cfg) as gateway:
            wait_for(
                lambda: (
                    ("R-05", "r3") in collector.values
                    and ("EM-01", "frequency_hz") in collector.values
                    and gateway.buses["bus"].handovers >= 4
                ),
                timeout=60,
                what="readings of the Modbus unit and the meter, the line handed over",
            )
    finally:
        line.close()
        collector.close()
    assert [collector.values[("R-05", f"r{i}")] for i in range(4)] == [500, 501, 502, 503]
    got = {n: collector.values[("EM-01", n)] for n in PROFILE.point_names()}
    assert_meter_values(got, meter)
    assert {"modbus", "dlt645"} <= set(line.served)


@pytest.mark.timeout(120)
def test_the_simulator_service_serves_a_meter_the_gateway_finds_again_after_replacement(
    tmp_path: Path, pty_pair: tuple[Path, Path], mqtt_settings: MqttSettings
) -> None:
    gw_end, meter_end = pty_pair
    sim_cfg = parse_config(
        {
            "site": "t",
            "mqtt": {"port": mqtt_settings.port},
            "step_s": 0.1,
            "devices": [
                {
                    "equipment": "EM-01",
                    "kind": "electricity_meter",
                    "protocol": "dlt645",
                    "profile": "dlt645-3ph",
                    "serial_port": str(meter_end),
                    "params": {"meter_number": NUMBER, "start_kwh": 5000},
                }
            ],
        },
        SimulatorConfig,
    )
    cfg = in_process_config(
        tmp_path,
        mqtt_settings,
        "gw-sim",
        status_interval_s=0.3,
        serial_ports=[{"name": "m", "device": str(gw_end), "baudrate": 2400, "parity": "E"}],
        dlt645_meters=[
            {
                "equipment": "EM-01",
                "building": "B1",
                "profile": "dlt645-3ph",
                "serial_port": "m",
                "address": "AAAAAAAAAAAA",
                "poll_interval_s": 0.3,
                "unavailable_after": 1,
            }
        ],
    )
    collector = Collector(mqtt_settings, "t", "gw-sim")
    control = MqttClient(mqtt_settings, client_id="t-control")
    control.start()
    assert control.wait_connected(10)
    stop_sim, stop_gw = threading.Event(), threading.Event()
    sim = threading.Thread(target=run_simulator, args=(sim_cfg, stop_sim))
    sim.start()
    gateway = Gateway(cfg)
    gw = threading.Thread(target=lambda: asyncio.run(gateway.serve(stop_gw)))
    gw.start()
    seen: dict[str, Any] = {}

    def meter_address() -> str | None:
        seen.update(collector.status or {})
        device = seen.get("devices", {}).get("EM-01", {})
        return device.get("text", {}).get(METER_ADDRESS)

    try:
        wait_for(lambda: meter_address() == ADDRESS, timeout=30, what="the meter's address")
        wait_for(lambda: ("EM-01", "energy_kwh") in collector.values, timeout=30, what="energy")
        assert 5000 <= collector.values[("EM-01", "energy_kwh")] < 5001
        command = {
            "equipment": "EM-01",
            "fault": "meter_replaced",
            "action": "start",
            "params": {"reading": 1.0, "meter_number": 230_000_009_999},
        }
        control.publish(topics.sim_control("t"), orjson.dumps(command), qos=1)
        wait_for(
            lambda: (
                meter_address() == "230000009999"
                and collector.values.get(("EM-01", "energy_kwh"), 0) < 2
            ),
            timeout=30,
            what="the replaced meter under its new number",
        )
    finally:
        stop_gw.set()
        gw.join(30)
        stop_sim.set()
        sim.join(30)
        control.stop()
        collector.close()

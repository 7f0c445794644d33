"""`bldgwatch simulate`: Modbus TCP devices and MQTT sensors backed by models, with faults
scheduled in the config or started and stopped at run time over MQTT, and ground truth."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import paho.mqtt.client as paho

from bldgwatch.core import topics
from bldgwatch.core.clock import Clock, ScaledClock, SystemClock
from bldgwatch.core.mqtt import MqttClient, Will
from bldgwatch.simulators.config import SimulatorConfig, known_dlt645_profiles, known_profiles
from bldgwatch.simulators.dlt645_server import Dlt645Server, MeterBinding
from bldgwatch.simulators.errors import FaultError, SimulatorError
from bldgwatch.simulators.ground_truth import GroundTruthWriter
from bldgwatch.simulators.modbus_server import ModbusDeviceServer, UnitBinding
from bldgwatch.simulators.mqtt_sensor import MqttSensor
from bldgwatch.simulators.simulation import Simulation, StageOf
from bldgwatch.simulators.wire import CommandError, ControlCommand, parse_command, status_payload

logger = logging.getLogger(__name__)

__all__ = ["SimulatorService", "run"]


Server = ModbusDeviceServer | Dlt645Server


def build_servers(cfg: SimulatorConfig, sim: Simulation) -> list[Server]:
    """One server per TCP host:port or serial port, answering for the units (or, DL/T 645, the
    meters) configured on it."""
    profiles = known_profiles()
    grouped: dict[tuple[str, str, int], list[UnitBinding]] = defaultdict(list)
    meters: dict[tuple[str, str, int], list[MeterBinding]] = defaultdict(list)
    for dev in cfg.devices:
        equipment = sim.equipment[dev.equipment]
        if dev.protocol == "dlt645":
            meter_profile = known_dlt645_profiles()[dev.profile]
            meters[dev.endpoint].append(MeterBinding(meter_profile, equipment))
            continue
        binding = UnitBinding(dev.unit, profiles[dev.profile], equipment)
        grouped[dev.endpoint].append(binding)
    servers: list[Server] = [
        Dlt645Server(where, bound, baudrate=speed) for (_, where, speed), bound in meters.items()
    ]
    for (transport, where, number), units in grouped.items():
        if transport == "rtu":
            servers.append(ModbusDeviceServer.rtu(where, units, baudrate=number))
        else:
            servers.append(ModbusDeviceServer(where, number, units))
    return servers


@dataclass
class TickStats:
    """How long model steps take: a step longer than step_s means the simulator falls behind
    (and answers requests late); logged at most once a minute."""

    count: int = 0
    slowest_s: float = 0.0
    overruns: int = 0
    _last_warning: float = field(default=-math.inf, repr=False)

    def add(self, took: float, step_s: float) -> None:
        """Count one step of `took` seconds."""
        self.count += 1
        self.slowest_s = max(self.slowest_s, took)
        if took <= step_s:
            return
        self.overruns += 1
        now = time.monotonic()
        if now - self._last_warning >= 60.0:
            self._last_warning = now
            logger.warning(
                "model step took %.3f s, longer than step_s %.3f s (%d of %d so far)",
                took,
                step_s,
                self.overruns,
                self.count,
            )


class SimulatorService:
    """The I/O shell around a Simulation: servers, MQTT, ground truth, the step loop."""

    def __init__(
        self,
        cfg: SimulatorConfig,
        *,
        base_clock: Clock | None = None,
        start: datetime | None = None,
        stage_of: StageOf | None = None,
    ) -> None:
        self.cfg = cfg
        start = start or (base_clock or SystemClock()).now()
        self.clock = ScaledClock(start=start, speed=cfg.speed, base=base_clock)
        self.sim = Simulation.from_config(cfg, start=start, stage_of=stage_of)
        self.servers = build_servers(cfg, self.sim)
        self.sensors = [
            MqttSensor(
                self.sim.equipment[s.equipment], topic=s.topic, interval_s=s.interval_s, start=start
            )
            for s in cfg.sensors
        ]
        self.ground_truth = GroundTruthWriter(cfg.ground_truth)
        self._commands: asyncio.Queue[bytes] | None = None
        self.ticks = TickStats()
        self._status_wanted = threading.Event()
        self._last_status: tuple[tuple[str, str], ...] | None = None
        self.mqtt = MqttClient(
            cfg.mqtt,
            client_id=f"bw-sim-{cfg.site}-{os.getpid()}",
            will=Will(
                topics.sim_status(cfg.site), status_payload(cfg.site, start, [], running=False)
            ),
            on_connect=self._status_wanted.set,
        )

    async def run(self, stop: threading.Event) -> None:
        """Serve until `stop` is set, then end open episodes and close everything."""
        loop = asyncio.get_running_loop()
        commands: asyncio.Queue[bytes] = asyncio.Queue()
        self._commands = commands

        def on_control(msg: paho.MQTTMessage) -> None:  # paho's network thread
            loop.call_soon_threadsafe(commands.put_nowait, bytes(msg.payload))

        started: list[Server] = []
        try:
            for server in self.servers:
                await self._start_server(server)
                started.append(server)
            self.mqtt.subscribe(topics.sim_control(self.cfg.site), on_control, qos=1)
            self.mqtt.start()
            logger.info(
                "simulating %d devices and %d sensors at %.3gx",
                len(self.cfg.devices),
                len(self.sensors),
                self.cfg.speed,
            )
            while not stop.is_set():
                began = time.perf_counter()
                self.tick(self.clock.now())
                took = time.perf_counter() - began
                self.ticks.add(took, self.cfg.step_s)
                # Requests are answered between ticks: sleep what is left of the step.
                await asyncio.sleep(max(0.0, self.cfg.step_s - took))
        finally:
            await self._shutdown(started)

    async def _start_server(self, server: Server) -> None:
        try:
            await server.start()
        except (OSError, RuntimeError, ValueError) as err:  # serial: SerialException, ValueError
            raise SimulatorError(f"cannot serve devices on {server.where}: {err}") from err

    def tick(self, now: datetime) -> None:
        """One step: commands, faults, models, register images, sensors, status."""
        self._apply_commands(now)
        self.ground_truth.write(self.sim.step(now))
        for server in self.servers:
            server.refresh()
        for sensor in self.sensors:
            sensor.publish_due(self.mqtt, now)
        self._publish_status(now)

    def _apply_commands(self, now: datetime) -> None:
        while self._commands is not None and not self._commands.empty():
            payload = self._commands.get_nowait()
            try:
                self.apply(parse_command(payload), now)
            except (CommandError, FaultError) as err:
                logger.warning("control message ignored: %s (payload %.200r)", err, payload)

    def apply(self, cmd: ControlCommand, now: datetime) -> None:
        """Start or stop a fault at `now`; FaultError when it cannot be done."""
        if cmd.action == "start":
            self.sim.start_fault(cmd.equipment, cmd.fault, cmd.params, now)
            return
        episode = self.sim.stop_fault(cmd.equipment, cmd.fault, now)
        if episode is None:
            raise FaultError(cmd.equipment, cmd.fault, "not active")
        self.ground_truth.write([episode])

    def _publish_status(self, now: datetime, *, running: bool = True) -> None:
        active = self.sim.active()
        key = tuple((ep.equipment, ep.fault) for ep in active)
        if key == self._last_status and not self._status_wanted.is_set():
            return
        self._status_wanted.clear()
        self._last_status = key
        payload = status_payload(self.cfg.site, now, active, running=running)
        self.mqtt.publish(topics.sim_status(self.cfg.site), payload, qos=1, retain=True)

    async def _shutdown(self, started: list[Server]) -> None:
        now = self.clock.now()
        written = self.ground_truth.write(self.sim.close(now))
        if written:
            logger.info("ground truth: %d open episodes closed at shutdown", written)
        if self.mqtt.connected.is_set():
            payload = status_payload(self.cfg.site, now, [], running=False)
            info = self.mqtt.publish(topics.sim_status(self.cfg.site), payload, qos=1, retain=True)
            try:
                await asyncio.to_thread(info.wait_for_publish, 2.0)
            except (RuntimeError, ValueError) as err:
                logger.warning("final status not confirmed: %s", err)
        for server in started:
            await server.stop()
        self.mqtt.stop()
        logger.info("simulator stopped")


def run(cfg: SimulatorConfig, stop: threading.Event) -> None:
    """Run the simulator until `stop` is set (the component contract)."""
    asyncio.run(SimulatorService(cfg).run(stop))

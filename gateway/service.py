"""The gateway process: pollers, sensors, the durable queue and the publisher on one asyncio loop.

Threads: the asyncio loop owns the queue, the pollers and the publisher. paho's network
threads (the gateway's connection and any sensor's own broker) only hand work over with
`loop.call_soon_threadsafe`. `run()` blocks until `stop` is set, then stops polling, sends
what it can within `stop_flush_timeout_s`, publishes the offline status and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import orjson

from bldgwatch.core import sdnotify, topics
from bldgwatch.core.clock import Clock, SystemClock, to_epoch_ms
from bldgwatch.core.config import MqttSettings, parse_config
from bldgwatch.core.deadletter import DeadLetters
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.metrics import MetricsServer
from bldgwatch.core.models import Reading
from bldgwatch.core.mqtt import MqttClient, Will
from bldgwatch.core.profiles import DeviceProfile
from bldgwatch.gateway.config import DeviceConfig, GatewayConfig, SensorConfig
from bldgwatch.gateway.dlt645_poller import MeterPoller
from bldgwatch.gateway.fleet import (
    LOCAL_SECTIONS,
    ConfigRefusedError,
    LastGood,
    Pushed,
    changed_later,
    cpu_temperature_c,
    disk_free_bytes,
    merge_local,
    open_envelope,
    read_key,
    software_version,
    write_ca,
)
from bldgwatch.gateway.intake import Intake, PriorityWatch
from bldgwatch.gateway.metrics import gateway_registry
from bldgwatch.gateway.modbus_poller import DevicePoller, Poller, wait_or_stop
from bldgwatch.gateway.mqtt_sensors import SensorHub
from bldgwatch.gateway.publisher import BatchPublisher
from bldgwatch.gateway.queue import ReadingQueue
from bldgwatch.gateway.rtu import RtuBus
from bldgwatch.gateway.transport import ModbusTransport, TcpTransport

__all__ = ["Gateway", "run"]

logger = logging.getLogger(__name__)

OFFLINE = b'{"state":"offline"}'
_STATUS_TIMEOUT_S = 5.0  # a scrape gives up on a loop that does not answer
_HEALTH_TIMEOUT_S = 1.0
_POLL_STOP_S = 2.0
"""How long a poll in progress may run on once its pollers are told to stop (a swap, the
process stopping); then it is cancelled. A device that accepts and never answers, with a
long `timeout_s`, held the swap and SIGTERM for good (review 21e H1)."""
TransportFactory = Callable[[DeviceConfig], ModbusTransport]


def tcp_transport(device: DeviceConfig) -> ModbusTransport:
    """The default transport: Modbus TCP to the device's host and port."""
    assert device.host is not None  # the config guarantees TCP devices have one
    return TcpTransport(
        device.host, device.port, timeout_s=device.timeout_s, retries=device.retries
    )


def run(cfg: GatewayConfig, stop: threading.Event) -> None:
    """Run the gateway until `stop` is set; then flush, publish offline and close."""
    asyncio.run(Gateway(cfg).serve(stop))


def check(cfg: GatewayConfig) -> list[str]:
    """`bldgwatch gateway --check`: what a start would read, read without starting — the
    profiles, the fleet key, the broker's CA file, the last good pushed configuration —
    and no broker, queue or device touched (review 21e M5). ConfigError for what stops a
    start; the lines returned say what it would run (and a kept push it would not use)."""
    profiles = cfg.load_profiles()
    meters = cfg.load_dlt645_profiles()
    if cfg.mqtt.ca_file is not None and not os.access(cfg.mqtt.ca_file, os.R_OK):
        raise ConfigError(f"mqtt.ca_file {cfg.mqtt.ca_file}: cannot be read")
    said = [
        f"config of {cfg.site}/{cfg.gateway_id}: {len(cfg.devices)} devices, "
        f"{len(cfg.dlt645_meters)} meters, {len(cfg.mqtt_sensors)} sensors; "
        f"{len(profiles)} device profiles, {len(meters)} meter profiles"
    ]
    if cfg.fleet is None:
        return said
    key = read_key(cfg.fleet.key_file)
    raw = LastGood(cfg.fleet.state_dir).load()
    if raw is None:
        return [*said, "no pushed configuration kept: it runs this file's"]
    try:
        pushed = open_envelope(raw, key, site=cfg.site, gateway=cfg.gateway_id)
        doc = merge_local(pushed.config, cfg.model_dump(mode="json"))
        parse_config(doc, GatewayConfig, source=f"config version {pushed.version}")
    except (ConfigRefusedError, ConfigError) as err:
        return [*said, f"warning: the kept pushed configuration would not be used: {err}"]
    return [*said, f"it runs the kept pushed configuration, version {pushed.version}"]


class SwapError(Exception):
    """A configuration could not be built (the running one was put back)."""


class Gateway:
    """One gateway's parts and their lifetime."""

    def __init__(
        self,
        cfg: GatewayConfig,
        *,
        clock: Clock | None = None,
        transport_factory: TransportFactory = tcp_transport,
    ) -> None:
        self.cfg = cfg
        self._clock = clock or SystemClock()
        self._transport_factory = transport_factory
        self._status_topic = topics.gateway_status(cfg.site, cfg.gateway_id)
        self._closing = threading.Event()
        self.queue_errors = 0
        self._queue_failing = False
        self._started = time.monotonic()
        self._begun = self._clock.now()
        self._local = cfg.model_dump(mode="json")  # the install's file: identity, broker, queue
        self._key: bytes | None = None
        self.last_good: LastGood | None = None
        self._config_raw: bytes | None = None
        self._taken_version = 0
        """The newest pushed version taken to be tried (in memory: not yet decided)."""
        self._apply_lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._swap_to: GatewayConfig | None = None
        self._swapped: asyncio.Event | None = None
        self._swap_error: Exception | None = None
        self._generation: asyncio.Event | None = None
        self.config_state: dict[str, Any] = {
            "version": None,
            "source": "file",
            "state": "applied",
            "refused": None,
            "rollback": None,
            "pending_restart": [],
        }

    async def serve(self, stop: threading.Event) -> None:
        """Start everything, run until `stop`, shut down cleanly."""
        loop = asyncio.get_running_loop()
        aio_stop = asyncio.Event()
        self._aio_stop = aio_stop
        self._apply_lock = asyncio.Lock()
        _bridge(stop, loop, aio_stop)
        self._load_fleet()
        profiles = self.cfg.load_profiles()
        self.meter_profiles = self.cfg.load_dlt645_profiles()
        self.queue = ReadingQueue(self.cfg.queue.path, max_bytes=self.cfg.queue.max_bytes)
        try:
            self._build(loop, profiles)
            await self._run_tasks(aio_stop)
            await self._shutdown()
        finally:
            self.queue.close()

    def _load_fleet(self) -> None:
        """Read the fleet key (a bad one stops the start) and take the last good pushed
        configuration over the file's, if one is kept and still checks out."""
        fleet = self.cfg.fleet
        if fleet is None:
            return
        self._key = read_key(fleet.key_file)
        self.last_good = LastGood(fleet.state_dir)
        raw = self.last_good.load()
        if raw is None:
            return
        try:
            pushed = open_envelope(raw, self._key, site=self.cfg.site, gateway=self.cfg.gateway_id)
            cfg = self._validated(pushed)
        except (ConfigRefusedError, ConfigError) as err:
            logger.error("last good config in %s not used: %s", fleet.state_dir, err)
            return
        self.cfg, self._config_raw = cfg, raw
        self._taken_version = pushed.version  # kept, so decided (even if seen-version lags)
        self.config_state.update(version=pushed.version, source="pushed")
        logger.info("running pushed config version %d", pushed.version)

    def _validated(self, pushed: Pushed) -> GatewayConfig:
        """The pushed configuration with the install's sections, validated (ConfigError
        naming the bad field)."""
        doc = merge_local(pushed.config, self._local)
        return parse_config(doc, GatewayConfig, source=f"config version {pushed.version}")

    def _build(self, loop: asyncio.AbstractEventLoop, profiles: dict[str, DeviceProfile]) -> None:
        cfg = self.cfg
        self.client = MqttClient(
            cfg.mqtt,
            client_id=f"bw-gw-{cfg.site}-{cfg.gateway_id}",
            will=Will(self._status_topic, OFFLINE, qos=1, retain=True),
            on_connect=lambda: self._to_loop(loop, self._on_connect),
            on_publish=lambda mid, rc: self._to_loop(loop, self.publisher.on_puback, mid, rc),
            on_disconnect=lambda: self._to_loop(loop, self.publisher.on_disconnect),
            max_inflight=cfg.queue.max_inflight_batches + 10,
        )
        self.publisher = BatchPublisher(
            queue=self.queue,
            client=self.client,
            topic=topics.readings(cfg.site, cfg.gateway_id),
            site=cfg.site,
            gateway=cfg.gateway_id,
            equipment=cfg.equipment_table(profiles, self.meter_profiles),
            batch_max_readings=cfg.queue.batch_max_readings,
            max_inflight=cfg.queue.max_inflight_batches,
            flush_interval_s=cfg.queue.flush_interval_s,
            clock=self._clock,
            backlog_share=cfg.queue.backlog_share,
            live_window_s=cfg.queue.live_window_s,
            batch_max_bytes=cfg.queue.batch_max_bytes,
            resend_window_s=cfg.queue.resend_window_s,
        )
        self.intake = Intake(
            self._commit,
            deadline_s=cfg.queue.flush_deadline_s,
            max_readings=cfg.queue.batch_max_readings,
            watch=PriorityWatch(cfg.queue.priority_points),
        )
        self.pollers = self._make_pollers(cfg, profiles)
        self.metrics = MetricsServer(
            cfg.metrics.host,
            cfg.metrics.port,
            gateway_registry(functools.partial(self._status_on, loop)),
            name="gateway",
            healthy=functools.partial(self._loop_answers, loop),
        )
        dead_letters = topics.gateway_deadletter(cfg.site, cfg.gateway_id)
        self.sensors = SensorHub(
            sink=lambda readings: self._to_loop(loop, self._put, readings),
            clock=self._clock,
            dead_letters=DeadLetters(
                "gateway",
                self._publish_qos1,
                topic_for=lambda _source: dead_letters,
            ),
            limits=cfg.decode,
        )
        self._sensor_clients = self._subscribe_sensors(cfg.mqtt_sensors)
        if self._key is not None:
            self.client.subscribe(
                topics.gateway_config(cfg.site, cfg.gateway_id),
                lambda msg: self._to_loop(loop, self._on_config, bytes(msg.payload)),
                qos=1,
            )

    def _make_pollers(self, cfg: GatewayConfig, profiles: dict[str, DeviceProfile]) -> list[Poller]:
        """The serial lines (self.buses) and one poller per device and meter of `cfg`."""
        self.buses = {port.name: RtuBus(port) for port in cfg.serial_ports}
        pollers: list[Poller] = [
            DevicePoller(
                dev,
                dev.effective_profile(profiles),
                self._transport(dev),
                sink=self._put,
                clock=self._clock,
            )
            for dev in cfg.devices
        ]
        pollers += [
            MeterPoller(
                meter,
                self.meter_profiles[meter.profile],
                self.buses[meter.serial_port].meter(),
                sink=self._put,
                clock=self._clock,
            )
            for meter in cfg.dlt645_meters
        ]
        return pollers

    def _publish_qos1(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1)

    def _transport(self, device: DeviceConfig) -> ModbusTransport:
        """RTU devices share their line's single owner; TCP devices get their own connection."""
        if device.serial_port is not None:
            return self.buses[device.serial_port].unit()
        return self._transport_factory(device)

    def _subscribe_sensors(self, sensors: list[SensorConfig]) -> list[MqttClient]:
        """Subscribe each sensor on the gateway's connection or on its own broker's."""
        own: dict[MqttSettings, MqttClient] = {}
        for i, sensor in enumerate(sensors):
            client = self.client
            if sensor.mqtt is not None:
                if sensor.mqtt not in own:
                    settings = sensor.mqtt
                    try:
                        if settings.ca_pem is not None and self.cfg.fleet is not None:
                            # a pushed CA: kept as a file in the fleet state folder (review 21d H3)
                            ca = write_ca(self.cfg.fleet.state_dir, settings.ca_pem)
                            settings = settings.model_copy(update={"ca_file": ca, "ca_pem": None})
                        own[sensor.mqtt] = MqttClient(
                            settings,
                            client_id=f"bw-gw-{self.cfg.site}-{self.cfg.gateway_id}-s{len(own)}",
                        )
                    except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
                        # a CA file missing on this Pi, or not a certificate (review 21d H3)
                        field = "ca_pem" if sensor.mqtt.ca_pem is not None else "ca_file"
                        where = f"mqtt_sensors.{i}.mqtt.{field} {settings.ca_file or ''}".rstrip()
                        raise ValueError(f"{where}: {err}") from err
                client = own[sensor.mqtt]
            client.subscribe(sensor.topic, self.sensors.handler(sensor), qos=sensor.qos)
        return list(own.values())

    def _to_loop(
        self, loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any
    ) -> None:
        """Hand a call from a paho thread to the asyncio thread (dropped once closing)."""
        if self._closing.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed under us at shutdown
            loop.call_soon_threadsafe(fn, *args)

    # -- running ------------------------------------------------------------------------------
    async def _run_tasks(self, aio_stop: asyncio.Event) -> None:
        self.client.start()
        for client in self._sensor_clients:
            client.start()
        if self.cfg.metrics.enabled:
            self._start_metrics()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._run_pollers(aio_stop), name="pollers")
            tg.create_task(_supervised("publisher", self.publisher.run, aio_stop), name="publisher")
            tg.create_task(_supervised("status", self._status_loop, aio_stop), name="status")
            tg.create_task(_supervised("watchdog", self._watchdog, aio_stop), name="watchdog")
        logger.info("gateway %s stopping", self.cfg.gateway_id)

    async def _run_pollers(self, stop: asyncio.Event) -> None:
        """Run the current pollers; when a new configuration swaps them, stop them (each
        closes its connection), build the new ones and run those. The queue and the
        publisher are untouched: nothing queued is lost."""
        while True:
            generation = self._generation = asyncio.Event()
            tasks = [
                asyncio.create_task(
                    _supervised(f"poll-{p.device.equipment}", p.run, generation),
                    name=f"poll-{p.device.equipment}",
                )
                for p in self.pollers
            ]
            waits = [asyncio.create_task(stop.wait()), asyncio.create_task(generation.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for wait in waits:
                wait.cancel()
            generation.set()
            await _ended(tasks, _POLL_STOP_S)
            if stop.is_set():
                return
            new = self._swap_to
            if new is not None:
                self._swap_to = None
                self._swap_error = None
                previous = self.cfg
                try:
                    self._install(new)
                except Exception as err:  # any failure to build it is a failed trial
                    # e.g. a sensor broker's CA file missing on this Pi (review 21d H3): the
                    # running configuration comes back; the process never exits over a push
                    logger.exception("cannot apply the configuration: %s", err)
                    self._swap_error = err
                    self._install(previous)
            if self._swapped is not None:
                self._swapped.set()

    def _install(self, cfg: GatewayConfig) -> None:
        """Make `cfg` current: new serial lines and pollers, its equipment known to the
        publisher (besides the old, whose readings may still wait in the queue)."""
        for bus in self.buses.values():
            bus.close()
        profiles = cfg.load_profiles()
        self.meter_profiles = cfg.load_dlt645_profiles()
        old_sensors = self.cfg.mqtt_sensors
        self.cfg = cfg
        self.pollers = self._make_pollers(cfg, profiles)
        self.publisher.add_equipment(cfg.equipment_table(profiles, self.meter_profiles))
        if cfg.mqtt_sensors != old_sensors:
            self._resubscribe(old_sensors, cfg.mqtt_sensors)

    def _resubscribe(self, old: list[SensorConfig], new: list[SensorConfig]) -> None:
        """Leave the old sensors' topics (and their own brokers), listen on the new ones."""
        for sensor in old:
            if sensor.mqtt is None:
                self.client.unsubscribe(sensor.topic)
        for client in self._sensor_clients:
            client.stop()
        self._sensor_clients = self._subscribe_sensors(new)
        for client in self._sensor_clients:
            client.start()

    async def _swap(self, cfg: GatewayConfig) -> None:
        """Restart the pollers with `cfg`'s devices (asyncio thread); SwapError (the running
        configuration back in place) when `cfg` could not be built."""
        self._swap_to = cfg
        self._swapped = swapped = asyncio.Event()
        assert self._generation is not None
        self._generation.set()
        await swapped.wait()
        if self._swap_error is not None:
            err, self._swap_error = self._swap_error, None
            raise SwapError(str(err) or type(err).__name__) from err

    # -- pushed configuration -----------------------------------------------------------------
    def _on_config(self, payload: bytes) -> None:
        """A message on the config topic (asyncio thread): check it, then try it."""
        if not payload:
            return  # the retained config was cleared
        assert self._key is not None and self.last_good is not None
        try:
            pushed = open_envelope(
                payload, self._key, site=self.cfg.site, gateway=self.cfg.gateway_id
            )
            seen = max(self.last_good.highest_seen(), self._taken_version)
            if pushed.version == seen:
                return  # the retained message again (a reconnect), or one being tried
            if pushed.version < seen:
                raise ConfigRefusedError(
                    f"version {pushed.version} is older than {seen} (a replay?)",
                    "gateway.refused.replay",
                    version=pushed.version,
                    seen=seen,
                )
            # Seen on disk only once it is decided (refused, applied or rolled back): a
            # gateway that stops while it tries one tries the retained message again at start.
            self._taken_version = pushed.version
            try:
                cfg = self._validated(pushed)
            except ConfigError as err:
                self.last_good.saw(pushed.version)
                raise ConfigRefusedError(str(err), "gateway.refused.invalid") from err
        except ConfigRefusedError as err:
            self._refused(str(err), err.message())
            return
        task = asyncio.ensure_future(self._apply(pushed, cfg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _seen_version(self) -> int | None:
        """The highest pushed version taken (decided or on trial): the console numbers its
        next push above it (after its database was restored, its own count is behind)."""
        if self.last_good is None:
            return None
        return max(self.last_good.highest_seen(), self._taken_version) or None

    def _refused(self, reason: str, message: dict[str, Any]) -> None:
        logger.error("pushed config refused: %s", reason)
        self.config_state["refused"] = {
            "reason": reason,
            "message": message,
            "ts": to_epoch_ms(self._clock.now()),
        }
        self._status_now()

    def _status_now(self) -> None:
        if self.client.connected.is_set():
            self.publish_status()

    async def _apply(self, pushed: Pushed, cfg: GatewayConfig) -> None:
        """Run `cfg`; keep it when a device answers within `trial_polls` polls, else go back
        to the previous configuration if that one's devices answered."""
        assert self._apply_lock is not None and self.last_good is not None
        async with self._apply_lock:
            old, old_raw, old_version = self.cfg, self._config_raw, self.config_state["version"]
            old_answered = await self._settled_answer()
            # who answered under the running configuration, and where (review 21d M1)
            held = {p.device.equipment: p.device.where for p in self.pollers
                    if p.stats.answered_polls}  # fmt: skip
            later = changed_later(old.model_dump(mode="json"), cfg.model_dump(mode="json"))
            logger.info("applying pushed config version %d", pushed.version)
            try:
                await self._swap(cfg)
            except SwapError as err:
                self._roll_back(pushed, old_version, f"cannot apply it: {err}",
                                "gateway.rollback.failed", {"error": str(err)})  # fmt: skip
                self._status_now()
                return
            self.config_state.update(
                version=pushed.version, source="pushed", state="trial", pending_restart=later
            )
            self._status_now()
            assert cfg.fleet is not None
            polls = cfg.fleet.trial_polls
            wait_s = cfg.fleet.trial_timeout_s
            why_params: dict[str, Any]
            if self.pollers or cfg.mqtt_sensors:
                # each device that answered before at the same address must answer again
                must = [p for p in self.pollers if held.get(p.device.equipment) == p.device.where]
                answered, timed_out = await self._trial(polls, wait_s, must)
                why, why_key, why_params = self._why_failed(polls, wait_s, must, timed_out)
            else:  # polls nothing: kept only when the running one polled nothing either
                answered, why = False, "it has no device, meter or sensor"
                why_key, why_params = "gateway.rollback.empty", {}
            if self._aio_stop.is_set():
                return
            if answered or not old_answered:
                self.last_good.keep(pushed.raw)
                self.last_good.saw(pushed.version)
                self._config_raw = pushed.raw
                self.config_state["state"] = "applied"
                logger.info(
                    "pushed config version %d applied (answered %s, previous answered %s)",
                    pushed.version,
                    answered,
                    old_answered,
                )
            else:
                await self._swap(old)  # built before: it builds again
                self._config_raw = old_raw
                self._roll_back(pushed, old_version, why, why_key, why_params)
            self._status_now()

    def _why_failed(
        self, polls: int, wait_s: float, must: list[Poller], timed_out: bool
    ) -> tuple[str, str, dict[str, Any]]:
        """Why the trial of the current configuration failed: the log's text, the
        catalogue's key and its parameters."""
        silent = [p.device.equipment for p in must if not p.stats.answered_polls]
        seconds = {"seconds": f"{wait_s:g}"}
        if self.cfg.mqtt_sensors and not self.pollers:
            return f"no sensor message within {wait_s:g} s", "gateway.rollback.no_message", seconds
        if silent and any(p.stats.answered_polls for p in self.pollers):
            names = ", ".join(silent)
            if timed_out:
                why = f"{names} answered before and not within {wait_s:g} s"
                return why, "gateway.rollback.devices_timeout", {**seconds, "devices": names}
            why = f"{names} answered before and not within {polls} polls"
            return why, "gateway.rollback.devices_silent", {"polls": polls, "devices": names}
        if timed_out:
            return f"no device answered within {wait_s:g} s", "gateway.rollback.timeout", seconds
        return (
            f"no device answered within {polls} polls",
            "gateway.rollback.no_answer",
            {"polls": polls},
        )

    def _roll_back(
        self,
        pushed: Pushed,
        old_version: int | None,
        why: str,
        why_key: str,
        why_params: dict[str, Any],
    ) -> None:
        """Say `pushed` was rolled back (the previous configuration runs again) and why."""
        assert self.last_good is not None
        reason = f"{why}; back to version {old_version or 'from the file'}"
        back = (
            {"key": "gateway.config.version", "params": {"version": old_version}}
            if old_version
            else {"key": "gateway.config.from_file", "params": {}}
        )
        message = {"key": why_key, "params": {**why_params, "back": back}}
        logger.error("pushed config version %d rolled back: %s", pushed.version, reason)
        self.last_good.saw(pushed.version)
        self.config_state.update(
            version=old_version,
            state="rolled_back",
            pending_restart=[],
            rollback={
                "version": pushed.version,
                "reason": reason,
                "message": message,
                "ts": to_epoch_ms(self._clock.now()),
            },
        )

    def _answered(self, sensors_before: int) -> bool:
        """Whether the current configuration answered: with devices (or meters), one of them
        answered a poll; with sensors only, a sensor gave a reading since `sensors_before`.
        A sensor's messages do not vouch for devices that all fail (review 21c H2)."""
        if self.pollers:
            return any(p.stats.answered_polls for p in self.pollers)
        sensors = [s.equipment for s in self.cfg.mqtt_sensors]
        return bool(sensors) and self.sensors.answered(sensors) > sensors_before

    async def _settled_answer(self) -> bool:
        """Whether the running configuration answers, judged only once it had the chance:
        each poller has finished a poll or, with sensors only, they were listened to for
        the trial time since start. Right after a start nothing has answered yet, and a
        push must not be kept as if the running one had never worked."""
        fleet = self.cfg.fleet
        wait_s = fleet.trial_timeout_s if fleet is not None else 60.0
        while not self._aio_stop.is_set():
            if self._answered(0):
                return True
            if self.pollers:
                settled = all(p.stats.answered_polls + p.stats.failed_polls for p in self.pollers)
            else:
                up_s = (self._clock.now() - self._begun).total_seconds()
                settled = not self.cfg.mqtt_sensors or up_s >= wait_s
            if settled:
                return False
            await wait_or_stop(self._aio_stop, 0.05)
        return False

    async def _trial(self, polls: int, wait_s: float, must: list[Poller]) -> tuple[bool, bool]:
        """Whether the current configuration answers, and whether the trial ran out of time:
        with devices, one of them answers before each has polled `polls` times, and so does
        each of `must` (the devices that answered under the previous configuration at the
        same address: review 21d M1); with sensors only, one gives a reading. Either way
        within `wait_s` seconds: a device that has not answered by then counts as failed,
        whatever its poll interval and timeout (review 21e H1)."""
        sensors = [s.equipment for s in self.cfg.mqtt_sensors]
        before = self.sensors.answered(sensors)
        started = self._clock.now()
        while not self._aio_stop.is_set():
            if self._answered(before) and all(p.stats.answered_polls for p in must):
                return True, False
            if (self._clock.now() - started).total_seconds() >= wait_s:
                return False, True
            if self.pollers and (
                all(p.stats.failed_polls >= polls for p in self.pollers)
                or any(p.stats.failed_polls >= polls and not p.stats.answered_polls for p in must)
            ):
                return False, False
            await wait_or_stop(self._aio_stop, 0.05)
        return False, False

    def _put(self, readings: list[Reading]) -> None:
        """The one way into the queue (asyncio thread): through the intake's group commit."""
        self.intake.put(readings)

    def _commit(self, readings: list[Reading], urgent: bool) -> None:
        """Write readings to the queue and tell the publisher (the intake calls this)."""
        try:
            self.queue.put(readings)
        except sqlite3.Error as err:
            self.queue_errors += 1
            if self._queue_failing:
                logger.debug("still cannot queue readings: %s", err)
            else:
                logger.error("cannot queue %d readings (dropped): %s", len(readings), err)
            self._queue_failing = True
            return
        if self._queue_failing:
            logger.info("queueing readings again after %d failed writes", self.queue_errors)
            self._queue_failing = False
        self.publisher.notify(len(readings), urgent=urgent)

    def _on_connect(self) -> None:
        self.publish_status()
        self.publisher.wake()

    async def _watchdog(self, stop: asyncio.Event) -> None:
        """Tell systemd we are ready, then beat while this event loop turns: the heartbeat's
        thread pings systemd's watchdog only while the beats come (core.sdnotify)."""
        sdnotify.HEARTBEAT.ready(f"{len(self.pollers)} devices")
        while not stop.is_set():
            sdnotify.HEARTBEAT.beat()
            await wait_or_stop(stop, 1.0)

    async def _status_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await wait_or_stop(stop, self.cfg.status_interval_s)
            if not stop.is_set() and self.client.connected.is_set():
                self.publish_status()

    def status(self) -> dict[str, Any]:
        """The status document: state, queue, publisher, devices and sensors."""
        now_ms = to_epoch_ms(self._clock.now())
        q = self.queue.stats()
        p = self.publisher.stats
        return {
            "state": "online",
            "mqtt_connected": self.client.connected.is_set(),
            "site": self.cfg.site,
            "gateway": self.cfg.gateway_id,
            "ts": now_ms,
            "version": software_version(),
            "uptime_s": round(time.monotonic() - self._started, 1),
            "status_interval_s": self.cfg.status_interval_s,  # the console's stale limit
            "disk_free_bytes": disk_free_bytes(self.cfg.queue.path),
            "cpu_temp_c": cpu_temperature_c(),
            "config": {
                **self.config_state,
                "seen": self._seen_version(),
                **(
                    {"running": self._running_file()}
                    if self.config_state["source"] == "file"
                    else {}
                ),
            },
            "queue": {
                "depth": q.depth,
                "bytes": q.bytes,
                "batches": q.batches,
                "dropped": q.dropped,
                "dead_lettered": q.dead_lettered,
                "oldest_age_s": None
                if q.oldest_ts_ms is None
                else max(0.0, (now_ms - q.oldest_ts_ms) / 1000),
                "errors": self.queue_errors,
                "gathering": self.intake.pending,
                "urgent_commits": self.intake.urgent_commits,
            },
            "publisher": {
                "published": p.published,
                "acked": p.acked,
                "inflight": self.publisher.inflight,
                "readings_sent": p.readings_sent,
                "last_seq": p.last_seq,
                "backlog_batches": p.backlog_batches,
                "live_batches": p.live_batches,
                "refused": p.refused,
                "rebatched": p.rebatched,
                "dead_lettered": p.dead_lettered,
                "resent": p.resent,
            },
            "devices": {
                poller.device.equipment: {
                    "available": poller.availability.available,
                    "polls": poller.stats.polls,
                    "failed_polls": poller.stats.failed_polls,
                    "readings": poller.stats.readings,
                    "reconnects": poller.stats.reconnects,
                    "exceptions": {str(k): v for k, v in poller.stats.exceptions.items()},
                    "last_error": poller.stats.last_error,
                    "suppressed": poller.report.suppressed,
                    "unreadable": poller.stats.unreadable,
                    "text": poller.stats.texts,
                }
                for poller in self.pollers
            },
            "sensors": self.sensors.counters(),
        }

    def _running_file(self) -> dict[str, Any]:
        """The gateway's own file as a push would carry it, so the console's editor starts a
        first push from exactly what runs (review 21e M6): every section a push may hold (not
        the install's, `LOCAL_SECTIONS`), each entry whole — devices with their order, point
        overrides and timeouts, serial ports, meters, MQTT sensors — but only what differs from
        the defaults, to keep the status small. Without secrets: a sensor broker's password
        (the console refuses one in a push) and its CA file (a path on this box; a push
        carries the certificate itself, `ca_pem`). A devices-only report made an unchanged
        first push drop the sensors and reset every override (final review, HIGH-1)."""
        doc = self.cfg.model_dump(mode="json", exclude=set(LOCAL_SECTIONS), exclude_defaults=True)
        for sensor in doc.get("mqtt_sensors", []):
            broker = sensor.get("mqtt") if isinstance(sensor, dict) else None
            if isinstance(broker, dict):
                broker.pop("password", None)
                broker.pop("ca_file", None)
        return doc

    def _status_on(self, loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
        """The status document computed on `loop`, which owns the queue and the pollers (the
        metrics thread asks; the SQLite queue may only be used from the loop's thread)."""

        async def now() -> dict[str, Any]:
            return self.status()

        return asyncio.run_coroutine_threadsafe(now(), loop).result(_STATUS_TIMEOUT_S)

    @staticmethod
    def _loop_answers(loop: asyncio.AbstractEventLoop) -> bool:
        """Healthy means the event loop that polls and forwards turns: it runs a no-op for
        the metrics thread within a second (a wedged loop makes /healthz answer 503)."""
        try:
            probe = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop)
        except RuntimeError:  # the loop is closed
            return False
        try:
            probe.result(_HEALTH_TIMEOUT_S)
        except TimeoutError:
            probe.cancel()
            return False
        return True

    def _start_metrics(self) -> None:
        """Serve /metrics; an address in use is logged once and the gateway runs on without."""
        try:
            self.metrics.start()
        except OSError as err:
            host, port = self.cfg.metrics.host, self.cfg.metrics.port
            logger.error("metrics endpoint %s:%s not served: %s", host, port, err)

    def publish_status(self) -> None:
        """Publish the retained status (asyncio thread)."""
        self.client.publish(self._status_topic, orjson.dumps(self.status()), qos=1, retain=True)

    # -- stopping -----------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.to_thread(self.metrics.stop)
        for bus in self.buses.values():
            bus.close()
        for client in self._sensor_clients:
            client.stop()
        self.intake.flush()  # what was gathered goes to disk (and out, if it can)
        if self.client.connected.is_set():
            done = await self.publisher.drain(self.cfg.stop_flush_timeout_s)
            if not done:
                logger.warning(
                    "stopping with %d readings still queued (kept for next start)",
                    self.queue.stats().depth,
                )
            offline = orjson.dumps({"state": "offline", "ts": to_epoch_ms(self._clock.now())})
            info = self.client.publish(self._status_topic, offline, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                await asyncio.to_thread(info.wait_for_publish, 2.0)
        self._closing.set()
        self.client.stop()
        await asyncio.sleep(0)  # let hand-offs already on the loop run before the queue closes
        self.intake.flush()  # and what they brought
        logger.info("gateway %s stopped", self.cfg.gateway_id)


def _bridge(
    stop: threading.Event, loop: asyncio.AbstractEventLoop, aio_stop: asyncio.Event
) -> None:
    """Set `aio_stop` on the loop when the threading `stop` is set."""

    def watch() -> None:
        stop.wait()
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(aio_stop.set)

    threading.Thread(target=watch, name="gateway-stop", daemon=True).start()


async def _ended(tasks: list[asyncio.Task[None]], within_s: float) -> None:
    """Wait up to `within_s` for `tasks` to end by themselves; cancel the rest and wait for
    them (a cancelled poller closes its connection in its `finally`)."""
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=within_s)
    for task in pending:
        logger.warning("%s still in a poll after %g s: cancelled", task.get_name(), within_s)
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _supervised(
    name: str, body: Callable[[asyncio.Event], Coroutine[Any, Any, None]], stop: asyncio.Event
) -> None:
    """Run `body(stop)`; if it crashes, log it and start it again (a supervisor's top)."""
    while not stop.is_set():
        try:
            await body(stop)
        except Exception:
            logger.exception("%s crashed; restarting", name)
            await wait_or_stop(stop, 1.0)
        else:
            return

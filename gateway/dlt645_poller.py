"""Polling one DL/T 645-2007 meter: the data identifiers of its profile, one exchange each
(plus any follow-up frames), into the same readings, availability and metrics as a Modbus
device's (gateway.modbus_poller's `Poller` does the schedule, reconnects and availability).

A reply that is not the answer (another meter's address, an error reply, a malformed value) is
refused with its reason and costs only its identifier; no reply at all is a failed exchange,
retried as the serial port says, and a poll with nothing read is a failed poll. A meter
configured with a wildcard address is first asked its own address (read address, 0x13), and
asked again after a poll it did not answer (a replaced meter has a new one).
"""

from __future__ import annotations

import logging
import random
from typing import Protocol

from bldgwatch.core import dlt645
from bldgwatch.core.clock import Clock
from bldgwatch.core.dlt645 import DataItem, Frame, FrameError, ReplyError
from bldgwatch.core.models import Quality, Reading
from bldgwatch.core.profiles import Dlt645Profile
from bldgwatch.gateway.config import Dlt645MeterConfig
from bldgwatch.gateway.errors import DeviceError
from bldgwatch.gateway.modbus_poller import Poller, ReadingSink, Waiter, default_rule, wait_or_stop
from bldgwatch.gateway.rbe import ExceptionFilter
from bldgwatch.gateway.transport import Link

logger = logging.getLogger(__name__)

MAX_FOLLOW_UPS = 16
METER_ADDRESS = "meter_address"
"""Status text: the address the meter answered from (what a wildcard found)."""


class MeterTransport(Link, Protocol):
    """What a meter poller needs of its line (gateway.rtu's `MeterLine`)."""

    async def exchange(self, request: Frame) -> Frame:
        """Send a request; the first reply frame on the line, or DeviceError (retryable)."""
        ...


class MeterPoller(Poller):
    """Polls one DL/T 645 meter for its profile's identifiers."""

    def __init__(
        self,
        meter: Dlt645MeterConfig,
        profile: Dlt645Profile,
        line: MeterTransport,
        *,
        sink: ReadingSink,
        clock: Clock,
        wait: Waiter = wait_or_stop,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            meter,
            line,
            report=ExceptionFilter({}, default_rule(meter)),
            sink=sink,
            clock=clock,
            wait=wait,
            rng=rng,
        )
        self.meter = meter
        self.profile = profile
        self.items: list[tuple[DataItem, list[str]]] = [
            (point.item(), point.point_names()) for point in profile.points
        ]
        self._line = line
        self.wildcard = "A" in meter.address
        self.address: str | None = None if self.wildcard else meter.address

    async def _read_all(self, ts: int) -> tuple[list[Reading], list[str]]:
        if self.address is None:
            try:
                self.address = await self._find_address()
            except (ReplyError, FrameError) as err:
                return [], [f"{self.meter.where}: read address: {err}"]
        try:
            return await self._read_items(ts, self.address)
        except DeviceError:
            if self.wildcard:
                self.address = None  # no reply: maybe another meter now; ask again
            raise

    async def _find_address(self) -> str:
        """With a wildcard address, the meter's own address from read address (0x13): some
        meters answer read data only at their own address."""
        reply = await self._line.exchange(dlt645.read_address_request())
        address = dlt645.check_address_reply(reply)
        logger.info("%s: the meter on the line answers at %s", self.meter.equipment, address)
        self.stats.texts[METER_ADDRESS] = address
        return address

    async def _read_items(self, ts: int, address: str) -> tuple[list[Reading], list[str]]:
        readings: list[Reading] = []
        errors: list[str] = []
        for item, names in self.items:
            try:
                values = dlt645.decode_values(await self._read(address, item.di), item)
            except (ReplyError, FrameError) as err:
                errors.append(f"{self.meter.where} {dlt645.di_text(item.di)}: {err}")
                if isinstance(err, ReplyError) and err.error_byte is not None:
                    code = err.error_byte
                    self.stats.exceptions[code] = self.stats.exceptions.get(code, 0) + 1
                logger.debug("%s: %s", self.meter.equipment, errors[-1])
                continue
            equipment = self.meter.equipment
            readings.extend(
                Reading(equipment, name, ts, value, Quality.GOOD)
                for name, value in zip(names, values, strict=True)
            )
        return readings, errors

    async def _read(self, address: str, di: int) -> bytes:
        """The value bytes of one identifier, follow-up frames joined."""
        request = dlt645.read_request(address, di)
        reply = dlt645.check_reply(request, await self._line.exchange(request))
        self.stats.texts[METER_ADDRESS] = reply.address
        payload = reply.payload
        seq = 0
        while reply.follows:
            seq += 1
            if seq > MAX_FOLLOW_UPS:
                raise ReplyError(f"more than {MAX_FOLLOW_UPS} follow-up frames")
            follow = dlt645.read_follow_request(address, di, seq)
            reply = dlt645.check_reply(follow, await self._line.exchange(follow))
            payload += reply.payload
        return payload

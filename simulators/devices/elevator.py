"""A traction elevator: calls, a trapezoidal motion profile, a door cycle and safety chains."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from bldgwatch.core.models import Value
from bldgwatch.simulators.devices.base import DeviceModel, ModelParams

DOOR_ZONE_M = 0.1  # levelling sensor range either side of a floor level
ARRIVE_M = 0.003
OVERRUN_M = 0.4  # how far past a terminal landing an overrun ends (at the final limit switch)
LOST_FLOOR = 0  # what the controller reports as its floor when it has lost its position


def _braking_speed(gap: float, decel: float, dt: float) -> float:
    """Highest speed from which steps of `dt` decelerating at `decel` stop within `gap`."""
    k = decel * dt
    return k * (-0.5 + math.sqrt(0.25 + 2.0 * gap / (k * dt)))


class ElevatorParams(ModelParams):
    """Elevator model parameters."""

    floors: int = Field(12, ge=2, le=200, description="Floors served (reported 1..floors).")
    floor_height_m: float = Field(3.2, gt=0, description="Floor-to-floor height.")
    rated_speed_m_s: float = Field(1.75, gt=0, description="Contract speed.")
    accel_m_s2: float = Field(0.8, gt=0, description="Acceleration and deceleration.")
    rated_load_kg: float = Field(1000.0, gt=0, description="Rated load.")
    passenger_kg: float = Field(70.0, gt=0, description="Mean passenger mass.")
    door_time_s: float = Field(3.0, gt=0, description="Time to open or to close the doors.")
    dwell_s: float = Field(4.0, ge=0, description="Time the doors stay open.")
    calls_per_min: float = Field(1.0, ge=0, description="Mean passenger calls per minute.")
    rated_current_a: float = Field(40.0, gt=0, description="Motor rated current.")
    alarm_after_s: float = Field(20.0, ge=0, description="Trapped passengers press alarm after.")
    emergency_decel_m_s2: float = Field(1.5, gt=0, description="Deceleration of a brake stop.")


class Door(StrEnum):
    """Car door state."""

    CLOSED = "closed"
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"


@dataclass
class Passenger:
    """Someone in the car, going to `dest` (floor index)."""

    dest: int
    kg: float


@dataclass
class ElevatorDisturbance:
    """Inputs faults set; the neutral values mean a healthy elevator."""

    halted: bool = False  # the controller has stopped the car and will not move or open
    halted_s: float = 0.0  # how long the car has been halted (drives the alarm button)
    scripted: bool = False  # a fault moves the car itself (`ElevatorModel.place`)
    speed_factor: float = 1.0  # cruise speed as a multiple of rated (overspeed, abnormal)
    overrun: int = 0  # +1: runs past the top landing, -1: past the bottom one
    door_jam: str | None = None  # "open": never finishes opening; "close": never closes
    stuck_call: int | None = None  # floor index whose landing button is stuck
    position_lost: bool = False  # the controller no longer knows its floor


class ElevatorModel(DeviceModel):
    """One car: serves random calls, counts trips and run hours."""

    kind = "elevator"
    params_type = ElevatorParams
    max_substep_s = 0.1

    def __init__(
        self, *, start: datetime, rng: random.Random, params: ElevatorParams | None = None
    ) -> None:
        super().__init__(start=start, rng=rng)
        self.p = params or ElevatorParams()
        self.disturbance = ElevatorDisturbance()
        self.position_m = 0.0
        self.velocity_m_s = 0.0
        self.accel_now = 0.0
        self.door = Door.CLOSED
        self.door_timer_s = 0.0
        self.aboard: list[Passenger] = []
        self.waiting: list[tuple[int, int]] = []  # (origin, destination) floor indexes
        self.target: int | None = None
        self.trip_count = rng.randint(10_000, 200_000)
        self.run_hours = self.trip_count * 20 / 3600
        self.safety_circuit_ok = True
        self.lock_ok = True
        self.inspection_mode = False
        self.fire_mode = False
        self.alarm_button = False
        self.mains_power_ok = True

    # -- geometry -----------------------------------------------------------------------
    def level_of(self, floor: int) -> float:
        """Height of a floor's sill above the lowest one."""
        return floor * self.p.floor_height_m

    def nearest_floor(self) -> int:
        """Index of the floor level nearest the car."""
        return min(self.p.floors - 1, max(0, round(self.position_m / self.p.floor_height_m)))

    def in_door_zone(self) -> bool:
        """Whether the car is within levelling range of a floor."""
        return abs(self.position_m - self.level_of(self.nearest_floor())) <= DOOR_ZONE_M

    def terminal(self, direction: int) -> int:
        """Index of the top landing (+1) or the bottom one (-1)."""
        return self.p.floors - 1 if direction > 0 else 0

    def _goal_m(self) -> float:
        assert self.target is not None
        level = self.level_of(self.target)
        overrun = self.disturbance.overrun
        if overrun and self.target == self.terminal(overrun):
            return level + overrun * OVERRUN_M
        return level

    @property
    def moving(self) -> bool:
        """Whether the car is travelling."""
        return abs(self.velocity_m_s) > 0.005

    @property
    def load_kg(self) -> float:
        """Mass of the passengers aboard."""
        return sum(person.kg for person in self.aboard)

    # -- fault seams --------------------------------------------------------------------
    def trap(self, *, at_floor: bool) -> None:
        """Stop the car with doors closed and someone inside, at a floor level or between."""
        if not self.aboard:
            self.aboard.append(self._passenger(self.rng.randrange(self.p.floors)))
        floor = self.nearest_floor()
        if at_floor:
            self.position_m = self.level_of(floor)
        else:
            below = min(floor, self.p.floors - 2)
            self.position_m = self.level_of(below) + 0.45 * self.p.floor_height_m
        self.velocity_m_s = self.accel_now = 0.0
        self.door, self.door_timer_s, self.target = Door.CLOSED, 0.0, None
        self.disturbance.halted, self.disturbance.halted_s = True, 0.0

    def release(self) -> None:
        """Rescue: the car levels at the nearest floor and lets everyone out there."""
        self.disturbance.halted = False
        self.disturbance.scripted = False
        self.alarm_button = False
        rescue_floor = self.nearest_floor()
        for person in self.aboard:
            person.dest = rescue_floor
        self.target = rescue_floor

    def place(self, position_m: float, velocity_m_s: float) -> None:
        """A fault drives the car: the controller neither moves nor opens it meanwhile."""
        self.disturbance.halted = self.disturbance.scripted = True
        self.position_m, self.velocity_m_s, self.accel_now = position_m, velocity_m_s, 0.0

    def request_trip(self) -> None:
        """Someone at the car's floor calls it to go a few floors away (to provoke a run)."""
        here = self.nearest_floor()
        dest = here + 3 if here + 3 < self.p.floors else max(0, here - 3)
        self.waiting.append((here, dest))

    @property
    def idle(self) -> bool:
        """Parked with doors closed and nothing to do."""
        return self.target is None and self.door is Door.CLOSED and not self.moving

    # -- physics ------------------------------------------------------------------------
    def _passenger(self, dest: int) -> Passenger:
        return Passenger(dest=dest, kg=max(20.0, self.rng.gauss(self.p.passenger_kg, 12.0)))

    def _new_calls(self, dt: float) -> None:
        if self.fire_mode or self.inspection_mode or len(self.waiting) >= 20:
            return
        if self.rng.random() >= self.p.calls_per_min / 60.0 * dt:
            return
        floors = self.p.floors
        origin = 0 if self.rng.random() < 0.5 else self.rng.randrange(floors)
        dest = self.rng.randrange(floors - 1)
        self.waiting.append((origin, dest if dest < origin else dest + 1))

    def _exchange(self) -> None:
        """Passengers for this floor get out; those waiting here get in."""
        floor = self.nearest_floor()
        self.aboard = [person for person in self.aboard if person.dest != floor]
        boarding = [dest for origin, dest in self.waiting if origin == floor]
        self.waiting = [(o, d) for o, d in self.waiting if o != floor]
        for dest in boarding:
            if self.load_kg + self.p.passenger_kg <= self.p.rated_load_kg:
                self.aboard.append(self._passenger(dest))

    def _door_cycle(self, dt: float) -> None:
        p = self.p
        jam = self.disturbance.door_jam
        self.door_timer_s += dt
        if self.door is Door.OPENING and self.door_timer_s >= p.door_time_s:
            if jam != "open":  # a jammed operator never gets the doors fully open
                self.door, self.door_timer_s = Door.OPEN, 0.0
                self._exchange()
        elif self.door is Door.OPEN and self.door_timer_s >= p.dwell_s and not self.fire_mode:
            self.door, self.door_timer_s = Door.CLOSING, 0.0
        elif self.door is Door.CLOSING and self.door_timer_s >= p.door_time_s:
            # A door that cannot close reverses and reopens, again and again.
            self.door = Door.OPENING if jam == "close" else Door.CLOSED
            self.door_timer_s = 0.0

    def _choose_target(self) -> None:
        here, d = self.nearest_floor(), self.disturbance
        if d.overrun:
            self.target = self.terminal(d.overrun)
            return  # the goal lies beyond the landing: the car always moves
        if self.fire_mode or d.position_lost:
            self.target = 0  # fire recall, or the correction run to the bottom landing
            if d.position_lost and here == 0 and self.in_door_zone():
                self.target = None  # parked at the bottom, out of service
                return
        elif self.aboard:
            self.target = min((person.dest for person in self.aboard), key=lambda f: abs(f - here))
        elif self.waiting and not self.inspection_mode:
            self.target = self.waiting[0][0]
        elif d.stuck_call is not None:
            self.target = d.stuck_call  # the stuck button keeps calling the car
        if self.target == here and self.in_door_zone() and self.velocity_m_s == 0.0:
            self.position_m = self.level_of(here)
            self.target = None
            self.door, self.door_timer_s = Door.OPENING, 0.0

    def _move(self, dt: float) -> None:
        assert self.target is not None
        p, d = self.p, self.disturbance
        gap = self._goal_m() - self.position_m
        if abs(gap) < ARRIVE_M and abs(self.velocity_m_s) < 0.05:
            self._arrive()
            return
        slow = self.inspection_mode or d.position_lost
        v_max = p.rated_speed_m_s * (0.2 if slow else d.speed_factor)
        wanted = math.copysign(min(v_max, _braking_speed(abs(gap), p.accel_m_s2, dt)), gap)
        change = max(-p.accel_m_s2 * dt, min(p.accel_m_s2 * dt, wanted - self.velocity_m_s))
        self.accel_now = change / dt
        self.velocity_m_s += change
        step = self.velocity_m_s * dt
        if abs(step) >= abs(gap) and step * gap > 0:
            self._arrive()
            return
        self.position_m += step
        self.run_hours += dt / 3600.0

    def _arrive(self) -> None:
        assert self.target is not None
        self.position_m = self._goal_m()
        self.velocity_m_s = self.accel_now = 0.0
        self.target = None
        self.trip_count += 1
        if self.disturbance.overrun:  # past the landing: the final limit opens the chain
            self.safety_circuit_ok = False
            self.disturbance.halted = True
            return
        self.door, self.door_timer_s = Door.OPENING, 0.0

    def _may_run(self) -> bool:
        """The safety chain, the door locks and mains power let the car move."""
        chain = self.safety_circuit_ok and self.lock_ok and self.mains_power_ok
        return chain and self.door is Door.CLOSED

    def _brake(self, dt: float) -> None:
        """Emergency stop: the brake decelerates the car to a standstill where it is."""
        v = self.velocity_m_s
        dv = min(abs(v), self.p.emergency_decel_m_s2 * dt)
        slower = v - math.copysign(dv, v)
        self.position_m += (v + slower) / 2 * dt
        self.velocity_m_s = slower if abs(slower) > 1e-9 else 0.0
        self.accel_now = -math.copysign(dv / dt, v) if self.velocity_m_s else 0.0

    def _advance(self, dt: float) -> None:
        self._new_calls(dt)
        d = self.disturbance
        if d.scripted:
            return
        if self.velocity_m_s != 0.0 and (d.halted or not self._may_run()):
            self._brake(dt)
            return
        if d.halted:
            d.halted_s += dt
            self.alarm_button = bool(self.aboard) and d.halted_s >= self.p.alarm_after_s
            return
        if not self.mains_power_ok:
            return  # no power for the door operator either
        if self.door is not Door.CLOSED:
            self._door_cycle(dt)
            return
        if self.target is None:
            self._choose_target()
        if self.target is not None and self._may_run():
            self._move(dt)

    def motor_current_a(self) -> float:
        """Motor current: none parked, more when accelerating or moving an unbalanced load."""
        if (self.velocity_m_s == 0.0 and self.accel_now == 0.0) or not self.mains_power_ok:
            return 0.0
        p = self.p
        imbalance = abs(self.load_kg - 0.45 * p.rated_load_kg) / p.rated_load_kg
        speed = abs(self.velocity_m_s) / p.rated_speed_m_s
        accel = abs(self.accel_now) / p.accel_m_s2
        return p.rated_current_a * (0.2 + 0.3 * speed + 0.3 * accel + 0.5 * imbalance)

    def values(self) -> dict[str, Value]:
        moving = self.moving
        floor = LOST_FLOOR if self.disturbance.position_lost else self.nearest_floor() + 1
        return {
            "running": moving,
            "direction_up": moving and self.velocity_m_s > 0,
            "direction_down": moving and self.velocity_m_s < 0,
            "door_open": self.door is Door.OPEN,
            "door_closed": self.door is Door.CLOSED,
            "door_zone": self.in_door_zone(),
            "occupied": bool(self.aboard),
            "safety_circuit_ok": self.safety_circuit_ok,
            "door_lock_ok": self.lock_ok and self.door is Door.CLOSED,
            "inspection_mode": self.inspection_mode,
            "fire_mode": self.fire_mode,
            "alarm_button": self.alarm_button,
            "mains_power_ok": self.mains_power_ok,
            "floor": floor,
            "position_m": self.position_m,
            "speed_m_s": self.velocity_m_s,
            "load_kg": round(self.load_kg),
            "motor_current_a": self.motor_current_a(),
            "trip_count": self.trip_count,
            "run_hours": self.run_hours,
        }

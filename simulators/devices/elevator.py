"""A traction elevator: calls, a trapezoidal motion profile, a door cycle and safety chains."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from core.models import Value
from simulators.devices.base import DeviceModel, ModelParams

DOOR_ZONE_M = 0.1  # levelling sensor range either side of a floor level
ARRIVE_M = 0.003


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
        self.alarm_button = False
        rescue_floor = self.nearest_floor()
        for person in self.aboard:
            person.dest = rescue_floor

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
        self.door_timer_s += dt
        if self.door is Door.OPENING and self.door_timer_s >= p.door_time_s:
            self.door, self.door_timer_s = Door.OPEN, 0.0
            self._exchange()
        elif self.door is Door.OPEN and self.door_timer_s >= p.dwell_s and not self.fire_mode:
            self.door, self.door_timer_s = Door.CLOSING, 0.0
        elif self.door is Door.CLOSING and self.door_timer_s >= p.door_time_s:
            self.door, self.door_timer_s = Door.CLOSED, 0.0

    def _choose_target(self) -> None:
        here = self.nearest_floor()
        if self.fire_mode:
            self.target = 0
        elif self.aboard:
            self.target = min((person.dest for person in self.aboard), key=lambda f: abs(f - here))
        elif self.waiting and not self.inspection_mode:
            self.target = self.waiting[0][0]
        if self.target == here and self.in_door_zone() and self.velocity_m_s == 0.0:
            self.position_m = self.level_of(here)
            self.target = None
            self.door, self.door_timer_s = Door.OPENING, 0.0

    def _move(self, dt: float) -> None:
        assert self.target is not None
        p = self.p
        gap = self.level_of(self.target) - self.position_m
        if abs(gap) < ARRIVE_M and abs(self.velocity_m_s) < 0.05:
            self._arrive()
            return
        v_max = p.rated_speed_m_s * (0.2 if self.inspection_mode else 1.0)
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
        self.position_m = self.level_of(self.target)
        self.velocity_m_s = self.accel_now = 0.0
        self.target = None
        self.trip_count += 1
        self.door, self.door_timer_s = Door.OPENING, 0.0

    def _advance(self, dt: float) -> None:
        self._new_calls(dt)
        if self.disturbance.halted:
            self.disturbance.halted_s += dt
            self.alarm_button = self.disturbance.halted_s >= self.p.alarm_after_s
            return
        if self.door is not Door.CLOSED:
            self._door_cycle(dt)
            return
        if self.target is None:
            self._choose_target()
        can_move = self.safety_circuit_ok and self.lock_ok and self.mains_power_ok
        if self.target is not None and can_move:
            self._move(dt)

    def motor_current_a(self) -> float:
        """Motor current: none parked, more when accelerating or moving an unbalanced load."""
        if self.velocity_m_s == 0.0 and self.accel_now == 0.0:
            return 0.0
        p = self.p
        imbalance = abs(self.load_kg - 0.45 * p.rated_load_kg) / p.rated_load_kg
        speed = abs(self.velocity_m_s) / p.rated_speed_m_s
        accel = abs(self.accel_now) / p.accel_m_s2
        return p.rated_current_a * (0.2 + 0.3 * speed + 0.3 * accel + 0.5 * imbalance)

    def values(self) -> dict[str, Value]:
        moving = abs(self.velocity_m_s) > 0.005
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
            "floor": self.nearest_floor() + 1,
            "position_m": self.position_m,
            "speed_m_s": self.velocity_m_s,
            "load_kg": round(self.load_kg),
            "motor_current_a": self.motor_current_a(),
            "trip_count": self.trip_count,
            "run_hours": self.run_hours,
        }

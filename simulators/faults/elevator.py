"""Elevator faults of the GB/T 24476 family, each acting through the elevator's fault seams.

Faults that need the car in a given state (running, doors open at a landing) wait for it and
provoke it when the car is idle (a passenger call), so a scheduled fault always shows.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from bldgwatch.simulators.devices import ElevatorModel
from bldgwatch.simulators.devices.elevator import DOOR_ZONE_M, Door
from bldgwatch.simulators.faults.base import FaultParams, ModelFault

RUNNING_M_S = 0.3  # "the car is running" for faults that strike mid-travel


class EntrapmentParams(FaultParams):
    """Parameters of `entrapment`."""

    at_floor: bool = Field(True, description="Car stops level with a floor (else between).")


class Entrapment(ModelFault[ElevatorModel, EntrapmentParams]):
    """Car stopped, occupied, doors closed; ending it is the rescue."""

    name = "entrapment"
    model_type = ElevatorModel
    params_type = EntrapmentParams

    def on_begin(self, model: ElevatorModel) -> None:
        model.trap(at_floor=self.p.at_floor)

    def on_clear(self, model: ElevatorModel) -> None:
        model.release()


class _FixedEntrapment(ModelFault[ElevatorModel, FaultParams]):
    model_type = ElevatorModel
    at_floor = True

    def on_begin(self, model: ElevatorModel) -> None:
        model.trap(at_floor=self.at_floor)

    def on_clear(self, model: ElevatorModel) -> None:
        model.release()


class EntrapmentAtFloor(_FixedEntrapment):
    """平层关人: trapped level with a landing (the doors could open but do not)."""

    name = "entrapment_at_floor"


class EntrapmentBetweenFloors(_FixedEntrapment):
    """非平层关人: trapped between landings, outside the door zone."""

    name = "entrapment_between_floors"
    at_floor = False


class _Overrun(ModelFault[ElevatorModel, FaultParams]):
    """The car runs past a terminal landing until the final limit switch opens the safety
    chain (冲顶 / 蹲底): stopped beyond the landing, outside the door zone, chain open."""

    model_type = ElevatorModel
    direction = 0

    def on_begin(self, model: ElevatorModel) -> None:
        model.disturbance.overrun = self.direction
        model.target = None  # the next run goes to the terminal

    def on_clear(self, model: ElevatorModel) -> None:
        model.disturbance.overrun = 0
        model.safety_circuit_ok = True
        model.release()  # the technician resets the limit and levels the car


class OverrunTop(_Overrun):
    """冲顶: past the top landing."""

    name = "overrun_top"
    direction = 1


class OverrunBottom(_Overrun):
    """蹲底: past the bottom landing."""

    name = "overrun_bottom"
    direction = -1


class OverspeedParams(FaultParams):
    """Parameters of `overspeed`."""

    level: float = Field(1.2, description="Overspeed level reached: 1.2 or 1.4 x rated.")
    margin: float = Field(0.05, ge=0, le=0.2, description="How far past the level it cruises.")

    @field_validator("level")
    @classmethod
    def _two_levels(cls, level: float) -> float:
        if level not in (1.2, 1.4):
            raise ValueError("overspeed level is 1.2 or 1.4")
        return level


class Overspeed(ModelFault[ElevatorModel, OverspeedParams]):
    """超速: the drive no longer limits speed; the car cruises above the level x rated."""

    name = "overspeed"
    model_type = ElevatorModel
    params_type = OverspeedParams

    def on_begin(self, model: ElevatorModel) -> None:
        model.disturbance.speed_factor = self.p.level * (1.0 + self.p.margin)

    def on_evolve(self, model: ElevatorModel, elapsed_s: float) -> None:
        if model.idle:
            model.request_trip()

    def on_clear(self, model: ElevatorModel) -> None:
        model.disturbance.speed_factor = 1.0


class AbnormalSpeedParams(FaultParams):
    """Parameters of `abnormal_speed`."""

    factor: float = Field(0.5, gt=0, lt=1, description="Cruise speed as a multiple of rated.")


class AbnormalSpeed(ModelFault[ElevatorModel, AbnormalSpeedParams]):
    """速度异常: an encoder or drive fault; the car crawls at a fraction of contract speed."""

    name = "abnormal_speed"
    model_type = ElevatorModel
    params_type = AbnormalSpeedParams

    def on_begin(self, model: ElevatorModel) -> None:
        model.disturbance.speed_factor = self.p.factor

    def on_evolve(self, model: ElevatorModel, elapsed_s: float) -> None:
        if model.idle:
            model.request_trip()

    def on_clear(self, model: ElevatorModel) -> None:
        model.disturbance.speed_factor = 1.0


class _WhileRunning(ModelFault[ElevatorModel, FaultParams]):
    """Strikes once the car is running (provoking a trip when idle)."""

    model_type = ElevatorModel

    def on_begin(self, model: ElevatorModel) -> None:
        self.struck = False

    def on_evolve(self, model: ElevatorModel, elapsed_s: float) -> None:
        if self.struck:
            return
        if model.idle:
            model.request_trip()
        elif abs(model.velocity_m_s) >= RUNNING_M_S and self.ready(model):
            self.struck = True
            self.strike(model)

    def ready(self, model: ElevatorModel) -> bool:
        """Whether this is the moment to strike."""
        return True

    def strike(self, model: ElevatorModel) -> None:
        """Act on the running car."""

    def on_clear(self, model: ElevatorModel) -> None:
        model.release()


class DoorOpenWhileRunning(_WhileRunning):
    """运行中开门: a car door opens mid-travel; the lock chain breaks and the brake stops the
    car where it is, doors open."""

    name = "door_open_while_running"

    def strike(self, model: ElevatorModel) -> None:
        model.door, model.door_timer_s = Door.OPEN, 0.0
        model.disturbance.halted, model.disturbance.halted_s = True, 0.0


class StopOutsideDoorZone(_WhileRunning):
    """门区外停梯: the controller stops the car mid-travel where it cannot level; doors shut."""

    name = "stop_outside_door_zone"

    def ready(self, model: ElevatorModel) -> bool:
        v = model.velocity_m_s
        stop_at = model.position_m + v * abs(v) / (2 * model.p.emergency_decel_m_s2)
        height = model.p.floor_height_m
        off_level = abs(stop_at - round(stop_at / height) * height)
        top = model.level_of(model.p.floors - 1)
        return off_level > 3 * DOOR_ZONE_M and 0.0 < stop_at < top

    def strike(self, model: ElevatorModel) -> None:
        model.disturbance.halted, model.disturbance.halted_s = True, 0.0


class MovingWithDoorOpenParams(FaultParams):
    """Parameters of `moving_with_door_open`."""

    speed_m_s: float = Field(0.3, gt=0, le=1, description="Creep speed of the car.")
    stop_after_m: float = Field(0.8, gt=DOOR_ZONE_M, description="UCMP device stops it here.")


class MovingWithDoorOpen(ModelFault[ElevatorModel, MovingWithDoorOpenParams]):
    """开门走车 (UCMP): with the doors open at a landing the brake slips and the car creeps
    away until the unintended-movement device stops it and opens the safety chain."""

    name = "moving_with_door_open"
    model_type = ElevatorModel
    params_type = MovingWithDoorOpenParams

    def on_begin(self, model: ElevatorModel) -> None:
        self.since_s: float | None = None
        self.origin_m = 0.0
        self.direction = -1.0

    def on_evolve(self, model: ElevatorModel, elapsed_s: float) -> None:
        if self.since_s is None:
            if model.door is Door.OPEN and not model.moving:
                self.since_s, self.origin_m = elapsed_s, model.position_m
                self.direction = 1.0 if model.nearest_floor() == 0 else -1.0
            elif model.idle and model.in_door_zone():
                model.door, model.door_timer_s = Door.OPENING, 0.0  # a landing call
            return
        travelled = min(self.p.stop_after_m, self.p.speed_m_s * (elapsed_s - self.since_s))
        creeping = travelled < self.p.stop_after_m
        speed = self.direction * self.p.speed_m_s if creeping else 0.0
        model.place(self.origin_m + self.direction * travelled, speed)
        if not creeping:
            model.safety_circuit_ok = False

    def on_clear(self, model: ElevatorModel) -> None:
        model.safety_circuit_ok = True
        model.velocity_m_s = 0.0
        model.release()


class DoorOpenFailure(ModelFault[ElevatorModel, FaultParams]):
    """开门故障: the door operator cannot open the doors; they hang part-open at a landing."""

    name = "door_open_failure"
    model_type = ElevatorModel

    def on_begin(self, model: ElevatorModel) -> None:
        model.disturbance.door_jam = "open"

    def on_evolve(self, model: ElevatorModel, elapsed_s: float) -> None:
        if model.idle and model.in_door_zone():
            model.door, model.door_timer_s = Door.OPENING, 0.0  # a landing call

    def on_clear(self, model: ElevatorModel) -> None:
        model.disturbance.door_jam = None


class DoorCloseFailure(ModelFault[ElevatorModel, FaultParams]):
    """关门故障: the doors never close; they reverse and reopen over and over."""

    name = "door_close_failure"
    model_type = ElevatorModel

    def on_begin(self, model: ElevatorModel) -> None:
        model.disturbance.door_jam = "close"

    def on_evolve(self, model: ElevatorModel, elapsed_s: float) -> None:
        if model.idle and model.in_door_zone():
            model.door, model.door_timer_s = Door.OPENING, 0.0  # a landing call

    def on_clear(self, model: ElevatorModel) -> None:
        model.disturbance.door_jam = None


class SafetyCircuitOpen(ModelFault[ElevatorModel, FaultParams]):
    """安全回路断路: a safety contact opens; a running car brake-stops and stays put."""

    name = "safety_circuit_open"
    model_type = ElevatorModel

    def on_begin(self, model: ElevatorModel) -> None:
        model.safety_circuit_ok = False

    def on_clear(self, model: ElevatorModel) -> None:
        model.safety_circuit_ok = True


class DoorLockOpen(ModelFault[ElevatorModel, FaultParams]):
    """门锁回路断路: a landing-door lock contact is open with the doors closed; no run."""

    name = "door_lock_open"
    model_type = ElevatorModel

    def on_begin(self, model: ElevatorModel) -> None:
        model.lock_ok = False

    def on_clear(self, model: ElevatorModel) -> None:
        model.lock_ok = True


class PowerLoss(ModelFault[ElevatorModel, FaultParams]):
    """停电: mains lost; the brake stops the car wherever it is, motor and doors dead."""

    name = "power_loss"
    model_type = ElevatorModel

    def on_begin(self, model: ElevatorModel) -> None:
        model.mains_power_ok = False

    def on_clear(self, model: ElevatorModel) -> None:
        model.mains_power_ok = True
        if not model.in_door_zone():
            model.target = model.nearest_floor()  # re-levels when power returns


class LandingButtonStuckParams(FaultParams):
    """Parameters of `landing_button_stuck`."""

    floor: int | None = Field(None, ge=1, description="Landing (1-based); null = a random one.")


class LandingButtonStuck(ModelFault[ElevatorModel, LandingButtonStuckParams]):
    """层站按钮粘连: a landing button stays pressed; the car keeps returning there and
    cycling its doors with nobody getting in."""

    name = "landing_button_stuck"
    model_type = ElevatorModel
    params_type = LandingButtonStuckParams

    def on_begin(self, model: ElevatorModel) -> None:
        floors = model.p.floors
        floor = self.p.floor if self.p.floor is not None else model.rng.randint(1, floors)
        model.disturbance.stuck_call = min(floor, floors) - 1

    def on_clear(self, model: ElevatorModel) -> None:
        model.disturbance.stuck_call = None


class FloorPositionLost(ModelFault[ElevatorModel, FaultParams]):
    """楼层位置丢失: the controller loses its floor count; it reports floor 0 and makes a slow
    correction run to the bottom landing, where it parks out of service."""

    name = "floor_position_lost"
    model_type = ElevatorModel

    def on_begin(self, model: ElevatorModel) -> None:
        model.disturbance.position_lost = True
        model.target = None if not model.moving else model.target

    def on_clear(self, model: ElevatorModel) -> None:
        model.disturbance.position_lost = False

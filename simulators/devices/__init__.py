"""Device models, one module per kind, and the registry of kinds."""

from __future__ import annotations

from bldgwatch.simulators.devices.base import DeviceModel, ModelParams
from bldgwatch.simulators.devices.elevator import ElevatorModel
from bldgwatch.simulators.devices.meters import ElectricityMeterModel, MeterModel, WaterMeterModel
from bldgwatch.simulators.devices.pump import PumpModel
from bldgwatch.simulators.devices.shaft_panel import ShaftPanelModel
from bldgwatch.simulators.devices.temp_sensor import TempSensorModel

MODBUS_MODELS: dict[str, type[DeviceModel]] = {
    "pump": PumpModel,
    "elevator": ElevatorModel,
    "shaft_panel": ShaftPanelModel,
    "electricity_meter": ElectricityMeterModel,
    "water_meter": WaterMeterModel,
}
"""Kinds served over Modbus; a profile's `equipment_type` must equal the kind."""

SENSOR_MODELS: dict[str, type[DeviceModel]] = {
    "temp_sensor": TempSensorModel,
}
"""Kinds that publish JSON over MQTT themselves."""

MODELS: dict[str, type[DeviceModel]] = {**MODBUS_MODELS, **SENSOR_MODELS}

__all__ = [
    "MODBUS_MODELS",
    "MODELS",
    "SENSOR_MODELS",
    "DeviceModel",
    "ElectricityMeterModel",
    "ElevatorModel",
    "MeterModel",
    "ModelParams",
    "PumpModel",
    "ShaftPanelModel",
    "TempSensorModel",
    "WaterMeterModel",
]

"""The simulators: elevator, pump, shaft-panel and sensor models with fault injection and life
models, served as Modbus TCP devices and MQTT sensors, alone or as a scenario's fleet, with
the ground truth of every fault episode. They stand in for real devices in the demo, the
tests and the benchmarks, and import only `core`.

Public API (what the composition root uses):

- `cli`: `bldgwatch simulate`; `config`: `SimulatorConfig` and its device, sensor and fault
  entries; `service`: the simulator process; `scenario`: scenarios expanded into configs.
- `devices` and `faults`: the registries of device models (`MODELS`) and faults (`FAULTS`).

Everything else is internal. Importing the package imports none of its modules.
"""

__all__ = ["cli", "config", "devices", "faults", "scenario", "service"]

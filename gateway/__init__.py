"""The gateway: polls Modbus devices and reads MQTT sensors, keeps every reading in a durable
local queue, and publishes batches to the broker. It runs alone on a Raspberry Pi, so it
imports only `core` and the base install's libraries.

Public API (what the composition root uses):

- `config`: `GatewayConfig` and the settings nested in it.
- `service`: `run`, the gateway process, and `Gateway`, the same on a caller's event loop.
- `fleet`: configs pushed from the console — the signature (HMAC per gateway key), checking,
  applying with rollback; the console signs with it.

Everything else is internal: the pure parts (`planner`, `decode`, `overrides`, `rbe`) and the
shells around them (`modbus_poller`, `rtu`, `transport`, `mqtt_sensors`, `queue`,
`publisher`, `metrics`). Importing the package imports none of its modules.
"""

__all__ = [
    "config",
    "fleet",
    "service",
]

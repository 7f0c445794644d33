"""The console: the FastAPI REST API, the live stream (WebSocket) and the web dashboard, for
operators and supervisors. It reads through `rules` and `maintenance` and changes alarms and
work orders only through those packages' functions.

Public API (what the composition root uses):

- `config`: `ConsoleConfig` and its settings; `service`: `run`, the console process.
- `app`: `create_app`, the ASGI application factory.
- `users`: users and API tokens (`bldgwatch console-user`); `errors`: the console's errors.
- `fleet`: the gateways' configs — versions, validation with the gateway's own model, signed
  retained delivery (`bldgwatch gateway-key` makes the keys). It imports `gateway.config` and
  `gateway.fleet` (pure): the one sibling it needs beyond rules, maintenance and alerts.

Everything else is internal: `routers` (one per resource), request and response schemas,
auth and security, the live hub, paging and problem documents. Importing the package imports
none of its modules.
"""

__all__ = [
    "app",
    "config",
    "errors",
    "fleet",
    "service",
    "users",
]

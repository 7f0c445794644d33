"""Alerts: alarms reach the people on duty. Notification policies per site (which alarms go
to whom, through which channels, at which hours), on-call rotas in the site's time zone,
escalation until someone acknowledges, and delivery by e-mail, WeCom, DingTalk and Feishu
robots, a generic webhook and SMS, with every attempt recorded. Alerts owns its tables
(policies, rotas, contacts, channels, escalations, the outbox, deliveries, acknowledge
links): every write to them goes through this package.

Public API (what the composition root and the console use):

- `config`: `AlertsConfig` and the settings nested in it; `service`: `run`, the process.
- `documents`: the editable documents (contacts, rotas, policies); `channels`: the channel
  kinds and their settings; `admin`: saving and deleting them (validated) for the console.
- `queries`: the reads the console makes (documents, who is on call, an alarm's
  notifications); `acklinks`: redeeming a one-time acknowledge link.
- `secrets`: the alerts key and channel secrets; `models`: the tables; `errors`: the
  package's errors.

Everything else is internal: the pure parts (`oncall`, `escalation`, `pacing`, `render`) and
the shells around them (`store`, `consumer`, `dispatch`, `sites`).
Importing the package imports none of its modules.
"""

__all__ = [
    "acklinks",
    "admin",
    "channels",
    "config",
    "documents",
    "errors",
    "models",
    "queries",
    "secrets",
    "service",
]

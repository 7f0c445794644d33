"""Gateway configurations pushed from the console: versioned in the relational database
(who, when, why), validated with the gateway's own model before anything is sent, signed
with that gateway's key and published retained on its config topic (gateway.fleet has the
envelope; docs/gateway.md the whole path)."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.console.models import GatewayConfigRow
from bldgwatch.console.problems import check_detail
from bldgwatch.core import topics
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.i18n import Message, render
from bldgwatch.gateway.config import GatewayConfig, gateway_id_refusal
from bldgwatch.gateway.fleet import LOCAL_SECTIONS, read_key, sign
from bldgwatch.maintenance.models import EquipmentRow

logger = logging.getLogger(__name__)


class RefusedError(Exception):
    """A configuration the console will not send: the field and what is wrong with it."""

    def __init__(
        self, field: str, message: Message, check: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(field)
        self.field = field
        self.message = message
        self.check = check
        """pydantic's error, when a check refused it: said in the reader's language
        (console.problems.check_detail), not in pydantic's English."""

    def message_in(self, locale: str) -> Message:
        """The refusal, its check in `locale`'s words where the catalogue knows it."""
        if self.check is None:
            return self.message
        detail = check_detail({**self.check, "loc": ()}, locale)
        return Message("error.gateway.config_invalid", {"field": self.field, "error": detail})


def validate(
    site: str, gateway: str, config: dict[str, Any], profiles_dir: Path | None = None
) -> GatewayConfig:
    """The configuration as the gateway will run it, or RefusedError naming the first bad field.
    The install's own sections (identity, broker account, queue, fleet key, profile folder)
    are not pushed; its devices' profiles are checked against the built-in ones and the
    console's `gateway_profiles_dir` (never a folder a push names: review 21e M3)."""
    for name in LOCAL_SECTIONS:
        if name in config:
            raise RefusedError(name, Message("error.gateway.config_local", {"field": name}))
    sensors = config.get("mqtt_sensors")
    for i, sensor in enumerate(sensors if isinstance(sensors, list) else []):
        own = sensor.get("mqtt") if isinstance(sensor, dict) else None
        if isinstance(own, dict) and own.get("ca_file") is not None:
            # a file on the Pi, out of the console's sight: the push carries the CA itself
            # (a missing or wrong one only showed when the gateway applied it, review 21d H3)
            where = f"mqtt_sensors.{i}.mqtt.ca_file"
            raise RefusedError(where, Message("error.gateway.config_ca_file", {"field": where}))
    try:
        cfg = GatewayConfig.model_validate(
            {**config, "site": site, "gateway_id": gateway, "profiles_dir": profiles_dir}
        )
    except ValidationError as err:
        first = err.errors()[0]
        # a check of the whole configuration says which field it is about (review 21c M1)
        where = str((first.get("ctx") or {}).get("where") or "") or (
            ".".join(str(part) for part in first["loc"]) or "config"
        )
        raise RefusedError(
            where,
            Message("error.gateway.config_invalid", {"field": where, "error": first["msg"]}),
            check=dict(first),
        ) from err
    if not (cfg.devices or cfg.dlt645_meters or cfg.mqtt_sensors):  # the building goes dark
        raise RefusedError("devices", Message("error.gateway.config_empty"))
    readable = f"sensors/{site}/"  # the gateway's account reads only these (broker_auth)
    for i, sensor in enumerate(cfg.mqtt_sensors):
        if sensor.mqtt is None and not (
            sensor.topic.startswith(readable) and len(sensor.topic) > len(readable)
        ):  # the broker grants the subscription and delivers nothing: silent (review 21d M2)
            where = f"mqtt_sensors.{i}.topic"
            params = {"field": where, "topic": sensor.topic, "site": site}
            raise RefusedError(where, Message("error.gateway.config_topic", params))
        # a push is stored and shown to every reader of the fleet: it carries no secret
        if sensor.mqtt is not None and sensor.mqtt.password is not None:
            where = f"mqtt_sensors.{i}.mqtt.password"
            message = Message("error.gateway.config_secret", {"field": where, "site": site})
            raise RefusedError(where, message)
    return cfg


def check_register(session: Session, cfg: GatewayConfig) -> None:
    """RefusedError naming the first equipment the site's register does not give this
    gateway: unknown, of another gateway, or of none. Ingest and rules make the same check
    on every reading (core.register): such a device's readings would all be dead-lettered
    (`unknown_equipment`, `not_owner`) while the push looked applied (review 21c M2)."""
    named = cfg.equipment_ids()
    rows = session.execute(
        select(EquipmentRow.id, EquipmentRow.gateway).where(
            EquipmentRow.site == cfg.site, EquipmentRow.id.in_({eq for _, eq in named})
        )
    )
    owners: dict[str, str | None] = {row.id: row.gateway for row in rows}
    for where, eq in named:
        params = {"field": where, "equipment": eq, "site": cfg.site, "gateway": cfg.gateway_id}
        if eq not in owners:
            raise RefusedError(where, Message("error.gateway.config_unknown_equipment", params))
        owner = owners[eq]
        if owner is None:
            raise RefusedError(where, Message("error.gateway.config_no_owner", params))
        if owner != cfg.gateway_id:
            message = Message("error.gateway.config_not_owner", {**params, "owner": owner})
            raise RefusedError(where, message)


def registered(session: Session, site: str, gateway: str) -> list[str]:
    """The equipment the site's register gives this gateway, sorted."""
    rows = session.scalars(
        select(EquipmentRow.id).where(EquipmentRow.site == site, EquipmentRow.gateway == gateway)
    )
    return sorted(rows)


def check_left_out(session: Session, cfg: GatewayConfig, remove: Iterable[str]) -> None:
    """RefusedError naming the equipment the site's register gives this gateway that the
    push leaves out, unless `remove` names it: a push replaces the whole device list, so one
    added device would otherwise stop the polling of all the others without a word
    (review 21e M6). The page asks "these N devices will stop being polled" and sends them."""
    named = {eq for _, eq in cfg.equipment_ids()}
    meant = set(remove)
    given = registered(session, cfg.site, cfg.gateway_id)
    missing = [eq for eq in given if eq not in named and eq not in meant]
    if missing:
        params = {
            "field": "devices",
            "count": len(missing),
            "equipment": ", ".join(missing),
            "site": cfg.site,
            "gateway": cfg.gateway_id,
        }
        raise RefusedError("devices", Message("error.gateway.config_left_out", params))


def key_path(keys_dir: Path, site: str, gateway: str) -> Path:
    """Where the console keeps one gateway's fleet key."""
    topics.readings(site, gateway)  # ValueError for ids that are no topic level
    refusal = gateway_id_refusal(gateway)  # nor a reserved one (review 21e L1)
    if refusal is not None:
        raise ValueError(refusal)
    return keys_dir / site / f"{gateway}.key"


def gateway_key(keys_dir: Path | None, site: str, gateway: str) -> bytes | None:
    """The gateway's key, None when none is provisioned (or it is unusable: logged)."""
    if keys_dir is None:
        return None
    try:
        path = key_path(keys_dir, site, gateway)
    except ValueError:
        return None
    if not path.exists():
        return None
    try:
        return read_key(path)
    except ConfigError as err:
        logger.warning("gateway %s/%s: its key is unusable: %s", site, gateway, err)
        return None


def versions(session: Session, site: str, gateway: str) -> list[GatewayConfigRow]:
    """The gateway's stored versions, newest first."""
    return list(
        session.scalars(
            select(GatewayConfigRow)
            .where(GatewayConfigRow.site == site, GatewayConfigRow.gateway == gateway)
            .order_by(GatewayConfigRow.version.desc())
        )
    )


def version(session: Session, site: str, gateway: str, number: int) -> GatewayConfigRow | None:
    """One stored version."""
    return session.get(GatewayConfigRow, (site, gateway, number))


def latest_versions(session: Session) -> dict[tuple[str, str], int]:
    """(site, gateway) → newest stored version, for every gateway with one."""
    rows = session.execute(
        select(
            GatewayConfigRow.site, GatewayConfigRow.gateway, func.max(GatewayConfigRow.version)
        ).group_by(GatewayConfigRow.site, GatewayConfigRow.gateway)
    ).all()
    return {(str(s), str(g)): int(v) for s, g, v in rows}


MAX_VERSION = 2**31 - 1
"""The highest version number the API reads back (the column is a 32-bit integer on
PostgreSQL; `REPORT_MARGIN` per push keeps the numbers far below)."""
REPORT_MARGIN = 1000
"""How far above the newest stored version a gateway's reported version is believed (a
database restored from an older backup is behind by the pushes since; the status is written
by the gateway, the least trusted box, and may say anything)."""


def store(
    session: Session,
    *,
    site: str,
    gateway: str,
    config: dict[str, Any],
    author: str,
    reason: str,
    at: datetime,
    above: int = 0,
) -> GatewayConfigRow:
    """Store the next version (the caller commits): above the newest stored and above
    `above`, the highest the gateway reports having taken (a restored database is behind the
    gateway, which refuses a number it has had as a replay). A reported number more than
    `REPORT_MARGIN` above the newest stored is not believed: it is logged and the number
    goes up by the margin only (a lying gateway can neither overflow the column nor burn the
    number space in one go; a database far behind catches up over a few pushes)."""
    for attempt in range(STORE_TRIES):
        row = _next_row(session, site, gateway, above)
        row.config, row.author, row.reason, row.created_at = config, author, reason, at
        if session.get_bind().dialect.name != "postgresql":  # SQLite: numbered under its lock
            session.add(row)
            session.flush()
            return row
        try:
            with session.begin_nested():  # two pushes at once: the second takes the next
                session.add(row)
        except IntegrityError:
            if attempt == STORE_TRIES - 1:
                raise
            logger.info(
                "config version %s of %s/%s taken at once: next", row.version, site, gateway
            )
        else:
            return row
    raise AssertionError("unreachable")


STORE_TRIES = 5
"""How often a push numbers its version again when another push took the number at once."""


def _next_row(session: Session, site: str, gateway: str, above: int) -> GatewayConfigRow:
    """A row with the next version number (the rest filled in by the caller)."""
    newest_query = select(func.max(GatewayConfigRow.version)).where(
        GatewayConfigRow.site == site, GatewayConfigRow.gateway == gateway
    )
    if session.get_bind().dialect.name == "sqlite":
        # the database's write lock before the newest is read (core.db._locked_read: BEGIN
        # IMMEDIATE): two pushes at once number one after the other, never the same number
        # and a 503 showing SQL (review 21e L9); PostgreSQL retries in `store` instead
        newest_query = newest_query.with_for_update()
    else:  # PostgreSQL: one numbering per gateway at a time, to the commit (eight at once
        # lost the retries below: a push that lost five times was a 503)
        session.execute(
            select(func.pg_advisory_xact_lock(func.hashtext(f"bldgwatch.gwcfg/{site}/{gateway}")))
        )
    newest = int(session.scalar(newest_query) or 0)
    if above > newest + REPORT_MARGIN:
        logger.warning(
            "gateway %s/%s reports config version %s, far above the newest stored (%s): "
            "numbering from %s",
            site,
            gateway,
            above,
            newest,
            newest + REPORT_MARGIN,
        )
        above = newest + REPORT_MARGIN
    number = max(newest, above) + 1
    return GatewayConfigRow(site=site, gateway=gateway, version=number)


GATEWAY_KEYS = ("gateway.refused.", "gateway.rollback.")
"""The catalogue keys a gateway's status may name for a refusal or a rollback."""


def translated(config: dict[str, Any], locale: str) -> dict[str, Any]:
    """The gateway's config report with its refusal and rollback reasons in `locale`: the
    gateway sends them as catalogue keys and parameters beside its English text (kept when
    the key is not one of `GATEWAY_KEYS`, e.g. from an older gateway)."""
    out = dict(config)
    for part in ("refused", "rollback"):
        found = config.get(part)
        if not isinstance(found, dict):
            continue
        message = found.get("message")
        if (
            isinstance(message, dict)
            and isinstance(message.get("key"), str)
            and message["key"].startswith(GATEWAY_KEYS)
            and isinstance(message.get("params", {}), dict)
        ):
            text = render(message["key"], message.get("params") or {}, locale)
            out[part] = {**found, "reason": text}
    return out


def reported_version(status: dict[str, Any] | None) -> int:
    """The highest pushed version a gateway's status says it has had: running, taken, or
    rolled back (0: none)."""
    config = (status or {}).get("config")
    if not isinstance(config, dict):
        return 0
    rollback = config.get("rollback")
    found = [config.get("version"), config.get("seen")]
    if isinstance(rollback, dict):
        found.append(rollback.get("version"))
    return max((v for v in found if isinstance(v, int) and not isinstance(v, bool)), default=0)


def envelope(key: bytes, row: GatewayConfigRow) -> bytes:
    """The signed message of a stored version."""
    return sign(key, site=row.site, gateway=row.gateway, version=row.version, config=row.config)


def as_text(config: dict[str, Any]) -> str:
    """A configuration as YAML, keys sorted (what a diff compares)."""
    return yaml.safe_dump(config, sort_keys=True, allow_unicode=True)


def diff(old: GatewayConfigRow | None, new: GatewayConfigRow) -> str:
    """A unified diff from `old` (None: empty) to `new`."""
    before = as_text(old.config).splitlines(keepends=True) if old is not None else []
    return "".join(
        difflib.unified_diff(
            before,
            as_text(new.config).splitlines(keepends=True),
            fromfile=f"v{old.version}" if old is not None else "(none)",
            tofile=f"v{new.version}",
        )
    )

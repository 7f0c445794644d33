"""`/api/gateways`: the fleet — each gateway's state (online/offline, last seen), its health
from its status topic (software version, uptime, queue, disk, CPU temperature, devices,
the config it runs and any refusal or rollback), and its configuration versions: read them,
compare them, push a new one (validated, stored with who and why, signed, sent retained to
that gateway only). Engineers and supervisors read; admins push."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from bldgwatch.console import audit, fleet
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import ENGINEER, SUPERVISOR, Admin, User, require
from bldgwatch.console.bus import MqttBridge
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import NotFoundError, UnavailableError, UnprocessableError
from bldgwatch.console.liveness import GatewayLife, Liveness
from bldgwatch.console.locale import locale_of
from bldgwatch.console.models import GatewayConfigRow
from bldgwatch.console.problems import problem_docs
from bldgwatch.core import topics
from bldgwatch.core.i18n import Message
from bldgwatch.gateway.fleet import LOCAL_SECTIONS
from bldgwatch.maintenance import queries as maintenance_queries

router = APIRouter(prefix="/api/gateways", tags=["health"])

FleetReader = Annotated[User, Depends(require(ENGINEER, SUPERVISOR, what="reading_gateways"))]
SiteId = Annotated[str, Path(max_length=64, pattern=r"^[^/+#$][^/+#]*$", description="Site id.")]
GatewayId = Annotated[
    str, Path(max_length=64, pattern=r"^[^/+#$][^/+#]*$", description="Gateway id.")
]
Pushed = Annotated[
    AuditEntry, Depends(Audited(audit.GATEWAY_CONFIG_PUSH, "gateway:{site}/{gateway}"))
]


class DeviceHealth(BaseModel):
    """One polled device as its gateway reports it."""

    equipment: str
    available: bool | None = Field(description="Answers (None: not yet known).")
    polls: int | None = None
    failed_polls: int | None = None
    last_error: str | None = None


class ConfigReport(BaseModel):
    """The configuration the gateway says it runs, and what it refused or rolled back."""

    version: int | None = Field(description="Pushed version running (None: its own file).")
    source: str | None = Field(description="file or pushed.")
    state: str | None = Field(description="applied, trial or rolled_back.")
    refused: dict[str, Any] | None = Field(description="The last refused push: reason, ts.")
    rollback: dict[str, Any] | None = Field(description="The last rollback: version, reason.")
    running: dict[str, Any] | None = Field(
        default=None,
        description="While it runs its own file: that file's devices (no secrets), where a "
        "first push starts from. None: not reported.",
    )
    seen: int | None = Field(
        default=None,
        description="The highest pushed version it has taken (decided or on trial); the "
        "console numbers the next push above it.",
    )
    pending_restart: list[str] = Field(
        default_factory=list, description="Pushed sections that take effect at its next start."
    )


def _config_report(config: Any, locale: str) -> ConfigReport | None:
    """What a gateway's status says of its config, field by field: the status is the least
    trusted thing the console reads, so a field missing or of the wrong type (an older or
    broken gateway) is shown as unknown, never an error for the page."""
    if not isinstance(config, dict):
        return None
    given = fleet.translated(config, locale)
    fields = {name: given[name] for name in ConfigReport.model_fields if name in given}
    for _ in range(len(ConfigReport.model_fields)):
        try:
            return ConfigReport.model_validate(_unknown_as_none(fields))
        except ValidationError as err:
            for problem in err.errors():
                if problem["loc"]:
                    fields.pop(str(problem["loc"][0]), None)
    return None


def _unknown_as_none(fields: dict[str, Any]) -> dict[str, Any]:
    """The report's fields with every field left out of a status shown as unknown."""
    nullable = ("version", "source", "state", "refused", "rollback")
    return {**dict.fromkeys(nullable), **fields}


class FleetGateway(BaseModel):
    """One gateway of the fleet."""

    site: str
    gateway: str
    state: str = Field(
        description="online; stale (it said online but has been silent for more than 3 of its "
        "status intervals: its loop may be wedged); offline (its last will); or unknown."
    )
    last_seen: datetime | None = Field(description="When its newest status or batch arrived.")
    software_version: str | None = None
    uptime_s: float | None = None
    queue_depth: int | None = None
    disk_free_bytes: int | None = None
    cpu_temp_c: float | None = Field(None, description="None where the machine has no sensor.")
    devices_available: int = 0
    devices_total: int = 0
    config: ConfigReport | None = None
    latest_version: int | None = Field(description="Newest version stored in the console.")


class FleetGatewayDetail(FleetGateway):
    """A gateway with its devices and its stored configuration versions."""

    devices: list[DeviceHealth]
    versions: list[VersionOut]
    install_sections: list[str] = Field(
        default_factory=lambda: list(LOCAL_SECTIONS),
        description="The gateway config's sections set at install, never pushed (a push "
        "naming one is refused 422).",
    )
    registered: list[str] = Field(
        default_factory=list,
        description="Equipment the site's register gives this gateway: a push leaving one out "
        "must list it in `remove`.",
    )


class VersionOut(BaseModel):
    """One stored configuration version."""

    version: int
    author: str
    reason: str
    created_at: datetime
    sent_at: datetime | None = Field(description="When the broker took it (None: not sent).")
    unconfirmed: bool = Field(
        default=False,
        description="Sent, but the gateway went stale or offline without reporting it applied "
        "or rolled back (so it may never have run).",
    )


class VersionDetail(VersionOut):
    """A version with its configuration and the diff from the one before it."""

    config: dict[str, Any]
    diff: str = Field(description="Unified diff (YAML, keys sorted) from the previous version.")


class ConfigIn(BaseModel):
    """A new configuration for one gateway: everything but the install's own sections
    (LOCAL_SECTIONS: site, gateway_id, mqtt, queue, fleet, profiles_dir)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "config": {
                        "status_interval_s": 10,
                        "devices": [
                            {
                                "equipment": "P-01",
                                "building": "B1",
                                "profile": "pump-generic",
                                "host": "192.168.10.21",
                                "unit": 1,
                            }
                        ],
                    },
                    "reason": "P-01 replaced; new drive's address",
                }
            ]
        },
    )

    config: dict[str, Any] = Field(description="The gateway configuration (gateway/sample.yaml).")
    reason: str = Field(min_length=1, max_length=500, description="Why it changes.")
    remove: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=1000,
        description="Equipment the register gives this gateway that the push leaves out on"
        " purpose: it stops being polled. Without it such a push is refused (422 naming them).",
    )


FleetGatewayDetail.model_rebuild()


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _out(
    life: GatewayLife | None,
    site: str,
    gateway: str,
    doc: dict[str, Any] | None,
    latest: int | None,
    *,
    locale: str,
) -> dict[str, Any]:
    doc = doc or {}
    devices = doc.get("devices") if isinstance(doc.get("devices"), dict) else {}
    assert isinstance(devices, dict)
    queue = doc.get("queue") if isinstance(doc.get("queue"), dict) else {}
    assert isinstance(queue, dict)
    config = doc.get("config")
    depth = queue.get("depth")
    return {
        "site": site,
        "gateway": gateway,
        "state": life.state if life is not None else "unknown",
        "last_seen": life.last_seen if life is not None else None,
        "software_version": str(doc["version"]) if "version" in doc else None,
        "uptime_s": _number(doc.get("uptime_s")),
        "queue_depth": depth if isinstance(depth, int) else None,
        "disk_free_bytes": doc.get("disk_free_bytes")
        if isinstance(doc.get("disk_free_bytes"), int)
        else None,
        "cpu_temp_c": _number(doc.get("cpu_temp_c")),
        "devices_available": sum(
            1 for d in devices.values() if isinstance(d, dict) and d.get("available") is True
        ),
        "devices_total": len(devices),
        "config": _config_report(config, locale),
        "latest_version": latest,
    }


def _life(request: Request) -> Liveness:
    return cast(Liveness, request.app.state.liveness)


def _known(
    session: Session, request: Request, user: User, site: str, gateway: str
) -> GatewayLife | None:
    """The gateway's liveness; 404 unless the user sees the site and the gateway has been
    heard from or has a stored configuration (pushing a first one needs only the site)."""
    if not user.may_see(site) or maintenance_queries.site(session, site) is None:
        raise NotFoundError(Message("error.site.not_found", {"site": site}))
    for life in _life(request).gateways([site]):
        if life.gateway == gateway:
            return life
    return None


def _decided(config: Any) -> int:
    """The newest pushed version the gateway's status says it applied or rolled back."""
    if not isinstance(config, dict):
        return 0
    rollback = config.get("rollback")
    found = [config.get("version"), rollback.get("version") if isinstance(rollback, dict) else 0]
    return max((v for v in found if isinstance(v, int) and not isinstance(v, bool)), default=0)


def _version_out(row: GatewayConfigRow) -> VersionOut:
    return VersionOut.model_validate(row, from_attributes=True)


@router.get(
    "",
    response_model=list[FleetGateway],
    responses=problem_docs(401, 403),
    summary="The fleet: every gateway of the caller's sites",
)
def list_gateways(request: Request, session: DbSession, user: FleetReader) -> list[FleetGateway]:
    """Gateways heard from (their status or readings) or with a stored configuration, by
    site and id, with state, last seen and health."""
    life = _life(request)
    lives = {(g.site, g.gateway): g for g in life.gateways(user.sites)}
    latest = {k: v for k, v in fleet.latest_versions(session).items() if user.may_see(k[0])}
    return [
        FleetGateway.model_validate(
            _out(
                lives.get(key),
                key[0],
                key[1],
                life.status_doc(*key),
                latest.get(key),
                locale=locale_of(request),
            )
        )
        for key in sorted(lives.keys() | latest.keys())
    ]


@router.get(
    "/{site}/{gateway}",
    response_model=FleetGatewayDetail,
    responses=problem_docs(401, 403, 404, 422),
    summary="One gateway: health, devices, configuration versions",
)
def get_gateway(
    request: Request, session: DbSession, user: FleetReader, site: SiteId, gateway: GatewayId
) -> FleetGatewayDetail:
    """What the gateway last reported and every configuration version stored for it."""
    life = _known(session, request, user, site, gateway)
    rows = fleet.versions(session, site, gateway)
    if life is None and not rows:
        raise NotFoundError(Message("error.gateway.not_found", {"site": site, "gateway": gateway}))
    doc = _life(request).status_doc(site, gateway) or {}
    devices = doc.get("devices") if isinstance(doc.get("devices"), dict) else {}
    assert isinstance(devices, dict)
    # a push the gateway neither applied nor rolled back before it fell silent (review 21d L4)
    silent = life is not None and life.state in ("stale", "offline")
    decided = _decided(doc.get("config"))
    return FleetGatewayDetail.model_validate(
        {
            **_out(
                life,
                site,
                gateway,
                doc,
                rows[0].version if rows else None,
                locale=locale_of(request),
            ),
            "registered": fleet.registered(session, site, gateway),
            "devices": [
                DeviceHealth(
                    equipment=str(eq),
                    available=d.get("available") if isinstance(d.get("available"), bool) else None,
                    polls=d.get("polls") if isinstance(d.get("polls"), int) else None,
                    failed_polls=d.get("failed_polls")
                    if isinstance(d.get("failed_polls"), int)
                    else None,
                    last_error=str(d["last_error"]) if d.get("last_error") else None,
                )
                for eq, d in sorted(devices.items())
                if isinstance(d, dict)
            ],
            "versions": [
                _version_out(r).model_copy(
                    update={"unconfirmed": r.sent_at is not None and r.version > decided}
                )
                if silent
                else _version_out(r)
                for r in rows
            ],
        }
    )


@router.get(
    "/{site}/{gateway}/configs/{number}",
    response_model=VersionDetail,
    responses=problem_docs(401, 403, 404, 422),
    summary="One configuration version and its diff from the previous",
)
def get_version(
    *,
    request: Request,
    session: DbSession,
    user: FleetReader,
    site: SiteId,
    gateway: GatewayId,
    number: Annotated[int, Path(ge=1, le=fleet.MAX_VERSION)],
) -> VersionDetail:
    """The stored configuration, who pushed it, when and why, and what changed."""
    _known(session, request, user, site, gateway)
    row = fleet.version(session, site, gateway, number)
    if row is None:
        raise NotFoundError(
            Message(
                "error.gateway.version_not_found",
                {"site": site, "gateway": gateway, "version": number},
            )
        )
    before = fleet.version(session, site, gateway, number - 1) if number > 1 else None
    return VersionDetail(
        **_version_out(row).model_dump(), config=row.config, diff=fleet.diff(before, row)
    )


@router.post(
    "/{site}/{gateway}/configs",
    response_model=VersionDetail,
    status_code=201,
    responses=problem_docs(400, 401, 403, 404, 422, 503),
    summary="Push a new configuration to one gateway",
)
def push_config(
    *,
    noted: Pushed,
    request: Request,
    session: DbSession,
    clock: AppClock,
    user: Admin,
    site: SiteId,
    gateway: GatewayId,
    body: ConfigIn,
) -> VersionDetail:
    """Validate with the gateway's own model and check its equipment against the site's
    register (422 names the field), store as the next
    version with who and why, sign with the gateway's key and publish it retained on the
    gateway's config topic. The gateway applies it, or rolls it back and says so on its
    status. 503 when no key is provisioned or the broker does not take it."""
    noted.site = site
    _known(session, request, user, site, gateway)
    cfg = cast(ConsoleConfig, request.app.state.cfg)
    try:
        checked = fleet.validate(site, gateway, body.config, cfg.gateway_profiles_dir)
        fleet.check_register(session, checked)
        fleet.check_left_out(session, checked, body.remove)
    except fleet.RefusedError as err:
        message = err.message_in(locale_of(request))
        raise UnprocessableError(message, param=f"config.{err.field}") from err
    key = fleet.gateway_key(cfg.gateway_keys_dir, site, gateway)
    if key is None:
        raise UnavailableError(Message("error.gateway.no_key", {"site": site, "gateway": gateway}))
    bridge = cast(MqttBridge | None, request.app.state.bridge)
    if bridge is None or not bridge.connected():
        raise UnavailableError(Message("error.gateway.broker_down", {}))
    row = fleet.store(
        session,
        site=site,
        gateway=gateway,
        config=body.config,
        author=user.person,
        reason=body.reason,
        at=clock.now(),
        above=fleet.reported_version(_life(request).status_doc(site, gateway)),
    )
    session.commit()  # a version number is never handed out twice, sent or not
    if not bridge.publish_config(topics.gateway_config(site, gateway), fleet.envelope(key, row)):
        raise UnavailableError(
            Message("error.gateway.not_sent", {"version": row.version, "gateway": gateway})
        )
    row.sent_at = clock.now()
    session.commit()
    before = next(iter(fleet.versions(session, site, gateway)[1:2]), None)
    return VersionDetail(
        **_version_out(row).model_dump(), config=row.config, diff=fleet.diff(before, row)
    )

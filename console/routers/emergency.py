"""Emergency plans (应急预案) and real entrapments. Supervisors (admins) write the plans of
their sites; everyone of the team reads them, viewers with the contacts' phone numbers
masked (personal data, for those with a part in the plan). Entrapments are the entrapment
orders timed against the site's plan; engineers, technicians and supervisors record on such
an order that the passengers were released. The changes are the owner's
(`maintenance.emergency`, `maintenance.entrapments`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import (
    CONTRACTOR,
    ENGINEER,
    SUPERVISOR,
    TECHNICIAN,
    AlarmWriter,
    CurrentUser,
    OrderReader,
    Rescuer,
    Supervisor,
    User,
)
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import ConflictError, NotFoundError, UnprocessableError, said
from bldgwatch.console.language import Lang
from bldgwatch.console.paging import DIGITS_ONLY, MAX_ID, OnlySite
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.complaints import mask_phone as mask_personal
from bldgwatch.console.schemas_emergency import (
    EntrapmentCase,
    EntrapmentOut,
    EntrapmentReportIn,
    Milestone,
    PlanEdit,
    PlanIn,
    PlanOut,
    PlanRevision,
    PlanVersionOut,
    ReleaseIn,
)
from bldgwatch.core.db import session_factory
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import drills, emergency, entrapments, queries
from bldgwatch.maintenance.desk import record_change
from bldgwatch.maintenance.emergency import PlanDocument, PlanKind
from bldgwatch.maintenance.emergencymodels import EmergencyPlanRow
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    MaintenanceError,
    UnknownEquipment,
    UnknownSite,
)
from bldgwatch.maintenance.events import ALARM_ATTACHED, CREATED
from bldgwatch.maintenance.policy import load as load_policy

router = APIRouter(prefix="/api", tags=["emergency"])

PlanId = Annotated[int, Path(ge=1, le=MAX_ID, description="Plan number."), DIGITS_ONLY]
Version = Annotated[int, Path(ge=1, le=MAX_ID, description="A saved version."), DIGITS_ONLY]
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="Work-order number."), DIGITS_ONLY]
READ_DOCS = problem_docs(401, 403, 404, 422, 503)
CHANGE_DOCS = problem_docs(401, 403, 404, 409, 422, 503)
PHONE_READERS = frozenset({ENGINEER, TECHNICIAN, SUPERVISOR})
"""Who sees the contacts' phone numbers: those who act on the plan (and the lift company's
user on the plan of an entrapment dispatched to it: it calls the duty room and 119)."""
DEFAULT_ZONE = "Asia/Shanghai"
PlanNoted = Annotated[AuditEntry, Depends(Audited(audit.EMERGENCY_PLAN_SAVE, "plan"))]
PlanEditNoted = Annotated[AuditEntry, Depends(Audited(audit.EMERGENCY_PLAN_SAVE, "plan:{plan_id}"))]
RetireNoted = Annotated[AuditEntry, Depends(Audited(audit.EMERGENCY_PLAN_RETIRE, "plan:{plan_id}"))]
ReportNoted = Annotated[AuditEntry, Depends(Audited(audit.ENTRAPMENT_REPORT, "entrapment"))]
ReleaseNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_RELEASED, "work_order:{order_id}"))
]
T = TypeVar("T")


PUBLIC_NUMBERS = frozenset({"110", "119", "120", "122", "12119", "96333"})
"""Emergency and public service numbers: not personal data, shown to everyone (review
19c-d L4): police, fire, ambulance, traffic, forest fire, the lift emergency line."""


def mask_phone(phone: str | None) -> str | None:
    """A contact's phone as a viewer sees it: masked, unless it is a public number."""
    if phone and "".join(c for c in phone if c.isdigit()) in PUBLIC_NUMBERS:
        return phone
    return mask_personal(phone)


def zone_of(session: Session, site: str) -> str:
    """The site's time zone."""
    row = queries.site(session, site)
    return row.timezone if row is not None and row.timezone else DEFAULT_ZONE


def write(session: Session, engine: Engine, change: Callable[[Session], T]) -> T:
    """Run the owner's change in a transaction of its own and map its refusals to problems;
    this request's read transaction ends, so the next reads see the change."""
    try:
        with session_factory(engine)() as own:
            done = change(own)
            own.commit()
    except (UnknownSite, UnknownEquipment) as err:
        raise NotFoundError(said(err)) from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    except (emergency.PlanNotFound, drills.DrillNotFound, entrapments.RescueNotFound) as err:
        raise NotFoundError(said(err)) from err
    except MaintenanceError as err:  # PlanChanged, DrillClosed, NotAnEntrapment
        raise ConflictError(said(err)) from err
    session.rollback()
    return done


def visible_plan(session: Session, user: User, plan_id: int) -> EmergencyPlanRow:
    """The plan, or 404 when it does not exist or is at another site."""
    row = session.get(EmergencyPlanRow, plan_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.emergency.plan_unknown", {"id": str(plan_id)}))
    return row


def plan_out(
    session: Session,
    row: EmergencyPlanRow,
    user: User,
    now: datetime,
    held: datetime | None,
    *,
    phones: bool = False,
) -> PlanOut:
    """The plan as shown to `user`, with its drill clock; the contacts' phones unmasked for
    those who act on the plan (or when `phones`)."""
    zone = zone_of(session, row.site)
    settings = load_policy(session).drills
    due = drills.next_due(row.kind, held, settings, ZoneInfo(zone))
    in_use = row.retired_at is None  # a retired plan is not drilled any more: no clock
    contacts = [dict(c) for c in row.contacts]
    if not phones and not user.has_any(PHONE_READERS):
        contacts = [c | {"phone": mask_phone(c.get("phone"))} for c in contacts]
    out = PlanOut.model_validate(row)
    return out.model_copy(
        update={
            "contacts": contacts,
            "timezone": zone,
            "last_drill": held,
            "drill_due": None if due == drills.EARLIEST or not in_use else due,
            "drill_overdue": in_use and drills.interval_overdue(due, now, ZoneInfo(zone)),
        }
    )


@router.get(
    "/emergency/plans", response_model=list[PlanOut], responses=READ_DOCS, summary="List plans"
)
def list_plans(
    *, session: DbSession, clock: AppClock, user: CurrentUser, site: OnlySite = None
) -> list[PlanOut]:
    """The emergency plans of the user's sites (or one site), each with when it was last
    drilled and when its next drill is due by its kind's interval."""
    sites = set(user.sites) if user.sites is not None else None
    if site is not None:
        sites = {site} & sites if sites is not None else {site}
    rows = emergency.plans(session, sites)
    held = drills.last_held(session, [r.id for r in rows])
    now = clock.now()
    return [plan_out(session, r, user, now, held.get(r.id)) for r in rows]


@router.get(
    "/emergency/plans/{plan_id}", response_model=PlanOut, responses=READ_DOCS, summary="A plan"
)
def get_plan(*, session: DbSession, clock: AppClock, user: CurrentUser, plan_id: PlanId) -> PlanOut:
    """One plan with its saved versions (who saved each, when)."""
    row = visible_plan(session, user, plan_id)
    held = drills.last_held(session, [row.id]).get(row.id)
    out = plan_out(session, row, user, clock.now(), held)
    versions = [PlanRevision.model_validate(r) for r in emergency.revisions(session, row.id)]
    return out.model_copy(update={"revisions": versions})


@router.get(
    "/emergency/plans/{plan_id}/versions/{version}",
    response_model=PlanVersionOut,
    responses=READ_DOCS,
    summary="An earlier version of a plan",
)
def get_plan_version(
    *, session: DbSession, user: Supervisor, plan_id: PlanId, version: Version
) -> PlanVersionOut:
    """The plan as saved at `version`, with who saved it and when (read-only: a new version
    is saved from the current one)."""
    row = visible_plan(session, user, plan_id)
    saved = emergency.revision(session, plan_id, version)
    if saved is None:
        params = {"id": str(plan_id), "version": str(version)}
        raise NotFoundError(Message("error.emergency.version_unknown", params))
    document = saved.document
    contacts = [dict(c) for c in document.get("contacts", [])]
    if not user.has_any(PHONE_READERS):
        contacts = [c | {"phone": mask_phone(c.get("phone"))} for c in contacts]
    return PlanVersionOut(
        plan_id=row.id,
        site=row.site,
        kind=row.kind,
        version=saved.version,
        at=saved.at,
        actor=saved.actor,
        current=saved.version == row.version,
        title=str(document.get("title", "")),
        roles=list(document.get("roles", [])),
        contacts=contacts,
        steps=list(document.get("steps", [])),
    )


@router.get(
    "/emergency/template",
    response_model=PlanDocument,
    responses=READ_DOCS,
    summary="The default entrapment plan",
)
def plan_template(*, user: Supervisor, lang: Lang) -> PlanDocument:
    """The default entrapment rescue plan (困人救援) in the reader's language, to adapt: the
    rescuer on site within 30 minutes of the alarm, the duty officer answering within 5."""
    return emergency.template(lang)


@router.post(
    "/emergency/plans",
    response_model=PlanOut,
    status_code=201,
    responses=CHANGE_DOCS,
    summary="Create a plan",
)
def create_plan(
    *,
    noted: PlanNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    body: PlanIn,
) -> PlanOut:
    """A site's plan of one kind (a site has one per kind: 409 when it has it)."""
    noted.site = body.site
    if not user.may_see(body.site):
        raise NotFoundError(Message("error.site.not_found", {"site": body.site}))
    now = clock.now()
    kind: PlanKind = body.kind
    plan_id = write(
        session,
        engine,
        lambda s: (
            emergency.create_plan(
                s, site=body.site, kind=kind, plan=body.plan, at=now, actor=user.name
            ).id
        ),
    )
    noted.target = f"plan:{plan_id}"
    return get_plan(session=session, clock=clock, user=user, plan_id=plan_id)  # with version 1


@router.put(
    "/emergency/plans/{plan_id}",
    response_model=PlanOut,
    responses=CHANGE_DOCS,
    summary="Save a new version of a plan",
)
def edit_plan(
    *,
    noted: PlanEditNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    plan_id: PlanId,
    body: PlanEdit,
) -> PlanOut:
    """The plan as edited from `version` (409 when someone saved it since)."""
    row = visible_plan(session, user, plan_id)
    noted.site = row.site
    now = clock.now()
    write(
        session,
        engine,
        lambda s: (
            emergency.update_plan(
                s, plan_id, plan=body.plan, version=body.version, at=now, actor=user.name
            ).id
        ),
    )
    return get_plan(session=session, clock=clock, user=user, plan_id=plan_id)


def _retire(
    *,
    noted: AuditEntry,
    session: Session,
    engine: Engine,
    clock: AppClock,
    user: User,
    plan_id: int,
    retired: bool,
) -> PlanOut:
    row = visible_plan(session, user, plan_id)
    noted.site = row.site
    now = clock.now()
    write(
        session,
        engine,
        lambda s: emergency.retire_plan(s, plan_id, retired=retired, at=now, actor=user.name).id,
    )
    return get_plan(session=session, clock=clock, user=user, plan_id=plan_id)


@router.post(
    "/emergency/plans/{plan_id}/retire",
    response_model=PlanOut,
    responses=CHANGE_DOCS,
    summary="Retire a plan",
)
def retire_plan(
    *,
    noted: RetireNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    plan_id: PlanId,
) -> PlanOut:
    """The plan retired: kept with its versions and drills, neither edited nor drilled (no
    drill clock) until reinstated; any kind, the entrapment plan too. Twice is harmless."""
    return _retire(
        noted=noted, session=session, engine=engine, clock=clock, user=user, plan_id=plan_id,
        retired=True,
    )  # fmt: skip


@router.post(
    "/emergency/plans/{plan_id}/reinstate",
    response_model=PlanOut,
    responses=CHANGE_DOCS,
    summary="Put a retired plan back in use",
)
def reinstate_plan(
    *,
    noted: RetireNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    plan_id: PlanId,
) -> PlanOut:
    """A retired plan in use again, as it was retired (its drill clock runs again)."""
    return _retire(
        noted=noted, session=session, engine=engine, clock=clock, user=user, plan_id=plan_id,
        retired=False,
    )  # fmt: skip


def entrapment_out(found: entrapments.Entrapment, zone: str) -> EntrapmentOut:
    """An entrapment as the API shows it."""
    order = found.order
    return EntrapmentOut(
        order_id=order.id,
        rescue=found.rescue,
        site=order.site,
        equipment=order.equipment,
        status=order.status,
        timezone=zone,
        moments=[Milestone.model_validate(m, from_attributes=True) for m in found.moments],
        rescue_target_min=found.rescue_target_min,
        plan_on_site_min=found.plan_on_site_min,
        arrival_late=found.arrival_late,
        released_by_note=found.released_by_note,
        plan_id=found.plan_id,
        plan_version=found.plan_version,
        reported_by=found.reported_by,
    )


@router.get(
    "/entrapments",
    response_model=list[EntrapmentOut],
    responses=READ_DOCS,
    summary="Entrapments timed against the plan",
)
def list_entrapments(
    *,
    session: DbSession,
    clock: AppClock,
    user: CurrentUser,
    site: OnlySite = None,
    days: Annotated[int, Query(ge=1, le=3660, description="The last this many days.")] = 90,
    order: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only the rescues of this order.")
    ] = None,
) -> list[EntrapmentOut]:
    """The entrapment orders of the last `days`, newest first: alarm → notified → on site
    → released against the plan's targets and the order's rescue-arrival clock."""
    sites = set(user.sites) if user.sites is not None else None
    if site is not None:
        sites = {site} & sites if sites is not None else {site}
    now = clock.now()
    until = now + drills.CLOCK_SKEW  # an alarm at the clock, or a gateway's a little ahead
    found = entrapments.entrapments(
        session, sites, since=now - timedelta(days=days), until=until, now=now, order_id=order
    )
    zones = {f.order.site: zone_of(session, f.order.site) for f in found}
    return [entrapment_out(f, zones[f.order.site]) for f in found]


@router.post(
    "/entrapments",
    response_model=EntrapmentOut,
    status_code=201,
    responses=CHANGE_DOCS,
    summary="Record an entrapment reported by phone",
)
def report_entrapment(
    *,
    noted: ReportNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: AlarmWriter,
    body: EntrapmentReportIn,
) -> EntrapmentOut:
    """An entrapment reported by phone, with no alarm (the car's intercom, the 96333 line, a
    resident at the desk; review 19c-d M5): the duty desk (those who act on alarms: engineers
    and supervisors) records the car and when the call came. The car's open entrapment order
    gets the rescue (the one under way takes it, as an alarm would), else a P1 entrapment
    order is opened with its clocks from the call; the rescue is timed against the plan in
    force then and the 30-minute target, and listed with the others. 404 for a car not in the
    register, 422 for one that is no lift or a call time in the future or over 7 days ago."""
    if not user.may_see(body.site):
        raise NotFoundError(
            Message("error.equipment.not_found", {"equipment": body.equipment, "site": body.site})
        )
    noted.site = body.site
    noted.detail = {"equipment": body.equipment, "reported_at": body.reported_at.isoformat()}
    now = clock.now()
    call = entrapments.PhoneReport(body.site, body.equipment, body.reported_at, body.note)

    def change(s: Session) -> tuple[int, int]:
        owner = load_policy(s)
        order, rescue, created = entrapments.report(
            s, call, at=now, actor=user.name, sla=owner.sla, stage_config=owner.stage
        )
        previous = None if created else order.status
        record_change(
            s, order, change=CREATED if created else ALARM_ATTACHED, previous=previous,
            actor=user.name,
        )  # fmt: skip
        return order.id, rescue.seq

    order_id, seq = write(session, engine, change)
    noted.target = f"work_order:{order_id}"
    order = queries.work_order(session, order_id)
    assert order is not None  # just written
    found = entrapments.time_rescue(session, order, seq, now)
    return entrapment_out(found, zone_of(session, order.site))


@router.post(
    "/work-orders/{order_id}/released",
    response_model=EntrapmentOut,
    responses=CHANGE_DOCS,
    summary="Record the passengers released",
)
def record_release(
    *,
    noted: ReleaseNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Rescuer,
    order_id: OrderId,
    body: ReleaseIn,
) -> EntrapmentOut:
    """On an open entrapment order: the passengers of its rescue `rescue` (default the
    latest) were released at `released_at` (default now); 409 when the order is not an open
    entrapment or that rescue's release is recorded (of two desks at once, one wins). The
    lift company's user records it on an order dispatched to its contractor."""
    order = queries.work_order(session, order_id)
    if order is None or not user.may_see_order(order.site, order.contractor):
        raise NotFoundError(Message("error.work_order.not_found", {"id": str(order_id)}))
    noted.site = order.site
    now = clock.now()
    when = body.released_at or now
    seq = write(
        session,
        engine,
        lambda s: (
            entrapments.record_release(
                s, order_id, when, at=now, actor=user.name, rescue=body.rescue
            ).seq
        ),
    )
    session.refresh(order)
    found = entrapments.time_rescue(session, order, seq, now)
    return entrapment_out(found, zone_of(session, order.site))


@router.get(
    "/work-orders/{order_id}/entrapment",
    response_model=EntrapmentCase,
    responses=READ_DOCS,
    summary="An entrapment order's plan and rescue clock",
)
def order_entrapment(
    *, session: DbSession, clock: AppClock, user: OrderReader, order_id: OrderId
) -> EntrapmentCase:
    """For the page of an entrapment order: the site's entrapment plan (its steps and
    contacts, phones shown to those who act on it, the lift company's user of the order
    included) and the order's rescues timed alarm → notified → on site → released; of
    another order, `entrapment` false and nothing else."""
    order = queries.work_order(session, order_id)
    if order is None or not user.may_see_order(order.site, order.contractor):
        raise NotFoundError(Message("error.work_order.not_found", {"id": str(order_id)}))
    now = clock.now()
    if not entrapments.is_entrapment(order):
        return EntrapmentCase(order_id=order_id, entrapment=False, plan=None, rescues=[], now=now)
    row = emergency.plan_of(session, order.site, "entrapment")
    plan = None
    if row is not None:
        held = drills.last_held(session, [row.id]).get(row.id)
        phones = user.has_any(
            frozenset({CONTRACTOR})
        )  # its user on its own order: it acts on the plan
        plan = plan_out(session, row, user, now, held, phones=phones)
    found = entrapments.entrapments(
        session,
        {order.site},
        since=drills.EARLIEST,
        until=now + drills.CLOCK_SKEW,
        now=now,
        order_id=order_id,
    )
    zone = zone_of(session, order.site)
    rescues = [entrapment_out(f, zone) for f in found]
    return EntrapmentCase(order_id=order_id, entrapment=True, plan=plan, rescues=rescues, now=now)

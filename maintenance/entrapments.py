"""Real entrapments (困人) timed against the site's entrapment plan and the rescue target.

An entrapment alarm (fault codes ELEV_ENTRAPMENT_*, `rules.detection`) opens a reactive
order (`maintenance.incidents`) whose response clock is the rescue-arrival rule (30 min from
the alarm, `config.DEFAULT_FAULT_CODES`). An activation while a rescue of the order is under
way (not released) belongs to it: the alarm flapping, or between floors giving way to at a
floor as the car is wound to a landing, is one rescue (review 19b-d H2). One after the
order's rescues are released is a rescue of its own (`entrapment_rescues`, review 19d H3),
timed from its own alarm and released on its own. A rescue's timeline, from what the rescue
and the order record:

* alarm: the activation of the rescue's alarm;
* notified: the first assignment (to a technician) or dispatch (to the maintenance company)
  from the alarm on; the alarm itself when the order already had its technician then (the
  order's alarm event goes to them);
* on site: the first move to in progress from the alarm on, at the latest the release; the
  alarm itself when the order was already in progress then (someone was at the lift,
  review 19c-d M12);
* released: the "passengers released" a technician or engineer records on the rescue
  (`record_release`), else the order's first resolution from the alarm on.

An entrapment reported by phone (the car's intercom, the 96333 line, a resident at the desk:
a lift without an IoT box, or with it offline) is recorded by hand (`report`, review 19c-d
M5): the call's time is the rescue's alarm, and the order is opened or joined exactly as an
alarm's would be (the same incident key, the same 30-minute clock), so a later alarm of the
same car joins it, and the rescue is timed and reported like any other.

Each moment is compared with the target of the plan step naming that milestone, and the
arrival with the rescue target: the on-site target of the plan in force at the rescue's
alarm (the version saved last before it, review 19c-d M4), counted from the rescue's own
alarm. Not the order's response clock: a dispatch to the lift company restarts that with the
contract's call-out, and a later alarm on the order pulls it in (review 19c-d H4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.core import i18n
from bldgwatch.core.i18n import Message
from bldgwatch.core.plaintext import first_hidden
from bldgwatch.maintenance.config import SlaPolicy, StageConfig
from bldgwatch.maintenance.drills import on_site_clock, zone_of_site
from bldgwatch.maintenance.emergency import MILESTONES, plan_of
from bldgwatch.maintenance.emergencymodels import (
    EmergencyPlanRevisionRow,
    EmergencyPlanRow,
    EntrapmentRescueRow,
)
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError, UnknownEquipment
from bldgwatch.maintenance.i18n import Message as OrderMessage
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    EquipmentRow,
    WorkOrderEventRow,
    WorkOrderKind,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.sla import compute_due
from bldgwatch.maintenance.stage import assess_stage
from bldgwatch.maintenance.workorders import OrderDraft, add_note, insert_order

ENTRAPMENT = "ELEV_ENTRAPMENT"
"""The fault-code prefix of entrapments."""
RELEASED = "released"
"""The kind of the order event recording that the passengers were released."""
REPORTED = "ELEV_ENTRAPMENT_REPORTED"
"""The fault code of an entrapment reported by phone, recorded by hand (review 19c-d M5)."""
FAMILY = "entrapment"
"""The incident family of the entrapment rules (`rules/packs/elevator.yaml`)."""
REPORT_WINDOW = timedelta(days=7)
"""How long after the call an entrapment reported by phone may still be recorded."""
LIMIT = 500
RESCUE_MIN = 30.0
"""The rescue target of a site without an entrapment plan (a plan always names one): the
entrapment fault code's default response (`config.DEFAULT_FAULT_CODES`)."""
_HELD = frozenset({WorkOrderStatus.ASSIGNED.value, WorkOrderStatus.IN_PROGRESS.value})


class RescueNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """The order has no rescue of that number (HTTP 404)."""

    def __init__(self, seq: int) -> None:
        super().__init__(Message("error.entrapment.rescue_unknown", {"n": str(seq)}))


class NotAnEntrapment(MaintenanceError):  # noqa: N818 - reads better at the call site
    """The order is not an open entrapment order, or the rescue's release is already
    recorded (HTTP 409)."""

    def __init__(self, order_id: int, why: str) -> None:
        super().__init__(Message(f"error.entrapment.{why}", {"id": str(order_id)}))


@dataclass(frozen=True, slots=True)
class Moment:
    """One milestone of a rescue: when, minutes after the alarm, the plan's target."""

    milestone: str
    at: datetime | None
    minutes: float | None
    target_min: int | None
    over: bool


@dataclass(frozen=True, slots=True)
class Entrapment:
    """One rescue of an entrapment order timed against the plan and the rescue target."""

    order: WorkOrderRow
    rescue: int
    """The rescue's number on its order (1 for the first alarm, 2 for the next, …)."""
    moments: list[Moment]
    rescue_target_min: float
    """The statutory rescue target (RESCUE_MIN, 30 minutes to on site): the judge of on time."""
    arrival_late: bool
    """On site later than the rescue target, or not yet on site past it."""
    released_by_note: bool
    plan_id: int | None
    plan_version: int | None = None
    """The plan version the rescue is timed against: the one in force at its alarm."""
    reported_by: str | None = None
    """Who recorded it by hand, for an entrapment reported by phone; None for an alarm's."""
    plan_on_site_min: int | None = None
    """The plan's own on-site target (its on-site step's), shown beside the statutory one."""


def is_entrapment_code(fault_code: str | None) -> bool:
    """Whether the fault code is an entrapment's."""
    return (fault_code or "").startswith(ENTRAPMENT)


def is_entrapment(order: WorkOrderRow) -> bool:
    """Whether the order was opened for an entrapment alarm."""
    return is_entrapment_code(order.fault_code)


def alarm_time(order: WorkOrderRow) -> datetime:
    """When the order's clocks started: its first alarm."""
    started = (order.stage_detail or {}).get("sla_started_at")
    return datetime.fromisoformat(started) if started else order.created_at


def _moved(events: list[WorkOrderEventRow], status: str, since: datetime) -> datetime | None:
    return next(
        (
            e.at
            for e in events
            if e.to_status == status and e.from_status != status and e.at >= since
        ),
        None,
    )


def _status_at(events: list[WorkOrderEventRow], when: datetime) -> str | None:
    """The order's status just before `when` (None before its first move)."""
    moves = [e for e in events if e.from_status != e.to_status and e.at < when]
    return moves[-1].to_status if moves else None


def _held_at(events: list[WorkOrderEventRow], when: datetime) -> bool:
    """Whether the order had its technician (assigned or in progress) just before `when`."""
    return _status_at(events, when) in _HELD


def first_rescue(order: WorkOrderRow, events: list[WorkOrderEventRow]) -> EntrapmentRescueRow:
    """The order's first rescue as the order recorded it before rescues were kept per alarm
    (not added to the session). Pure."""
    note = next((e for e in events if e.kind == RELEASED), None)
    return EntrapmentRescueRow(
        work_order_id=order.id,
        seq=1,
        alarm_id=None,
        alarm_at=alarm_time(order),
        released_at=None if note is None else note.at,
        released_by=None if note is None else note.actor,
    )


def moments_of(
    order: WorkOrderRow, rescue: EntrapmentRescueRow, events: list[WorkOrderEventRow]
) -> dict[str, datetime | None]:
    """When each milestone of `rescue` was reached (`events` oldest first). Pure."""
    alarm = rescue.alarm_at
    assigned = _moved(events, WorkOrderStatus.ASSIGNED.value, alarm)
    dispatched = (
        order.dispatched_at if order.dispatched_at and order.dispatched_at >= alarm else None
    )
    notified = min((t for t in (assigned, dispatched) if t is not None), default=None)
    if _held_at(events, alarm):  # the order's technician was told by its alarm event
        notified = alarm
    on_site = _moved(events, WorkOrderStatus.IN_PROGRESS.value, alarm)
    if _status_at(events, alarm) == WorkOrderStatus.IN_PROGRESS.value:
        on_site = alarm  # someone was at the lift already (review 19c-d M12)
    released = rescue.released_at or _moved(events, WorkOrderStatus.RESOLVED.value, alarm)
    if released is not None and (on_site is None or released < on_site):
        on_site = released  # the passengers were freed: someone was there (review 19c-d M12)
    return {"alarm": alarm, "notified": notified, "on_site": on_site, "released": released}


def timed(
    order: WorkOrderRow,
    rescue: EntrapmentRescueRow,
    events: list[WorkOrderEventRow],
    targets: dict[str, int | None],
    now: datetime,
    *,
    plan_id: int | None = None,
    plan_version: int | None = None,
) -> Entrapment:
    """The `rescue` of `order` timed against the plan's milestone `targets`; the arrival
    against the statutory RESCUE_MIN from the rescue's alarm, whatever the plan's on-site
    target (kept beside it). Pure.
    A milestone not reached is late only while the rescue is open: not for a rescue called
    off (a false alarm, review 19d M5) nor for one released."""
    found = moments_of(order, rescue, events)
    start = rescue.alarm_at
    done = order.status == WorkOrderStatus.CANCELLED.value or found["released"] is not None
    moments = []
    for milestone in MILESTONES:
        at = found[milestone]
        minutes = None if at is None else (at - start).total_seconds() / 60
        target = targets.get(milestone)
        late = target is not None and (
            (minutes is not None and minutes > target)
            or (at is None and not done and (now - start).total_seconds() / 60 > target)
        )
        moments.append(Moment(milestone, at, minutes, target, late))
    # The statutory 30 minutes judge the arrival, whatever the plan says: a plan's on-site
    # target of 45 minutes must not make a 40-minute arrival "on time" (review 19d-d M3); the
    # plan's own target is its on-site milestone's, reported beside.
    rescue_min = RESCUE_MIN
    due = start + timedelta(minutes=rescue_min)
    arrived = found["on_site"] or found["released"]
    if arrived is not None:
        arrival_late = arrived > due
    else:  # not there yet: late once the clock has run out, unless it was called off
        arrival_late = order.status != WorkOrderStatus.CANCELLED.value and now > due
    by_note = rescue.released_at is not None
    return Entrapment(
        order,
        rescue.seq,
        moments,
        rescue_min,
        arrival_late,
        by_note,
        plan_id,
        plan_version,
        rescue.reported_by,
        targets.get("on_site"),
    )


def plan_targets(steps: list[dict[str, Any]]) -> dict[str, int | None]:
    """The target of each milestone a plan's step names. Pure."""
    return {s["milestone"]: s.get("target_min") for s in steps if s.get("milestone")}


def stored_rescues(session: Session, order_id: int) -> list[EntrapmentRescueRow]:
    """The rescues kept for the order, first first."""
    query = select(EntrapmentRescueRow).where(EntrapmentRescueRow.work_order_id == order_id)
    return list(session.scalars(query.order_by(EntrapmentRescueRow.seq)))


def _events(session: Session, order_id: int) -> list[WorkOrderEventRow]:
    query = select(WorkOrderEventRow).where(WorkOrderEventRow.work_order_id == order_id)
    return list(session.scalars(query.order_by(WorkOrderEventRow.at, WorkOrderEventRow.id)))


def open_rescue(
    session: Session,
    order: WorkOrderRow,
    *,
    alarm_id: str | None,
    at: datetime,
    created: bool,
    reported_by: str | None = None,
) -> EntrapmentRescueRow:
    """An entrapment alarm's activation on `order` (locked by the caller). While a rescue of
    the order is under way (not released) the activation belongs to it: the alarm flapping,
    or the lift's between-floors alarm giving way to its at-floor one as the car is wound to
    a landing, is one rescue (review 19b-d H2); an alarm replayed late moves its start back.
    Otherwise it is a rescue of its own. On an order from before rescues were kept, its first
    rescue is stored first."""
    kept = stored_rescues(session, order.id)
    events = [] if created else _events(session, order.id)
    if not kept and not created:
        kept = [first_rescue(order, events)]
        session.add(kept[0])
    under_way = [r for r in kept if moments_of(order, r, events)["released"] is None]
    if under_way:
        row = under_way[-1]
        row.alarm_at = min(row.alarm_at, at)
    else:
        seq = max(r.seq for r in kept) + 1 if kept else 1
        row = EntrapmentRescueRow(
            work_order_id=order.id, seq=seq, alarm_id=alarm_id, alarm_at=at, reported_by=reported_by
        )
        session.add(row)
    session.flush()
    return row


PHONE_SKEW = timedelta(minutes=10)
"""How far before a rescue's start a phone call may move it (a desk noting the call a little
late, clocks apart); further back is a mistyped time, refused (review 19d-d H2)."""


def _phone_rescue(
    session: Session, order: WorkOrderRow, when: datetime, actor: str
) -> EntrapmentRescueRow:
    """The rescue of `order` a phone call at `when` belongs to (review 19d-d H1, H2): one
    already released whose time span holds the call (the desk wrote it up late: noted on it);
    the rescue under way, its start moved back by at most PHONE_SKEW; a new rescue only for a
    call after the last release. A call further back than that is InvalidRecord."""
    kept = stored_rescues(session, order.id)
    events = _events(session, order.id)
    if not kept:
        return open_rescue(session, order, alarm_id=None, at=when, created=False, reported_by=actor)
    last_release: datetime | None = None
    for rescue in kept:
        released = moments_of(order, rescue, events)["released"]
        if released is None:
            if when < rescue.alarm_at - PHONE_SKEW:
                raise InvalidRecord("reported_at", Message("error.entrapment.call_before_rescue"))
            rescue.alarm_at = min(rescue.alarm_at, when)
            session.flush()
            return rescue
        if rescue.alarm_at - PHONE_SKEW <= when <= released:
            return rescue  # the desk writes up a call of a rescue already done
        last_release = released if last_release is None else max(last_release, released)
    if last_release is not None and when < last_release:
        raise InvalidRecord("reported_at", Message("error.entrapment.call_before_release"))
    return open_rescue(session, order, alarm_id=None, at=when, created=False, reported_by=actor)


def entrapments(
    session: Session,
    sites: set[str] | None,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    order_id: int | None = None,
) -> list[Entrapment]:
    """The rescues of `sites` (None: all; of one order if `order_id`) whose alarm came in
    [since, until), newest first, each timed against its site's entrapment plan."""
    kept = (
        select(EntrapmentRescueRow, WorkOrderRow)
        .join(WorkOrderRow, WorkOrderRow.id == EntrapmentRescueRow.work_order_id)
        .where(EntrapmentRescueRow.alarm_at >= since, EntrapmentRescueRow.alarm_at < until)
    )
    older = select(WorkOrderRow).where(
        WorkOrderRow.fault_code.startswith(ENTRAPMENT, autoescape=True),
        WorkOrderRow.created_at >= since,
        WorkOrderRow.created_at < until,
        ~exists().where(EntrapmentRescueRow.work_order_id == WorkOrderRow.id),
    )
    if order_id is not None:
        kept, older = (
            kept.where(WorkOrderRow.id == order_id),
            older.where(WorkOrderRow.id == order_id),
        )
    if sites is not None:
        kept = kept.where(WorkOrderRow.site.in_(sorted(sites)))
        older = older.where(WorkOrderRow.site.in_(sorted(sites)))
    kept = kept.order_by(EntrapmentRescueRow.alarm_at.desc()).limit(LIMIT)
    older = older.order_by(WorkOrderRow.created_at.desc()).limit(LIMIT)
    pairs = [(r, o) for r, o in session.execute(kept)]
    orders = {o.id: o for _, o in pairs} | {o.id: o for o in session.scalars(older)}
    events = {number: _events(session, number) for number in orders}
    rescues: dict[int, list[EntrapmentRescueRow]] = {number: [] for number in orders}
    for rescue, order in pairs:
        rescues[order.id].append(rescue)
    for number, kept_rows in rescues.items():
        if not kept_rows:  # an order from before rescues were kept: its one rescue
            kept_rows.append(first_rescue(orders[number], events[number]))
    found = [
        _timed(session, orders[i], r, events[i], now) for i, rows in rescues.items() for r in rows
    ]
    found.sort(key=lambda f: (f.moments[0].at or now, f.order.id, f.rescue), reverse=True)
    return found[:LIMIT]


def _timed(
    session: Session,
    order: WorkOrderRow,
    rescue: EntrapmentRescueRow,
    events: list[WorkOrderEventRow],
    now: datetime,
) -> Entrapment:
    plan = plan_of(session, order.site, "entrapment")
    if plan is None:
        return timed(order, rescue, events, {}, now)
    steps, version = in_force(session, plan, rescue.alarm_at)
    return timed(
        order, rescue, events, plan_targets(steps), now, plan_id=plan.id, plan_version=version
    )


def in_force(
    session: Session, plan: EmergencyPlanRow, at: datetime
) -> tuple[list[dict[str, Any]], int]:
    """The plan's steps and version as they were at `at`: the version saved last by then;
    the first version for a time before the plan was written, today's when no version was
    kept (review 19c-d M4)."""
    query = select(EmergencyPlanRevisionRow).where(EmergencyPlanRevisionRow.plan_id == plan.id)
    kept = list(session.scalars(query.order_by(EmergencyPlanRevisionRow.version)))
    if not kept:
        return list(plan.steps), plan.version
    then = [r for r in kept if r.at <= at] or kept[:1]
    return list(then[-1].document.get("steps", [])), then[-1].version


def time_rescue(session: Session, order: WorkOrderRow, seq: int, now: datetime) -> Entrapment:
    """One rescue of an entrapment order timed against its site's entrapment plan."""
    events = _events(session, order.id)
    kept = {r.seq: r for r in stored_rescues(session, order.id)}
    rescue = kept.get(seq) or first_rescue(order, events)
    return _timed(session, order, rescue, events, now)


def _pick(
    session: Session, order: WorkOrderRow, seq: int | None, events: list[WorkOrderEventRow]
) -> EntrapmentRescueRow:
    kept = stored_rescues(session, order.id) or [first_rescue(order, events)]
    latest = max(kept, key=lambda r: (r.alarm_at, r.seq))  # by alarm time (review 19b-d L9)
    if seq is None:
        return latest
    rescue = next((r for r in kept if r.seq == seq), None)
    if rescue is None:
        raise RescueNotFound(seq)
    return rescue


def record_release(
    session: Session,
    order_id: int,
    when: datetime,
    *,
    at: datetime,
    actor: str,
    rescue: int | None = None,
) -> EntrapmentRescueRow:
    """Record on an open entrapment order that the passengers of its rescue number `rescue`
    (default its latest) were released at `when`. Of two desks recording one release, one
    wins and the other gets NotAnEntrapment (a conditional update, or the rescue's unique
    number). Raises NotAnEntrapment; RescueNotFound for an unknown rescue; InvalidRecord for
    a `released_at` before the alarm or the arrival, or in the future. The caller commits."""
    order = session.get(WorkOrderRow, order_id, with_for_update=True)
    if order is None or not is_entrapment(order):
        raise NotAnEntrapment(order_id, "not_one")
    if order.status in TERMINAL_STATUSES:
        raise NotAnEntrapment(order_id, "closed")
    events = _events(session, order_id)
    row = _pick(session, order, rescue, events)
    if row.released_at is not None:
        raise NotAnEntrapment(order_id, "already_released")
    zone = zone_of_site(session, order.site)
    times = {
        "at": on_site_clock(when, zone),
        "alarm": on_site_clock(row.alarm_at, zone),
        "now": on_site_clock(at, zone),
    }
    if not row.alarm_at <= when <= at:
        raise InvalidRecord("released_at", Message("error.entrapment.release_time", times))
    on_site = moments_of(order, row, events)["on_site"]
    if on_site is not None and when < on_site:
        times["on_site"] = on_site_clock(on_site, zone)
        raise InvalidRecord(
            "released_at", Message("error.entrapment.release_before_on_site", times)
        )
    _claim_release(session, order_id, row, when, actor)
    _release_others(session, order, row, events, when=when, actor=actor)
    add_note(
        session, order, actor=actor, at=when, kind=RELEASED, message=OrderMessage("note.released")
    )
    return row


def _claim_release(
    session: Session, order_id: int, row: EntrapmentRescueRow, when: datetime, actor: str
) -> None:
    if row.id is None:  # the order's first rescue, not stored yet: its number is unique
        row.released_at, row.released_by = when, actor
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError as err:
            raise NotAnEntrapment(order_id, "already_released") from err
        return
    claimed = session.execute(
        update(EntrapmentRescueRow)
        .where(EntrapmentRescueRow.id == row.id, EntrapmentRescueRow.released_at.is_(None))
        .values(released_at=when, released_by=actor)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], claimed).rowcount != 1:
        raise NotAnEntrapment(order_id, "already_released")
    session.refresh(row)


def _release_others(
    session: Session,
    order: WorkOrderRow,
    row: EntrapmentRescueRow,
    events: list[WorkOrderEventRow],
    *,
    when: datetime,
    actor: str,
) -> None:
    """The passengers released: so are those of the order's other rescues still under way
    that began by then (a rescue never split in two, review 19b-d H2)."""
    for other in stored_rescues(session, order.id):
        under_way = moments_of(order, other, events)["released"] is None
        if other.id != row.id and under_way and other.alarm_at <= when:
            other.released_at, other.released_by = when, actor
    session.flush()


@dataclass(frozen=True, slots=True)
class PhoneReport:
    """An entrapment reported by phone: the car, when the call came, what the caller said."""

    site: str
    equipment: str
    reported_at: datetime
    note: str = ""


def report(
    session: Session,
    call: PhoneReport,
    *,
    at: datetime,
    actor: str,
    sla: SlaPolicy,
    stage_config: StageConfig,
) -> tuple[WorkOrderRow, EntrapmentRescueRow, bool]:
    """Record an entrapment reported by phone (review 19c-d M5): the open entrapment order of
    the car gets a rescue (or the one under way takes the call, as an alarm would), else a
    reactive P1 order is opened with the entrapment's incident key, its clocks from the call.
    Returns the order, the rescue and whether the order is new. UnknownEquipment for a car not
    in the register; InvalidRecord for equipment that is no lift, a call time in the future or
    more than REPORT_WINDOW ago, or a note with hidden characters. The caller commits."""
    asset = session.get(EquipmentRow, (call.site, call.equipment))
    if asset is None:
        raise UnknownEquipment(call.site, call.equipment)
    if asset.type != "elevator":
        params = {"equipment": call.equipment, "type": asset.type}
        raise InvalidRecord("equipment", Message("error.entrapment.not_a_lift", params))
    when = call.reported_at
    if not at - REPORT_WINDOW <= when <= at + timedelta(minutes=5):
        days = str(REPORT_WINDOW.days)
        raise InvalidRecord("reported_at", Message("error.entrapment.report_time", {"days": days}))
    when = min(when, at)  # a phone clock a little ahead: the call came now, not in the future
    if call.note and first_hidden(call.note, lines=True) is not None:
        raise InvalidRecord("note", Message("error.drill.text", {"text": call.note[:40]}))
    key = f"{call.site}/{call.equipment}/{FAMILY}"
    order = session.scalars(
        select(WorkOrderRow).where(WorkOrderRow.incident_key == key).with_for_update()
    ).one_or_none()
    done = {WorkOrderStatus.RESOLVED.value, WorkOrderStatus.VERIFIED.value}
    if order is not None and (order.status in done or order.status in TERMINAL_STATUSES):
        order.incident_key = None  # the fix held until now: a new incident, a new order
        session.flush()
        order = None
    if order is not None:
        rescue = _phone_rescue(session, order, when, actor)
        add_note(
            session,
            order,
            actor=actor,
            at=at,
            kind="incident",
            message=OrderMessage("note.entrapment_reported", {"note": call.note or "–"}),
        )
        return order, rescue, False
    stage = assess_stage(
        session,
        site=call.site,
        equipment=call.equipment,
        equipment_type=asset.type,
        as_of=when,
        config=stage_config,
    )
    due = compute_due(sla, priority=1, fault_code=REPORTED, started_at=when)
    kind = i18n.Message(f"equipment_type.{asset.type}")
    title = i18n.Message(
        "workorder.title.entrapment_reported",
        {"equipment_type": kind.to_json(default=asset.type), "equipment": call.equipment},
    )
    draft = OrderDraft(
        site=call.site,
        equipment=call.equipment,
        kind=WorkOrderKind.REACTIVE,
        priority=1,
        title=title.render("en"),
        title_key=title.key,
        title_params=title.to_json()["params"],
        description=call.note,
        family=FAMILY,
        fault_code=REPORTED,
        incident_key=key,
    )
    order = insert_order(session, draft, due=due, stage=stage, at=when, actor=actor)
    rescue = open_rescue(session, order, alarm_id=None, at=when, created=True, reported_by=actor)
    return order, rescue, True

"""A run of an inspection round (巡检) as a technician's phone does it: the stops in route
order with their items, the live value of each monitored reading and the entries so far; the
phone's queue of entries, each answered on its own (stored, duplicate or refused with its
problem), so a bad entry never loses the good ones and a queue sent twice stores nothing twice.
And the checklist of a preventive order (its plan's tasks), ticked by who works the order.

The live values are best effort: InfluxDB unreachable means no live value, never a lost
entry (the round is what the technician saw)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session

from bldgwatch.console import audit, orderpolicy
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import (
    SUPERVISOR,
    CurrentUser,
    OrderReader,
    RoundWorker,
    User,
    WorkOrderWorker,
)
from bldgwatch.console.deps import AppClock, DbSession, Store
from bldgwatch.console.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ProblemError,
    UnprocessableError,
    said,
)
from bldgwatch.console.influxql import latest_query
from bldgwatch.console.language import Lang
from bldgwatch.console.locale import locale_of
from bldgwatch.console.paging import MAX_ID
from bldgwatch.console.problems import error_problem, problem_docs
from bldgwatch.console.schemas_rounds import (
    ChecklistLine,
    EntryBatch,
    EntryChangeOut,
    EntryFixIn,
    EntryOut,
    EntryResult,
    EntryResults,
    RunItem,
    RunOut,
    RunStop,
    TickIn,
)
from bldgwatch.core.clock import from_epoch_ms
from bldgwatch.core.i18n import Message
from bldgwatch.core.points import point_info
from bldgwatch.core.tsdb import TimeSeriesStore, TsdbError
from bldgwatch.maintenance import checklists, roundbatch, roundentries, roundfix, rounds
from bldgwatch.maintenance.checklists import ChecklistItem
from bldgwatch.maintenance.errors import InvalidRecord, WorkOrderNotFound
from bldgwatch.maintenance.models import (
    EquipmentRow,
    WorkOrderRow,
)
from bldgwatch.maintenance.plantexts import plan_text
from bldgwatch.maintenance.policy import load as load_policy
from bldgwatch.maintenance.roundentries import (
    CLOCK_SKEW,
    LIVE_MAX_AGE,
    EntryIn,
    LiveValues,
    RoundPolicy,
    fresh,
)
from bldgwatch.maintenance.roundmodels import (
    EntryChangeRow,
    InspectionRoundRow,
    RoundRunRow,
    RoundScanRow,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["rounds"])

RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="Round run id.")]
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="Work-order number.")]
ItemIdx = Annotated[int, Path(ge=0, le=999, description="The item's place in the checklist.")]
READ_DOCS = problem_docs(401, 403, 404, 422, 503)
CHANGE_DOCS = problem_docs(401, 403, 404, 409, 422, 503)
EntriesNoted = Annotated[AuditEntry, Depends(Audited(audit.ROUND_ENTRIES, "round_run:{run_id}"))]
TickNoted = Annotated[AuditEntry, Depends(Audited(audit.ORDER_CHECK, "work_order:{order_id}"))]


def live_reader(store: TimeSeriesStore, site: str) -> LiveValues:
    """The last value of an equipment's points at or before a time in InfluxDB, with its
    time, no older than `LIVE_MAX_AGE` (none when unreachable)."""

    def read(
        equipment_type: str, equipment: str, points: list[str], at: datetime
    ) -> dict[str, tuple[float, datetime]]:
        window = (at - LIVE_MAX_AGE, at + CLOCK_SKEW)
        statement = latest_query(equipment_type, site, equipment, points, between=window)
        try:
            rows = store.query(statement) if statement else []
        except TsdbError as err:
            logger.warning("no live values of %s/%s: %s", site, equipment, err)
            return {}
        return {
            k: (float(v), from_epoch_ms(int(r["time"])))
            for r in rows
            for k, v in r.items()
            if k in points and isinstance(v, int | float) and not isinstance(v, bool)
        }

    return read


def visible_run(session: Session, user: User, run_id: int) -> RoundRunRow:
    """The run, or 404 when it does not exist or is at another site."""
    row = session.get(RoundRunRow, run_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.round_run.not_found", {"id": str(run_id)}))
    return row


def _stop(
    session: Session,
    run: RoundRunRow,
    *,
    index: int,
    stop: tuple[str, list[ChecklistItem]],
    live: LiveValues,
    now: datetime,
    answers: dict[tuple[int, str], EntryOut],
    changes: dict[tuple[int, str], list[EntryChangeOut]],
) -> RunStop:
    equipment, items = stop
    asset = session.get(EquipmentRow, (run.site, equipment))
    points = [i.point for i in items if i.point is not None]
    values = live(asset.type, asset.id, points, now) if asset is not None and points else {}
    return RunStop(
        index=index,
        equipment=equipment,
        name=asset.name if asset else "",
        location=" ".join(filter(None, (asset.building, asset.location))) if asset else "",
        scanned=session.get(RoundScanRow, (run.id, index)) is not None,
        items=[
            _item(
                i,
                _to_precision(
                    asset.type if asset else "", i, fresh(values.get(i.point or ""), now)
                ),
                _entry_to_precision(asset.type if asset else "", i, answers.get((index, i.key))),
                changes.get((index, i.key), []),
            )
            for i in items
        ],
    )


def _to_precision(
    kind: str, item: ChecklistItem, live: tuple[float, datetime] | None
) -> tuple[float, datetime] | None:
    """The live value to the point's decimals, as the technician compares it (a meter shows
    27.8 A, not 27.778470993041992 A; review 19c-r L4)."""
    info = point_info(kind, item.point) if item.point is not None else None
    if live is None or info is None or info.precision is None:
        return live
    return round(live[0], info.precision), live[1]


def _entry_to_precision(kind: str, item: ChecklistItem, entry: EntryOut | None) -> EntryOut | None:
    """The live value kept with an entry to the point's decimals too, as the run page shows
    it (the supervisor's dialog said 71.08108520507812 A, review 19e L1)."""
    if entry is None or entry.live_value is None or entry.live_at is None:
        return entry
    rounded = _to_precision(kind, item, (entry.live_value, entry.live_at))
    return entry if rounded is None else entry.model_copy(update={"live_value": rounded[0]})


def _item(
    item: ChecklistItem,
    live: tuple[float, datetime] | None,
    entry: EntryOut | None,
    changes: list[EntryChangeOut],
) -> RunItem:
    value, at = live if live is not None else (None, None)
    return RunItem(
        **item.model_dump(), live_value=value, live_at=at, entry=entry, corrections=changes
    )


def change_out(change: EntryChangeRow, zone: ZoneInfo) -> EntryChangeOut:
    """A kept correction, its time also on the site's clock."""
    out = EntryChangeOut.model_validate(change)
    out.at_local = change.at.astimezone(zone).isoformat()
    return out


def run_out(session: Session, run: RoundRunRow, now: datetime, live: LiveValues) -> RunOut:
    """The run with its stops in route order (as at its start), their items, live values
    (no older than `LIVE_MAX_AGE`) and entries."""
    rnd = session.get(InspectionRoundRow, run.round_id)
    assert rnd is not None
    answers = {
        (e.stop, e.item): EntryOut.model_validate(e) for e in roundentries.entries(session, run.id)
    }
    zone = rounds.zone_of(session, run.site)
    changes: dict[tuple[int, str], list[EntryChangeOut]] = {}
    for c in roundfix.changes(session, run.id):
        changes.setdefault((c.stop, c.item), []).append(change_out(c, zone))
    return RunOut(
        id=run.id,
        round_id=rnd.id,
        round_name=rnd.name,
        site=run.site,
        timezone=str(zone),
        due_at=run.due_at,
        missed_at=run.due_at + rounds.clocks_at(rnd, run.due_at)[1],
        started_at=run.started_at,
        started_by=run.started_by,
        done_at=run.done_at,
        state=rounds.outcome(rnd, run.due_at, run, now),
        stops=[
            _stop(
                session, run, index=n, stop=s, live=live, now=now, answers=answers, changes=changes
            )
            for n, s in enumerate(rounds.run_route(session, run))
        ],
    )


@router.get(
    "/round-runs/{run_id}",
    response_model=RunOut,
    responses=READ_DOCS,
    summary="A run of an inspection round",
)
def get_run(
    *, session: DbSession, store: Store, clock: AppClock, user: CurrentUser, run_id: RunId
) -> RunOut:
    """The run's stops in route order, each item with its live value and entry."""
    run = visible_run(session, user, run_id)
    return run_out(session, run, clock.now(), live_reader(store, run.site))


def _refusal(err: Exception) -> ProblemError:
    if isinstance(err, InvalidRecord):
        return UnprocessableError(said(err), param=err.field)
    return ConflictError(said(err))


def _result(answer: roundbatch.EntryAnswer, path: str, locale: str) -> EntryResult:
    if answer.refusal is not None:
        problem = error_problem(_refusal(answer.refusal), path, locale, where="body")
        return EntryResult(id=answer.id, status="refused", problem=problem)
    out = EntryOut.model_validate(answer.row)
    return EntryResult(id=answer.id, status=answer.status, entry=out)


@router.post(
    "/round-runs/{run_id}/entries",
    response_model=EntryResults,
    responses=CHANGE_DOCS,
    summary="Send a phone's entries of a run",
)
def send_entries(
    *,
    noted: EntriesNoted,
    request: Request,
    session: DbSession,
    store: Store,
    clock: AppClock,
    user: RoundWorker,
    run_id: RunId,
    body: EntryBatch,
) -> EntryResults:
    """Each entry is stored (a fault opens or joins the equipment's repair order), found
    stored before under its id (`duplicate`: the same answer, nothing changed; also when the
    same batch is still being stored by an earlier request: this one waits for it) or refused
    with its problem (not scanned: 409; a value the item cannot take or a phone time outside
    the run: 422)."""
    run = visible_run(session, user, run_id)
    noted.site = run.site
    policy = load_policy(session)
    rules = RoundPolicy(sla=policy.sla, stage=policy.stage)
    live, now, locale = live_reader(store, run.site), clock.now(), locale_of(request)
    batch = [
        EntryIn(
            id=str(e.id),
            stop=e.stop,
            item=e.item,
            value=e.value,
            code=e.code,
            recorded_at=e.recorded_at,
        )
        for e in body.entries
    ]
    answers = roundbatch.record_batch(
        session, run, batch, policy=rules, at=now, actor=user.name, live=live
    )
    results = [_result(a, request.url.path, locale) for a in answers]
    session.commit()
    noted.detail = {
        s: sum(r.status == s for r in results) for s in ("stored", "duplicate", "refused")
    }
    return EntryResults(results=results)


EntryId = Annotated[str, Path(min_length=1, max_length=36, description="The entry's id.")]
FixNoted = Annotated[AuditEntry, Depends(Audited(audit.ROUND_ENTRY_FIX, "round_run:{run_id}"))]


@router.put(
    "/round-runs/{run_id}/entries/{entry_id}",
    response_model=EntryChangeOut,
    responses=problem_docs(401, 403, 404, 409, 422, 503),
    summary="Correct or void an entry of a run",
)
def correct_entry(
    *,
    noted: FixNoted,
    session: DbSession,
    clock: AppClock,
    user: RoundWorker,
    run_id: RunId,
    entry_id: EntryId,
    body: EntryFixIn,
) -> EntryChangeOut:
    """A mis-tapped 不合格 or a mistyped reading: the technician who recorded it (while the
    run's due point is not missed yet) or a supervisor (any time) gives the new value, judged
    again, or voids it (the item is answered again), with a reason. A fault that is none any
    more cancels the order it opened when nothing was done on it yet, else notes the
    correction on it (review 19c-r M10). Kept: who, when, old and new answer, reason."""
    run = visible_run(session, user, run_id)
    noted.site = run.site
    if not body.void and body.value is None:
        raise UnprocessableError(Message("error.round.fix_value"), param="value")
    policy = load_policy(session)
    fix = roundfix.EntryFix(reason=body.reason, value=body.value, void=body.void)
    try:
        change = roundfix.correct_entry(
            session,
            run,
            entry_id,
            fix,
            supervisor=user.has_any(frozenset({SUPERVISOR})),
            policy=RoundPolicy(sla=policy.sla, stage=policy.stage),
            at=clock.now(),
            actor=user.name,
        )
    except roundfix.EntryNotFound as err:
        raise NotFoundError(said(err)) from err
    except roundfix.FixRefused as err:
        if err.reason == "not_yours":
            raise ForbiddenError(said(err)) from err
        raise ConflictError(said(err)) from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.commit()
    noted.detail = {
        "entry": entry_id,
        "old": change.old_value,
        "new": "void" if body.void else change.new_value,
        "reason": change.reason,
        "order": change.order_id,
        "order_action": change.order_action,
    }
    return change_out(change, rounds.zone_of(session, run.site))


def _order(session: Session, user: User, order_id: int) -> WorkOrderRow:
    row = session.get(WorkOrderRow, order_id)
    if row is None or not user.may_see_order(row.site, row.contractor):
        raise NotFoundError(Message("error.work_order.not_found", {"id": str(order_id)}))
    return row


def _checklist(session: Session, order_id: int, lang: str) -> list[ChecklistLine]:
    """The order's checklist, each item in the reader's language (review 19r M6), with its
    result (an item ticked without one reads as passed)."""
    return [
        ChecklistLine(
            idx=r.idx,
            text=plan_text(r.text, lang),
            done_at=r.done_at,
            done_by=r.done_by,
            result=r.result or ("pass" if r.done_at is not None else None),
            note=r.note,
            reading=r.reading,
            unit=r.unit,
            repair_order_id=r.repair_order_id,
            withdrawn_at=r.withdrawn_at,
            withdrawn_by=r.withdrawn_by,
            withdrawn_reason=r.withdrawn_reason,
        )
        for r in checklists.order_checklist(session, order_id)
    ]


def _answer(body: TickIn) -> checklists.PmAnswer | None:
    """The answer of a tick: none for a plain tick or untick; a note or reading needs a result
    and `done: true` (422 naming the field)."""
    if body.result is None:
        if body.note is not None or body.reading is not None or body.unit is not None:
            raise UnprocessableError(Message("error.checklist.result_needed"), param="result")
        return None
    if not body.done:
        raise UnprocessableError(Message("error.checklist.result_not_done"), param="done")
    if body.unit is not None and body.reading is None:
        raise UnprocessableError(Message("error.checklist.unit_alone"), param="unit")
    return checklists.PmAnswer(
        checklists.PmResult(body.result), note=body.note, reading=body.reading, unit=body.unit
    )


@router.get(
    "/work-orders/{order_id}/checklist",
    response_model=list[ChecklistLine],
    responses=READ_DOCS,
    summary="The checklist of a preventive order",
)
def get_checklist(
    *, session: DbSession, user: OrderReader, order_id: OrderId, lang: Lang
) -> list[ChecklistLine]:
    """Its plan's tasks in order, each with who ticked it and when (empty for other orders)."""
    _order(session, user, order_id)
    return _checklist(session, order_id, lang)


@router.put(
    "/work-orders/{order_id}/checklist/{idx}",
    response_model=list[ChecklistLine],
    responses=CHANGE_DOCS,
    summary="Tick an item of a preventive order's checklist",
)
def tick_item(
    *,
    noted: TickNoted,
    session: DbSession,
    clock: AppClock,
    user: WorkOrderWorker,
    order_id: OrderId,
    idx: ItemIdx,
    body: TickIn,
    lang: Lang,
) -> list[ChecklistLine]:
    """Tick (or untick) one item; who may work the order may (its technician, a supervisor,
    its contractor)."""
    order = _order(session, user, order_id)
    noted.site = order.site
    noted.detail = {"idx": idx, "done": body.done, "result": body.result}
    orderpolicy.check(user, order, "complete")
    answer = _answer(body)
    try:  # frozen once resolved, finished or cancelled (review 19r M7, 19c-r M4)
        row = checklists.tick(
            session, order_id, idx, done=body.done, at=clock.now(), actor=user.name, answer=answer
        )
    except (checklists.ChecklistFrozen, checklists.ItemWithdrawn) as err:
        raise ConflictError(said(err)) from err
    except WorkOrderNotFound as err:
        params = {"id": str(order_id), "idx": str(idx)}
        raise NotFoundError(Message("error.checklist.no_item", params)) from err
    if row.result == checklists.PmResult.FAIL and row.repair_order_id is None:
        policy = load_policy(session)  # a failed item opens or joins a repair (19c-r M6)
        rules = RoundPolicy(sla=policy.sla, stage=policy.stage)
        row.repair_order_id = roundentries.raise_pm_fault(
            session, order, row, policy=rules, at=clock.now(), actor=user.name
        )
        noted.detail["repair_order"] = row.repair_order_id
    elif row.result != checklists.PmResult.FAIL:
        row.repair_order_id = None
    session.commit()
    return _checklist(session, order_id, lang)

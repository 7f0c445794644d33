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

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session

from bldgwatch.console import audit, orderpolicy
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import CurrentUser, OrderReader, RoundWorker, User, WorkOrderWorker
from bldgwatch.console.deps import AppClock, DbSession, Store
from bldgwatch.console.errors import (
    ConflictError,
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
    EntryBody,
    EntryOut,
    EntryResult,
    EntryResults,
    RunItem,
    RunOut,
    RunStop,
    TickIn,
)
from bldgwatch.core.i18n import Message
from bldgwatch.core.tsdb import TimeSeriesStore, TsdbError
from bldgwatch.maintenance import checklists, roundentries, rounds
from bldgwatch.maintenance.errors import InvalidRecord, WorkOrderNotFound
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    EquipmentRow,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.plantexts import plan_text
from bldgwatch.maintenance.policy import load as load_policy
from bldgwatch.maintenance.roundentries import EntryIn, EntryRefused, LiveValues, RoundPolicy
from bldgwatch.maintenance.roundmodels import (
    ChecklistTemplateRow,
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
    """The latest value of an equipment's points in InfluxDB (none when unreachable)."""

    def read(equipment_type: str, equipment: str, points: list[str]) -> dict[str, float]:
        statement = latest_query(equipment_type, site, equipment, points)
        try:
            rows = store.query(statement) if statement else []
        except TsdbError as err:
            logger.warning("no live values of %s/%s: %s", site, equipment, err)
            return {}
        return {
            k: float(v)
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
    stop: dict[str, object],
    live: LiveValues,
    answers: dict[tuple[int, str], EntryOut],
) -> RunStop:
    asset = session.get(EquipmentRow, (run.site, str(stop["equipment"])))
    template = session.get(ChecklistTemplateRow, stop["template_id"])
    items = checklists.items_of(template) if template is not None else []
    points = [i.point for i in items if i.point is not None]
    values = live(asset.type, asset.id, points) if asset is not None and points else {}
    return RunStop(
        index=index,
        equipment=str(stop["equipment"]),
        name=asset.name if asset else "",
        location=" ".join(filter(None, (asset.building, asset.location))) if asset else "",
        scanned=session.get(RoundScanRow, (run.id, index)) is not None,
        items=[
            RunItem(
                **i.model_dump(),
                live_value=values.get(i.point or ""),
                entry=answers.get((index, i.key)),
            )
            for i in items
        ],
    )


def run_out(session: Session, run: RoundRunRow, now: datetime, live: LiveValues) -> RunOut:
    """The run with its stops in route order, their items, live values and entries."""
    rnd = session.get(InspectionRoundRow, run.round_id)
    assert rnd is not None
    answers = {
        (e.stop, e.item): EntryOut.model_validate(e) for e in roundentries.entries(session, run.id)
    }
    return RunOut(
        id=run.id,
        round_id=rnd.id,
        round_name=rnd.name,
        site=run.site,
        timezone=str(rounds.zone_of(session, run.site)),
        due_at=run.due_at,
        started_at=run.started_at,
        started_by=run.started_by,
        done_at=run.done_at,
        state=rounds.outcome(rnd, run.due_at, run, now),
        stops=[
            _stop(session, run, index=n, stop=s, live=live, answers=answers)
            for n, s in enumerate(rnd.stops)
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


def _one(
    session: Session,
    run: RoundRunRow,
    body: EntryBody,
    *,
    policy: RoundPolicy,
    at: datetime,
    actor: str,
    live: LiveValues,
) -> tuple[str, EntryOut]:
    entry = EntryIn(
        id=str(body.id),
        stop=body.stop,
        item=body.item,
        value=body.value,
        code=body.code,
        recorded_at=body.recorded_at,
    )
    with session.begin_nested():
        row, seen = roundentries.record(
            session, run, entry, policy=policy, at=at, actor=actor, live=live
        )
    return ("duplicate" if seen else "stored"), EntryOut.model_validate(row)


def _refusal(err: Exception) -> ProblemError:
    if isinstance(err, InvalidRecord):
        return UnprocessableError(said(err), param=err.field)
    return ConflictError(said(err))


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
    stored before under its id (`duplicate`: the same answer, nothing changed) or refused with
    its problem (not scanned: 409; a value the item cannot take: 422)."""
    run = visible_run(session, user, run_id)
    noted.site = run.site
    policy = load_policy(session)
    rules = RoundPolicy(sla=policy.sla, stage=policy.stage)
    live, now, locale = live_reader(store, run.site), clock.now(), locale_of(request)
    results: list[EntryResult] = []
    for entry in body.entries:
        try:
            status, out = _one(
                session, run, entry, policy=rules, at=now, actor=user.name, live=live
            )
            results.append(EntryResult(id=str(entry.id), status=status, entry=out))
        except (EntryRefused, InvalidRecord) as err:
            problem = error_problem(_refusal(err), request.url.path, locale, where="body")
            results.append(EntryResult(id=str(entry.id), status="refused", problem=problem))
    session.commit()
    noted.detail = {
        s: sum(r.status == s for r in results) for s in ("stored", "duplicate", "refused")
    }
    return EntryResults(results=results)


def _order(session: Session, user: User, order_id: int) -> WorkOrderRow:
    row = session.get(WorkOrderRow, order_id)
    if row is None or not user.may_see_order(row.site, row.contractor):
        raise NotFoundError(Message("error.work_order.not_found", {"id": str(order_id)}))
    return row


def _checklist(session: Session, order_id: int, lang: str) -> list[ChecklistLine]:
    """The order's checklist, each item in the reader's language (review 19r M6)."""
    return [
        ChecklistLine(idx=r.idx, text=plan_text(r.text, lang), done_at=r.done_at, done_by=r.done_by)
        for r in checklists.order_checklist(session, order_id)
    ]


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
    noted.site, noted.detail = order.site, {"idx": idx, "done": body.done}
    orderpolicy.check(user, order, "complete")
    if WorkOrderStatus(order.status) in TERMINAL_STATUSES:  # review 19r M7
        word = Message(f"error.status_word.{order.status}")
        params = {"id": str(order.id), "status_name": word}
        raise ConflictError(Message("error.work_order.no_more_work", params))
    try:
        checklists.tick(session, order_id, idx, done=body.done, at=clock.now(), actor=user.name)
    except WorkOrderNotFound as err:
        params = {"id": str(order_id), "idx": str(idx)}
        raise NotFoundError(Message("error.checklist.no_item", params)) from err
    session.commit()
    return _checklist(session, order_id, lang)

"""The equipment history file (设备档案): identity, overhauls, every alarm, order, part, labour
and cost, repair classes and downtime over its life, the life stage now with its reason and
trend — as JSON for the page, and exported as CSV and PDF (`maintenance.history`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bldgwatch.console.auth import CurrentUser
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import NotFoundError, UnavailableError, said
from bldgwatch.console.language import Lang
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.equipment import find_equipment
from bldgwatch.console.schemas import Equipment, LabourEntry, PartEntry, WorkOrderSummary
from bldgwatch.console.schemas_orders import ChargeEntry
from bldgwatch.maintenance.errors import UnknownEquipment
from bldgwatch.maintenance.history import (
    AlarmLine,
    HistoryFile,
    history_csv,
    history_file,
    render_history,
)
from bldgwatch.maintenance.policy import load as load_policy
from bldgwatch.maintenance.printing import ReportError, pdf_bytes
from bldgwatch.maintenance.texts import order_title, text
from bldgwatch.rules import queries as alarm_queries

router = APIRouter(prefix="/api/equipment", tags=["assets"])

SiteId = Annotated[str, Path(max_length=64, description="Site id.")]
EquipmentId = Annotated[str, Path(max_length=64, description="Equipment id.")]
DOCS = problem_docs(401, 404, 422, 503)
MAX_ALARMS = 500
AlarmsOffset = Annotated[
    int, Query(ge=0, le=10_000_000, description="Skip this many of the newest alarms.")
]


class StageNow(BaseModel):
    """The life stage now."""

    stage: str
    name: str = Field(description="In the reader's language.")
    p_early: float
    p_mid: float
    p_late: float
    reason: str


class StageTrendPoint(BaseModel):
    """The stage at one time of the last year."""

    at: datetime
    stage: str
    p_late: float


class AlarmOut(BaseModel):
    """One alarm occurrence of the equipment."""

    raised_at: datetime
    fault_code: str
    fault: str
    severity: str
    state: str
    cleared_at: datetime | None
    activations: int


class EquipmentHistoryOut(BaseModel):
    """The history file."""

    equipment: Equipment
    timezone: str
    stage: StageNow
    trend: list[StageTrendPoint]
    totals: dict[str, Any]
    repair_classes: dict[str, int]
    work_orders: list[WorkOrderSummary] = Field(description="Newest first.")
    parts: list[PartEntry]
    labour: list[LabourEntry]
    charges: list[ChargeEntry]
    alarms: list[AlarmOut] = Field(
        description="A page of up to 500, newest page first (`alarms_offset`), oldest first "
        "within it; `totals.alarms` counts every alarm of the equipment's life."
    )
    exports: dict[str, str] = Field(description="CSV and PDF of this file.")


def _load(
    session: Session,
    user: CurrentUser,
    site: str,
    equipment: str,
    now: datetime,
    *,
    alarms_offset: int = 0,
) -> HistoryFile:
    find_equipment(session, user, site, equipment)
    rows, total = alarm_queries.list_alarms(
        session,
        alarm_queries.AlarmFilter(sites=[site], site=site, equipment=equipment),
        limit=MAX_ALARMS,
        offset=alarms_offset,
    )
    alarms = [
        AlarmLine(
            raised_at=r.raised_at,
            fault_code=r.fault_code,
            severity=r.severity,
            state=r.state,
            cleared_at=r.cleared_at,
            activations=r.activations,
        )
        for r in rows
    ]
    try:
        stage = load_policy(session).stage
        return history_file(
            session, site, equipment, as_of=now, alarms=alarms, alarm_total=total, config=stage
        )
    except UnknownEquipment as err:
        raise NotFoundError(said(err)) from err


@router.get(
    "/{site}/{equipment_id}/history",
    response_model=EquipmentHistoryOut,
    responses=DOCS,
    summary="The equipment's history file (设备档案)",
)
def get_history(
    *,
    session: DbSession,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteId,
    equipment_id: EquipmentId,
    alarms_offset: AlarmsOffset = 0,
) -> EquipmentHistoryOut:
    """Everything over the equipment's life, in the reader's language; alarms a page at a
    time (the 500 newest, then `alarms_offset=500`, …)."""
    h = _load(session, user, site, equipment_id, clock.now(), alarms_offset=alarms_offset)
    record, stage = h.record, h.stage
    orders = []
    for o in record.work_orders:
        item = WorkOrderSummary.model_validate(o)
        item.title_text = order_title(o, lang)
        orders.append(item)
    base = f"/api/equipment/{site}/{equipment_id}/history"
    return EquipmentHistoryOut(
        equipment=Equipment.model_validate(record.asset),
        timezone=h.tz,
        stage=StageNow(
            stage=stage.stage.value,
            name=text(f"stage.{stage.stage.value}", lang),
            p_early=round(stage.p_early, 4),
            p_mid=round(stage.p_mid, 4),
            p_late=round(stage.p_late, 4),
            reason=stage.texts.get(lang, stage.reason),
        ),
        trend=[StageTrendPoint(at=p.at, stage=p.stage, p_late=p.p_late) for p in h.trend],
        totals=h.totals(),
        repair_classes=record.totals()["repair_classes"],
        work_orders=orders,
        parts=[PartEntry.model_validate(p) for p in record.parts],
        labour=[LabourEntry.model_validate(r) for r in record.labour],
        charges=[ChargeEntry.model_validate(c) for c in h.charges],
        alarms=[
            AlarmOut(
                raised_at=a.raised_at,
                fault_code=a.fault_code,
                fault=text("fault", lang, code=a.fault_code),
                severity=a.severity,
                state=a.state,
                cleared_at=a.cleared_at,
                activations=a.activations,
            )
            for a in h.alarms
        ],
        exports={"csv": f"{base}.csv?lang={lang}", "pdf": f"{base}.pdf?lang={lang}"},
    )


def _filename(site: str, equipment: str, suffix: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in f"{site}-{equipment}")
    return f"{safe}-history.{suffix}"


@router.get(
    "/{site}/{equipment_id}/history.csv",
    response_class=Response,
    responses={**DOCS, 200: {"content": {"text/csv": {}}}},
    summary="The history file as CSV",
)
def history_as_csv(
    *,
    session: DbSession,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteId,
    equipment_id: EquipmentId,
) -> Response:
    """One row per dated fact (order, part, labour, contractor charge, alarm), oldest first,
    times in the site's zone; UTF-8 with a byte-order mark, so spreadsheet programs read the
    Chinese."""
    h = _load(session, user, site, equipment_id, clock.now())
    body = "\ufeff" + history_csv(h, lang)
    name = _filename(site, equipment_id, "csv")
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/{site}/{equipment_id}/history.pdf",
    response_class=Response,
    responses={**DOCS, 200: {"content": {"application/pdf": {}, "text/html": {}}}},
    summary="The history file as PDF",
)
def history_as_pdf(
    *,
    session: DbSession,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteId,
    equipment_id: EquipmentId,
) -> Response:
    """The printable document (503 when no PDF printer is installed)."""
    h = _load(session, user, site, equipment_id, clock.now())
    page = render_history(h, lang)
    try:
        pdf = pdf_bytes(page)
    except ReportError as err:
        raise UnavailableError(said(err)) from err
    name = _filename(site, equipment_id, "pdf")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

"""Contractors (维保单位): register them and their contracts per site and equipment class,
and dispatch a work order to the contractor whose contract covers it. Supervisors (and
admins) manage them for the sites they see; the change is the owner's
(`maintenance.contractors`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import OrderReader, Supervisor, User
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnprocessableError,
    said,
)
from bldgwatch.console.paging import DIGITS_ONLY, MAX_ID, MONTH
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.work_order_actions import visible_order
from bldgwatch.console.routers.work_orders import order_detail
from bldgwatch.console.schemas import WorkOrderDetail
from bldgwatch.console.schemas_contractors import (
    ContractEndIn,
    ContractIn,
    ContractorIn,
    ContractorOut,
    ContractOut,
    DispatchIn,
    ScorecardOut,
    Scorecards,
)
from bldgwatch.console.users import user_named
from bldgwatch.core.db import session_factory
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import contractorkpis, queries
from bldgwatch.maintenance.contractormodels import ContractorRow, ContractRow
from bldgwatch.maintenance.contractors import (
    CONTRACTOR_ID,
    ContractChoice,
    ContractNotFound,
    ContractorDesk,
    ContractorNotFound,
    ContractOverlap,
    NewContract,
    NewContractor,
    NoContract,
    NotDispatchable,
)
from bldgwatch.maintenance.errors import InvalidRecord, UnknownSite, WorkOrderNotFound
from bldgwatch.maintenance.kpis import Period

router = APIRouter(prefix="/api", tags=["contractors"])

ContractorId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=CONTRACTOR_ID.pattern,
        description="Contractor id: lower-case letters, digits, - and _.",
    ),
]
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="Work-order number."), DIGITS_ONLY]
DOCS = problem_docs(401, 403, 404, 409, 422, 503)
SaveNoted = Annotated[
    AuditEntry, Depends(Audited(audit.CONTRACTOR_SAVE, "contractor:{contractor_id}"))
]
ContractNoted = Annotated[
    AuditEntry, Depends(Audited(audit.CONTRACT_ADD, "contractor:{contractor_id}"))
]
EndNoted = Annotated[AuditEntry, Depends(Audited(audit.CONTRACT_END, "contract:{contract_id}"))]
ContractId = Annotated[int, Path(ge=1, le=MAX_ID, description="Contract number."), DIGITS_ONLY]
DispatchNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_DISPATCH, "work_order:{order_id}"))
]
T = TypeVar("T")


def _run(session: Session, engine: Engine, operation: Callable[[ContractorDesk], T]) -> T:
    """Run the owner's change and map its refusals to problems."""
    try:
        out = operation(ContractorDesk(session_factory(engine)))
    except (ContractorNotFound, ContractNotFound, WorkOrderNotFound, UnknownSite) as err:
        raise NotFoundError(said(err)) from err
    except (NoContract, ContractChoice, NotDispatchable, ContractOverlap) as err:
        raise ConflictError(said(err)) from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.rollback()  # end this request's read transaction: the next reads see the change
    return out


def contractor_out(session: Session, row: ContractorRow, user: User) -> ContractorOut:
    """The contractor with its contracts at the sites `user` sees, newest start first."""
    contracts = session.scalars(
        select(ContractRow)
        .where(ContractRow.contractor == row.id, user.site_filter(ContractRow.site))
        .order_by(ContractRow.valid_from.desc(), ContractRow.id)
    )
    out = []
    for c in contracts:
        site = queries.site(session, c.site)
        zone = site.timezone if site is not None else "Asia/Shanghai"
        out.append(ContractOut.model_validate(c).model_copy(update={"timezone": zone}))
    return ContractorOut.model_validate(row).model_copy(update={"contracts": out})


@router.get(
    "/contractors",
    response_model=list[ContractorOut],
    responses=problem_docs(401, 403, 503),
    summary="List contractors and their contracts",
)
def list_contractors(*, session: DbSession, user: Supervisor) -> list[ContractorOut]:
    """The contractors serving the caller's sites (and those with no contract yet), with
    their contracts at those sites."""
    rows = session.scalars(select(ContractorRow).order_by(ContractorRow.id))
    return [contractor_out(session, r, user) for r in rows if _serves_yours(session, r.id, user)]


def _sites_served(session: Session, contractor_id: str) -> set[str]:
    """The sites where the contractor holds a contract (any time)."""
    stmt = select(ContractRow.site).where(ContractRow.contractor == contractor_id).distinct()
    return set(session.scalars(stmt))


def _serves_yours(session: Session, contractor_id: str, user: User) -> bool:
    sites = _sites_served(session, contractor_id)
    return user.sites is None or not sites or bool(sites & set(user.sites))


def _check_may_change(session: Session, user: User, contractor_id: str, noted: AuditEntry) -> None:
    """A contractor is changed by a supervisor of every site it serves (its name and on-call
    phone are what those sites ring): 404 when it serves none of yours, 403 when it also
    serves others."""
    sites = _sites_served(session, contractor_id)
    noted.site = next(iter(sites)) if len(sites) == 1 else None
    if user.sites is None or not sites:
        return
    if not sites & set(user.sites):
        raise NotFoundError(Message("error.contractor.not_found", {"contractor": contractor_id}))
    others = sorted(sites - set(user.sites))
    if others:
        params = {"contractor": contractor_id, "sites": ", ".join(others)}
        raise ForbiddenError(Message("error.contractor.other_sites", params))


@router.put(
    "/contractors/{contractor_id}",
    response_model=ContractorOut,
    responses=DOCS,
    summary="Register or update a contractor",
)
def save_contractor(
    *,
    noted: SaveNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    contractor_id: ContractorId,
    body: ContractorIn,
) -> ContractorOut:
    """Name, licence number, contact and phones (422 naming the field that cannot be
    stored: blank, invisible or control characters, not a phone number)."""
    _check_may_change(session, user, contractor_id, noted)
    if session.get(ContractorRow, contractor_id) is None and user_named(session, contractor_id):
        # Its orders are assigned to its id: a console user of that name would hold them all.
        raise ConflictError(Message("error.contractor.id_is_user", {"id": contractor_id}))
    new = NewContractor(id=contractor_id, **body.model_dump())
    now = clock.now()
    row = _run(session, engine, lambda desk: desk.save_contractor(new, at=now, actor=user.name))
    return contractor_out(session, row, user)


@router.post(
    "/contractors/{contractor_id}/contracts",
    response_model=ContractorOut,
    status_code=201,
    responses=DOCS,
    summary="Add a contract of a contractor",
)
def add_contract(
    *,
    noted: ContractNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    contractor_id: ContractorId,
    body: ContractIn,
) -> ContractorOut:
    """A contract for one site and equipment class (404 for an unknown contractor or a site
    the caller does not see; 422 for an end before the start, or a blank scope; 409 for a
    span overlapping another contract of the same site and class)."""
    if not user.may_see(body.site):
        raise NotFoundError(Message("error.site.not_found", {"site": body.site}))
    noted.site = body.site
    noted.detail = {"equipment_type": body.equipment_type, "from": str(body.valid_from)}
    new = NewContract(contractor=contractor_id, **body.model_dump())
    now = clock.now()
    _run(session, engine, lambda desk: desk.add_contract(new, at=now, actor=user.name))
    row = session.get(ContractorRow, contractor_id)
    if row is None:
        raise NotFoundError(Message("error.contractor.not_found", {"contractor": contractor_id}))
    return contractor_out(session, row, user)


@router.post(
    "/contractors/{contractor_id}/contracts/{contract_id}/end",
    response_model=ContractorOut,
    responses=DOCS,
    summary="End a contract early",
)
def end_contract(
    *,
    noted: EndNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    contractor_id: ContractorId,
    contract_id: ContractId,
    body: ContractEndIn,
) -> ContractorOut:
    """Its last covered day becomes `valid_to`: a contract is shortened, never stretched; one
    entered wrongly is ended the day before its first (it then covers no day and clashes with
    none, and the right one can be added). 404 for a contract of a site the caller does not
    see."""
    row = session.get(ContractRow, contract_id)
    if row is None or row.contractor != contractor_id or not user.may_see(row.site):
        raise NotFoundError(Message("error.contractor.no_such_contract", {"id": str(contract_id)}))
    noted.site, noted.detail = row.site, {"valid_to": str(body.valid_to)}
    now = clock.now()
    _run(
        session,
        engine,
        lambda desk: desk.end_contract(
            contractor_id, contract_id, body.valid_to, at=now, actor=user.name
        ),
    )
    found = session.get(ContractorRow, contractor_id)
    assert found is not None  # the contract refers to it
    return contractor_out(session, found, user)


@router.post(
    "/work-orders/{order_id}/dispatch",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Dispatch a work order to a contractor",
)
def dispatch(
    *,
    noted: DispatchNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    order_id: OrderId,
    body: DispatchIn,
) -> WorkOrderDetail:
    """To the contractor whose contract covers the order's site and equipment class today
    (site time), or the contract named when several do; the order's response and
    resolution clocks restart now with the contract's SLAs. 409 when no contract covers
    it (or several and none is named), or the order is resolved or finished."""
    order = visible_order(session, user, order_id)
    noted.site = order.site
    now = clock.now()
    done = _run(
        session,
        engine,
        lambda desk: desk.dispatch(order_id, at=now, actor=user.name, contract_id=body.contract_id),
    )
    noted.detail = {"contractor": done.contractor, "contract": done.contract_id}
    row = queries.work_order(session, order_id)
    if row is None:
        raise NotFoundError(Message("error.work_order.not_found", {"id": str(order_id)}))
    return order_detail(session, row, user=user)


@router.get(
    "/kpis/contractors",
    response_model=Scorecards,
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="The contractors' scorecard of a site for a month",
)
def scorecard(
    *,
    session: DbSession,
    clock: AppClock,
    user: OrderReader,
    site: Annotated[str, Query(min_length=1, max_length=64, description="Site id.")],
    month: Annotated[
        str | None,
        Query(pattern=MONTH, description="YYYY-MM in the site's time zone; default now."),
    ] = None,
) -> Scorecards:
    """Per contractor: orders dispatched in the month, on-time response and resolution
    rates against the contract's clocks, repeat failures within 30 days of a resolution,
    and cost. A contractor's user sees only its own contractor's line."""
    row = queries.site(session, site)
    if row is None or not user.may_see(site):
        raise NotFoundError(Message("error.site.not_found", {"site": site}))
    now = clock.now()
    period = Period.parse(month, row.timezone) if month else Period.of(now, row.timezone)
    only = (user.contractor or "") if user.is_contractor else None
    cards = contractorkpis.scorecards(session, site, period, now, contractor=only)
    return Scorecards(
        site=site,
        month=period.label,
        timezone=row.timezone,
        repeat_days=contractorkpis.REPEAT_DAYS,
        items=[ScorecardOut(**c.as_dict()) for c in cards],
    )

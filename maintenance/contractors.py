"""Contractors (维保单位): the one writer of the contractor tables, and the dispatch of a work
order to the contractor whose contract covers it.

A contractor is a licensed company (name, licence number, contact, on-call phone); a
contract binds it to one site and equipment class (elevator, pump, …) for a span of site
days, with its own response and resolution clocks. Contracts of one site and class never
overlap, so on any day at most one contractor holds a class of a site — unless the owner
keeps several on purpose (different scopes): then the supervisor names the contract.

Dispatching an order records the contractor and the contract on it and restarts its clocks
from the dispatch time with the contract's SLAs (the contractor cannot answer before it is
told; the supervisor's own clocks before that are in the order's timeline).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bldgwatch.core.plaintext import blank, first_hidden
from bldgwatch.core.site import EQUIPMENT_TYPES
from bldgwatch.maintenance.contractormodels import ContractorAccountRow, ContractorRow, ContractRow
from bldgwatch.maintenance.desk import record_change
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    MaintenanceError,
    UnknownSite,
    as_message,
)
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import EquipmentRow, SiteRow, WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.texts import named
from bldgwatch.maintenance.workorders import add_note, get_order, transition

logger = logging.getLogger(__name__)

CONTRACTOR_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PHONE = re.compile(r"^\+?[0-9][0-9 -]{2,30}$")
MAX_RESPONSE_MIN = 7 * 24 * 60
MAX_RESOLUTION_H = 90 * 24
NOT_DISPATCHABLE = frozenset(
    {
        WorkOrderStatus.RESOLVED,
        WorkOrderStatus.VERIFIED,
        WorkOrderStatus.CLOSED,
        WorkOrderStatus.CANCELLED,
    }
)
"""An order past its work is not dispatched any more (its clocks have stopped)."""


class ContractorNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No contractor with that id (HTTP 404)."""

    def __init__(self, contractor: str) -> None:
        super().__init__(Message("error.contractor.unknown", {"contractor": contractor[:64]}))
        self.contractor = contractor


class ContractNotFound(MaintenanceError):  # noqa: N818
    """No contract with that id for that contractor (HTTP 404)."""

    def __init__(self, contract_id: int) -> None:
        super().__init__(Message("error.contractor.no_such_contract", {"id": str(contract_id)}))


def _word(prefix: str, code: str) -> object:
    """The catalogue's word for a code (a status, a class), as a message parameter."""
    word = named(prefix, code)  # maintenance's own key; errors speak the catalogue's
    return word if isinstance(word, str) else as_message(Message(f"maintenance.{word.key}"))


class NoContract(MaintenanceError):  # noqa: N818
    """No contract covers the order's site, equipment class and day, or the one named does
    not (HTTP 409)."""

    def __init__(self, order: WorkOrderRow, equipment_type: str, day: date) -> None:
        params = {
            "id": str(order.id),
            "site": order.site,
            "type": _word("equipment_type", equipment_type),
            "day": day.isoformat(),
        }
        super().__init__(Message("error.contractor.no_contract", params))


class ContractChoice(MaintenanceError):  # noqa: N818
    """Several contracts cover the order: the supervisor names one (HTTP 409)."""

    def __init__(self, order_id: int, contracts: list[int]) -> None:
        params = {"id": str(order_id), "contracts": ", ".join(str(c) for c in contracts)}
        super().__init__(Message("error.contractor.choose", params))
        self.contracts = contracts


class ContractOverlap(MaintenanceError):  # noqa: N818
    """Another contract of the same site and class covers some of the same days (HTTP 409:
    the request is well-formed, the stored contracts refuse it)."""

    def __init__(self, clash: ContractRow) -> None:
        params = {"contract": str(clash.id), "contractor": clash.contractor}
        super().__init__(Message("error.contractor.overlap", params))


class NotDispatchable(MaintenanceError):  # noqa: N818
    """The order is resolved, verified, closed or cancelled (HTTP 409)."""

    def __init__(self, order: WorkOrderRow) -> None:
        params = {"id": str(order.id), "status": _word("status", order.status)}
        super().__init__(Message("error.contractor.not_dispatchable", params))


@dataclass(frozen=True, slots=True)
class NewContractor:
    """A contractor as the owner registers it."""

    id: str
    name: str
    licence: str
    contact: str
    phone: str
    on_call: str


@dataclass(frozen=True, slots=True)
class NewContract:
    """A contract of one contractor for one site and equipment class."""

    contractor: str
    site: str
    equipment_type: str
    scope: str
    valid_from: date
    valid_to: date
    response_min: int
    resolution_h: float


def _text(field: str, value: str, *, most: int, least: int = 1, lines: bool = False) -> None:
    """InvalidRecord naming `field`: blank, a hidden character, or too long."""
    if least and blank(value):
        raise InvalidRecord(field, Message("error.text.blank"))
    code = first_hidden(value, lines=lines)
    if code is not None:
        raise InvalidRecord(field, Message("error.text.hidden", {"code": code}))
    if len(value) > most:
        params = {"low": least, "high": most}
        raise InvalidRecord(field, Message("error.record.length", params))


def _phone(field: str, value: str) -> str:
    """The number as stored (full-width digits of a Chinese IME become ASCII, as for a
    complaint's phone); InvalidRecord naming `field` unless it is one."""
    phone = unicodedata.normalize("NFKC", value).strip()
    if not PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < 5:
        raise InvalidRecord(field, Message("error.complaint.phone", {"phone": value[:40]}))
    return phone


def check_contractor(new: NewContractor) -> None:
    """InvalidRecord (422) naming the first field that cannot be stored."""
    if not CONTRACTOR_ID.fullmatch(new.id):
        raise InvalidRecord("id", Message("error.contractor.id", {"id": new.id[:64]}))
    _text("name", new.name, most=200)
    _text("licence", new.licence, most=64)
    _text("contact", new.contact, most=100)
    _phone("phone", new.phone)
    _phone("on_call", new.on_call)


def _lock_site(session: Session, site: str) -> None:
    """Take the site's row for this transaction (PostgreSQL: a row lock; SQLite: the write
    lock), as its first statement, so two contracts of one site are checked and stored one
    after the other: two concurrent adds can no longer both pass the overlap check."""
    session.execute(update(SiteRow).where(SiteRow.id == site).values(name=SiteRow.name))


def check_contract(session: Session, new: NewContract, *, replacing: int | None = None) -> None:
    """Refuse what cannot be stored: an unknown contractor (ContractorNotFound) or site
    (UnknownSite), an unknown class, blank or hidden characters in the scope, a span that
    ends before it starts, clocks out of range (InvalidRecord naming the field), or a span
    overlapping another contract of the same site and class (ContractOverlap)."""
    if session.get(ContractorRow, new.contractor) is None:
        raise ContractorNotFound(new.contractor)
    if session.get(SiteRow, new.site) is None:
        raise UnknownSite(new.site[:64])
    if new.equipment_type not in EQUIPMENT_TYPES:
        params = {"value": new.equipment_type[:40], "known": ", ".join(EQUIPMENT_TYPES)}
        raise InvalidRecord("equipment_type", Message("error.record.one_of", params))
    _text("scope", new.scope, most=4000, lines=True)
    if new.valid_to < new.valid_from:
        raise InvalidRecord("valid_to", Message("error.contractor.span"))
    if not 1 <= new.response_min <= MAX_RESPONSE_MIN:
        params = {"low": "1", "high": str(MAX_RESPONSE_MIN)}
        raise InvalidRecord("response_min", Message("error.contractor.range", params))
    if not 0 < new.resolution_h <= MAX_RESOLUTION_H:
        params = {"low": "0", "high": str(MAX_RESOLUTION_H)}
        raise InvalidRecord("resolution_h", Message("error.contractor.range", params))
    clash = session.scalars(
        select(ContractRow).where(
            ContractRow.site == new.site,
            ContractRow.equipment_type == new.equipment_type,
            ContractRow.valid_from <= new.valid_to,
            ContractRow.valid_to >= new.valid_from,
            ContractRow.valid_to >= ContractRow.valid_from,  # a voided contract covers no day
            ContractRow.id != (replacing or 0),
        )
    ).first()
    if clash is not None:
        raise ContractOverlap(clash)


def site_day(session: Session, site: str, at: datetime) -> date:
    """The day `at` falls on at `site` (its time zone)."""
    row = session.get(SiteRow, site)
    zone = ZoneInfo(row.timezone if row is not None else "Asia/Shanghai")
    return at.astimezone(zone).date()


def covering(session: Session, site: str, equipment_type: str, day: date) -> list[ContractRow]:
    """The contracts covering `equipment_type` at `site` on `day` (site time), by id."""
    return list(
        session.scalars(
            select(ContractRow)
            .where(
                ContractRow.site == site,
                ContractRow.equipment_type == equipment_type,
                ContractRow.valid_from <= day,
                ContractRow.valid_to >= day,
            )
            .order_by(ContractRow.id)
        )
    )


def equipment_type(session: Session, order: WorkOrderRow) -> str:
    """The class of the order's equipment ('' when it left the register)."""
    row = session.get(EquipmentRow, (order.site, order.equipment))
    return row.type if row is not None else ""


def dispatch_order(
    session: Session, order: WorkOrderRow, contract: ContractRow, *, at: datetime, actor: str
) -> WorkOrderRow:
    """Record `contract`'s contractor on the locked `order` and restart its clocks from `at`
    with the contract's call-out SLAs (a preventive order keeps its plan's clocks: a half-
    monthly TSG T5002 visit is not a 30-minute call-out); an open order becomes assigned
    (to the contractor), one a technician holds is taken over by the contractor. The caller
    commits."""
    response = timedelta(minutes=contract.response_min)
    resolution = max(timedelta(hours=contract.resolution_h), response)
    order.contractor, order.contract_id, order.dispatched_at = contract.contractor, contract.id, at
    if order.kind != "preventive":  # a planned visit keeps its plan's clocks, not call-out ones
        order.response_due, order.resolution_due = at + response, at + resolution
    order.updated_at = max(order.updated_at, at)
    params = {
        "contractor": contract.contractor,
        "contract": str(contract.id),
        "response_min": contract.response_min,
        "resolution_h": contract.resolution_h,
    }
    add_note(
        session,
        order,
        actor=actor,
        at=at,
        kind="dispatch",
        message=Message("note.dispatched", params),
    )
    held_by = order.assigned_to
    if order.status != WorkOrderStatus.OPEN and held_by not in (None, contract.contractor):
        # Held by a technician (assigned, in progress, on hold): the contractor takes it over,
        # so the technician no longer works it; the timeline says from whom.
        order.assigned_to = contract.contractor
        add_note(
            session,
            order,
            actor=actor,
            at=at,
            kind="dispatch",
            message=Message("note.dispatch_took_over", {"who": held_by}),
        )
    if order.status == WorkOrderStatus.OPEN:
        transition(
            session,
            order.id,
            WorkOrderStatus.ASSIGNED,
            actor=actor,
            at=at,
            assigned_to=contract.contractor,
        )
    logger.info(
        "work order %d dispatched to %s (contract %d)", order.id, contract.contractor, contract.id
    )
    return order


def choose_contract(
    session: Session, order: WorkOrderRow, at: datetime, contract_id: int | None
) -> ContractRow:
    """The contract covering `order` at `at` (site day): the one named, or the only one
    (NoContract, ContractChoice otherwise)."""
    kind = equipment_type(session, order)
    day = site_day(session, order.site, at)
    found = covering(session, order.site, kind, day)
    if contract_id is not None:
        found = [c for c in found if c.id == contract_id]
    if not found:
        raise NoContract(order, kind, day)
    if len(found) > 1:
        raise ContractChoice(order.id, [c.id for c in found])
    return found[0]


class ContractorDesk:
    """Registers contractors and contracts, and dispatches orders, one transaction each."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def save_contractor(self, new: NewContractor, *, at: datetime, actor: str) -> ContractorRow:
        """Register or update a contractor (InvalidRecord when a field cannot be stored)."""
        check_contractor(new)
        with self._sessions() as session:
            row = session.get(ContractorRow, new.id) or ContractorRow(id=new.id)
            row.name, row.licence, row.contact = (
                new.name.strip(),
                new.licence.strip(),
                new.contact.strip(),
            )
            row.phone, row.on_call = _phone("phone", new.phone), _phone("on_call", new.on_call)
            row.updated_at, row.updated_by = at, actor[:64]
            session.add(row)
            session.commit()
            session.refresh(row)
        return row

    def add_contract(self, new: NewContract, *, at: datetime, actor: str) -> ContractRow:
        """Record a contract (InvalidRecord 422; ContractorNotFound, UnknownSite 404;
        ContractOverlap 409)."""
        with self._sessions() as session:
            _lock_site(session, new.site)
            check_contract(session, new)
            row = ContractRow(
                contractor=new.contractor,
                site=new.site,
                equipment_type=new.equipment_type,
                scope=new.scope.strip(),
                valid_from=new.valid_from,
                valid_to=new.valid_to,
                response_min=new.response_min,
                resolution_h=new.resolution_h,
                updated_at=at,
                updated_by=actor[:64],
            )
            session.add(row)
            session.commit()
            session.refresh(row)
        return row

    def end_contract(
        self, contractor: str, contract_id: int, last_day: date, *, at: datetime, actor: str
    ) -> ContractRow:
        """End a contract early: its last covered day becomes `last_day`, no later than its
        end and no earlier than the day before its first (then it covers no day: voided)
        (InvalidRecord `valid_to`; ContractNotFound). Orders already dispatched keep their
        clocks; from the day after, another contract may cover the site and class."""
        with self._sessions() as session:
            row = session.get(ContractRow, contract_id)
            if row is None or row.contractor != contractor:
                raise ContractNotFound(contract_id)
            _lock_site(session, row.site)
            session.refresh(row)
            if not row.valid_from - timedelta(days=1) <= last_day <= row.valid_to:
                params = {"from": row.valid_from.isoformat(), "to": row.valid_to.isoformat()}
                raise InvalidRecord("valid_to", Message("error.contractor.end_within", params))
            row.valid_to, row.updated_at, row.updated_by = last_day, at, actor[:64]
            session.commit()
            session.refresh(row)
            logger.info("contract %d of %s ends %s (%s)", contract_id, contractor, last_day, actor)
        return row

    def dispatch(
        self, order_id: int, *, at: datetime, actor: str, contract_id: int | None = None
    ) -> WorkOrderRow:
        """Dispatch the order to the contractor whose contract covers it on the day of `at`
        (WorkOrderNotFound 404, NotDispatchable, NoContract, ContractChoice 409)."""
        with self._sessions() as session:
            order = get_order(session, order_id, for_update=True)
            if order.status in NOT_DISPATCHABLE:
                raise NotDispatchable(order)
            src = order.status
            contract = choose_contract(session, order, at, contract_id)
            dispatch_order(session, order, contract, at=at, actor=actor)
            record_change(session, order, change="dispatched", previous=src, actor=actor)
            session.commit()
        return order


def bind_account(session: Session, user: str, contractor: str | None) -> None:
    """Make `user` act for `contractor` (None: for none); ContractorNotFound (404) for an
    unknown one. The caller commits (with the user's own change)."""
    if contractor is not None and session.get(ContractorRow, contractor) is None:
        raise ContractorNotFound(contractor)
    row = session.get(ContractorAccountRow, user)
    if contractor is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(ContractorAccountRow(user=user, contractor=contractor))
    else:
        row.contractor = contractor


def accounts(session: Session, users: list[str]) -> dict[str, str]:
    """The contractor each of `users` acts for (those who act for one)."""
    rows = session.scalars(select(ContractorAccountRow).where(ContractorAccountRow.user.in_(users)))
    return {r.user: r.contractor for r in rows}


def dispatch_to(
    session: Session,
    order: WorkOrderRow,
    contractor: str,
    kind: str,
    *,
    at: datetime,
    actor: str,
) -> bool:
    """Dispatch a new order to `contractor` (a preventive plan's) when one of its contracts
    covers the order's site and class `kind` on the day of `at`; False (logged) otherwise.
    The caller commits."""
    day = site_day(session, order.site, at)
    found = [c for c in covering(session, order.site, kind, day) if c.contractor == contractor]
    if not found:
        logger.warning(
            "order %d stays the team's: no contract of %s covers %s %s on %s",
            order.id,
            contractor,
            order.site,
            kind,
            day,
        )
        return False
    src = order.status
    dispatch_order(session, order, found[0], at=at, actor=actor)
    record_change(session, order, change="dispatched", previous=src, actor=actor)
    return True

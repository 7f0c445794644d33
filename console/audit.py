"""The audit log: who did what, when, from where, and what came of it (`console_audit`).

Logins (succeeded, failed, throttled), sessions and API tokens (made, refreshed, revoked),
users and roles (made, changed), every alarm and work-order action the console takes, and
changes to the parts list, budgets and KPI targets.
Changes to the console's own tables, budgets and KPI targets are recorded in the same
transaction as the change (`commit`); an alarm or work-order action is recorded right after
the owner's transaction, with its outcome (refusals too: 403, 404, 409, …). The table is
append-only: triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from bldgwatch.console.errors import ProblemError
from bldgwatch.console.models import AuditRow
from bldgwatch.core.clock import Clock

logger = logging.getLogger(__name__)

# What happened (the `action` column).
LOGIN = "login"
LOGIN_FAILED = "login.failed"
LOGIN_THROTTLED = "login.throttled"
LOGOUT = "logout"
SESSION_REFRESH = "session.refresh"
SESSION_REFUSED = "session.refresh_refused"
SESSION_REVOKE = "session.revoke"
PASSWORD_CHANGE = "user.password"
USER_CREATE = "user.create"
USER_UPDATE = "user.update"
USER_REVOKE = "user.revoke"
TOKEN_CREATE = "token.create"
TOKEN_REVOKE = "token.revoke"
ALARM_ACKNOWLEDGE = "alarm.acknowledge"
ALARM_SHELVE = "alarm.shelve"
ALARM_UNSHELVE = "alarm.unshelve"
ALARM_COMMENT = "alarm.comment"
ALARM_LEAK_VERDICT = "alarm.leak_verdict"
ALARM_OUT_OF_SERVICE = "alarm.out_of_service"
ALARM_RETURN_TO_SERVICE = "alarm.return_to_service"
WORK_ORDER_REQUEST = "work_order.request"
WORK_ORDER_ASSIGN = "work_order.assign"
WORK_ORDER_TRANSITION = "work_order.transition"
WORK_ORDER_LABOUR = "work_order.labour"
WORK_ORDER_COMMENT = "work_order.comment"
WORK_ORDER_BOOKING = "work_order.booking"
WORK_ORDER_SPOT_DECISION = "work_order.spot_decision"
WORK_ORDER_PART_REVERSAL = "work_order.part_reversal"
WORK_ORDER_LINE_REVERSAL = "work_order.line_reversal"
WORK_ORDER_COMPLETION = "work_order.completion"
WORK_ORDER_RESOLVE = "work_order.resolve"
WORK_ORDER_FOLLOW_UP = "work_order.follow_up"
WORK_ORDER_CANCEL = "work_order.cancel"
WORK_ORDER_ATTACH = "work_order.attach"
PART_SAVE = "part.save"
BUDGET_SET = "budget.set"
KPI_TARGETS_SET = "kpi_targets.set"
ENERGY_BASELINE_SET = "energy.baseline"
"""A building's energy baseline period chosen (issue 20)."""
ENERGY_TARGET_SET = "energy.target"
"""A site's yearly energy reduction target set."""
COMPLAINT_LOG = "complaint.log"
COMPLAINT_ASSIGN = "complaint.assign"
COMPLAINT_RESPOND = "complaint.respond"
COMPLAINT_RESOLVE = "complaint.resolve"
ALARM_ACK_LINK = "alarm.acknowledge_link"
"""An alarm acknowledged (or a try) with the one-time link of a notice: the actor is the
notice's recipient, not a console user."""
GATEWAY_CONFIG_PUSH = "gateway.config_push"
"""A gateway configuration pushed from the console (stored as a new version and sent)."""
ALERTS_SAVE = "alerts.save"
ALERTS_DELETE = "alerts.delete"
REQUEST_POINT = "request_point.save"
"""A request point (QR code) of the public repair requests added or retired."""
PUBLIC_REQUEST_DECISION = "public_request.decision"
"""A public repair request accepted (a new order, or linked to an incident's), declined,
marked as spam or merged into another by the desk."""
PUBLIC_REQUEST_LOG = "public_request.log"
"""A repair request the desk took by phone or at the counter."""

CONTRACTOR_SAVE = "contractor.save"
CONTRACT_ADD = "contractor.contract"
CONTRACT_END = "contractor.contract_end"
WORK_ORDER_DISPATCH = "work_order.dispatch"
"""A work order dispatched to a contractor (维保单位) under a contract."""
STORE_ADD = "stock.store"
STOCK_LEVELS = "stock.levels"
STOCK_RECEIVE = "stock.receive"
STOCKTAKE = "stock.stocktake"
WORK_ORDER_STOCK = "work_order.stock"
"""A part reserved, released, issued or returned on a work order."""
PURCHASE_REQUEST = "purchase.request"
PURCHASE_DECISION = "purchase.decision"
PURCHASE_RECEIVE = "purchase.receive"
PURCHASE_CLOSE = "purchase.close"
"""An approved purchase request closed with lines that will not come."""
STOCK_SUGGESTION = "stock.suggestion_accept"
EMERGENCY_PLAN_SAVE = "emergency_plan.save"
"""An emergency plan (应急预案) created or saved as a new version."""
EMERGENCY_PLAN_RETIRE = "emergency_plan.retire"
"""An emergency plan retired or put back in use."""
DRILL_SCHEDULE = "drill.schedule"
DRILL_RESCHEDULE = "drill.reschedule"
DRILL_CANCEL = "drill.cancel"
DRILL_STEP = "drill.step"
DRILL_RECORD = "drill.record"
DRILL_CORRECT = "drill.correct"
"""A recorded drill corrected (what changed is kept with the drill, review 19c-d M13)."""
DRILL_VOID = "drill.void"
"""A drill recorded by mistake voided, with the reason."""
ENTRAPMENT_REPORT = "entrapment.report"
"""An entrapment reported by phone recorded by hand (review 19c-d M5)."""
WORK_ORDER_RELEASED = "work_order.released"
"""The passengers of an entrapment recorded as released on its order."""

CHECKLIST_SAVE = "round.checklist_save"
ROUND_SAVE = "round.save"
ROUND_START = "round.start"
ROUND_ENTRIES = "round.entries"
"""A phone's entries of an inspection round's run (巡检), each answered on its own."""
ROUND_ENTRY_FIX = "round.entry_fix"
"""An entry of a run corrected or voided, with the old and new answer and the reason."""
ROUND_PHOTO = "round.photo"
"""A photo taken on an inspection round's run, uploaded under the phone's id."""
ORDER_CHECK = "work_order.check"
"""An item of a preventive order's checklist ticked or unticked."""

OK = "ok"
RESULT_OF_STATUS = {
    400: "invalid",
    401: "unauthorized",
    403: "denied",
    404: "not_found",
    409: "conflict",
    410: "expired",
    413: "invalid",
    422: "invalid",
    429: "throttled",
    503: "unavailable",
}
"""The `result` of a refused action, by HTTP status; anything else is `error`."""


def client_address(conn: HTTPConnection) -> str:
    """The client's address (a trusted proxy's X-Forwarded-For applied), or ''."""
    return conn.client.host if conn.client else ""


@dataclass
class AuditEntry:
    """One event being recorded; routes fill in `site` and `detail` as they learn them."""

    action: str
    actor: str
    address: str = ""
    target: str = ""
    site: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    recorded: bool = False
    """Set by a route that recorded the entry in its change's own transaction (`commit`)."""

    def row(self, at: datetime, *, result: str = OK, status: int | None = None) -> AuditRow:
        """The row to append."""
        return AuditRow(
            at=at,
            actor=self.actor[:100],
            address=self.address[:64],
            action=self.action,
            target=self.target[:200],
            site=self.site,
            result=result,
            status=status,
            detail=self.detail,
        )


def record(
    db: Session, entry: AuditEntry, at: datetime, *, result: str = OK, status: int | None = None
) -> None:
    """Add the entry to `db`'s transaction (committed with the change it records)."""
    db.add(entry.row(at, result=result, status=status))


def commit(db: Session, entry: AuditEntry, actor: str, at: datetime) -> None:
    """Record `entry` as `actor`'s in `db`'s transaction and commit it with the change, so a
    committed change always has its audit row (`Audited` then adds no second one)."""
    entry.actor = actor
    record(db, entry, at)
    db.commit()
    entry.recorded = True


def append(
    sessions: sessionmaker[Session],
    entry: AuditEntry,
    at: datetime,
    *,
    result: str = OK,
    status: int | None = None,
) -> None:
    """Append the entry in a transaction of its own."""
    with sessions.begin() as db:
        record(db, entry, at, result=result, status=status)


class Audited:
    """A route dependency that records the route's action with its outcome.

    `target` is a template over the path parameters, e.g. `alarm:{alarm_id}`. Declare it as the
    route's first parameter, so a refusal by the access rule (403) is recorded too; anonymous
    calls (401) are not: there is nobody to name.
    """

    def __init__(self, action: str, target: str) -> None:
        self.action = action
        self.target = target

    def __call__(self, request: Request) -> Iterator[AuditEntry]:
        entry = AuditEntry(
            action=self.action,
            actor="",
            address=client_address(request),
            target=self.target.format(**request.path_params),
        )
        result, status = "error", 500
        try:
            yield entry
            result, status = OK, 200
        except ProblemError as err:
            result, status = RESULT_OF_STATUS.get(err.status, "error"), err.status
            raise
        except RequestValidationError:
            result, status = "invalid", 422
            raise
        finally:
            user = getattr(request.state, "user", None)
            if status != 401 and user is not None and not (entry.recorded and result == OK):
                entry.actor = str(user.name)
                state = request.app.state
                clock = cast(Clock, state.clock)
                append(state.sessions, entry, clock.now(), result=result, status=status)

    def __repr__(self) -> str:
        return f"Audited({self.action!r})"

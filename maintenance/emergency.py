"""Emergency plans (应急预案): the one writer of the plan tables.

A site has at most one plan per kind (entrapment rescue, fire evacuation, flood, power loss):
who does what (roles), whom to call (contacts, phone numbers validated as the complaint
desk's), and ordered steps, each with a target in minutes after the alarm. Entrapment steps
may name the milestone of a real rescue they stand for (alarm, notified, on site, released),
so a real entrapment is timed against the same targets (`maintenance.entrapments`). Every
save raises the plan's version and keeps the plan as saved, with who and when
(`emergency_plan_revisions`). `template` is the default entrapment plan a supervisor starts
from, in the reader's language. A plan no longer wanted is retired (any kind, the entrapment
plan too): kept with its versions and drills, not edited nor drilled until reinstated
(review drills L2); the site keeps one plan per kind, so a new one of that kind is the retired
one reinstated and edited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.core.config import StrictModel
from bldgwatch.core.i18n import Message
from bldgwatch.core.plaintext import blank, first_hidden
from bldgwatch.maintenance.complaints import phone_number
from bldgwatch.maintenance.config import PLAN_KINDS
from bldgwatch.maintenance.emergencymodels import EmergencyPlanRevisionRow, EmergencyPlanRow
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError, UnknownSite
from bldgwatch.maintenance.models import SiteRow

PlanKind = Literal["entrapment", "fire", "flood", "power_loss"]
Milestone = Literal["alarm", "notified", "on_site", "released"]
MILESTONES: tuple[Milestone, ...] = ("alarm", "notified", "on_site", "released")
"""The moments of a real entrapment rescue, in order (`maintenance.entrapments`)."""
MAX_TARGET_MIN = 1440
"""Longest step target: a day after the alarm."""


def _refused(kind: str, english: str, **ctx: object) -> PydanticCustomError:
    """A check's refusal: its catalogue key is `validation.plan_<kind>` (the API says it in
    the reader's language, `console.problems`), `english` where there is none."""
    return PydanticCustomError(f"plan_{kind}", english, ctx)


def _text_fault(value: str) -> PydanticCustomError | None:
    if blank(value):
        return _refused("blank", "must not be blank")
    hidden = first_hidden(value)
    if hidden is not None:
        return _refused("hidden", "holds the hidden character {char}", char=hidden)
    return None


def _plain(value: str) -> str:
    """Text as typed, refused when blank or holding hidden characters."""
    fault = _text_fault(value)
    if fault is not None:
        raise fault
    return value.strip()


class PlanRole(StrictModel):
    """Who does what: a role of the plan and its duty."""

    role: str = Field(min_length=1, max_length=100, description="e.g. 值班员 (duty officer).")
    duty: str = Field(min_length=1, max_length=1000, description="What the role does.")

    _plain = field_validator("role", "duty")(_plain)


EMERGENCY_NUMBERS = frozenset({"110", "119", "120", "122"})
"""Police, fire, ambulance, traffic police: short numbers a plan's contacts may hold."""


class PlanContact(StrictModel):
    """Whom to call: a person, their role in the plan, their phone (personal data)."""

    name: str = Field(min_length=1, max_length=100)
    role: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=40, description="Digits, spaces, -, + first.")

    _plain = field_validator("name", "role")(_plain)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if value.strip() in EMERGENCY_NUMBERS:  # a plan calls them (review 19d M7)
            return value.strip()
        try:
            return phone_number(value)
        except InvalidRecord as err:
            raise _refused("phone", "'{phone}' is not a phone number", phone=value) from err


class PlanStep(StrictModel):
    """One step of the plan, in order, with its target in minutes after the alarm."""

    text: str = Field(min_length=1, max_length=500)
    target_min: StrictInt | None = Field(  # not "5" nor true (review 19c-d L1)
        None, ge=0, le=MAX_TARGET_MIN, description="Reached at most this long after the alarm."
    )
    milestone: Milestone | None = Field(
        None, description="The moment of a real entrapment rescue this step stands for."
    )

    @field_validator("text")
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip()  # blank or hidden text: refused by the plan, naming the step


class PlanDocument(StrictModel):
    """What a plan holds (what a supervisor edits)."""

    title: str = Field(min_length=1, max_length=200)
    roles: list[PlanRole] = Field(default_factory=list, max_length=30)
    contacts: list[PlanContact] = Field(default_factory=list, max_length=50)
    steps: list[PlanStep] = Field(min_length=1, max_length=40)

    _plain = field_validator("title")(_plain)

    @model_validator(mode="after")
    def _ordered(self) -> PlanDocument:
        """Each step's text, targets in order, milestones once each and in order; a
        refusal names the step, numbered from 1 (review 19d M6)."""
        last, named = -1, list[Milestone]()
        for number, step in enumerate(self.steps, 1):
            fault = _text_fault(step.text)
            if fault is not None:
                raise _refused(
                    f"step_{fault.type.removeprefix('plan_')}",
                    "step {step}: " + fault.message_template,
                    step=number,
                    **(fault.context or {}),
                )
            if step.target_min is not None:
                if step.target_min < last:
                    raise _refused(
                        "step_order",
                        "steps.{step}: target_min {target} is before the previous step's "
                        "{previous}: steps are in order",
                        step=number, target=step.target_min, previous=last,
                    )  # fmt: skip
                last = step.target_min
            if step.milestone is not None:
                _milestone_fits(number, step.milestone, named)
                named.append(step.milestone)
        return self


def _milestone_fits(number: int, milestone: Milestone, named: list[Milestone]) -> None:
    if milestone in named:
        raise _refused(
            "milestone_twice",
            "step {step}: milestone {milestone} is named by an earlier step",
            step=number,
            milestone=milestone,
        )
    if named and MILESTONES.index(milestone) < MILESTONES.index(named[-1]):
        raise _refused(
            "milestone_order",
            "step {step}: milestones are in the order alarm, notified, on_site, released",
            step=number,
        )


class PlanNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No plan with that id (HTTP 404)."""

    def __init__(self, plan_id: int) -> None:
        super().__init__(Message("error.emergency.plan_unknown", {"id": str(plan_id)}))
        self.plan_id = plan_id


class PlanChanged(MaintenanceError):  # noqa: N818
    """The plan was saved by someone else since it was read, or a plan of that kind already
    exists at the site (HTTP 409)."""

    def __init__(self, what: str, params: dict[str, Any]) -> None:
        super().__init__(Message(f"error.emergency.{what}", params))


TEMPLATE_STEPS: tuple[tuple[str, int | None, Milestone | None], ...] = (
    ("alarm", 0, "alarm"),
    ("reassure", 5, "notified"),
    ("call_rescue", 5, None),
    ("on_site", 30, "on_site"),
    ("released", None, "released"),
    ("report", None, None),
)
"""The default entrapment plan: the rescuer on site within 30 minutes of the alarm (the
rescue-arrival rule, DOMAIN.md; the same 30 min as the ELEV_ENTRAPMENT SLA clock); duty staff
answer and reassure within 5 minutes (a house target, editable); no target is invented for the
release."""
TEMPLATE_ROLES = ("duty", "rescuer", "supervisor")


def template(locale: str) -> PlanDocument:
    """The default entrapment rescue plan (困人救援) in `locale`, for a supervisor to adapt."""

    def text(key: str) -> str:
        return Message(f"emergency.template.entrapment.{key}").render(locale)

    return PlanDocument(
        title=text("title"),
        roles=[PlanRole(role=text(f"role.{r}"), duty=text(f"duty.{r}")) for r in TEMPLATE_ROLES],
        contacts=[],
        steps=[
            PlanStep(text=text(f"step.{key}"), target_min=target, milestone=milestone)
            for key, target, milestone in TEMPLATE_STEPS
        ],
    )


def _fill(row: EmergencyPlanRow, plan: PlanDocument) -> None:
    """The row holds `plan` (as JSON: plain lists of mappings)."""
    content = plan.model_dump(mode="json")
    row.title = plan.title
    row.roles, row.contacts, row.steps = content["roles"], content["contacts"], content["steps"]


def _revise(session: Session, row: EmergencyPlanRow, at: datetime, actor: str) -> None:
    document = {
        "title": row.title,
        "roles": row.roles,
        "contacts": row.contacts,
        "steps": row.steps,
    }
    session.add(
        EmergencyPlanRevisionRow(
            plan_id=row.id, version=row.version, at=at, actor=actor, document=document
        )
    )


def _times_rescues(kind: str, plan: PlanDocument) -> None:
    """An entrapment plan marks the steps a real rescue is timed by: the alarm it counts from
    and the arrival on site (InvalidRecord `steps`, review 19b-d M1)."""
    named = {step.milestone for step in plan.steps}
    if kind == "entrapment" and not {"alarm", "on_site"} <= named:
        raise InvalidRecord("steps", Message("error.emergency.milestones"))


def create_plan(
    session: Session, *, site: str, kind: str, plan: PlanDocument, at: datetime, actor: str
) -> EmergencyPlanRow:
    """A new plan of `kind` at `site`, version 1 (UnknownSite, InvalidRecord `kind`,
    PlanChanged when the site has one of that kind; the caller commits)."""
    if session.get(SiteRow, site) is None:
        raise UnknownSite(site)
    if kind not in PLAN_KINDS:
        raise InvalidRecord("kind", Message("error.emergency.kind", {"kind": kind[:40]}))
    taken = select(EmergencyPlanRow.id).where(
        EmergencyPlanRow.site == site, EmergencyPlanRow.kind == kind
    )
    exists = {"site": site, "kind": Message(f"maintenance.plan_kind.{kind}").to_json(default=kind)}
    if session.scalar(taken) is not None:  # retired or not: it is reinstated, not made anew
        raise PlanChanged("plan_exists", exists)
    _times_rescues(kind, plan)
    row = EmergencyPlanRow(site=site, kind=kind, version=1, updated_at=at, updated_by=actor)
    _fill(row, plan)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as err:  # another desk created it since the look above
        raise PlanChanged("plan_exists", exists) from err
    _revise(session, row, at, actor)
    return row


def update_plan(
    session: Session, plan_id: int, *, plan: PlanDocument, version: int, at: datetime, actor: str
) -> EmergencyPlanRow:
    """Save a new version of the plan read at `version` (PlanNotFound; PlanChanged when it
    has been saved since; the caller commits)."""
    row = session.get(EmergencyPlanRow, plan_id, with_for_update=True)
    if row is None:
        raise PlanNotFound(plan_id)
    if row.retired_at is not None:
        raise PlanChanged("plan_retired", {"id": str(plan_id)})
    if row.version != version:
        raise PlanChanged("plan_changed", {"id": str(plan_id), "version": str(row.version)})
    _times_rescues(row.kind, plan)
    _fill(row, plan)
    row.version, row.updated_at, row.updated_by = row.version + 1, at, actor
    _revise(session, row, at, actor)
    return row


def retire_plan(
    session: Session, plan_id: int, *, retired: bool, at: datetime, actor: str
) -> EmergencyPlanRow:
    """Retire the plan (`retired`) or put it back in use; the same twice changes nothing
    (PlanNotFound; the caller commits)."""
    row = session.get(EmergencyPlanRow, plan_id, with_for_update=True)
    if row is None:
        raise PlanNotFound(plan_id)
    if retired and row.retired_at is None:
        row.retired_at, row.retired_by = at, actor
    elif not retired:
        row.retired_at, row.retired_by = None, None
    return row


def plans(session: Session, sites: set[str] | None) -> list[EmergencyPlanRow]:
    """The plans of `sites` (None: every site), by site and kind."""
    query = select(EmergencyPlanRow).order_by(EmergencyPlanRow.site, EmergencyPlanRow.kind)
    if sites is not None:
        query = query.where(EmergencyPlanRow.site.in_(sorted(sites)))
    return list(session.scalars(query))


def plan_of(session: Session, site: str, kind: str) -> EmergencyPlanRow | None:
    """The site's plan of `kind`, if it has one."""
    query = select(EmergencyPlanRow).where(
        EmergencyPlanRow.site == site, EmergencyPlanRow.kind == kind
    )
    return session.scalar(query)


def revision(session: Session, plan_id: int, version: int) -> EmergencyPlanRevisionRow | None:
    """The plan as saved at `version`, if it was."""
    query = select(EmergencyPlanRevisionRow).where(
        EmergencyPlanRevisionRow.plan_id == plan_id, EmergencyPlanRevisionRow.version == version
    )
    return session.scalars(query).first()


def revisions(session: Session, plan_id: int) -> list[EmergencyPlanRevisionRow]:
    """The plan's saved versions, newest first."""
    query = (
        select(EmergencyPlanRevisionRow)
        .where(EmergencyPlanRevisionRow.plan_id == plan_id)
        .order_by(EmergencyPlanRevisionRow.version.desc())
    )
    return list(session.scalars(query))

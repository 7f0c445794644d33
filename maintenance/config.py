"""The maintenance service's configuration models (one YAML file; see sample.yaml).

`MaintenanceConfig` and everything nested in it: SLA clocks, failure-stage settings,
preventive plans, the roster and notice channels. Pure pydantic models (the cron check uses
APScheduler's parser), so loading or documenting a configuration imports no SQL, SciPy or
HTTP client; the modules that act on these settings import them from here.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import Field, field_validator, model_validator

from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings, StrictModel
from bldgwatch.core.safejson import DecodeLimits
from bldgwatch.maintenance import catalogue
from bldgwatch.maintenance.lifeprior import LifePriors
from bldgwatch.maintenance.plantexts import other_key

# -- SLA clocks (maintenance.sla) ----------------------------------------------------------
PRIORITIES = (1, 2, 3, 4)


class PriorityClock(StrictModel):
    """Response and resolution allowances of one priority."""

    response_min: float = Field(gt=0, description="Minutes from the alarm to on-site response.")
    resolution_h: float = Field(gt=0, description="Hours from the alarm to resolution.")


class FaultCodeClock(StrictModel):
    """Override for fault codes whose clocks differ from their priority's (e.g. entrapment)."""

    response_min: float | None = Field(None, gt=0, description="Response allowance, minutes.")
    resolution_h: float | None = Field(None, gt=0, description="Resolution allowance, hours.")
    label: str = Field("", description="What the response means here, e.g. 'rescue arrival'.")


DEFAULT_PRIORITIES: dict[int, PriorityClock] = {
    1: PriorityClock(response_min=30, resolution_h=4),
    2: PriorityClock(response_min=120, resolution_h=24),
    3: PriorityClock(response_min=480, resolution_h=72),
    4: PriorityClock(response_min=1440, resolution_h=168),
}

DEFAULT_FAULT_CODES: dict[str, FaultCodeClock] = {
    # Entrapment rescue arrival: 30 min in cities (DOMAIN.md); the clock starts at the alarm.
    "ELEV_ENTRAPMENT": FaultCodeClock(response_min=30, label="rescue arrival"),
}


class SlaPolicy(StrictModel):
    """SLA configuration; given entries are merged over the defaults."""

    priorities: dict[int, PriorityClock] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITIES),
        description="Per priority (1..4): response_min and resolution_h. Missing ones default "
        "to P1 30 min/4 h, P2 2 h/24 h, P3 8 h/72 h, P4 24 h/7 d.",
    )
    fault_codes: dict[str, FaultCodeClock] = Field(
        default_factory=lambda: dict(DEFAULT_FAULT_CODES),
        description="Overrides by fault code: an exact code, a prefix of '_'-separated codes "
        "(ELEV_ENTRAPMENT matches ELEV_ENTRAPMENT_FLOOR) or a glob (ELEV_*_TRIP*). "
        "Merged over the default entrapment rule (response 30 min, 'rescue arrival').",
    )

    @field_validator("priorities", mode="after")
    @classmethod
    def _merge_priorities(cls, value: dict[int, PriorityClock]) -> dict[int, PriorityClock]:
        unknown = sorted(set(value) - set(PRIORITIES))
        if unknown:
            raise ValueError(f"priorities must be 1..4, got {unknown}")
        return {**DEFAULT_PRIORITIES, **value}

    @field_validator("fault_codes", mode="after")
    @classmethod
    def _merge_codes(cls, value: dict[str, FaultCodeClock]) -> dict[str, FaultCodeClock]:
        return {**DEFAULT_FAULT_CODES, **value}


# -- complaint clocks (maintenance.complaints) ----------------------------------------------
class ComplaintClock(StrictModel):
    """A site's complaint allowances where they differ from the defaults."""

    response_h: float | None = Field(
        None, gt=0, le=8760, description="Hours from receipt to the first response."
    )
    resolution_days: float | None = Field(
        None, gt=0, le=366, description="Days from receipt to the outcome."
    )


class StockSettings(StrictModel):
    """Spare parts (材料备品): who approves a purchase request, and the stock suggestions."""

    supervisor_approval_limit: float = Field(
        5000.0,
        ge=0,
        description="A supervisor approves purchase requests up to this amount (yuan); "
        "above it a manager (admin) does, as the plans' repair-cost approval.",
    )
    spot_purchase_limit: float = Field(
        500.0,
        ge=0,
        description="A technician's authority (yuan): what they book by hand and count without "
        "anyone's approval — parts, spot purchases (at 0.5–3× the list price), labour, "
        "contractor charges — on the site's orders in one site-local day; a line beyond it "
        "waits for approval (a supervisor's authority is their approval limit).",
    )
    labour_rate: float = Field(
        80.0,
        gt=0,
        description="The site's hourly labour rate (yuan): labour booked without a rate is "
        "priced at it; another rate is a supervisor's to book, with the reason.",
    )
    labour_max_hours: float = Field(
        24.0,
        gt=0,
        le=1000,
        description="Most hours a technician books on one labour line; more is a supervisor's "
        "to book.",
    )
    trend_days: int = Field(
        180,
        ge=30,
        le=730,
        description="Window of the use trend behind suggested reorder levels: what an ageing "
        "class's units used of a part (orders of every kind) in the last window against the "
        "one before.",
    )


class ComplaintSettings(StrictModel):
    """Response and resolution targets of complaints (投诉), with per-site overrides."""

    response_h: float = Field(
        24.0, gt=0, le=8760, description="Hours from receipt to the first response."
    )
    resolution_days: float = Field(
        7.0, gt=0, le=366, description="Days from receipt to the outcome (办结)."
    )
    sites: dict[str, ComplaintClock] = Field(
        default_factory=dict, description="Per site id: response_h and/or resolution_days."
    )

    @model_validator(mode="after")
    def _resolution_after_response(self) -> Self:
        for site in ["", *self.sites]:
            response_h, resolution_days = self.clock(site or None)
            if resolution_days * 24 < response_h:
                where = f"sites.{site}." if site else ""
                raise ValueError(
                    f"{where}resolution_days ({resolution_days:g} d) must not be shorter than "
                    f"{where}response_h ({response_h:g} h)"
                )
        return self

    def clock(self, site: str | None) -> tuple[float, float]:
        """(response hours, resolution days) in force at `site`."""
        own = self.sites.get(site or "", ComplaintClock())
        return (
            own.response_h or self.response_h,
            own.resolution_days or self.resolution_days,
        )


# -- emergency drills (maintenance.drills) ---------------------------------------------------
PLAN_KINDS = ("entrapment", "fire", "flood", "power_loss")
"""Kinds of emergency plan (应急预案): elevator entrapment rescue, fire evacuation, flood,
power loss."""

DEFAULT_DRILL_MONTHS: dict[str, int] = {
    # TSG T5002-2017 (电梯维护保养规则) art. 5, the maintenance company's (维保单位) duties, the
    # item 制定应急措施和救援预案，每半年至少针对本单位维保的不同类别（类型）电梯进行一次应急演练
    # (beside the 30 min / 1 h arrival rule).
    "entrapment": 6,
    # Ministry of Public Security order 61 (机关、团体、企业、事业单位消防安全管理规定) art. 40:
    # key fire-safety units (designated by the fire authority, art. 13) drill their evacuation
    # plan at least every six months, other units yearly; the stricter six months is the default.
    "fire": 6,
}
"""Longest interval between two drills of a plan kind, months; flood and power loss have no
rule we could cite and no default (the service's maintenance policy, `drills.interval_months`,
may set one for all its sites)."""


class DrillSettings(StrictModel):
    """How often each kind of emergency plan must be rehearsed (演练)."""

    interval_months: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_DRILL_MONTHS),
        description="Per plan kind (entrapment, fire, flood, power_loss): the longest interval "
        "between two recorded drills, months (1..36); a plan not drilled within it is flagged. "
        "Merged over the defaults: entrapment 6 (TSG T5002-2017 art. 5), fire 6 (MPS order "
        "61 art. 40, key fire-safety units); flood and power_loss have none.",
    )

    @field_validator("interval_months", mode="after")
    @classmethod
    def _known_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(PLAN_KINDS))
        if unknown:
            raise ValueError(f"plan kinds must be {', '.join(PLAN_KINDS)}, got {unknown}")
        bad = sorted(k for k, v in value.items() if not 1 <= v <= 36)
        if bad:
            raise ValueError(f"interval_months of {bad} must be 1..36")
        return {**DEFAULT_DRILL_MONTHS, **value}


# -- incidents (maintenance.incidents) ------------------------------------------------------
class IncidentSettings(StrictModel):
    """How alarms are correlated into incidents, one work order each.

    An incident is (site, equipment, incident family): the rule packs declare which rules are
    symptoms of one failing component (`incident`), e.g. a pump's bearing temperature,
    vibration and cavitation. While its order is not yet resolved every related alarm joins
    it; after the resolution they join it only within the window.
    """

    window_h: float = Field(
        24.0,
        ge=0,
        description="Hours after an order's resolution during which related alarms still "
        "join it (a repair that did not hold); a later one opens a new order.",
    )


# -- the parts list (maintenance.partslist) ------------------------------------------------
class PartFitSpec(StrictModel):
    """An equipment class, and optionally a model, a part fits."""

    type: Literal[
        "elevator", "pump", "shaft_panel", "temp_sensor", "electricity_meter", "water_meter"
    ] = Field(description="Equipment class (core.site.EQUIPMENT_TYPES).")
    model: str = Field("", max_length=200, description="Model; empty: every model.")


class PartSpec(StrictModel):
    """A part the service puts on the parts list at start when it is not there yet."""

    part_no: str = Field(min_length=1, max_length=64, description="Part number.")
    name: str = Field(min_length=1, max_length=200, description="What it is.")
    unit: str = Field("pc", min_length=1, max_length=16, description="pc, m, L, kg, set, …")
    unit_cost: float = Field(ge=0, description="Cost of one unit.")
    critical: bool = Field(False, description="Kept in stock whatever it costs.")
    fits: list[PartFitSpec] = Field(
        default_factory=list, description="Equipment classes (and models) the part fits."
    )


# -- attachments (maintenance.attachments) ------------------------------------------------
DEFAULT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf")


class AttachmentSettings(StrictModel):
    """Where photos and documents of work orders are kept, and what is accepted."""

    folder: Path = Field(
        Path("var/attachments"),
        description="Folder the files are stored in (created when missing); the database "
        "keeps their metadata. Back it up with the database.",
    )
    max_bytes: int = Field(
        10 * 1024 * 1024, gt=0, le=200 * 1024 * 1024, description="Largest file accepted, bytes."
    )
    types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TYPES),
        description="Content types accepted, as sniffed from the bytes (not as declared): "
        "default JPEG, PNG, WebP and HEIC photos and PDF documents.",
    )


# -- failure stage (maintenance.scoring) ---------------------------------------------------
Model = Literal["bayes", "mle", "bands"]
"""Which failure-stage model scores: see StageConfig.model."""


class ClassParams(StrictModel):
    """Life-stage boundaries of one equipment class, in years of age."""

    early_years: float = Field(ge=0, description="Below this age: early life (burn-in).")
    late_years: float = Field(gt=0, description="Above this age: late life (wear-out onset).")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.late_years <= self.early_years:
            raise ValueError("late_years must be greater than early_years")
        return self


DEFAULT_CLASSES: dict[str, ClassParams] = {
    "elevator": ClassParams(early_years=1.0, late_years=15.0),
    "pump": ClassParams(early_years=0.5, late_years=10.0),
    "shaft_panel": ClassParams(early_years=1.0, late_years=20.0),
}
FALLBACK_CLASS = ClassParams(early_years=1.0, late_years=15.0)


class StageConfig(StrictModel):
    """Failure-stage settings; given classes are merged over the defaults."""

    classes: dict[str, ClassParams] = Field(
        default_factory=lambda: dict(DEFAULT_CLASSES),
        description="Per equipment class (type): early_years and late_years: the age bands, "
        "and the centres of the fitted model's priors on the stage boundaries. Defaults: "
        "elevator 1/15, pump 0.5/10, shaft_panel 1/20.",
    )
    fallback: ClassParams = Field(
        FALLBACK_CLASS, description="Boundaries for classes not listed (default 1/15 years)."
    )
    recent_window_days: int = Field(
        365, gt=0, description="Failures within this many days before the score count as recent."
    )
    min_fit_failures: int = Field(
        30,
        ge=1,
        description="The plain maximum-likelihood fit (model `mle`) needs this many failures "
        "in a class; with fewer its stages come from the age bands.",
    )
    min_fit_units: int = Field(
        5,
        ge=1,
        description="A class needs this many units for a fitted model; with fewer its stages "
        "come from the age bands.",
    )
    refit_hours: float = Field(
        24.0, gt=0, description="A class fit is refreshed when it is older than this."
    )
    trend_p_value: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="A unit's recent failures count as a trend when at least 3 and this "
        "unlikely under the class fit (Poisson tail probability).",
    )
    confidence: float = Field(
        0.7,
        gt=0.34,
        le=1,
        description="Below this probability of its most probable stage a score says "
        "'uncertain — near the … boundary' and what evidence would settle it.",
    )
    overhaul_confidence: float = Field(
        0.9,
        gt=0.34,
        le=1,
        description="The advice to plan an overhaul or replacement needs late life to be the "
        "most probable stage with at least this probability.",
    )
    model: Model = Field(
        "bayes",
        description="bayes: the Bayesian bathtub model (components chosen by the data, "
        "calibrated probabilities); mle: the plain maximum-likelihood fit; bands: age bands only.",
    )
    priors: LifePriors = Field(
        default_factory=LifePriors,
        description="Priors of the fitted (Bayesian) bathtub model; sources in docs/scoring.md.",
    )
    misfit_start: float = Field(
        0.05,
        gt=0,
        description="The fitted model is checked against the class's failure counts by age "
        "(docs/scoring.md): where it misses them beyond chance by more than this relative "
        "misfit (root mean square of (observed - expected)/expected beyond chance), the stage "
        "probabilities lean on the age bands.",
    )
    misfit_full: float = Field(
        0.3,
        gt=0,
        description="At this relative misfit (and above) the stage probabilities are the age "
        "bands' alone; between misfit_start and this the bands' weight rises with its "
        "logarithm.",
    )
    misfit_p_value: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="A misfit counts only when the check's chi-squared tail probability is "
        "below this (otherwise chance explains it).",
    )

    @field_validator("classes", mode="after")
    @classmethod
    def _merge(cls, value: dict[str, ClassParams]) -> dict[str, ClassParams]:
        return {**DEFAULT_CLASSES, **value}

    @model_validator(mode="after")
    def _misfit_order(self) -> Self:
        if self.misfit_full <= self.misfit_start:
            raise ValueError("misfit_full must be above misfit_start")
        return self

    def params_for(self, equipment_class: str) -> ClassParams | None:
        """The boundaries of a class, or None when it has none of its own."""
        return self.classes.get(equipment_class)

    def boundaries(self, equipment_class: str) -> ClassParams:
        """The class's boundaries, or the fallback's."""
        return self.classes.get(equipment_class) or self.fallback


# -- preventive plans (maintenance.plans, maintenance.pm) ----------------------------------
def _plan_texts(value: str | list[str]) -> str | list[str]:
    """A plan's title or tasks: plain text or `maintenance.plan.*`/`maintenance.task.*` keys;
    another catalogue key is refused (review 19b-r L5)."""
    for text in [value] if isinstance(value, str) else value:
        if other_key(text):
            raise ValueError(f"{text!r} is not a plan or task key (maintenance.plan.*, .task.*)")
    return value


ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
"""The default start of `every_days` rhythms: its wall-clock time in each site's zone."""


class _Plan(StrictModel):
    """What a calendar plan and a counter plan share: the order they open."""

    id: str = Field(description="Plan id (unique; part of each order's idempotency key).")
    equipment_type: str = Field(description="Equipment type the plan applies to.")
    title: str = Field(
        description="Order title (the equipment id is appended): plain text, or a catalogue "
        "key `maintenance.plan.*` read in the reader's language."
    )
    tasks: list[str] = Field(
        default_factory=list,
        description="Checklist put on the order: each item plain text, or a catalogue key "
        "`maintenance.task.*` read in the reader's language.",
    )
    priority: int = Field(4, ge=1, le=4, description="Order priority.")
    contractor: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",  # maintenance.contractors.CONTRACTOR_ID
        description="The contractor (维保单位) that does this work, e.g. the elevator company "
        "for TSG T5002 maintenance: each order is dispatched to it at once when one of its "
        "contracts covers the site and class on that day (else the order stays the team's).",
    )

    @field_validator("title", "tasks", mode="after")
    @classmethod
    def _plan_keys_only(cls, value: str | list[str]) -> str | list[str]:
        return _plan_texts(value)


class CalendarPlan(_Plan):
    """A plan due on a calendar."""

    every_days: int | None = Field(None, gt=0, description="Due every N days from `anchor`.")
    cron: str | None = Field(
        None, description="Or a crontab line in each site's time zone, e.g. '0 0 1 1,7 *'."
    )
    anchor: datetime | None = Field(
        None,
        description="Start of the `every_days` rhythm (with its zone); default midnight of "
        "2026-01-01 in each site's time zone.",
    )
    includes: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Ids of lower-level calendar plans of the same class whose items this "
        "plan's visit includes (TSG T5002: yearly ⊃ half-yearly ⊃ quarterly ⊃ half-monthly). On "
        "a day this plan and an included one fall due on one unit, one order opens, for this "
        "plan, with its items and then the included plans' (theirs and what they include).",
    )

    @model_validator(mode="after")
    def _one_schedule(self) -> Self:
        if (self.every_days is None) == (self.cron is None):
            raise ValueError("give exactly one of every_days and cron")
        if self.cron is not None:
            CronTrigger.from_crontab(self.cron, timezone=UTC)
        if self.anchor is not None and self.anchor.tzinfo is None:
            raise ValueError("anchor needs a time zone")
        return self

    def trigger(self, tz: str = "UTC") -> BaseTrigger:
        """The APScheduler trigger of this plan for a site in time zone `tz`: its crontab, or
        every N days from the anchor (local midnight of 2026-01-01 by default), in that zone."""
        zone = ZoneInfo(tz)
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=zone)
        assert self.every_days is not None
        anchor = self.anchor or ANCHOR.replace(tzinfo=zone)
        return IntervalTrigger(days=self.every_days, start_date=anchor, timezone=zone)


class CounterPlan(_Plan):
    """A plan due every N units of a counter (run hours, trips, starts)."""

    equipment_type: str = Field(description="Equipment type (the InfluxDB measurement).")
    field: str = Field(description="Counter field in InfluxDB, e.g. run_hours or trip_count.")
    every: float = Field(gt=0, description="Due each time the counter passes a multiple of this.")


DEFAULT_CALENDAR: list[CalendarPlan] = [
    CalendarPlan.model_validate(
        {"equipment_type": equipment_type, "every_days": None, "cron": None, **item}
    )
    for equipment_type, items in (
        ("elevator", catalogue.ELEVATOR_CALENDAR),
        ("shaft_panel", catalogue.PANEL_CALENDAR),
    )
    for item in items
]
DEFAULT_COUNTERS: list[CounterPlan] = [
    CounterPlan.model_validate(item) for item in catalogue.COUNTERS
]


class PlanSettings(StrictModel):
    """Preventive plans of the maintenance service."""

    enabled: bool = Field(True, description="Open preventive orders on schedule.")
    calendar: list[CalendarPlan] = Field(
        default_factory=lambda: list(DEFAULT_CALENDAR),
        description="Calendar plans; default: elevator half-monthly (every 15 days), "
        "quarterly, half-yearly and yearly (TSG T5002); electrical-shaft panels monthly and "
        "yearly.",
    )
    counters: list[CounterPlan] = Field(
        default_factory=lambda: list(DEFAULT_COUNTERS),
        description="Counter plans; default: pump every 2000 run hours, elevator every "
        "100000 trips.",
    )
    check_interval_s: float = Field(
        300.0, gt=0, description="How often the scheduler checks the plans, seconds."
    )
    counter_source: Literal["influxdb", "none"] = Field(
        "influxdb",
        description="Where counters are read: InfluxDB (the `influx` settings), or none.",
    )

    @model_validator(mode="after")
    def _includes_known(self) -> Self:
        plans = {p.id: p for p in self.calendar}
        for plan in self.calendar:
            for other in plan.includes:
                found = plans.get(other)
                if found is None or found.equipment_type != plan.equipment_type:
                    raise ValueError(
                        f"plan {plan.id!r} includes {other!r}, which is no calendar plan of "
                        f"{plan.equipment_type!r}"
                    )
            if plan.id in self.included(plan.id):
                raise ValueError(f"plan {plan.id!r} includes itself (through {plan.includes})")
        return self

    def included(self, plan_id: str) -> list[str]:
        """The calendar plans a plan's visit includes, directly or through another, highest
        first (each once; stops at a cycle)."""
        plans = {p.id: p for p in self.calendar}
        found: list[str] = []
        todo = list(plans[plan_id].includes) if plan_id in plans else []
        while todo:
            pid = todo.pop(0)
            if pid in found:
                continue
            found.append(pid)
            todo.extend(plans[pid].includes if pid in plans else [])
        return found

    def including(self, plan_id: str) -> list[str]:
        """The calendar plans whose visit includes this one (directly or through another)."""
        return [p.id for p in self.calendar if plan_id in self.included(p.id)]


# -- roster (maintenance.roster) -----------------------------------------------------------
DEFAULT_SKILLS: dict[str, str] = {
    "elevator": "elevator",
    "pump": "mechanical",
    "shaft_panel": "electrical",
    "temp_sensor": "electrical",
    "electricity_meter": "electrical",
    "water_meter": "mechanical",
}


class Shift(StrictModel):
    """An on-call window, UTC: on these weekdays (0 = Monday) from `start` to `end`."""

    days: list[int] = Field(
        default_factory=lambda: list(range(7)), description="Weekdays, 0 = Monday … 6 = Sunday."
    )
    start: time = Field(time(0, 0), description="Start of the window (UTC), HH:MM.")
    end: time = Field(
        time(23, 59, 59), description="End of the window (UTC); before start: overnight."
    )

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in value):
            raise ValueError("weekdays are 0 (Monday) … 6 (Sunday)")
        return value

    def covers(self, when: datetime) -> bool:
        """True when `when` falls in the window (an overnight window belongs to its start day)."""
        clock = when.time().replace(tzinfo=None)
        if self.start <= self.end:
            return when.weekday() in self.days and self.start <= clock <= self.end
        if clock >= self.start:
            return when.weekday() in self.days
        return (when.weekday() - 1) % 7 in self.days and clock <= self.end


class Technician(StrictModel):
    """One technician: where they work, what they can do, how to reach them."""

    id: str = Field(description="Technician id (stored in `assigned_to`).")
    name: str = Field("", description="Display name.")
    sites: list[str] = Field(description="Sites served; '*' for all.")
    skills: list[str] = Field(description="Skills, e.g. elevator, mechanical, electrical.")
    email: str | None = Field(None, description="Where assignment and overdue notices go.")
    on_call: list[Shift] = Field(
        default_factory=list, description="On-call windows; none: never on call."
    )
    active: bool = Field(True, description="False: away or gone; never assigned.")

    def serves(self, site: str) -> bool:
        """True when the technician works at `site`."""
        return "*" in self.sites or site in self.sites

    def is_on_call(self, when: datetime) -> bool:
        """True when one of the on-call windows covers `when`."""
        return any(shift.covers(when) for shift in self.on_call)


class RosterSettings(StrictModel):
    """Technicians, the skill each equipment type needs, and automatic assignment."""

    technicians: list[Technician] = Field(
        default_factory=list,
        description="The team, imported into the directory of technicians at the service's "
        "start; for one with a console account (same id) the console's sites and state count.",
    )
    skills: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_SKILLS),
        description="Skill needed per equipment type; merged over elevator→elevator, "
        "pump and water_meter→mechanical, shaft_panel, temp_sensor and electricity_meter→"
        "electrical.",
    )
    auto_assign: bool = Field(
        False, description="Assign new reactive orders at once (needs technicians)."
    )

    @field_validator("technicians", mode="after")
    @classmethod
    def _unique_ids(cls, value: list[Technician]) -> list[Technician]:
        keys = [tech.id.lower() for tech in value]
        clashes = sorted({tech.id for tech in value if keys.count(tech.id.lower()) > 1})
        if clashes:
            raise ValueError(f"technician ids must be unique regardless of case: {clashes}")
        return value

    @field_validator("skills", mode="after")
    @classmethod
    def _merge(cls, value: dict[str, str]) -> dict[str, str]:
        return {**DEFAULT_SKILLS, **value}

    def skill_for(self, equipment_type: str) -> str:
        """The skill an equipment type needs (its own name when not listed)."""
        return self.skills.get(equipment_type, equipment_type)

    def technician(self, tech_id: str) -> Technician | None:
        """The technician with that id."""
        return next((t for t in self.technicians if t.id == tech_id), None)


# -- notices (maintenance.notify) ----------------------------------------------------------
KINDS = ("assigned", "overdue", "escalation")
NOTICE_KINDS = (*KINDS, "round_missed")
"""Every notice: the work orders' (KINDS) and a missed inspection round's."""


class WebhookTarget(StrictModel):
    """A URL that receives notices as JSON POSTs."""

    url: str = Field(description="Where to POST.")
    kinds: list[str] = Field(
        default_factory=lambda: list(NOTICE_KINDS),
        description="Which notices: assigned, overdue, escalation, round_missed.",
    )
    timeout_s: float = Field(5.0, gt=0, description="HTTP timeout, seconds.")


class SmtpSettings(StrictModel):
    """The mail server notices go through."""

    host: str = Field("127.0.0.1", description="SMTP host.")
    port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    sender: str = Field("bldgwatch@localhost", description="From address.")
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS.")
    username: str | None = Field(None, description="Login user, if the server needs one.")
    password: str | None = Field(None, description="Login password.")
    timeout_s: float = Field(10.0, gt=0, description="Connection timeout, seconds.")


class NotifySettings(StrictModel):
    """Where notices go."""

    webhooks: list[WebhookTarget] = Field(default_factory=list, description="Webhook targets.")
    smtp: SmtpSettings | None = Field(None, description="Mail server; none: no e-mail.")
    supervisors: list[str] = Field(
        default_factory=list,
        description="E-mail addresses that get escalations (and overdue notices of "
        "unassigned orders), missed inspection rounds and the monthly report of every site.",
    )
    site_supervisors: dict[str, list[str]] = Field(
        default_factory=dict,
        description="E-mail addresses of each site's supervisors, by site id: its escalations, "
        "missed rounds and monthly report go to them (besides `supervisors`).",
    )

    def supervisors_of(self, site: str) -> list[str]:
        """Who supervises a site: its own supervisors, then everyone's."""
        return list(dict.fromkeys([*self.site_supervisors.get(site, []), *self.supervisors]))


ReportLanguage = Literal["zh-CN", "en"]
DEFAULT_REPORT_LANGUAGES: tuple[ReportLanguage, ...] = ("zh-CN",)


class ReportSettings(StrictModel):
    """The monthly report the service makes and e-mails on the first of each month."""

    enabled: bool = Field(True, description="Make and send the monthly reports.")
    hour: int = Field(
        6, ge=0, le=23, description="Hour (site time) on the 1st from which the report is sent."
    )
    languages: list[ReportLanguage] = Field(
        default_factory=lambda: list(DEFAULT_REPORT_LANGUAGES),
        min_length=1,
        description="Languages of the report (zh-CN, en), each attached.",
    )
    pdf: bool = Field(True, description="Attach the PDF (needs Chromium) besides the HTML.")
    console_url: str = Field(
        "http://127.0.0.1:8080",
        description="Where the console is reached; the mail links to the report there.",
    )
    check_interval_s: float = Field(
        300.0, gt=0, description="How often the service looks for reports to send, seconds."
    )


# -- the service ---------------------------------------------------------------------------
class MaintenanceConfig(StrictModel):
    """Configuration of one maintenance service instance."""

    instance: str = Field("maintenance-1", description="Instance id (status topic level).")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="Broker connection.")
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings, description="Relational store (SQLite or PostgreSQL)."
    )
    site_files: list[Path] = Field(
        default_factory=list, description="Site files whose assets are imported at start."
    )
    session_expiry_s: int = Field(
        3600,
        ge=0,
        description="How long the broker keeps the session (and queues alarms) "
        "while the service is away, seconds.",
    )
    status_interval_s: float = Field(
        10.0, gt=0, description="Seconds between retained status messages."
    )
    sla: SlaPolicy = Field(
        default_factory=SlaPolicy, description="SLA overrides: priorities and fault_codes."
    )
    incidents: IncidentSettings = Field(
        default_factory=IncidentSettings,
        description="Correlation of related alarms into one incident (one order).",
    )
    stock: StockSettings = Field(
        default_factory=StockSettings, description="Spare parts: purchase approval, suggestions."
    )
    complaints: ComplaintSettings = Field(
        default_factory=ComplaintSettings,
        description="Complaint (投诉) response and resolution targets, per site if needed.",
    )
    drills: DrillSettings = Field(
        default_factory=DrillSettings,
        description="Emergency drills (演练): the longest interval between two, per plan kind.",
    )
    stage: StageConfig = Field(
        default_factory=StageConfig,
        description="Failure-stage settings: bathtub fit thresholds, and the per-class "
        "early/late age bands used when a class has too little history.",
    )
    influx: InfluxSettings | None = Field(
        None, description="InfluxDB with the readings (run hours, trips) for counter plans."
    )
    plans: PlanSettings = Field(
        default_factory=PlanSettings, description="Preventive-maintenance plans."
    )
    roster: RosterSettings = Field(
        default_factory=RosterSettings, description="Technicians, skills and auto-assignment."
    )
    notify: NotifySettings = Field(
        default_factory=NotifySettings, description="Webhooks and e-mail for notices."
    )
    reports: ReportSettings = Field(
        default_factory=ReportSettings, description="The monthly report by e-mail."
    )
    parts: list[PartSpec] = Field(
        default_factory=list,
        description="Parts put on the parts list at start when missing (a first list; an admin "
        "edits it afterwards on the parts-list page, and those edits are kept).",
    )
    escalation_check_s: float = Field(
        60.0, gt=0, description="How often overdue orders are looked for, seconds."
    )
    outbox_poll_s: float = Field(
        0.5,
        gt=0,
        description="How often the work-order outbox is read and its events published and "
        "notices sent (changes made in the console too), seconds.",
    )
    resend_window_s: float = Field(
        60.0,
        ge=0,
        description="After a reconnect, work-order events the broker acknowledged within this "
        "long before the connection dropped are published again (consumers dedupe on "
        "event_id). Keep it well above the broker's autosave_interval: a broker killed before "
        "its autosave loses what it acknowledged since. 0: never.",
    )
    decode: DecodeLimits = Field(
        default_factory=DecodeLimits, description="Message size, nesting and number limits."
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Port of the Prometheus `/metrics` endpoint; 0 = off."
    )
    metrics_host: str = Field("127.0.0.1", description="Address the `/metrics` endpoint binds.")

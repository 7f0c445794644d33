"""What every rule kind shares: identity, classification, timing, limits from site params.

A limit is a number or a `ParamLimit`: ``factor * (equipment param, or a value from the
equipment's machine-class table, or the default)``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from bldgwatch.core import i18n
from bldgwatch.core.config import StrictModel
from bldgwatch.core.models import MaintenanceAction, Severity
from bldgwatch.core.site import EQUIPMENT_TYPES
from bldgwatch.rules.errors import ParameterMissingError

RULE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
POINT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MESSAGE_FIELDS = frozenset({"value", "limit", "equipment", "cause"})
GATEWAY = "gateway"
"""The target of rules about a gateway itself (communication loss), not an equipment."""
RULE_TARGETS = (*EQUIPMENT_TYPES, GATEWAY)
TEXT_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
RATED_PREFIX = "rated."
PARAMS_PREFIX = "params."

Op = Literal[">", ">=", "<", "<="]


class ParamLimit(StrictModel):
    """A limit taken from the equipment's site entry: ``factor * (param or default)``.

    ``param`` names an entry of the equipment's ``params`` (``bearing_temp_alarm_c`` or
    ``params.bearing_temp_alarm_c``) or of its ``rated`` values (``rated.current_a``).
    Without a ``default`` the rule does not apply to equipment that lacks the parameter.
    """

    param: str = Field(description="params.NAME / NAME (site params) or rated.NAME.")
    default: float | None = Field(None, description="Used when the equipment lacks the param.")
    factor: float = Field(1.0, gt=0, description="Multiplier, e.g. 1.1 for 110 % of rated.")
    by_machine_class: dict[str, float] | None = Field(
        None,
        description="Value by the equipment's machine_class (e.g. ISO 10816 I-IV), used when "
        "the equipment lacks the param; the default covers equipment without a class.",
    )

    @field_validator("param")
    @classmethod
    def _check_param(cls, value: str) -> str:
        name = value.removeprefix(RATED_PREFIX).removeprefix(PARAMS_PREFIX)
        if not POINT_NAME.match(name):
            raise ValueError(f"{value!r} is not params.NAME, NAME or rated.NAME")
        return value

    def resolve(
        self,
        params: Mapping[str, float],
        rated: Mapping[str, float],
        *,
        rule: str,
        equipment: str,
        machine_class: str | None = None,
    ) -> float:
        """The limit for one equipment; raises ParameterMissingError without param or default."""
        if self.param.startswith(RATED_PREFIX):
            base = rated.get(self.param.removeprefix(RATED_PREFIX))
        else:
            base = params.get(self.param.removeprefix(PARAMS_PREFIX))
        if base is None and self.by_machine_class is not None and machine_class is not None:
            base = self.by_machine_class.get(machine_class)
        if base is None:
            base = self.default
        if base is None:
            raise ParameterMissingError(rule, equipment, self.param)
        return self.factor * base


Limit = float | ParamLimit


def resolve_limit(
    limit: Limit,
    params: Mapping[str, float],
    rated: Mapping[str, float],
    *,
    rule: str,
    equipment: str,
    machine_class: str | None = None,
) -> float:
    """A number stays itself; a ParamLimit is looked up for the equipment."""
    if isinstance(limit, ParamLimit):
        return limit.resolve(
            params, rated, rule=rule, equipment=equipment, machine_class=machine_class
        )
    return float(limit)


class RuleBase(StrictModel):
    """What every rule kind has: identity, classification, timing and presentation."""

    id: str = Field(description="Unique rule id, `<pack>.<name>`, e.g. pump.bearing_temp_high.")
    equipment_type: str = Field(
        description=f"One of {', '.join(EQUIPMENT_TYPES)}; `gateway` for a gateway's own rules."
    )
    on_delay_s: float = Field(0.0, ge=0, description="Condition must hold this long (source time).")
    off_delay_s: float = Field(0.0, ge=0, description="Condition must be clear this long to clear.")
    severity: Severity = Field(description="critical, major, minor or warning.")
    priority: int = Field(ge=1, le=4, description="1 = emergency … 4 = low.")
    fault_code: str = Field(min_length=1, max_length=64, description="e.g. PUMP_BEARING_TEMP.")
    family: str = Field(min_length=1, max_length=64, description="Fault family, e.g. bearing.")
    incident: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="Incident family: the failing component the alarm is a symptom of. "
        "Maintenance correlates the alarms of one equipment and incident family into one "
        "incident (one work order); rules of related faults name the same one (a pump's "
        "bearing temperature, vibration and cavitation: `rotor`). Default: the family.",
    )
    maintenance: MaintenanceAction = Field(
        MaintenanceAction.NONE, description="What the alarm asks of maintenance."
    )
    message: str = Field(
        "{equipment}: value {value} beyond limit {limit}",
        description="English template; may use {value}, {limit} and {equipment} (format specs "
        "allowed). Built-in rules have it in the catalogue (core/locale) in every language; a "
        "custom rule's text shows as written.",
    )
    text_key: str | None = Field(
        None,
        description="Catalogue key of the alarm text when rules share one (default `rule.<id>`).",
    )
    suppress_when: str | None = Field(
        None, description="Boolean point that suppresses the rule by design while true."
    )

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError(f"{value!r} is not a rule id like pump.bearing_temp_high")
        return value

    @field_validator("equipment_type")
    @classmethod
    def _check_type(cls, value: str) -> str:
        if value not in RULE_TARGETS:
            raise ValueError(f"unknown equipment type {value!r}; one of {list(RULE_TARGETS)}")
        return value

    @field_validator("suppress_when")
    @classmethod
    def _check_suppress(cls, value: str | None) -> str | None:
        if value is not None and not POINT_NAME.match(value):
            raise ValueError(f"{value!r} is not a point name")
        return value

    @field_validator("text_key")
    @classmethod
    def _check_text_key(cls, value: str | None) -> str | None:
        if value is not None and not TEXT_KEY.match(value):
            raise ValueError(f"{value!r} is not a catalogue key like rule.comms.lost")
        return value

    @field_validator("message")
    @classmethod
    def _check_message(cls, value: str) -> str:
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        except ValueError as err:
            raise ValueError(f"bad template: {err}") from err
        unknown = names - MESSAGE_FIELDS
        if unknown:
            raise ValueError(
                f"unknown template fields {sorted(unknown)}; use {{value}}, "
                "{limit}, {equipment}, {cause}"
            )
        try:
            value.format(value=1.0, limit=1.0, equipment="X", cause="c")
        except (ValueError, IndexError) as err:
            raise ValueError(f"bad template: {err}") from err
        return value

    @model_validator(mode="after")
    def _check_suppression_point(self) -> Self:
        if self.suppress_when is not None and self.suppress_when in self.points():
            raise ValueError("suppress_when cannot be a point of the rule's own condition")
        return self

    @property
    def incident_family(self) -> str:
        """The incident family its alarms belong to (`incident`, else `family`)."""
        return self.incident or self.family

    def points(self) -> tuple[str, ...]:
        """The points whose readings the rule's condition reads."""
        raise NotImplementedError

    def limit_of(self) -> Limit | None:
        """The rule's limit, for kinds that compare against one."""
        return None

    @property
    def message_key(self) -> str:
        """The catalogue key of the alarm text."""
        return self.text_key or f"rule.{self.id}"

    def shows_value(self) -> bool:
        """Whether the alarm's value means something (a reading, a rate, a count); not for a
        condition over several points, whose last reading is whichever point changed."""
        return True

    def value_point(self) -> tuple[str, str | None] | None:
        """The point whose unit an alarm's value is in, and the rate unit (`per`) when the
        value is a rate of it; None when the value is a count or there is none."""
        return None

    def message_params(
        self,
        *,
        value: float | None,
        limit: float | None,
        equipment: str,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The parameters of the alarm text (and of its value's display) for one equipment;
        `extra` adds what a kind says of its own (a communication loss's cause)."""
        reading = value if self.shows_value() else None
        params: dict[str, Any] = {"equipment": equipment, "value": reading, "limit": limit}
        params.update(extra or {})
        shown = self.value_point()
        if shown is not None:
            params["point"], per = shown
            if per is not None:
                params["per"] = per
        return params

    def render(
        self,
        *,
        value: float | None,
        limit: float | None,
        equipment: str,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """The alarm message for one equipment in English (`message`; the catalogue's English
        of a built-in rule is the same text, a test checks). A missing number (a clear, an
        expression rule) renders as a dash whatever its format spec."""
        params = self.message_params(value=value, limit=limit, equipment=equipment, extra=extra)
        return i18n.format_template(self.message, params, "en")


def check_point(value: str) -> str:
    """A field validator body: the value must be a point name."""
    if not POINT_NAME.match(value):
        raise ValueError(f"{value!r} is not a point name")
    return value

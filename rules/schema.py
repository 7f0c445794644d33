"""The rule model and rule-file loading.

A rule file is ``{pack: name, rules: [...]}``. Every rule names its ``kind``; the kinds form a
pydantic discriminated union (`Rule`), so a new kind is one more model added to the union and
one more evaluator registered in `rules.evaluator`. Loading validates every rule and stops with
a `ConfigError` naming the file, the rule id and the field.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from core.config import StrictModel, load_yaml
from core.errors import ConfigError
from core.models import MaintenanceAction, Severity
from core.site import EQUIPMENT_TYPES
from rules.errors import ParameterMissingError

RULE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
POINT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MESSAGE_FIELDS = frozenset({"value", "limit", "equipment"})
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

    @field_validator("param")
    @classmethod
    def _check_param(cls, value: str) -> str:
        name = value.removeprefix(RATED_PREFIX).removeprefix(PARAMS_PREFIX)
        if not POINT_NAME.match(name):
            raise ValueError(f"{value!r} is not params.NAME, NAME or rated.NAME")
        return value

    def resolve(
        self, params: Mapping[str, float], rated: Mapping[str, float], *, rule: str, equipment: str
    ) -> float:
        """The limit for one equipment; raises ParameterMissingError without param or default."""
        if self.param.startswith(RATED_PREFIX):
            base = rated.get(self.param.removeprefix(RATED_PREFIX))
        else:
            base = params.get(self.param.removeprefix(PARAMS_PREFIX))
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
) -> float:
    """A number stays itself; a ParamLimit is looked up for the equipment."""
    if isinstance(limit, ParamLimit):
        return limit.resolve(params, rated, rule=rule, equipment=equipment)
    return float(limit)


class RuleBase(StrictModel):
    """What every rule kind has: identity, classification, timing and presentation."""

    id: str = Field(description="Unique rule id, `<pack>.<name>`, e.g. pump.bearing_temp_high.")
    equipment_type: str = Field(description=f"One of {', '.join(EQUIPMENT_TYPES)}.")
    on_delay_s: float = Field(0.0, ge=0, description="Condition must hold this long (source time).")
    off_delay_s: float = Field(0.0, ge=0, description="Condition must be clear this long to clear.")
    severity: Severity = Field(description="critical, major, minor or warning.")
    priority: int = Field(ge=1, le=4, description="1 = emergency … 4 = low.")
    fault_code: str = Field(min_length=1, max_length=64, description="e.g. PUMP_BEARING_TEMP.")
    family: str = Field(
        min_length=1, max_length=64, description="Fault family (one incident each)."
    )
    maintenance: MaintenanceAction = Field(
        MaintenanceAction.NONE, description="What the alarm asks of maintenance."
    )
    message: str = Field(
        "{equipment}: value {value} beyond limit {limit}",
        description="Template; may use {value}, {limit} and {equipment} (format specs allowed).",
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
        if value not in EQUIPMENT_TYPES:
            raise ValueError(f"unknown equipment type {value!r}; one of {list(EQUIPMENT_TYPES)}")
        return value

    @field_validator("suppress_when")
    @classmethod
    def _check_suppress(cls, value: str | None) -> str | None:
        if value is not None and not POINT_NAME.match(value):
            raise ValueError(f"{value!r} is not a point name")
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
                "{limit}, {equipment}"
            )
        try:
            value.format(value=1.0, limit=1.0, equipment="X")
        except (ValueError, IndexError) as err:
            raise ValueError(f"bad template: {err}") from err
        return value

    def points(self) -> tuple[str, ...]:
        """The points whose readings the rule's condition reads."""
        raise NotImplementedError

    def render(self, *, value: float | None, limit: float | None, equipment: str) -> str:
        """The alarm message for one equipment."""
        # The template was checked with floats at load time; a missing number renders as nan.
        return self.message.format(
            value=math.nan if value is None else value,
            limit=math.nan if limit is None else limit,
            equipment=equipment,
        )


class ThresholdRule(RuleBase):
    """`point op limit`, with hysteresis: it clears once past the limit by `deadband`."""

    kind: Literal["threshold"]
    point: str = Field(description="Point compared with the limit (booleans count as 0/1).")
    op: Op = Field(description="'>', '>=', '<' or '<='.")
    limit: Limit = Field(description="A number or {param, default, factor}.")
    deadband: float = Field(0.0, ge=0, description="Hysteresis in the point's unit.")

    @field_validator("point")
    @classmethod
    def _check_point(cls, value: str) -> str:
        if not POINT_NAME.match(value):
            raise ValueError(f"{value!r} is not a point name")
        return value

    @model_validator(mode="after")
    def _check_suppression_point(self) -> Self:
        if self.suppress_when == self.point:
            raise ValueError("suppress_when cannot be the rule's own point")
        return self

    def points(self) -> tuple[str, ...]:
        return (self.point,)


# Issue 6 adds RateOfChangeRule, StaleRule, ExpressionRule, StatisticalRule, CounterRule here.
Rule = Annotated[ThresholdRule, Field(discriminator="kind")]
RULE_KINDS: tuple[str, ...] = ("threshold",)
_RULE_ADAPTER: TypeAdapter[Rule] = TypeAdapter(Rule)


@dataclass(frozen=True, slots=True)
class RulePack:
    """The validated rules of one file."""

    pack: str
    source: str
    rules: tuple[Rule, ...]


def _loc(loc: Sequence[int | str]) -> str:
    # Drop the union tag pydantic inserts (e.g. "threshold") so the path is the YAML field.
    parts = [str(p) for p in loc if p not in RULE_KINDS]
    return ".".join(parts) or "(rule)"


def parse_rule(raw: Any, *, source: str, index: int) -> Rule:
    """Validate one rule; a bad one raises ConfigError naming file, rule id and field."""
    rid = raw.get("id") if isinstance(raw, dict) else None
    name = f"rule {rid!r}" if isinstance(rid, str) else f"rule #{index + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {name}: must be a mapping")
    if "kind" not in raw:
        raise ConfigError(f"{source}: {name}: kind: missing; one of {list(RULE_KINDS)}")
    try:
        return _RULE_ADAPTER.validate_python(raw)
    except ValidationError as err:
        lines = [
            f"{source}: {name}: {'kind' if p['type'] == 'union_tag_invalid' else _loc(p['loc'])}"
            f": {p['msg']}"
            for p in err.errors()
        ]
        raise ConfigError("\n".join(lines)) from err


def parse_rule_file(data: Any, *, source: str) -> RulePack:
    """Validate a loaded rule file `{pack, rules}`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with pack and rules")
    unknown = set(data) - {"pack", "rules"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level fields {sorted(unknown)}")
    pack = data.get("pack")
    if not isinstance(pack, str) or not pack:
        raise ConfigError(f"{source}: pack: must be a non-empty string")
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{source}: rules: must be a list")
    rules = tuple(parse_rule(r, source=source, index=i) for i, r in enumerate(raw_rules))
    _check_unique(rules, source)
    return RulePack(pack=pack, source=source, rules=rules)


def load_rule_file(path: Path) -> RulePack:
    """Load and validate one rule file."""
    return parse_rule_file(load_yaml(path), source=str(path))


def builtin_pack_path(name: str) -> Path:
    """Where a built-in pack lives (rules/packs/NAME.yaml)."""
    if not POINT_NAME.match(name):
        raise ConfigError(f"pack name {name!r} is not a plain name")
    path = Path(str(resources.files("rules") / "packs" / f"{name}.yaml"))
    if not path.is_file():
        available = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ConfigError(f"packs: no built-in pack {name!r}; available: {available}")
    return path


def _check_unique(rules: Iterable[Rule], source: str) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ConfigError(f"{source}: rule {rule.id!r}: id: duplicate rule id")
        seen.add(rule.id)


def load_rules(packs: Sequence[str], files: Sequence[Path]) -> list[Rule]:
    """Built-in packs plus extra files; a rule id defined twice anywhere is an error."""
    loaded = [load_rule_file(builtin_pack_path(p)) for p in packs]
    loaded += [load_rule_file(f) for f in files]
    origin: dict[str, str] = {}
    out: list[Rule] = []
    for pack in loaded:
        for rule in pack.rules:
            if rule.id in origin:
                raise ConfigError(
                    f"{pack.source}: rule {rule.id!r}: id: duplicate rule id, "
                    f"already defined in {origin[rule.id]}"
                )
            origin[rule.id] = pack.source
            out.append(rule)
    return out

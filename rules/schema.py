"""The rule model and rule-file loading.

A rule file is ``{pack: name, rules: [...]}``. Every rule names its ``kind`` (threshold,
rate_of_change, stale, expression, statistical, counter, comms_loss, night_flow, off_hours,
energy_drift; models in
`rules.kinds`); the kinds
form a pydantic discriminated union (`Rule`), so a new kind is one more model added to the
union and one more logic registered in `rules.logic.LOGICS`. Loading validates every rule
and stops with a `ConfigError` naming the file, the rule id and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from bldgwatch.core.config import load_yaml
from bldgwatch.core.errors import ConfigError
from bldgwatch.rules.kinds import (
    CommsLossRule,
    CounterRule,
    EnergyDriftRule,
    ExpressionRule,
    NightFlowRule,
    OffHoursRule,
    RateOfChangeRule,
    StaleRule,
    StatisticalRule,
    ThresholdRule,
)
from bldgwatch.rules.rulebase import POINT_NAME, Limit, ParamLimit, RuleBase, resolve_limit

__all__ = [
    "CommsLossRule",
    "CounterRule",
    "ExpressionRule",
    "Limit",
    "ParamLimit",
    "RateOfChangeRule",
    "Rule",
    "RuleBase",
    "StaleRule",
    "StatisticalRule",
    "ThresholdRule",
    "resolve_limit",
]

Rule = Annotated[
    ThresholdRule
    | RateOfChangeRule
    | StaleRule
    | ExpressionRule
    | StatisticalRule
    | CounterRule
    | CommsLossRule
    | NightFlowRule
    | OffHoursRule
    | EnergyDriftRule,
    Field(discriminator="kind"),
]
RULE_KINDS: tuple[str, ...] = (
    "threshold",
    "rate_of_change",
    "stale",
    "expression",
    "statistical",
    "counter",
    "comms_loss",
    "night_flow",
    "off_hours",
    "energy_drift",
)
_RULE_ADAPTER: TypeAdapter[Rule] = TypeAdapter(Rule)


@dataclass(frozen=True, slots=True)
class RulePack:
    """The validated rules of one file."""

    pack: str
    source: str
    rules: tuple[Rule, ...]


def _loc(loc: Sequence[int | str]) -> str:
    # Drop the union tag pydantic puts first (e.g. "threshold") so the path is the YAML field.
    parts = [str(p) for p in loc]
    if parts and parts[0] in RULE_KINDS:
        parts = parts[1:]
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
    path = Path(str(resources.files("bldgwatch.rules") / "packs" / f"{name}.yaml"))
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

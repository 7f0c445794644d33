"""The rules worker's retained status document (counters for operators and tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bldgwatch.rules.config import COMPONENT
from bldgwatch.rules.engine import RulesEngine


@dataclass(slots=True)
class ServiceCounters:
    """What the service itself counted."""

    messages: int = 0
    decode_errors: int = 0
    handler_failures: int = 0
    other_shard: int = 0
    events_published: int = 0
    events_republished: int = 0
    store_errors: int = 0
    ticks: int = 0


def status_document(
    *,
    state: str,
    instance: str,
    shard: str,
    sites: list[str],
    engine: RulesEngine,
    service: ServiceCounters,
    dead_letters: Mapping[str, int],
    refused: Mapping[str, int],
    extra: Mapping[str, int],
) -> dict[str, Any]:
    """The status of one worker: identity, floods under way, and every counter."""
    ev = engine.evaluator.counters
    counters: dict[str, int] = {
        **asdict(service),
        "readings": ev.readings,
        "evaluated": ev.evaluated,
        "repeats_skipped": ev.repeats,
        "unknown_equipment": ev.unknown_equipment + refused.get("unknown_equipment", 0),
        "refused_readings": sum(refused.values()),
        "bad_quality": ev.bad_quality,
        "out_of_order": ev.out_of_order,
        "condition_changes": ev.changes,
        "chattering": engine.chattering,
        "floods": engine.floods,
        **extra,
    }
    return {
        "component": COMPONENT,
        "instance": instance,
        "state": state,
        "shard": shard,
        "sites": sites,
        "rules": len(engine.evaluator.index.rules),
        "flooding": sorted(engine.flood.flooding),
        "counters": counters,
        "dead_letters": dict(dead_letters),
        "refused": dict(refused),
    }

"""What of a readings message reaches the evaluator (pure: the caller passes the time).

A message is decoded within the decode limits, must come on its own site's and gateway's
topic, and must not reuse a seq with other content. Then each reading must be reported by the
gateway that owns its equipment in the site register and lie within the time window. What
fails is returned as dead letters (one per reason and message, naming the first few
readings), and the rest is evaluated: one bad reading never holds up the good ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bldgwatch.core.codec import decode_batch
from bldgwatch.core.deadletter import DeadLetter
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import Reading
from bldgwatch.core.register import EquipmentRegister, TimeWindow
from bldgwatch.core.safejson import DecodeLimits
from bldgwatch.core.seqledger import SeqLedger, SeqVerdict
from bldgwatch.core.topics import ReadingsTopic

DETAILS_PER_LETTER = 5


@dataclass(slots=True)
class Intake:
    """The readings to evaluate and the dead letters to send for one message."""

    readings: list[Reading] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  # readings refused, by reason
    decoded: bool = False  # the message decoded and came from the gateway it names
    equipment: list[str] = field(default_factory=list)  # listed by the batch, owned by its gateway


@dataclass(frozen=True, slots=True)
class IntakePolicy:
    """Everything the checks need besides the message and the time."""

    register: EquipmentRegister
    window: TimeWindow
    limits: DecodeLimits
    ledger: SeqLedger


def screen(
    topic: str, where: ReadingsTopic, payload: bytes, *, now_ms: int, policy: IntakePolicy
) -> Intake:
    """Check one readings message received on `topic` (parsed into `where`) at `now_ms`."""
    out = Intake()
    seq: int | None = None
    try:
        decoded = decode_batch(payload, policy.limits)
        batch = decoded.batch
        seq = batch.seq
        if (batch.site, batch.gateway) != (where.site, where.gateway):
            raise DecodeError(
                "topic_mismatch",
                f"topic says {where.site}/{where.gateway}, batch says {batch.site}/{batch.gateway}",
            )
        verdict = policy.ledger.record(batch.site, batch.gateway, seq, decoded.digest())
        if verdict is SeqVerdict.CONFLICT:
            raise DecodeError(
                "duplicate_seq", f"seq {seq} of {batch.gateway} came before with other readings"
            )
    except DecodeError as err:
        out.letters.append(DeadLetter(err.reason, err.detail, topic, seq, payload))
        return out
    out.decoded = True
    problems = [(r.reason, f"[{r.index}] {r.detail}") for r in decoded.rejected]
    owners: dict[str, tuple[str, str] | None] = {}  # one register look-up per equipment
    for reading in batch.readings:
        eq = reading.equipment
        if eq not in owners:
            owners[eq] = policy.register.check(
                batch.site, batch.gateway, eq, batch.equipment.get(eq)
            )
        problem = owners[eq] or policy.window.check(reading.ts_ms, now_ms)
        if problem is None:
            out.readings.append(reading)
        else:
            reason, detail = problem
            problems.append((reason, f"{reading.equipment}.{reading.point}: {detail}"))
    for eq, kind in batch.equipment.items():  # alive for the communication watch
        if eq not in owners:
            owners[eq] = policy.register.check(batch.site, batch.gateway, eq, kind)
        if owners[eq] is None:
            out.equipment.append(eq)
    out.letters.extend(_letters(problems, topic, seq, payload, out.refused))
    return out


def _letters(
    problems: Iterable[tuple[str, str]],
    topic: str,
    seq: int | None,
    payload: bytes,
    counts: dict[str, int],
) -> list[DeadLetter]:
    by_reason: dict[str, list[str]] = {}
    for reason, shown in problems:
        by_reason.setdefault(reason, []).append(shown)
    letters = []
    for reason, group in by_reason.items():
        counts[reason] = len(group)
        detail = f"{len(group)} reading(s): " + "; ".join(group[:DETAILS_PER_LETTER])
        if len(group) > DETAILS_PER_LETTER:
            detail += f"; +{len(group) - DETAILS_PER_LETTER} more"
        letters.append(DeadLetter(reason, detail, topic, seq, payload))
    return letters

"""The work-order state machine, as a table."""

from __future__ import annotations

import itertools

import pytest

from bldgwatch.maintenance.errors import InvalidTransition
from bldgwatch.maintenance.models import WorkOrderStatus as S
from bldgwatch.maintenance.workorders import TRANSITIONS, check_transition, is_open

VALID = {
    (S.OPEN, S.ASSIGNED), (S.OPEN, S.CANCELLED),
    (S.ASSIGNED, S.IN_PROGRESS), (S.ASSIGNED, S.CANCELLED),
    (S.IN_PROGRESS, S.ON_HOLD), (S.IN_PROGRESS, S.RESOLVED), (S.IN_PROGRESS, S.CANCELLED),
    (S.ON_HOLD, S.IN_PROGRESS), (S.ON_HOLD, S.CANCELLED),
    (S.RESOLVED, S.VERIFIED), (S.RESOLVED, S.CANCELLED),
    (S.RESOLVED, S.ASSIGNED), (S.RESOLVED, S.OPEN),  # a follow-up that finds it not fixed
    (S.VERIFIED, S.CLOSED), (S.VERIFIED, S.CANCELLED),
}  # fmt: skip


@pytest.mark.parametrize(("src", "dst"), sorted(VALID))
def test_valid(src: S, dst: S) -> None:
    assert check_transition(src, dst) is dst
    assert check_transition(src.value, dst.value) is dst


INVALID = sorted(set(itertools.product(S, S)) - VALID)


@pytest.mark.parametrize(("src", "dst"), INVALID)
def test_invalid(src: S, dst: S) -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition(src, dst, order_id=7)
    assert info.value.from_status == src.value
    assert info.value.to_status == dst.value
    assert f"from {src.value} to {dst.value}" in str(info.value)


def test_unknown_status_is_invalid() -> None:
    with pytest.raises(InvalidTransition, match="teleported"):
        check_transition("open", "teleported")


def test_table_is_complete_and_terminals_are_terminal() -> None:
    assert set(TRANSITIONS) == set(S)
    assert not TRANSITIONS[S.CLOSED] and not TRANSITIONS[S.CANCELLED]
    assert all(S.CANCELLED in TRANSITIONS[s] for s in S if is_open(s))

"""Where the long tests run: each xdist worker starts with its share of them.

`--dist worksteal` hands each of the N workers a contiguous quarter (third, …) of the
collected tests and later moves tests from the end of a busy worker's queue to an idle one.
A test that runs for minutes cannot be moved once started, so one that happens to sit in the
middle of a worker's share ends the run minutes after the other workers finished (the five
minute InfluxDB outage started about 10 minutes in and set the run's length). The tests
marked `long(seconds=…)` are therefore dealt to the workers' shares, the longest first to the
share with the least long work so far, and each share starts with its long tests; the rest
keep their collected order.

A long test is dealt with its whole module, in the collected order: pytest finishes a module's
fixtures when the next test is another module's, so a long test taken away from its siblings
(or two long tests of a module dealt to two shares) started the module's stack, browser,
broker or wheel build once more for each piece — 34 extra module setups in a 2-worker run.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import pytest

T = TypeVar("T")

DEFAULT_SECONDS = 60.0


def expected_seconds(item: pytest.Item) -> float:
    """How long a `long` test is expected to take (its marker's `seconds`), else 0."""
    marker = item.get_closest_marker("long")
    if marker is None:
        return 0.0
    return float(marker.kwargs.get("seconds", DEFAULT_SECONDS))


def module_of(item: pytest.Item) -> str:
    """The test module an item belongs to (its node id up to the first `::`)."""
    return item.nodeid.split("::", 1)[0]


def spread_long_tests(items: Sequence[pytest.Item], workers: int) -> list[pytest.Item]:
    """The collected tests reordered for `workers` workers (see `spread`), each module whole."""
    return spread(items, workers, expected_seconds, module_of)


def spread(
    items: Sequence[T],
    workers: int,
    seconds: Callable[[T], float],
    group: Callable[[T], Hashable] | None = None,
) -> list[T]:
    """The items reordered so that each worker's initial share begins with its long ones.

    The shares are cut as xdist's work-stealing scheduler cuts them: the first of the
    remaining items go to the next worker, `remaining // workers_left` of them. With `group`,
    each run of consecutive items of one group (a module) is dealt as one, with the sum of
    its seconds, and keeps its order; without, each item is its own group.
    """
    if workers < 2:
        return list(items)
    blocks: list[list[int]] = []
    previous: object = object()
    for index, item in enumerate(items):
        key = group(item) if group is not None else index
        if not blocks or key != previous:
            blocks.append([])
        blocks[-1].append(index)
        previous = key
    weighted = sorted(
        ((sum(seconds(items[i]) for i in block), block) for block in blocks),
        key=lambda pair: (-pair[0], pair[1][0]),
    )
    shares: list[list[T]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for weight, block in weighted:
        if weight <= 0:
            break
        share = loads.index(min(loads))
        shares[share].extend(items[i] for i in block)
        loads[share] += weight
    placed = {id(item) for share in shares for item in share}
    rest = iter([item for item in items if id(item) not in placed])
    ordered: list[T] = []
    for share_index, share in enumerate(shares):
        size = (len(items) - len(ordered)) // (workers - share_index)
        ordered.extend(share)
        ordered.extend(next(rest) for _ in range(max(0, size - len(share))))
    ordered.extend(rest)
    return ordered

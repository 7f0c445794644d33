"""The long tests are dealt to the heads of the workers' shares (tests/ordering.py)."""

from __future__ import annotations

from tests.ordering import spread

LONG = {"outage": 360.0, "partition": 140.0, "wheel": 120.0, "browser": 110.0, "chain": 47.0}


def shares(items: list[str], workers: int) -> list[list[str]]:
    """The items cut into shares as xdist's work-stealing scheduler cuts them."""
    cut: list[list[str]] = []
    start = 0
    for left in range(workers, 0, -1):
        size = (len(items) - start) // left
        cut.append(items[start : start + size])
        start += size
    return cut


def test_each_share_starts_with_its_long_tests_and_the_longest_are_apart() -> None:
    short = [f"t{i}" for i in range(40)]
    items = [*short[:10], "chain", *short[10:25], "outage", "partition", *short[25:]]
    items += ["wheel", "browser"]
    ordered = spread(items, 4, lambda name: LONG.get(name, 0.0))
    assert sorted(ordered) == sorted(items)
    heads = [share[0] for share in shares(ordered, 4)]
    assert heads == ["outage", "partition", "wheel", "browser"]
    assert "chain" in shares(ordered, 4)[3][:2]  # the share with the least long work so far
    assert [name for name in ordered if name in short] == short  # the rest keep their order


def test_one_worker_or_no_long_tests_keep_the_collected_order() -> None:
    items = ["a", "outage", "b"]
    assert spread(items, 1, lambda name: LONG.get(name, 0.0)) == items
    assert spread(items, 4, lambda name: 0.0) == items

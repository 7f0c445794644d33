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


def test_a_long_test_goes_with_its_whole_module_in_collected_order() -> None:
    """pytest sets a module's fixtures up again when its tests are not consecutive: a long test
    dealt away from its siblings, or two of a module dealt to two shares, paid that twice."""
    seconds = {"b.2": 120.0, "b.4": 30.0, "c.1": 100.0, "d.1": 90.0}
    items = [
        "a.1",
        "a.2",
        "b.1",
        "b.2",
        "b.3",
        "b.4",
        "c.1",
        "c.2",
        "d.1",
        *[f"e.{i}" for i in range(20)],
    ]
    ordered = spread(items, 2, lambda name: seconds.get(name, 0.0), lambda name: name[0])
    assert sorted(ordered) == sorted(items)
    first, second = shares(ordered, 2)
    assert first[:4] == ["b.1", "b.2", "b.3", "b.4"]  # the heaviest module (150 s), whole
    assert second[:3] == ["c.1", "c.2", "d.1"]  # then 100 s and 90 s on the other share
    for module in "bcd":  # each module with a long test in one run of consecutive items
        where = [i for i, name in enumerate(ordered) if name[0] == module]
        assert where == list(range(where[0], where[0] + len(where))), (module, ordered)

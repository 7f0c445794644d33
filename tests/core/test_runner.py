"""core.runner.settle_heap: what start-up built is frozen out of the collector's sight, the
garbage of start-up is collected first (none of it frozen for good), and the youngest
generation is collected less often. In a child process: the test process's collector is left
as it is."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc, weakref
from bldgwatch.core.runner import GC_YOUNG, settle_heap

class Node:
    pass

kept = [Node() for _ in range(1000)]
cycle = Node(); cycle.me = cycle           # start-up garbage: only the collector frees it
gone = weakref.ref(cycle); del cycle
gc.disable()                                # nothing collects it before settle_heap
settle_heap()
gc.enable()
print(gone() is None, gc.get_freeze_count() >= 1000, gc.get_threshold()[0] == GC_YOUNG)
"""


def test_settle_heap_collects_then_freezes_and_spaces_young_collections() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["True", "True", "True"], done.stderr

"""The public request form's guards keep bounded memory, driven by the injectable clock: the
spent proof-of-work challenges (refusing new proofs rather than forgetting spent ones when
full, until they expire) and the sliding-window counts (least recently used keys go first)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bldgwatch.console import proofofwork, windowlimit
from bldgwatch.console.proofofwork import ProofOfWork, ProofRefused, leading_zero_bits
from bldgwatch.console.windowlimit import WindowLimit
from bldgwatch.core.clock import ManualClock


@pytest.mark.parametrize(
    ("digest", "bits"),
    [(b"\x00\x00\xff", 16), (b"\x00\x01", 15), (b"\x80", 0), (b"\x10\x00", 3), (b"\x00", 8)],
)
def test_leading_zero_bits(digest: bytes, bits: int) -> None:
    assert leading_zero_bits(digest) == bits


def test_spent_challenges_are_bounded_and_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proofofwork, "MAX_SPENT", 50)
    clock = ManualClock()
    pow_ = ProofOfWork(b"k" * 32, clock, difficulty=0, ttl=timedelta(seconds=60))
    for _ in range(50):
        pow_.spend(pow_.issue().challenge, "0")
    with pytest.raises(ProofRefused) as busy:
        pow_.spend(pow_.issue().challenge, "0")
    assert busy.value.reason == "busy" and busy.value.retry_after_s == 60
    clock.advance(61)  # the spent ones expired: forgotten, and new proofs are taken again
    pow_.spend(pow_.issue().challenge, "0")


def test_a_challenge_of_another_key_is_forged() -> None:
    clock = ManualClock()
    ours = ProofOfWork(b"a" * 32, clock, difficulty=0, ttl=timedelta(seconds=60))
    theirs = ProofOfWork(b"b" * 32, clock, difficulty=0, ttl=timedelta(seconds=60))
    with pytest.raises(ProofRefused) as refused:
        ours.spend(theirs.issue().challenge, "0")
    assert refused.value.reason == "forged"


def test_window_counts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(windowlimit, "MAX_KEYS", 100)
    clock = ManualClock()
    limit = WindowLimit(clock, limit=1, window=timedelta(hours=1))
    assert limit.take("first") is None
    assert limit.take("first") == 3600
    for n in range(100):  # a sender choosing fresh keys pushes out the oldest
        assert limit.take(f"k{n}") is None
    assert limit.take("first") is None  # forgotten: at most MAX_KEYS kept
    clock.advance(1800)
    assert limit.take("k99") == 1800  # the window slides

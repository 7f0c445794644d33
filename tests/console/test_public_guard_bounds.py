"""The public request form's guards keep bounded memory, driven by the injectable clock: the
spent proof-of-work challenges (when full, the oldest is forgotten: a replay of it works only
for the point and address group it was issued to, which their limits bound; nobody else is
refused) and the sliding-window counts (least recently used keys go first). Any string as a
challenge or solution is a refusal naming the field, never another error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bldgwatch.console import proofofwork, windowlimit
from bldgwatch.console.connections import address_group
from bldgwatch.console.proofofwork import ProofOfWork, ProofRefused, leading_zero_bits
from bldgwatch.console.windowlimit import WindowLimit
from bldgwatch.core.clock import ManualClock


@pytest.mark.parametrize(
    ("digest", "bits"),
    [(b"\x00\x00\xff", 16), (b"\x00\x01", 15), (b"\x80", 0), (b"\x10\x00", 3), (b"\x00", 8)],
)
def test_leading_zero_bits(digest: bytes, bits: int) -> None:
    assert leading_zero_bits(digest) == bits


HERE = {"code": "lobby-b1", "client": "203.0.113.7"}


def test_spent_challenges_are_bounded_and_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proofofwork, "MAX_SPENT", 50)
    clock = ManualClock()
    pow_ = ProofOfWork(b"k" * 32, clock, difficulty=0, ttl=timedelta(seconds=60))
    spent = [pow_.issue(**HERE).challenge for _ in range(51)]
    for challenge in spent:  # full at 50: the 51st is taken, not refused ("busy" before)
        pow_.spend(challenge, "0", **HERE)
    with pytest.raises(ProofRefused) as reused:
        pow_.spend(spent[-1], "0", **HERE)
    assert reused.value.reason == "reused"
    other = {"code": "lobby-b1", "client": "198.51.100.9"}
    with pytest.raises(ProofRefused) as elsewhere:  # the forgotten oldest, from elsewhere
        pow_.spend(spent[0], "0", **other)
    assert elsewhere.value.reason == "forged"
    pow_.spend(spent[0], "0", **HERE)  # only its own client may replay it (address limit)
    clock.advance(61)  # expired: refused whatever the set remembers
    with pytest.raises(ProofRefused) as expired:
        pow_.spend(spent[1], "0", **HERE)
    assert expired.value.reason == "expired"
    pow_.spend(pow_.issue(**HERE).challenge, "0", **HERE)


def test_a_challenge_of_another_key_is_forged() -> None:
    clock = ManualClock()
    ours = ProofOfWork(b"a" * 32, clock, difficulty=0, ttl=timedelta(seconds=60))
    theirs = ProofOfWork(b"b" * 32, clock, difficulty=0, ttl=timedelta(seconds=60))
    with pytest.raises(ProofRefused) as refused:
        ours.spend(theirs.issue(**HERE).challenge, "0", **HERE)
    assert refused.value.reason == "forged"


@pytest.mark.parametrize(
    "elsewhere",
    [{"code": "lobby-b2", "client": "203.0.113.7"}, {"code": "lobby-b1", "client": "::1/128"}],
)
def test_a_challenge_is_bound_to_its_code_and_client(elsewhere: dict[str, str]) -> None:
    pow_ = ProofOfWork(b"a" * 32, ManualClock(), difficulty=0, ttl=timedelta(seconds=60))
    challenge = pow_.issue(**HERE).challenge
    with pytest.raises(ProofRefused) as refused:
        pow_.check(challenge, "0", **elsewhere)
    assert (refused.value.reason, refused.value.field) == ("forged", "challenge")
    pow_.spend(challenge, "0", **HERE)


@settings(max_examples=300, deadline=None)
@given(challenge=st.one_of(st.none(), st.text(max_size=300)), solution=st.text(max_size=60))
def test_any_string_is_a_refusal_naming_the_field(challenge: str | None, solution: str) -> None:
    pow_ = ProofOfWork(b"a" * 32, ManualClock(), difficulty=30, ttl=timedelta(seconds=60))
    real = pow_.issue(**HERE).challenge
    for sent in (challenge, real[:-1] + (challenge or "x")[:1], f"{real}{challenge}"):
        with pytest.raises(ProofRefused) as refused:
            pow_.spend(sent, solution, **HERE)
        assert refused.value.field in ("challenge", "solution")


def test_ipv6_clients_count_per_64() -> None:
    assert address_group("2001:db8:1:2::1") == address_group("2001:db8:1:2:ffff::9")
    assert address_group("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_group("2001:db8:1:3::1") != address_group("2001:db8:1:2::1")
    assert address_group("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_group("203.0.113.7") != address_group("203.0.113.8")
    assert address_group("testclient") == "testclient"


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


def test_a_noted_request_counts_without_being_refused() -> None:
    clock = ManualClock()
    limit = WindowLimit(clock, limit=2, window=timedelta(hours=1))
    assert limit.wait_s("code") is None  # asking does not count
    assert limit.wait_s("code") is None
    limit.note("code")
    assert limit.wait_s("code") is None
    limit.note("code")
    assert limit.wait_s("code") == 3600

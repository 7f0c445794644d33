"""Proof of work for the public request form, instead of a third-party CAPTCHA.

The console hands out a challenge `v1.<expires>.<difficulty>.<nonce>.<mac>`: the MAC
(HMAC-SHA256 with a key derived from the console's secret) binds the expiry and the
difficulty, so the browser cannot lower either and the console keeps no state for a challenge
it handed out. The browser searches a counter `n` such that SHA-256(`challenge:n`) starts with
`difficulty` zero bits (WebCrypto), and sends both with the request. The console checks the
MAC, the expiry and the hash, and spends the challenge: a second request with it is refused
until it would have expired anyway. The spent set is bounded (expired entries are dropped;
when it is full, new challenges are refused until room frees, rather than forgetting spent
ones). Thread-safe: the routes run in a thread pool.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bldgwatch.core.clock import Clock
from bldgwatch.core.i18n import Message

VERSION = "v1"
KEY_LABEL = b"bldgwatch public request proof of work v1"
MAX_SPENT = 100_000
"""Spent challenges kept until they expire (each cost its sender the work)."""
MAX_SOLUTION_CHARS = 20


@dataclass(frozen=True, slots=True)
class Challenge:
    """A challenge as handed out."""

    challenge: str
    difficulty: int
    expires_at: datetime


class ProofRefused(Exception):  # noqa: N818 - reads as what happened
    """A missing, forged, expired, reused or wrong proof; `message` says which."""

    def __init__(self, reason: str, message: Message, *, retry_after_s: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.retry_after_s = retry_after_s


def leading_zero_bits(digest: bytes) -> int:
    """How many zero bits the digest starts with."""
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solves(challenge: str, solution: str, difficulty: int) -> bool:
    """Whether SHA-256(`challenge:solution`) starts with `difficulty` zero bits."""
    digest = hashlib.sha256(f"{challenge}:{solution}".encode("ascii", "replace")).digest()
    return leading_zero_bits(digest) >= difficulty


class ProofOfWork:
    """Hands out and checks challenges; remembers the spent ones until they expire."""

    def __init__(self, secret: bytes, clock: Clock, *, difficulty: int, ttl: timedelta) -> None:
        self._key = hmac.new(secret, KEY_LABEL, hashlib.sha256).digest()
        self._clock = clock
        self.difficulty = difficulty
        self._ttl = ttl
        self._spent: OrderedDict[str, float] = OrderedDict()  # challenge → expiry (ts)
        self._lock = threading.Lock()

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self) -> Challenge:
        """A fresh challenge at the configured difficulty."""
        expires = math.floor((self._clock.now() + self._ttl).timestamp())
        body = f"{VERSION}.{expires}.{self.difficulty}.{secrets.token_hex(12)}"
        return Challenge(
            f"{body}.{self._mac(body)}", self.difficulty, datetime.fromtimestamp(expires, UTC)
        )

    def _parse(self, challenge: str) -> tuple[int, int]:
        """The expiry and difficulty of an authentic challenge (ProofRefused otherwise)."""
        parts = challenge.split(".")
        if len(parts) != 5 or parts[0] != VERSION:
            raise ProofRefused("malformed", Message("error.pow.malformed"))
        body, mac = ".".join(parts[:4]), parts[4]
        if not hmac.compare_digest(self._mac(body), mac):
            raise ProofRefused("forged", Message("error.pow.forged"))
        return int(parts[1]), int(parts[2])

    def spend(self, challenge: str | None, solution: str | None) -> None:
        """Accept the proof once (ProofRefused: missing, malformed, forged, expired, reused,
        wrong, or too many spent ones kept)."""
        if not challenge or solution is None or solution == "":
            raise ProofRefused("missing", Message("error.pow.missing"))
        if len(solution) > MAX_SOLUTION_CHARS or not solution.isdigit():
            raise ProofRefused("wrong", Message("error.pow.wrong"))
        expires, difficulty = self._parse(challenge)
        now = self._clock.now().timestamp()
        if expires <= now:
            raise ProofRefused("expired", Message("error.pow.expired"))
        if not solves(challenge, solution, difficulty):
            raise ProofRefused("wrong", Message("error.pow.wrong"))
        with self._lock:
            self._forget_expired(now)
            if challenge in self._spent:
                raise ProofRefused("reused", Message("error.pow.reused"))
            if len(self._spent) >= MAX_SPENT:
                wait = max(1, math.ceil(next(iter(self._spent.values())) - now))
                raise ProofRefused("busy", Message("error.pow.busy"), retry_after_s=wait)
            self._spent[challenge] = float(expires)

    def _forget_expired(self, now: float) -> None:
        # Challenges are issued with one ttl, so insertion order is nearly expiry order.
        while self._spent:
            first, expires = next(iter(self._spent.items()))
            if expires > now:
                return
            del self._spent[first]

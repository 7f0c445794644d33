"""Proof of work for the public request form, instead of a third-party CAPTCHA.

The console hands out a challenge `v1.<expires>.<difficulty>.<nonce>.<mac>`: the MAC
(HMAC-SHA256 with a key derived from the console's secret) binds the expiry, the difficulty,
the request point's code and the client's address group (`console.connections.address_group`)
the challenge was handed to, so the browser cannot lower the work, and a challenge solved once
cannot be sent for another point or from another network; the console keeps no state for a
challenge it handed out. The browser searches a counter `n` such that SHA-256(`challenge:n`)
starts with `difficulty` zero bits (WebCrypto), and sends both with the request. The console
checks the MAC, the expiry and the hash (`check`), and once the request passed every other
check, spends the challenge (`spend`): a second request with it is refused until it would have
expired anyway. The spent set is bounded: expired entries are dropped, and when it is full the
oldest is forgotten (a replay of it is then possible only from the address group it was issued
to, which its per-address limit bounds) rather than refusing everyone. Every input is checked
for shape first: any string gives a `ProofRefused`, never another error. Thread-safe: the
routes run in a thread pool.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
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
"""Spent challenges kept until they expire or, when full, until newer ones push them out."""
MAX_SOLUTION_CHARS = 20
SHAPE = re.compile(r"v1\.([0-9]{1,12})\.([0-9]{1,2})\.([0-9a-f]{24})\.([0-9a-f]{64})")
"""A challenge as issued (ASCII only): anything else is malformed."""
SOLUTION = re.compile(r"[0-9]{1,20}")


@dataclass(frozen=True, slots=True)
class Challenge:
    """A challenge as handed out."""

    challenge: str
    difficulty: int
    expires_at: datetime


class ProofRefused(Exception):  # noqa: N818 - reads as what happened
    """A missing, malformed, forged, expired, reused or wrong proof; `message` says which,
    `field` names the form field at fault (`challenge` or `solution`)."""

    def __init__(self, reason: str, message: Message, *, field: str = "challenge") -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.field = field


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

    def _mac(self, body: str, *, code: str, client: str) -> bytes:
        bound = "\n".join((body, code, client)).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, bound, hashlib.sha256).hexdigest().encode("ascii")

    def issue(self, *, code: str, client: str) -> Challenge:
        """A fresh challenge at the configured difficulty, for the point `code` and the
        client's address group `client`."""
        expires = math.floor((self._clock.now() + self._ttl).timestamp())
        body = f"{VERSION}.{expires}.{self.difficulty}.{secrets.token_hex(12)}"
        mac = self._mac(body, code=code, client=client).decode("ascii")
        return Challenge(f"{body}.{mac}", self.difficulty, datetime.fromtimestamp(expires, UTC))

    def _parse(self, challenge: str, *, code: str, client: str) -> tuple[int, int]:
        """The expiry and difficulty of an authentic challenge (ProofRefused otherwise)."""
        shape = SHAPE.fullmatch(challenge) if challenge.isascii() else None
        if shape is None:
            raise ProofRefused("malformed", Message("error.pow.malformed"))
        body, mac = challenge.rsplit(".", 1)
        if not hmac.compare_digest(self._mac(body, code=code, client=client), mac.encode()):
            raise ProofRefused("forged", Message("error.pow.forged"))
        return int(shape.group(1)), int(shape.group(2))

    def check(self, challenge: str | None, solution: str | None, *, code: str, client: str) -> None:
        """Whether the proof is good (ProofRefused: missing, malformed, forged — issued
        elsewhere included —, expired, wrong, or already spent); spends nothing."""
        if not challenge or not solution:
            raise ProofRefused("missing", Message("error.pow.missing"))
        if not solution.isascii() or SOLUTION.fullmatch(solution) is None:
            raise ProofRefused("wrong", Message("error.pow.wrong"), field="solution")
        expires, difficulty = self._parse(challenge, code=code, client=client)
        if expires <= self._clock.now().timestamp():
            raise ProofRefused("expired", Message("error.pow.expired"))
        if not solves(challenge, solution, difficulty):
            raise ProofRefused("wrong", Message("error.pow.wrong"), field="solution")
        with self._lock:
            if challenge in self._spent:
                raise ProofRefused("reused", Message("error.pow.reused"))

    def spend(self, challenge: str | None, solution: str | None, *, code: str, client: str) -> None:
        """Check the proof and accept it once (ProofRefused as `check`, or reused)."""
        self.check(challenge, solution, code=code, client=client)
        assert challenge is not None  # checked
        expires, _ = self._parse(challenge, code=code, client=client)
        now = self._clock.now().timestamp()
        with self._lock:
            self._forget_expired(now)
            if challenge in self._spent:  # a request with it was taken meanwhile
                raise ProofRefused("reused", Message("error.pow.reused"))
            while len(self._spent) >= MAX_SPENT:  # the oldest goes (see the module's doc)
                self._spent.popitem(last=False)
            self._spent[challenge] = float(expires)

    def _forget_expired(self, now: float) -> None:
        # Challenges are issued with one ttl, so insertion order is nearly expiry order.
        while self._spent:
            first, expires = next(iter(self._spent.items()))
            if expires > now:
                return
            del self._spent[first]

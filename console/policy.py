"""What the console accepts as a password, a signing secret and a user name.

Passwords: long enough, not blank, and not easy to guess by zxcvbn's estimate (its frequency
lists hold the common passwords, names and words; nothing is copied into this project).
Secrets: strength by estimated entropy, not by length. Refusals are catalogue messages
(`policy.*`), shown in the reader's language.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from bldgwatch.console.errors import MessageError
from bldgwatch.core.i18n import Message

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 200
MIN_PASSWORD_SCORE = 3
"""zxcvbn's score 3: about 10^8 guesses or more ("safely unguessable" against online attacks
and moderately against an offline attack on a slow hash such as argon2id)."""
ZXCVBN_MAX_CHARS = 72
"""zxcvbn refuses longer input; a password's first 72 characters are estimated."""
MIN_SECRET_BITS = 100
USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
PREDICTABLE = "a predictable pattern"
ZXCVBN_WARNINGS = {
    "Straight rows of keys are easy to guess": "keyboard_row",
    "Short keyboard patterns are easy to guess": "keyboard_pattern",
    'Repeats like "aaa" are easy to guess': "repeat",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc"': "repeat_group",
    'Sequences like "abc" or "6543" are easy to guess': "sequence",
    "Recent years are easy to guess": "recent_year",
    "Dates are often easy to guess": "date",
    "This is a top-10 common password": "top10",
    "This is a top-100 common password": "top100",
    "This is a very common password": "very_common",
    "This is similar to a commonly used password": "similar_common",
    "A word by itself is easy to guess": "word",
    "Names and surnames by themselves are easy to guess": "name",
    "Common names and surnames are easy to guess": "common_name",
    PREDICTABLE: "predictable",
}
"""zxcvbn's warnings (its feedback, English, without the full stop) → `policy.why.<key>`."""


class PolicyError(MessageError, ValueError):
    """A value the policy refuses; the message (`policy.*` in the catalogue) says why."""


def check_password(password: str, *, user_inputs: Sequence[str] = ()) -> None:
    """Raise PolicyError unless `password` is long, not blank and hard to guess.

    `user_inputs` (the user's name, display name) count as easy guesses.
    """
    n = len(password)
    if n < MIN_PASSWORD_CHARS:
        raise PolicyError(Message("policy.password_too_short", {"min": MIN_PASSWORD_CHARS, "n": n}))
    if n > MAX_PASSWORD_CHARS:
        limit = {"max": MAX_PASSWORD_CHARS, "n": str(n)}
        raise PolicyError(Message("policy.password_too_long", limit))
    if not password.strip():
        raise PolicyError(Message("policy.password_blank"))
    from zxcvbn import zxcvbn  # loads its frequency lists (~35 ms): only when a password is set

    found = zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=[u for u in user_inputs if u])
    if int(found["score"]) < MIN_PASSWORD_SCORE:
        why = str(found["feedback"]["warning"] or PREDICTABLE).rstrip(".")
        log10 = float(found["guesses_log10"])
        params = {"why": guess_warning(why), "log10": log10}
        raise PolicyError(Message("policy.password_guessable", params))


def guess_warning(warning: str) -> Message | str:
    """zxcvbn's warning (English) as the catalogue's `policy.why.*` message; a warning this
    version does not know stays English, first letter lowered."""
    slug = ZXCVBN_WARNINGS.get(warning)
    return Message(f"policy.why.{slug}") if slug else warning[:1].lower() + warning[1:]


def shannon_bits(value: str) -> float:
    """Length × the Shannon entropy of the value's own character frequencies."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -n * sum(c / n * math.log2(c / n) for c in counts.values())


def secret_bits(value: str) -> int:
    """Estimated entropy of a secret: the smaller of the character-frequency estimate and
    zxcvbn's guess count (which sees words, keyboard walks and repeats)."""
    from zxcvbn import zxcvbn

    guessing = float(zxcvbn(value[:ZXCVBN_MAX_CHARS])["guesses_log10"]) * math.log2(10)
    return int(min(shannon_bits(value), guessing))


def check_secret(value: str, *, env: str) -> None:
    """Raise PolicyError unless the secret has at least MIN_SECRET_BITS estimated bits."""
    bits = secret_bits(value)
    if bits < MIN_SECRET_BITS:
        params = {"env": env, "bits": bits, "min": MIN_SECRET_BITS}
        raise PolicyError(Message("policy.secret_weak", params))


def check_user_name(name: str) -> None:
    """Raise PolicyError unless `name` is 1–64 of the allowed characters."""
    if not USER_NAME.fullmatch(name):
        raise PolicyError(Message("policy.user_name_invalid", {"name": repr(name[:80])}))

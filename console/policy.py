"""What the console accepts as a password, a signing secret and a user name.

Passwords: long enough, not blank, and not easy to guess by zxcvbn's estimate (its frequency
lists hold the common passwords, names and words; nothing is copied into this project).
Secrets: strength by estimated entropy, not by length. Messages are the constants below, so a
message catalogue can take them over.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 200
MIN_PASSWORD_SCORE = 3
"""zxcvbn's score 3: about 10^8 guesses or more ("safely unguessable" against online attacks
and moderately against an offline attack on a slow hash such as argon2id)."""
ZXCVBN_MAX_CHARS = 72
"""zxcvbn refuses longer input; a password's first 72 characters are estimated."""
MIN_SECRET_BITS = 100
USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")

PASSWORD_TOO_SHORT = "password must have at least {min} characters; it has {n}"
PASSWORD_TOO_LONG = "password must have at most {max} characters; it has {n}"
PASSWORD_BLANK = "password must not be only spaces or other whitespace"
PASSWORD_GUESSABLE = (
    "password is too easy to guess ({why}; about 10^{log10:.0f} guesses, at least 10^8 "
    "needed): use a longer passphrase of uncommon words"
)
SECRET_WEAK = (
    "{env} is too predictable: about {bits} bits of entropy estimated, at least {min} "
    "needed (a repeated or dictionary-based value); generate one with `openssl rand -hex 32`"
)
USER_NAME_INVALID = (
    "user name {name!r} is not allowed: 1–64 letters, digits and . _ @ - (no spaces)"
)


class PolicyError(ValueError):
    """A value the policy refuses; the message says why."""


def check_password(password: str, *, user_inputs: Sequence[str] = ()) -> None:
    """Raise PolicyError unless `password` is long, not blank and hard to guess.

    `user_inputs` (the user's name, display name) count as easy guesses.
    """
    n = len(password)
    if n < MIN_PASSWORD_CHARS:
        raise PolicyError(PASSWORD_TOO_SHORT.format(min=MIN_PASSWORD_CHARS, n=n))
    if n > MAX_PASSWORD_CHARS:
        raise PolicyError(PASSWORD_TOO_LONG.format(max=MAX_PASSWORD_CHARS, n=n))
    if not password.strip():
        raise PolicyError(PASSWORD_BLANK)
    from zxcvbn import zxcvbn  # loads its frequency lists (~35 ms): only when a password is set

    found = zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=[u for u in user_inputs if u])
    if int(found["score"]) < MIN_PASSWORD_SCORE:
        why = str(found["feedback"]["warning"] or "a predictable pattern").rstrip(".")
        log10 = float(found["guesses_log10"])
        raise PolicyError(PASSWORD_GUESSABLE.format(why=why[0].lower() + why[1:], log10=log10))


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
        raise PolicyError(SECRET_WEAK.format(env=env, bits=bits, min=MIN_SECRET_BITS))


def check_user_name(name: str) -> None:
    """Raise PolicyError unless `name` is 1–64 of the allowed characters."""
    if not USER_NAME.fullmatch(name):
        raise PolicyError(USER_NAME_INVALID.format(name=name[:80]))

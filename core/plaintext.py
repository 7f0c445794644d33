"""Checks of free text typed by people: characters a reader cannot see.

An invisible, format or bidi character (Unicode category Cf: zero-width spaces, U+202E
right-to-left override, ...) or a control character (Cc) lets a sender make a text look
empty or read differently on the screen of whoever handles it. A text of several lines may
hold newlines and tabs.
"""

from __future__ import annotations

import unicodedata


def hidden(char: str, *, lines: bool = False) -> bool:
    """Whether `char` is invisible, format/bidi (Cf) or control (Cc; newline and tab allowed
    when the text may have several `lines`)."""
    kind = unicodedata.category(char)
    return kind == "Cf" or (kind == "Cc" and not (lines and char in "\n\t"))


def first_hidden(text: str, *, lines: bool = False) -> str | None:
    """The first hidden character of `text` as `U+XXXX`, or None."""
    for char in text:
        if hidden(char, lines=lines):
            return f"U+{ord(char):04X}"
    return None


def blank(text: str) -> bool:
    """Whether `text` holds nothing a reader can see: white space, invisible, format and
    control characters only."""
    return not "".join(c for c in text if not hidden(c, lines=True)).strip()

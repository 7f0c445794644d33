"""JSON from the broker under explicit limits: size, nesting depth and number size.

Every consumer parses untrusted bytes. orjson is fast and refuses what would hurt (it stops at
a nesting depth of 1,024, takes integers only up to 64 bits and refuses NaN, infinities,
invalid UTF-8 and lone surrogates). Two things still need care:

- the limits must be settings (`DecodeLimits`), so each message is checked against them;
- the readings codec keeps a batch whose one value is `NaN` or `Infinity` (that reading alone
  is refused), which needs the standard-library parser. That parser recurses (a deep array is
  a `RecursionError`) and builds integers of any size (`float()` of a 400-digit one is an
  `OverflowError`), so it runs here only after a depth scan, with a bounded integer hook, and
  its result must re-encode as strict JSON.

Everything that goes wrong is a `DecodeError` whose reason is counted by the caller.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from pydantic import Field

from bldgwatch.core.config import StrictModel
from bldgwatch.core.errors import DecodeError

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")
_CONTAINERS = (list, dict)
_NON_FINITE_TOKENS = (b"NaN", b"Infinity")


class DecodeLimits(StrictModel):
    """What a consumer accepts before it looks at a message's meaning."""

    max_message_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest payload parsed, bytes; a larger one is dead-lettered (`oversize`). "
        "Keep it at or below the broker's max_packet_size.",
    )
    max_depth: int = Field(
        32,
        ge=2,
        le=1000,
        description="Deepest nesting of arrays and objects accepted (`too_deep`).",
    )
    max_int_digits: int = Field(
        19,
        ge=1,
        le=4000,
        description="Longest integer accepted, in digits (`number_too_large`); 19 digits cover "
        "every 64-bit integer.",
    )


DEFAULT_LIMITS = DecodeLimits()


class OversizedNumber(str):
    """An integer literal longer than the limit, kept as its text so a check can name it."""

    __slots__ = ()


def nesting_depth(payload: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings skipped)."""
    brackets = _STRINGS.sub(b"", payload).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for char in brackets:
        if char in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _depth_of(doc: Any, limit: int) -> bool:
    """True when the parsed document nests no deeper than `limit` (iterative, early exit)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, list) and not any(isinstance(c, _CONTAINERS) for c in node):
            continue
        stack.extend((c, depth + 1) for c in children if isinstance(c, _CONTAINERS))
    return True


def _check_size(payload: bytes, limits: DecodeLimits) -> None:
    if len(payload) > limits.max_message_bytes:
        raise DecodeError(
            "oversize", f"{len(payload)} bytes, more than the {limits.max_message_bytes} allowed"
        )


def load_json(payload: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> Any:
    """Parse strict JSON within `limits`; DecodeError (`oversize`, `malformed_json`,
    `too_deep`) otherwise."""
    _check_size(payload, limits)
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        reason = "too_deep" if "depth" in str(err) else "malformed_json"
        raise DecodeError(reason, str(err)) from err
    _check_parsed_depth(payload, doc, limits)
    return doc


def _check_parsed_depth(payload: bytes, doc: Any, limits: DecodeLimits) -> None:
    # Counting brackets is C-speed; only a payload with more of them than the limit can nest
    # deeper than it, and only then is the parsed document walked.
    if payload.count(b"[") + payload.count(b"{") > limits.max_depth and not _depth_of(
        doc, limits.max_depth
    ):
        raise DecodeError("too_deep", f"nested deeper than {limits.max_depth} levels")


def load_json_lenient(payload: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> Any:
    """Like `load_json`, but `NaN`, `Infinity` and out-of-range numbers parse (to float NaN
    or infinity, and too-long integers to `OversizedNumber`), so the caller can refuse
    only the values that carry them."""
    _check_size(payload, limits)
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        message = str(err)
        if "depth" in message:
            raise DecodeError("too_deep", message) from err
        if "infinity" not in message and not any(t in payload for t in _NON_FINITE_TOKENS):
            raise DecodeError("malformed_json", message) from err
        return _stdlib_loads(payload, limits, err)
    _check_parsed_depth(payload, doc, limits)
    return doc


def _stdlib_loads(payload: bytes, limits: DecodeLimits, err: orjson.JSONDecodeError) -> Any:
    if nesting_depth(payload) > limits.max_depth:
        raise DecodeError("too_deep", f"nested deeper than {limits.max_depth} levels")
    digits = limits.max_int_digits

    def bounded_int(text: str) -> int | OversizedNumber:
        return int(text) if len(text.lstrip("-")) <= digits else OversizedNumber(text[:40])

    try:
        doc = json.loads(payload, parse_int=bounded_int)
        # orjson refuses lone surrogates in strings; the standard library keeps them.
        orjson.dumps(doc, option=orjson.OPT_PASSTHROUGH_SUBCLASS, default=str)
    except (ValueError, RecursionError, TypeError, orjson.JSONEncodeError) as bad:
        raise DecodeError("malformed_json", f"{err}; {bad}") from bad
    return doc

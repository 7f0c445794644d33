"""Sequence numbers seen per gateway, to tell a redelivery from a conflicting batch.

A gateway numbers its batches; a batch sent again (QoS 1 redelivery, a resend after a broker
restart) carries the same seq and the same readings, which is harmless. The same seq with
different readings is not: stored as it comes it would overwrite values already stored. The
ledger remembers a digest of each recent batch per (site, gateway) and says which case a new
arrival is, so the consumer refuses a conflict (`duplicate_seq`) instead of writing it.

Memory is bounded: `per_gateway` recent seqs for each of at most `gateways` gateways (least
recently heard-from gateways are forgotten first). The ledger lives in the consumer's memory;
docs/architecture.md says what that means across restarts and replicas.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from enum import StrEnum
from typing import Any

import orjson


class SeqVerdict(StrEnum):
    """What a batch is, given the seqs seen before."""

    NEW = "new"
    REPEAT = "repeat"  # the same seq with the same content: a redelivery
    CONFLICT = "conflict"  # the same seq with other content


def content_digest(equipment: Any, readings: Any) -> bytes:
    """A digest of a batch's content (its equipment table and reading columns), without the
    fields that change on a resend (`sent`)."""
    body = orjson.dumps([equipment, readings], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(body, digest_size=16).digest()


class SeqLedger:
    """Recent (site, gateway, seq) → content digest, thread-safe and bounded."""

    def __init__(self, *, per_gateway: int = 4096, gateways: int = 10_000) -> None:
        self._per_gateway = per_gateway
        self._gateways = gateways
        self._seen: OrderedDict[tuple[str, str], OrderedDict[int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, site: str, gateway: str, seq: int, digest: bytes) -> SeqVerdict:
        """Remember a batch; NEW, REPEAT or CONFLICT (a conflict keeps the first digest)."""
        key = (site, gateway)
        with self._lock:
            seqs = self._seen.get(key)
            if seqs is None:
                seqs = self._seen[key] = OrderedDict()
                if len(self._seen) > self._gateways:
                    self._seen.popitem(last=False)
            else:
                self._seen.move_to_end(key)
            known = seqs.get(seq)
            if known is not None:
                return SeqVerdict.REPEAT if known == digest else SeqVerdict.CONFLICT
            seqs[seq] = digest
            if len(seqs) > self._per_gateway:
                seqs.popitem(last=False)
            return SeqVerdict.NEW

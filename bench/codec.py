"""Readings codec throughput: encode + decode (with validation) of 500-reading batches,
against the ceiling of bare orjson dumps + loads of the same documents.

Last line: readings_per_s=… ceiling_per_s=… ratio=…
"""

from __future__ import annotations

import argparse
import random
import time

import orjson

from bldgwatch.core.codec import decode_batch, encode_batch
from bldgwatch.core.models import EquipmentInfo, Reading, ReadingBatch


def make_batches(count: int, size: int) -> list[ReadingBatch]:
    rng = random.Random(1)
    equipment = {f"P-{i:02d}": EquipmentInfo("pump", "B1") for i in range(20)}
    ids = list(equipment)
    batches = []
    for seq in range(count):
        readings = [
            Reading(
                ids[i % 20],
                f"point_{i % 11}",
                1_767_225_600_000 + seq * 1000 + i,
                rng.uniform(0, 100),
            )
            for i in range(size)
        ]
        batches.append(ReadingBatch("demo", "gw-1", seq, equipment, readings))
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    batches = make_batches(200 if args.quick else 2000, 500)
    total = sum(len(b.readings) for b in batches)

    t0 = time.perf_counter()
    for batch in batches:
        decoded = decode_batch(encode_batch(batch))
        assert len(decoded.batch.readings) == len(batch.readings)
    ours = total / (time.perf_counter() - t0)

    payloads = [orjson.loads(encode_batch(b)) for b in batches]
    t0 = time.perf_counter()
    for doc in payloads:
        orjson.loads(orjson.dumps(doc))
    ceiling = total / (time.perf_counter() - t0)

    print(f"batches={len(batches)} readings={total}")
    print(f"readings_per_s={ours:.0f} ceiling_per_s={ceiling:.0f} ratio={ours / ceiling:.2f}")


if __name__ == "__main__":
    main()

"""Structure-aware fuzzing of every consumer of the data plane (issue 12, point 2).

Each consumer runs as its own process (`bldgwatch ingest|rules|maintenance|console|gateway`)
on a Mosquitto and an influxd of this run, and takes 100,000 hypothesis payloads (--quick:
1,000) mixed with good traffic: a good message after every 100 hostile ones, and after every
chunk of 500 a probe whose effect must show within its normal latency (bench/support/fuzz/run.py).
The reference is measured in the same run: good messages only, in a burst (good_per_s);
ratio = hostile payloads handled per second / good messages per second.

One line per consumer, then the last line: payloads=… crashes=0 stalls=0 good_stored=…
good_sent=… fuzz_per_s=… good_per_s=… ratio=…
"""

# ruff: noqa: E402 - the path fix below must run before the project imports
from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/fuzz.py`: the repository root (for `bench.support.fuzz`) goes on the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import logging
import tempfile
import time
import uuid

from bench.support.fuzz.consumers import CONSUMERS
from bench.support.fuzz.run import FuzzResult, run_fuzz
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.servers import start_influxd, start_mosquitto


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 payloads per consumer")
    parser.add_argument("--payloads", type=int, default=None, help="per consumer")
    parser.add_argument("--only", choices=list(CONSUMERS), action="append")
    args = parser.parse_args()
    n = args.payloads or (1000 if args.quick else 100_000)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    results: list[FuzzResult] = []
    with tempfile.TemporaryDirectory(prefix="bw-fuzz-") as tmp_name:
        tmp = Path(tmp_name)
        broker = start_mosquitto(tmp / "mosquitto")
        influxd = start_influxd(tmp / "influxd")
        try:
            for name in args.only or list(CONSUMERS):
                folder = tmp / name
                folder.mkdir()
                influx = InfluxSettings(
                    url=influxd.extra["url"], database=f"fz_{uuid.uuid4().hex[:8]}"
                )
                consumer = CONSUMERS[name](
                    name,
                    folder,
                    MqttSettings(port=broker.port),
                    influx,
                    good_capacity=n // 100 + n // 500 + 400,
                )
                started = time.monotonic()
                result = run_fuzz(consumer, n, good_every=100, chunk=500, rng_seed=2026)
                print(f"{result.line()} wall_s={time.monotonic() - started:.0f}", flush=True)
                results.append(result)
        finally:
            influxd.stop()
            broker.discard()
    payloads = sum(r.payloads for r in results)
    fuzz_s = sum(r.fuzz_s for r in results)
    fuzz_per_s = payloads / fuzz_s if fuzz_s else 0.0
    good_per_s = sum(r.reference_per_s for r in results) / len(results)
    print(
        f"consumers={len(results)} payloads={payloads} "
        f"crashes={sum(r.crashes for r in results)} stalls={sum(r.stalls for r in results)} "
        f"good_stored={sum(r.good_stored for r in results)} "
        f"good_sent={sum(r.good_sent for r in results)} "
        f"counts_add_up={str(all(r.counts_add_up for r in results)).lower()} "
        f"fuzz_per_s={fuzz_per_s:.0f} good_per_s={good_per_s:.0f} "
        f"ratio={fuzz_per_s / good_per_s if good_per_s else 0:.2f}",
        flush=True,
    )
    bad = any(r.crashes or r.stalls or r.good_stored != r.good_sent for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

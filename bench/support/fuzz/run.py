"""One fuzz run of one consumer process against the real broker (issue 12, point 2).

1. Reference: `reference` good messages in a burst, timed until every effect is seen (good
   messages per second), and the latency of single good messages (their normal latency).
2. Fuzz: hypothesis payloads in chunks, a good message after every `good_every` of them;
   after each chunk, once the consumer has taken everything (its /metrics count), one more
   good message must show its effect within the normal-latency bound, or it is a stall.
3. The process must still run (else a crash); every good message's effect must be seen; the
   dead letters that reached the broker must equal the consumer's own count, reason by reason.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field

from bench.support.fuzz.consumers import Consumer
from bench.support.fuzz.payloads import chunks
from bldgwatch.core.mqtt import MqttClient

STALL_FLOOR_S = 3.0  # a good message within max(this, 5 x its normal latency) is no stall


@dataclass
class FuzzResult:
    """What one run measured."""

    consumer: str
    payloads: int = 0
    crashes: int = 0
    stalls: int = 0
    good_sent: int = 0
    good_stored: int = 0
    latency_bound_s: float = 0.0
    worst_probe_s: float = 0.0
    reference_per_s: float = 0.0
    fuzz_per_s: float = 0.0
    fuzz_s: float = 0.0
    letters_seen: Counter[str] = field(default_factory=Counter)
    letters_counted: Counter[str] = field(default_factory=Counter)
    taken: int | None = None
    published: int = 0

    @property
    def counts_add_up(self) -> bool:
        """Dead letters on the broker == the consumer's count, reason by reason; and it took
        every message published (where it counts them)."""
        taken_ok = self.taken is None or self.taken == self.published
        return self.letters_seen == self.letters_counted and taken_ok

    def line(self) -> str:
        """The figures as key=value pairs (the benchmark's and the test's record)."""
        ratio = self.fuzz_per_s / self.reference_per_s if self.reference_per_s else 0.0
        reasons = ",".join(f"{k}:{v}" for k, v in sorted(self.letters_seen.items()))
        return (
            f"consumer={self.consumer} payloads={self.payloads} crashes={self.crashes} "
            f"stalls={self.stalls} good_stored={self.good_stored} good_sent={self.good_sent} "
            f"counts_add_up={str(self.counts_add_up).lower()} dead_letters="
            f"{sum(self.letters_seen.values())} fuzz_per_s={self.fuzz_per_s:.0f} "
            f"good_per_s={self.reference_per_s:.0f} ratio={ratio:.2f} "
            f"probe_max_s={self.worst_probe_s:.2f} bound_s={self.latency_bound_s:.1f} "
            f"reasons={reasons}"
        )


class Fuzzer:
    """Publishes and watches for one consumer."""

    def __init__(self, consumer: Consumer, *, good_every: int, reference: int) -> None:
        self.consumer = consumer
        self.good_every = good_every
        self.reference = reference
        self.result = FuzzResult(consumer.name)
        self.expected: set[Hashable] = set()
        self._next_good = 0
        self.client = MqttClient(consumer.mqtt, client_id=f"fz-pub-{consumer.name}")

    def _good(self) -> Hashable:
        topic, payload, key = self.consumer.good(self._next_good)
        self._next_good += 1
        self.client.publish(topic, payload, qos=1)
        self.result.published += 1
        self.result.good_sent += 1
        self.expected.add(key)
        return key

    def _wait_effect(self, keys: set[Hashable], timeout: float) -> float | None:
        """Seconds until every key's effect is seen, or None after `timeout`."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if keys <= self.consumer.effects():
                return time.monotonic() - start
            if not self.consumer.alive():
                return None
            time.sleep(0.05)  # polling another process's state, not timing
        return None

    def _wait_taken(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.consumer.alive():
            taken = self.consumer.messages_in(self.consumer.metrics())
            if taken is None or taken >= self.result.published:
                return
            time.sleep(0.1)

    def _ready(self, timeout: float) -> None:
        """Send good messages until one has its effect: the consumer has subscribed. Those it
        never saw (sent before it subscribed) are not counted."""
        probes: list[Hashable] = []
        deadline = time.monotonic() + timeout
        while not (self.consumer.effects() & set(probes)):
            assert time.monotonic() < deadline, f"{self.consumer.name} never ready"
            probes.append(self._good())
            self._wait_effect({probes[-1]}, 1.0)
        time.sleep(1.0)  # a probe still on its way has arrived by now (not a timing check)
        lost = set(probes) - self.consumer.effects()
        self.expected -= lost
        self.result.good_sent -= len(lost)
        self.result.published -= len(lost)

    def calibrate(self) -> None:
        """The reference: good-only throughput and the normal latency of one good message."""
        self._ready(timeout=90)
        latencies = []
        for _ in range(10):
            key = self._good()
            took = self._wait_effect({key}, 30)
            assert took is not None, f"{self.consumer.name}: a good message had no effect"
            latencies.append(took)
        self.result.latency_bound_s = max(STALL_FLOOR_S, 5 * max(latencies))
        start = time.monotonic()
        burst = {self._good() for _ in range(self.reference)}
        took = self._wait_effect(burst, 120) or 120.0
        self.result.reference_per_s = self.reference / (took or time.monotonic() - start)

    def fuzz(self, n: int, *, chunk: int, rng_seed: int) -> None:
        """`n` hostile payloads, good ones among them, a probe after each chunk."""
        strategy = self.consumer.bad()
        busy = 0.0
        for items in chunks(strategy, n, size=chunk, rng_seed=rng_seed):
            start = time.monotonic()
            for i, (topic, payload) in enumerate(items, start=1):
                self.client.publish(topic, payload, qos=1)
                self.result.published += 1
                if i % self.good_every == 0:
                    self._good()
            self.result.payloads += len(items)
            self._wait_taken(timeout=300)
            busy += time.monotonic() - start
            self._probe()
            if not self.consumer.alive():
                break
        self.result.fuzz_s = busy
        self.result.fuzz_per_s = self.result.payloads / busy if busy else 0.0

    def _probe(self) -> None:
        key = self._good()
        took = self._wait_effect({key}, self.result.latency_bound_s)
        if took is None:
            self.result.stalls += 1
            took = self._wait_effect({key}, 60) or 60.0
        self.result.worst_probe_s = max(self.result.worst_probe_s, took)

    def finish(self) -> FuzzResult:
        """Wait for every good message's effect, read the counts, stop the process."""
        r = self.result
        self._wait_effect(self.expected, 120)
        self._wait_taken(timeout=60)
        r.good_stored = len(self.expected & self.consumer.effects())
        r.crashes = 0 if self.consumer.alive() else 1
        text = self.consumer.metrics()
        r.taken = self.consumer.messages_in(text)
        r.letters_counted = self.consumer.metrics_dead_letters(text)
        deadline = time.monotonic() + 30
        while r.letters_counted != self.consumer.dead_letters_seen():
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)  # dead letters still on their way through the broker
        r.letters_seen = self.consumer.dead_letters_seen()
        return r

    def __enter__(self) -> Fuzzer:
        self.consumer.start()
        self.client.start()
        assert self.client.wait_connected(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.client.stop()
        code = self.consumer.stop()
        if code not in (0, None) and self.result.crashes == 0:
            self.result.crashes = 1  # it did not stop cleanly either


def run_fuzz(
    consumer: Consumer, n: int, *, good_every: int = 100, chunk: int = 500, rng_seed: int = 0
) -> FuzzResult:
    """Calibrate, fuzz `n` payloads, finish: the figures of one consumer."""
    with Fuzzer(consumer, good_every=good_every, reference=min(200, max(20, n // 50))) as fz:
        fz.calibrate()
        fz.fuzz(n, chunk=chunk, rng_seed=rng_seed)
        return fz.finish()

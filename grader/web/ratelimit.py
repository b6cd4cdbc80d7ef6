"""Per-student rate limit on submissions: a token bucket per student, in each worker process.

A student may submit ``burst`` times at once, then ``per_minute`` times a minute.  The
buckets live in the memory of each gunicorn worker rather than in the store.  That is a
choice: a store-backed bucket would be exact across workers but would add a write (and a
lock on SQLite's single writer) to every submission, which is the hot path of the
service.  The price is that a student whose requests are spread over ``W`` workers gets
up to ``W`` times the configured rate in the worst case, and a worker restart refills the
buckets.  The limit exists to stop a runaway script from hogging the graders, not to
meter students exactly, and ``W`` is small (a few per machine), so this is enough.  Set
``STREAMGRADE_RATE_BURST=0`` to turn the limit off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_RETRY_AFTER = 3600.0


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """Token buckets keyed by student id.  Thread-safe; ``clock`` is injectable for tests."""

    def __init__(self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.burst = burst
        self.per_second = per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.burst > 0

    def describe(self) -> str:
        return f"at most {self.burst} submissions at once and {self.per_second * 60:g} a minute after that"

    def take(self, key: str) -> float:
        """Take one token for ``key``: ``0.0`` when allowed, else the seconds until a token is due."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            if self.per_second <= 0:  # no refill: the burst is all there is
                return MAX_RETRY_AFTER
            return min(MAX_RETRY_AFTER, (1.0 - bucket.tokens) / self.per_second)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: forgetting them changes nothing."""
        full = [k for k, b in self._buckets.items()
                if b.tokens + (now - b.updated) * self.per_second >= self.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:  # still full of active students: start over
            self._buckets.clear()

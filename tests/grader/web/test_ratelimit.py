"""The per-student token bucket."""

from __future__ import annotations

import pytest

from grader.web.ratelimit import MAX_RETRY_AFTER, TokenBucketLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_the_wait_is_the_time_to_the_next_token():
    clock = Clock()
    limiter = TokenBucketLimiter(burst=3, per_minute=6, clock=clock)  # one token every 10 s
    assert [limiter.take("s1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("s1") == pytest.approx(10.0)
    clock.now += 4
    assert limiter.take("s1") == pytest.approx(6.0)
    clock.now += 6
    assert limiter.take("s1") == 0.0


def test_students_have_separate_buckets():
    limiter = TokenBucketLimiter(burst=1, per_minute=1, clock=Clock())
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0


def test_a_bucket_never_holds_more_than_the_burst():
    clock = Clock()
    limiter = TokenBucketLimiter(burst=2, per_minute=60, clock=clock)
    limiter.take("s")
    clock.now += 3600
    assert [limiter.take("s") for _ in range(3)][-1] > 0


def test_burst_zero_turns_the_limit_off_and_no_refill_waits_at_most_an_hour():
    off = TokenBucketLimiter(burst=0, per_minute=0)
    assert not off.enabled and all(off.take("s") == 0.0 for _ in range(100))
    no_refill = TokenBucketLimiter(burst=1, per_minute=0, clock=Clock())
    no_refill.take("s")
    assert no_refill.take("s") == MAX_RETRY_AFTER


def test_idle_students_are_forgotten_when_the_table_is_full():
    clock = Clock()
    limiter = TokenBucketLimiter(burst=1, per_minute=60, clock=clock, max_keys=2)
    limiter.take("a")
    limiter.take("b")
    clock.now += 10  # both refilled
    limiter.take("c")
    assert set(limiter._buckets) == {"c"}

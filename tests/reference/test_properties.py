"""Properties of the engine that hold for every stream (hypothesis).

- Permuting arrivals within the watermark bound does not change the final rows.
- On-time + late-accepted + dropped (+ side output) amounts add up to the input total.
- The watermark never goes back; every emission's window contains its events' times.
- Applying the changelog twice gives the same table (the upsert sink is idempotent).
"""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from reference import LatePolicy, RunConfig, Sliding, Tumbling, get_profile, run
from reference.events import Event
from reference.profiles import PROFILES
from reference.results import apply_changelog
from reference.timestamps import MINUTE, SECOND

BASE = 10 * 60 * MINUTE

times = st.integers(min_value=0, max_value=30 * MINUTE // SECOND).map(lambda s: BASE + s * SECOND)
amounts = st.integers(min_value=-5, max_value=50).map(Decimal)
users = st.sampled_from(["A", "B", "C"])
event_lists = st.lists(st.tuples(users, times, amounts), max_size=40).map(
    lambda xs: [Event(f"e{i + 1}", u, t, a) for i, (u, t, a) in enumerate(xs)]
)
profiles = st.sampled_from(sorted(PROFILES))
delays = st.integers(min_value=0, max_value=6).map(lambda m: m * MINUTE)
sizes = st.sampled_from([1, 2, 5, 10]).map(lambda m: m * MINUTE)


def total(values) -> Decimal:
    return sum(values, Decimal(0))


@settings(max_examples=150, deadline=None)
@given(event_lists, profiles, delays, sizes, st.randoms(use_true_random=False))
def test_permuting_arrivals_within_the_watermark_bound_keeps_final_rows(events, profile, delay, size, rnd):
    """Each event may arrive after events up to (not including) ``delay`` later than it.

    Arrival order by ``t + jitter`` with jitter in [0, delay) gives every event
    ``t > max(earlier arrivals) - delay``, so no event is late under any profile.
    """
    in_order = sorted(events, key=lambda e: e.event_time)
    shuffled = sorted(events, key=lambda e: e.event_time + (rnd.randrange(delay) if delay else 0))
    config = RunConfig(windows=Tumbling(size), watermark_delay=delay, profile=get_profile(profile))
    a, b = run(in_order, config), run(shuffled, config)
    assert b.late == ()
    assert a.final_rows() == b.final_rows()


@settings(max_examples=200, deadline=None)
@given(event_lists, profiles, delays, st.integers(0, 6), st.sampled_from(list(LatePolicy)), sizes)
def test_on_time_plus_late_plus_dropped_adds_up_to_the_input(events, profile, delay, lateness_min, policy, size):
    lateness = 0 if policy is LatePolicy.DROP else lateness_min * MINUTE
    config = RunConfig(windows=Tumbling(size), watermark_delay=delay, allowed_lateness=lateness,
                       late_policy=policy, profile=get_profile(profile))
    result = run(events, config)
    in_rows = total(r.sum_amount for r in result.final_rows())
    lost = total(x.event.amount for x in result.late if x.outcome.value != "admitted")
    assert in_rows + lost == total(e.amount for e in events)


@settings(max_examples=100, deadline=None)
@given(event_lists, profiles, delays)
def test_watermark_is_monotone_and_windows_contain_their_events(events, profile, delay):
    result = run(events, RunConfig(windows=Sliding(10 * MINUTE, 5 * MINUTE), watermark_delay=delay,
                                   profile=get_profile(profile)))
    marks = [w.watermark for w in result.watermarks]
    assert marks == sorted(marks)
    by_id = {e.event_id: e for e in events}
    for emission in result.emissions:
        for eid in emission.event_ids:
            assert emission.window.contains(by_id[eid].event_time)


@settings(max_examples=100, deadline=None)
@given(event_lists, st.integers(0, 6), st.sampled_from([LatePolicy.UPDATE, LatePolicy.RETRACT]))
def test_replaying_the_changelog_into_an_upsert_table_is_idempotent(events, lateness_min, policy):
    result = run(events, RunConfig(watermark_delay=2 * MINUTE, allowed_lateness=lateness_min * MINUTE,
                                   late_policy=policy))
    once = apply_changelog(result.emissions)
    assert apply_changelog(result.emissions + result.emissions) == once == result.final_rows()


def test_large_random_stream_keeps_state_bounded_by_live_windows():
    # 20,000 events in time order over ~14 hours: with B = 2 min, s = 5 min at most
    # 1 + ceil(2/5) = 2 windows per key are ever held at once, whatever the input size.
    rnd = random.Random(7)
    events = [Event(str(i), rnd.choice("ABCDEFGH"), BASE + i * 2500, Decimal(1)) for i in range(20_000)]
    result = run(events, RunConfig(watermark_delay=2 * MINUTE))
    assert result.max_windows_per_key == 2
    assert max(s.windows_held for s in result.state) <= 2 * 8

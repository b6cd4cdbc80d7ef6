"""Hand-worked cases from SEMANTICS.md: every boundary, for every profile it differs in.

Times are the sheet's (minutes on day 0).  Expected values are worked out by hand in the
comments from the rules, never taken from the engine.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from reference import LatePolicy, RunConfig, Sessions, Sliding, Tumbling, get_profile, run
from reference.events import Event
from reference.results import EmissionKind, LateOutcome, Timing
from reference.timestamps import MINUTE, MS, NEG_INF, POS_INF, parse_time
from tests.reference.sheet import sheet_events

T = parse_time


def ev(eid: str, user: str, time: str, amount: int | str = 1) -> Event:
    return Event(eid, user, T(time), Decimal(amount))


def cfg(profile: str = "flink", delay: int = 2, lateness: int = 0, policy: str = "update", **kw) -> RunConfig:
    return RunConfig(
        windows=kw.pop("windows", Tumbling(5 * MINUTE)),
        watermark_delay=delay * MINUTE,
        allowed_lateness=lateness * MINUTE,
        late_policy=LatePolicy.parse(policy),
        profile=get_profile(profile),
        **kw,
    )


def rows(result) -> set[tuple[str, str, Decimal]]:
    from reference.timestamps import format_time

    return {(format_time(r.window_start), r.user_id, r.sum_amount) for r in result.final_rows()}


# -- windows ---------------------------------------------------------------------------


def test_event_at_window_end_belongs_to_next_window():
    (w,) = Tumbling(5 * MINUTE).assign(T("10:05"))
    assert (w.start, w.end) == (T("10:05"), T("10:10"))
    (w,) = Tumbling(5 * MINUTE).assign(T("10:04:59.999"))
    assert (w.start, w.end) == (T("10:00"), T("10:05"))


def test_sliding_window_holds_every_window_containing_t():
    # size 10, slide 5: 10:07 is in [10:00, 10:10) and [10:05, 10:15); 10:10 in [10:05,10:15), [10:10,10:20)
    got = [(w.start, w.end) for w in Sliding(10 * MINUTE, 5 * MINUTE).assign(T("10:07"))]
    assert got == [(T("10:00"), T("10:10")), (T("10:05"), T("10:15"))]
    got = [(w.start, w.end) for w in Sliding(10 * MINUTE, 5 * MINUTE).assign(T("10:10"))]
    assert got == [(T("10:05"), T("10:15")), (T("10:10"), T("10:20"))]


def test_sliding_run_counts_event_in_each_window():
    result = run([ev("a", "A", "10:07", 2)], cfg(windows=Sliding(10 * MINUTE, 5 * MINUTE)))
    assert rows(result) == {("10:00", "A", Decimal(2)), ("10:05", "A", Decimal(2))}


def test_sessions_merge_when_touching_and_split_past_the_gap():
    # gap 3: 10:00 -> [10:00,10:03); 10:03 touches it -> [10:00,10:06); 10:10 is a new session
    events = [ev("a", "A", "10:00", 1), ev("b", "A", "10:03", 2), ev("c", "A", "10:10", 4)]
    result = run(events, cfg(delay=0, windows=Sessions(3 * MINUTE)))
    got = {(r.window_start, r.window_end, r.sum_amount) for r in result.final_rows()}
    assert got == {(T("10:00"), T("10:06"), Decimal(3)), (T("10:10"), T("10:13"), Decimal(4))}


# -- watermark -------------------------------------------------------------------------


def test_watermark_is_minus_infinity_before_the_first_event():
    p = get_profile("flink")
    assert p.watermark(NEG_INF, 2 * MINUTE) == NEG_INF


@pytest.mark.parametrize(
    ("profile", "expected"),
    [("flink", "10:07:59.999"), ("flink-sql", "10:08"), ("beam-java", "10:08"), ("beam-python", "10:08"),
     ("spark", "10:08"), ("kafka-streams", "10:08")],
)
def test_watermark_formula_per_profile(profile, expected):
    # M = 10:10, B = 2 min: Flink's BoundedOutOfOrdernessWatermarks subtracts one more ms.
    assert get_profile(profile).watermark(T("10:10"), 2 * MINUTE) == T(expected)


def test_watermark_never_goes_back():
    result = run(sheet_events(), cfg())
    marks = [w.watermark for w in result.watermarks]
    assert marks == sorted(marks)
    # e7 (10:01) arrives after e6 (10:10): the watermark stays at 10:10 - 2 min - 1 ms
    assert result.watermarks[-1].watermark == T("10:07:59.999")


def test_periodic_watermark_changes_what_is_late():
    # Per-record: b (10:06) moves the flink watermark to 10:03:59.999... with delay 0 to 10:05:59.999,
    # firing [10:00,10:05), so c (10:04) is late and dropped.  Every 3 arrivals: the first watermark
    # comes after c, so c is on time.
    events = [ev("a", "A", "10:01"), ev("b", "A", "10:06"), ev("c", "A", "10:04")]
    per_record = run(events, cfg(delay=0))
    periodic = run(events, cfg(delay=0, watermark_every=3))
    assert [x.event.event_id for x in per_record.dropped] == ["c"]
    assert periodic.dropped == ()
    assert ("10:00", "A", Decimal(2)) in rows(periodic)


# -- firing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "trigger_time", "fires"),
    [
        # beam/spark/kafka: fires when watermark >= end; watermark = M - 2 min.
        ("beam-java", "10:07", True),
        ("beam-java", "10:06:59.999", False),
        ("beam-python", "10:07", True),
        ("beam-python", "10:06:59.999", False),
        ("spark", "10:07", True),
        ("spark", "10:06:59.999", False),
        ("kafka-streams", "10:07", True),
        ("kafka-streams", "10:06:59.999", False),
        # flink: watermark M - 2 min - 1 ms >= end - 1 ms  <=>  M >= 10:07
        ("flink", "10:07", True),
        ("flink", "10:06:59.999", False),
        # flink-sql: watermark M - 2 min >= end - 1 ms  <=>  M >= 10:06:59.999
        ("flink-sql", "10:06:59.999", True),
        ("flink-sql", "10:06:59.998", False),
    ],
)
def test_window_fires_when_watermark_reaches_end(profile, trigger_time, fires):
    events = [ev("a", "A", "10:01", 5), ev("b", "B", trigger_time, 1)]
    result = run(events, cfg(profile))
    first = result.emissions[0]
    assert first.window.start == T("10:00")
    if fires:
        assert first.timing is Timing.ON_TIME and first.cause == "b"
    else:
        assert first.timing is Timing.END_OF_INPUT and first.cause is None


def test_end_of_input_fires_every_open_window_at_plus_infinity():
    # b (10:06) moves the watermark only to 10:03:59.999: nothing fires before the end.
    result = run([ev("a", "A", "10:01"), ev("b", "B", "10:06")], cfg())
    assert [e.timing for e in result.emissions] == [Timing.END_OF_INPUT, Timing.END_OF_INPUT]
    assert all(e.watermark == POS_INF and e.on_arrival is None for e in result.emissions)


def test_empty_stream_has_no_rows_no_watermarks_no_state():
    result = run([], cfg())
    assert result.emissions == () and result.watermarks == () and result.final_rows() == ()
    assert result.max_windows_per_key == 0 and result.peak_state_bytes == 0


def test_duplicate_event_ids_are_both_counted():
    # The engine does not deduplicate by event id: an at-least-once source that delivers
    # e1 twice doubles A's sum.  Deduplication is the sink's or the source's job.
    result = run([ev("e1", "A", "10:00", 5), ev("e1", "A", "10:00", 5)], cfg())
    assert rows(result) == {("10:00", "A", Decimal(10))}


# -- lateness --------------------------------------------------------------------------

LATE_E7 = [("flink", 3, "dropped"), ("flink", 4, "admitted"), ("beam-java", 3, "dropped"),
           ("beam-java", 4, "admitted"), ("beam-python", 3, "admitted"), ("flink-sql", 3, "dropped"),
           ("spark", 3, "dropped"), ("kafka-streams", 3, "dropped"), ("spark", 4, None), ("kafka-streams", 4, None)]


@pytest.mark.parametrize(("profile", "lateness", "outcome"), LATE_E7)
def test_watermark_equal_to_end_plus_lateness(profile, lateness, outcome):
    """e7 (A, 10:01) arrives after e6 (10:10): M = 10:10, so M - B = 10:08 = 10:05 + 3 min.

    Flink drops at maxTimestamp + L <= watermark (10:07:59.999 <= 10:07:59.999), Beam Java at
    end + L <= watermark, Beam Python only when watermark > end + L.  Spark and Kafka Streams
    fold the lateness into the watermark/grace: with L = 4 the bound is 10:10 - 6 min = 10:04,
    window [10:00,10:05) is still open and e7 is simply on time.
    """
    result = run(sheet_events(), cfg(profile, lateness=lateness, policy="retract"))
    late = {x.event.event_id: x.outcome.value for x in result.late}
    assert late.get("e7") == outcome
    a_row = next(r for r in result.final_rows() if r.window_start == T("10:00") and r.user_id == "A")
    assert a_row.sum_amount == (Decimal(7) if outcome == "dropped" else Decimal(8))


def test_beam_python_admits_at_equality_even_with_zero_lateness():
    # window [10:00,10:05); b at 10:07 moves the watermark to exactly 10:05 (fires); c at 10:03
    # then arrives with watermark == end + 0: Beam Python admits (drops only when >), Beam Java drops.
    events = [ev("a", "A", "10:01", 1), ev("b", "B", "10:07", 1), ev("c", "A", "10:03", 1)]
    py = run(events, cfg("beam-python"))
    java = run(events, cfg("beam-java"))
    assert [(x.event.event_id, x.outcome) for x in py.late] == [("c", LateOutcome.ADMITTED)]
    assert [(x.event.event_id, x.outcome) for x in java.late] == [("c", LateOutcome.DROPPED)]


def test_late_policy_update_upserts_once():
    result = run(sheet_events(), cfg(lateness=4, policy="update"))
    late = [e for e in result.emissions if e.timing is Timing.LATE]
    assert [(e.kind, e.key, e.value, e.cause) for e in late] == [(EmissionKind.UPDATE, "A", Decimal(8), "e7")]


def test_late_policy_retract_sends_two_changelog_records():
    result = run(sheet_events(), cfg(lateness=4, policy="retract"))
    late = [e for e in result.emissions if e.timing is Timing.LATE]
    assert [(e.kind, e.value) for e in late] == [(EmissionKind.RETRACT, Decimal(7)), (EmissionKind.INSERT, Decimal(8))]


def test_late_policy_side_output_keeps_result_and_routes_event():
    result = run(sheet_events(), cfg(policy="side_output"))
    assert [x.event.event_id for x in result.side_output] == ["e7"]
    assert result.dropped == ()
    assert ("10:00", "A", Decimal(7)) in rows(result)


def test_late_policy_drop_refuses_allowed_lateness():
    with pytest.raises(ValueError, match="allowed lateness must be 0"):
        cfg(lateness=3, policy="drop")


def test_late_policy_drop_drops_what_beam_python_would_admit():
    events = [ev("a", "A", "10:01", 1), ev("b", "B", "10:07", 1), ev("c", "A", "10:03", 1)]
    result = run(events, cfg("beam-python", policy="drop"))
    assert [(x.event.event_id, x.outcome) for x in result.late] == [("c", LateOutcome.DROPPED)]


def test_first_event_of_a_key_in_a_fired_window_inside_lateness_is_a_late_insert():
    # B has no row in [10:00,10:05) when its late event arrives: the late firing inserts.
    events = [ev("a", "A", "10:01", 1), ev("b", "A", "10:08", 1), ev("c", "B", "10:02", 3)]
    result = run(events, cfg(lateness=5))
    late = [e for e in result.emissions if e.timing is Timing.LATE]
    assert [(e.kind, e.key, e.value) for e in late] == [(EmissionKind.INSERT, "B", Decimal(3))]


# -- the sheet, end to end -------------------------------------------------------------


@pytest.mark.parametrize(
    ("lateness", "policy", "a_sum", "late_outcome"),
    [(0, "drop", 7, "dropped"), (3, "retract", 7, "dropped"), (4, "retract", 8, "admitted")],
)
def test_sheet_run_for_lateness_0_3_4(lateness, policy, a_sum, late_outcome):
    """Worked by hand (flink, B = 2 min):

    e5 (10:08) moves the watermark to 10:05:59.999 >= 10:04:59.999: [10:00,10:05) fires with
    A = 5 + 2 = 7 and B = 3.  e6 (10:10) moves it to 10:07:59.999.  e7 (10:01) then finds its
    window's expiry 10:04:59.999 + L: L = 0 or 3 -> expiry <= watermark -> dropped; L = 4 ->
    10:08:59.999 > watermark -> admitted, late firing retracts 7 and emits 8.  End of input
    fires [10:05,10:10) A = 4, B = 1 (e6 at 10:10 is in the next window) and [10:10,10:15) B = 2.
    """
    result = run(sheet_events(), cfg(lateness=lateness, policy=policy))
    assert rows(result) == {
        ("10:00", "A", Decimal(a_sum)), ("10:00", "B", Decimal(3)),
        ("10:05", "A", Decimal(4)), ("10:05", "B", Decimal(1)), ("10:10", "B", Decimal(2)),
    }
    first = result.first_emission(Tumbling(5 * MINUTE).assign(T("10:00"))[0])
    assert first.cause == "e5" and first.watermark == T("10:05:59.999")
    assert {x.event.event_id: x.outcome.value for x in result.late} == {"e7": late_outcome}


def test_sheet_holds_two_windows_per_key_with_two_minutes_delay():
    # After e4 (10:06) the watermark is 10:03:59.999: B holds [10:00,10:05) and [10:05,10:10).
    result = run(sheet_events(), cfg())
    assert result.max_windows_per_key == 2
    after_e4 = result.state[3]
    assert after_e4.windows_held == 3 and after_e4.max_windows_per_key == 2
    assert result.peak_state_bytes == 3 * 8


def test_fire_time_is_exact_to_the_millisecond():
    p = get_profile("flink")
    assert p.fire_time(T("10:05")) == T("10:05") - MS
    assert get_profile("beam-java").fire_time(T("10:05")) == T("10:05")

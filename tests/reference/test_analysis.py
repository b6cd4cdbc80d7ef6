"""Back-of-envelope figures (Exercises 8 and 9): hand-worked values, and formula == engine.

The hand-worked values use the sheet's scale (100K events/day, 5K users, tumbling 5 min,
watermark delay 2 min).  The properties check every formula against the engine itself:
the windows-per-key formula against ``Run.max_windows_per_key`` on dense streams, the
minimum latency against which arrival really fires the window.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import RunConfig, StateModel, Tumbling, get_profile, parse_time, run
from reference.analysis import (
    DaySpec,
    events_per_key_per_window,
    events_per_window,
    formulas,
    max_windows_per_key,
    measure,
    measure_day,
    min_emission_latency,
    simulate_day,
    state_bytes,
)
from reference.events import Event, event_from_mapping, fast_time
from reference.profiles import PROFILES
from reference.timestamps import DAY, MINUTE, SECOND, TimeFormatError, format_time
from reference.windows import Window

S, B = 5 * MINUTE, 2 * MINUTE
FLINK = get_profile("flink")


# -- hand-worked values from the sheet ---------------------------------------------------


def test_events_per_window_is_a_day_over_288_windows():
    f = events_per_window(100_000, S)
    assert f.value == Fraction(100_000, 288)
    assert float(f) == pytest.approx(347.2222)
    assert "100000 / (24 h / 5 min = 288) = 347.222" in f.formula
    assert any("uniform" in a for a in f.assumptions)


def test_events_per_key_per_window_divides_by_5000_users():
    f = events_per_key_per_window(100_000, 5_000, S)
    assert f.value == Fraction(100_000, 288 * 5_000)
    assert float(f) == pytest.approx(0.069444, rel=1e-4)
    assert "347.222 / 5000" in f.formula


def test_min_latency_from_1004_is_3_minutes_under_flink():
    f = min_emission_latency(parse_time("10:04"), S, B)
    assert f.value == 3 * MINUTE and f.minutes == 3
    assert "M = 10:07" in f.formula and "10:07 - 10:04 = 3 min" in f.formula
    assert any("processing time >= event time" in a for a in f.assumptions)


def test_min_latency_under_flink_sql_is_2_59_999():
    f = min_emission_latency(parse_time("10:04"), S, B, profile=get_profile("flink-sql"))
    assert f.value == 3 * MINUTE - 1
    assert "M = 10:06:59.999" in f.formula


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_min_latency_with_lateness_only_waits_longer_where_lateness_is_in_the_watermark(profile):
    p = get_profile(profile)
    f = min_emission_latency(parse_time("10:04"), S, B, 3 * MINUTE, p)
    base = 3 * MINUTE - (1 if profile == "flink-sql" else 0)
    assert f.value == base + (3 * MINUTE if p.lateness_in_watermark else 0)


def test_two_windows_per_key_with_2_min_delay_and_no_lateness():
    f = max_windows_per_key(S, B, 0)
    assert f.value == 2
    assert "1 + ceil(2 min / 5 min) = 2" in f.formula


def test_three_windows_per_key_with_2_min_delay_and_4_min_lateness():
    assert max_windows_per_key(S, B, 4 * MINUTE).value == 3


def test_one_window_per_key_only_without_delay():
    assert max_windows_per_key(S, 0, 0).value == 1
    # Beam Python keeps a window until the watermark is PAST end + L: at the next window's
    # first event (watermark == end) the old one is still held.
    assert max_windows_per_key(S, 0, 0, get_profile("beam-python")).value == 2


def test_state_bytes_5000_users_2_windows_8_bytes():
    f = state_bytes(5_000, 2)
    assert f.value == 80_000
    assert "5000 × (2 × 8) = 80000 bytes (80 KB)" in f.formula
    assert state_bytes(5_000, 2, StateModel(8, 16)).value == 5_000 * (2 * 8 + 16)


def test_formulas_for_the_sheet_scale():
    figs = formulas(100_000, 5_000, RunConfig(watermark_delay=B), parse_time("10:04"))
    assert {k: f.value for k, f in figs.items()} == {
        "events_per_window": Fraction(100_000, 288),
        "events_per_key_per_window": Fraction(100_000, 288 * 5_000),
        "min_emission_latency": 3 * MINUTE,
        "max_windows_per_key": 2,
        "state_bytes": 80_000,
    }


# -- formula == engine -------------------------------------------------------------------

BASE = parse_time("10:00")
sizes = st.sampled_from([1, 2, 3, 4, 5, 6, 10]).map(lambda m: m * MINUTE)
durations = st.integers(0, 24).map(lambda q: q * 15 * SECOND)  # 0 .. 6 min in 15 s steps
steps = st.sampled_from([1, 2, 3, 5, 10, 15, 20, 30, 60]).map(lambda s: s * SECOND)  # all divide a minute
profiles = st.sampled_from(sorted(PROFILES))


def dense(step: int, span: int, key: str = "A") -> list[Event]:
    """One key, one event every ``step`` from 10:00 (a window start) for ``span``."""
    return [Event(f"d{i}", key, BASE + i * step, Decimal(1)) for i in range(span // step + 1)]


@settings(max_examples=120, deadline=None)
@given(sizes, durations, durations, profiles, steps)
def test_max_windows_per_key_formula_equals_the_engine_on_dense_streams(size, delay, lateness, profile, step):
    p = get_profile(profile)
    config = RunConfig(windows=Tumbling(size), watermark_delay=delay, allowed_lateness=lateness, profile=p)
    events = dense(step, 4 * size + delay + lateness)
    expected = max_windows_per_key(size, delay, lateness, p).value
    assert run(events, config).max_windows_per_key == expected
    assert measure(iter(events), config).max_windows_per_key == expected


@settings(max_examples=150, deadline=None)
@given(sizes, durations, durations, profiles, st.integers(0, 10 * MINUTE - 1))
def test_min_latency_is_exactly_when_the_engine_fires(size, delay, lateness, profile, offset):
    """An event at t, then one at t + latency fires t's window; one a millisecond earlier does not."""
    p = get_profile(profile)
    t = BASE + offset
    window = Tumbling(size).assign(t)[0]
    latency = min_emission_latency(t, size, delay, lateness, p).value
    config = RunConfig(windows=Tumbling(size), watermark_delay=delay, allowed_lateness=lateness, profile=p)

    def fired_by(at: int) -> str | None:
        first = run([Event("x", "A", t, Decimal(1)), Event("y", "A", at, Decimal(0))], config).first_emission(window)
        return first.cause if first is not None else None

    if latency == 0:
        assert fired_by(t) == "x"
    else:
        assert fired_by(t + latency) == "y"
        assert fired_by(t + latency - 1) is None


def test_measured_latency_on_one_event_a_minute_is_the_formula():
    """Events each minute: [10:00, 10:05) has its last event at 10:04 and fires at 10:07."""
    events = [Event(f"m{i}", "A", BASE + i * MINUTE, Decimal(1)) for i in range(30)]
    m = measure(events, RunConfig(watermark_delay=B))
    assert m.latency is not None
    assert m.latency.min_from_last_event == m.latency.max_from_last_event == 3 * MINUTE
    assert m.latency.min_from_end == 2 * MINUTE
    assert m.max_windows_per_key == 2


# -- a simulated day ---------------------------------------------------------------------


def test_simulated_day_is_deterministic_and_in_slots():
    spec = DaySpec(events=2_000, users=50, keys="zipf", out_of_order=0.1, very_late=0.02, processing_time=True, seed=7)
    a, b = list(simulate_day(spec)), list(simulate_day(spec))
    assert a == b and len(a) == 2_000
    assert a != list(simulate_day(DaySpec(events=2_000, users=50, keys="zipf", seed=8)))
    arrivals = [e.processing_time for e in a]
    assert arrivals == sorted(arrivals) and arrivals[0] >= 0 and arrivals[-1] < DAY
    assert all(0 <= e.event_time <= e.processing_time for e in a)
    behind = [e.processing_time - e.event_time for e in a]
    assert 100 < sum(1 for x in behind if x > 0) < 300
    assert len({e.user_id for e in a}) <= 50
    counts = {}
    for e in a:
        counts[e.user_id] = counts.get(e.user_id, 0) + 1
    assert max(counts, key=counts.get) == "u0"  # zipf: rank 1 is hottest


def test_measured_day_matches_the_formulas_at_the_sheet_scale():
    config = RunConfig(watermark_delay=B)
    m = measure_day(DaySpec(events=100_000, users=5_000, seed=1), config)
    figs = formulas(100_000, 5_000, config)
    assert m.events == 100_000 and m.windows == 288
    assert m.events_per_window == figs["events_per_window"].value
    assert m.events_per_key_per_window == figs["events_per_key_per_window"].value
    assert m.max_windows_per_key == figs["max_windows_per_key"].value == 2
    assert 0 < m.peak_state_bytes <= figs["state_bytes"].value
    assert m.latency is not None and m.latency.windows == 287  # the last window fires at end of input
    # every window fired no earlier than the formula allows for its last event (end - 1 ms)
    floor = min_emission_latency(S - 1, S, B).value
    assert floor == B + 1 and m.latency.min_from_last_event >= floor
    assert m.dropped == 0 and m.late_emissions == 0


def test_very_late_events_are_dropped_and_skew_concentrates_keys():
    spec = DaySpec(events=20_000, users=5_000, keys="zipf", out_of_order=0.05, very_late=0.005, seed=3,
                   processing_time=True)
    m = measure_day(spec, RunConfig(watermark_delay=B))
    very_late = sum(1 for e in simulate_day(spec) if e.processing_time - e.event_time >= 15 * MINUTE)
    assert 50 <= very_late <= 150
    assert m.dropped >= very_late  # beyond the watermark: all of them, and some merely out of order
    assert m.events_per_active_key_per_window > 1  # hot keys have several events per window
    assert m.max_windows_per_key <= max_windows_per_key(S, B).value


# -- the parser's fast paths read exactly what the general path reads ----------------------

clock = st.from_regex(r"\A[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?\Z")
iso = st.from_regex(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,7})?(Z|z|\+00:00|\+01:30|-05:00)?\Z"
)
valid_iso = st.datetimes(timezones=st.none()).map(lambda d: d.isoformat(timespec="milliseconds") + "Z")


def _read(text: str):
    """What the fast path reads (None: it declines) and what ``parse_time`` reads (or its error)."""
    try:
        general = parse_time(text)
    except TimeFormatError as exc:
        general = ("error", str(exc))
    return fast_time(text), general


@settings(max_examples=400, deadline=None)
@given(st.one_of(clock, iso, valid_iso, st.text(max_size=30)))
def test_fast_time_reads_what_parse_time_reads_or_declines(text):
    fast, general = _read(text)
    assert fast is None or fast == general


@pytest.mark.parametrize(
    "text",
    ["10:04", "9:05", "24:00", "10:60", " 10:04", "10:04 ", "10:04:59.999", "１０:04", "1_0:04", "+1:04",
     "2024-01-01T10:04:05.123Z", "2024-01-01T10:04:05Z", "2024-01-01T10:04:05", "2024-02-30T10:04:05Z",
     "2024-01-01T24:00:00Z", "2024-01-01T10:04:05.123456+00:00", "2024-01-01T10:04:05.1234Z", "2024-01-01t10:04:05"],
)
def test_fast_time_on_edge_cases(text):
    fast, general = _read(text)
    assert fast is None or fast == general
    if text in ("10:04", "2024-01-01T10:04:05.123Z", "2024-01-01T10:04:05Z", "2024-01-01T10:04:05.123456+00:00"):
        assert fast is not None  # the common spellings do take the fast path


def test_event_from_mapping_fast_path_keeps_fallbacks_and_errors():
    e = event_from_mapping({"event_id": "e1", "user_id": "A", "event_time": "10:04", "amount": 2})
    assert e == Event("e1", "A", parse_time("10:04"), Decimal(2))
    alias = event_from_mapping({"id": 1, "user": "A", "time": "10:04", "amount": "2.50", "event_id": None})
    assert alias == Event("1", "A", parse_time("10:04"), Decimal("2.50"))
    proc = event_from_mapping({"event_id": "e", "user_id": "A", "event_time": "10:04", "amount": 1.5,
                               "arrival_time": "10:06"})
    assert proc.processing_time == parse_time("10:06") and proc.amount == Decimal("1.5")
    for bad, message in (({"event_id": "e", "user_id": "A", "event_time": "10:04", "amount": True}, "not an amount"),
                         ({"event_id": "e", "user_id": "A", "event_time": "10:4x", "amount": 1}, "not a time"),
                         ({"event_id": "e", "user_id": "A", "amount": 1}, "missing field 'event_time'"),
                         ({"event_id": "e", "user_id": "A", "event_time": "10:04", "amount": "NaN"}, "finite")):
        with pytest.raises(ValueError, match=message):
            event_from_mapping(bad, "line 1")


def test_window_strings_used_in_derivations():
    assert str(Window(BASE, BASE + S)) == "[10:00, 10:05)" and format_time(BASE + 7 * MINUTE) == "10:07"


def test_iter_jsonl_reads_what_parse_events_reads_and_fails_the_same_way(tmp_path):
    from reference.streams import StreamError, iter_jsonl, parse_events

    good = (
        '{"event_id":"e1","user_id":"A","event_time":"10:00","amount":5}\n'
        "\n"
        '  {"id": "e2", "user": "B", "time": "2024-01-01T10:02:00Z", "amount": "3.5"}  \n'
        '{"event_id":"e3","user_id":"A","event_time":"10:04:30","amount":2.25}\r\n'
        '{"event_id":"e4","user_id":"B","event_time":" 10:06","amount":1}'
    )
    path = tmp_path / "ok.jsonl"
    path.write_text(good, encoding="utf-8")
    assert list(iter_jsonl(path)) == parse_events(good, "jsonl")
    for bad in ('{"event_id":"e1","user_id":"A","event_time":"10:00","amount":5} x\n',
                '{"event_id":"e1","user_id":"A","event_time":"25:00","amount":5}\n',
                '{"event_id":"e1","user_id":"A","event_time":"10:00"}\n',
                '[1, 2]\n'):
        path.write_text('{"event_id":"e0","user_id":"A","event_time":"09:59","amount":1}\n' + bad, encoding="utf-8")
        with pytest.raises(StreamError) as streamed:
            list(iter_jsonl(path))
        with pytest.raises(StreamError) as parsed:
            parse_events(path.read_text(encoding="utf-8"), "jsonl", str(path))
        assert str(streamed.value) == str(parsed.value) and "line 2" in str(streamed.value)

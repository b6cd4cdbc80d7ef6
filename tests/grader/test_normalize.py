"""Normalising the accepted spellings of SUBMISSION_FORMAT.md: examples and properties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.normalize import (
    EventById,
    EventByValue,
    NormalizeError,
    RowValue,
    WindowValue,
    is_blank,
    normalize_choice,
    normalize_choices,
    normalize_event_ref,
    normalize_number,
    normalize_row,
    normalize_rows,
    normalize_time,
    normalize_user_id,
    normalize_window,
    normalize_window_start,
)
from grader.units import Dimension, Quantity, normalize_quantity, parse_quantity
from reference.timestamps import HOUR, MINUTE, SECOND, parse_time

TEN = 10 * HOUR
SEMANTICS = {"at-most-once": ["at most once delivery"], "at-least-once": [], "exactly-once": ["effectively once"]}
POLICIES = ["drop", "allowed_lateness", "side_output", "reprocess"]
EVENTS = ["e1", "e2", "e3", "e4", "e5", "e6", "e7"]


def message(fn, *args, **kwargs) -> str:
    with pytest.raises(NormalizeError) as info:
        fn(*args, **kwargs)
    return str(info.value)


# -- times --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", [
    "10:00", "10:00:00", " 10:00 ", "2024-01-01T10:00:00", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00+02:00",
    "2024-01-01 10:00", "2024-01-01T10:00", "1970-01-01T10:00:00.000",
])
def test_every_accepted_time_spelling_is_ten_oclock(spelling):
    assert normalize_time(spelling) == TEN


def test_clock_time_agrees_with_the_engines_parser():
    assert normalize_time("10:04") == parse_time("10:04")
    assert normalize_time("10:04:59.999") == parse_time("10:04:59.999")


def test_absolute_instants_follow_parse_time_when_not_clock_times():
    assert normalize_time("2024-01-01T10:00:00+02:00", clock=False) == parse_time("2024-01-01T08:00:00Z")
    assert normalize_time("10:00", clock=False) == TEN


@pytest.mark.parametrize(("value", "expected"), [
    (600, "expected a time as text, got 600"),
    (True, "expected a time as text, got true"),
    ("25:00", '"25:00" is not a valid time'),
    ("ten", '"ten" is not a time; write it like "10:00"'),
    ("", "got an empty text"),
    ("[10:00, 10:05)", "is a window; a single time is asked here"),
    ("2024-13-01T10:00:00", "is not a valid date and time"),
    ("2024-01-01", '"2024-01-01" is not a time'),
])
def test_times_that_are_not_accepted_say_how_to_write_them(value, expected):
    assert expected in message(normalize_time, value)


@pytest.mark.parametrize("spelling", ["10:00", "[10:00, 10:05)", "[10:00,10:05)", "[10:00, 10:05]", "(10:00; 10:05)",
                                      "[2024-01-01T10:00:00Z, 2024-01-01T10:05:00Z)"])
def test_a_window_start_may_be_written_as_the_whole_window(spelling):
    assert normalize_window_start(spelling) == TEN


def test_a_written_window_keeps_its_end():
    assert normalize_window("[10:00, 10:05)") == WindowValue(TEN, TEN + 5 * MINUTE)
    assert normalize_window("10:00") == WindowValue(TEN)
    assert "ends before it starts" in message(normalize_window, "[10:05, 10:00)")
    assert "[10:00, 1O:05)" in message(normalize_window, "[10:00, 1O:05)")


# -- numbers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", [7, 7.0, "7", "7.0", " 7 ", "+7", "7.", "0.7e1", Decimal("7.00")])
def test_numbers_and_numeric_strings_are_exact_decimals(spelling):
    assert normalize_number(spelling) == Decimal(7)
    assert isinstance(normalize_number(spelling), Decimal)


def test_floats_keep_their_shortest_decimal():
    assert normalize_number(0.069) == Decimal("0.069")
    assert normalize_number(347.2) == Decimal("347.2")
    assert normalize_number("1,000") == Decimal(1000)


@pytest.mark.parametrize(("value", "expected"), [
    ("seven", 'expected a number, got "seven"'),
    (True, "expected a number, got true"),
    (float("nan"), "NaN and infinity are not accepted"),
    (float("inf"), "NaN and infinity are not accepted"),
    ("NaN", 'expected a number, got "NaN"'),
    ("Infinity", 'expected a number, got "Infinity"'),
    ("7,5", "use a decimal point"),
    ("1e100", "out of range"),
    (10**100, "too large"),
    ([7], "expected a number as text, got a list of 1 item"),
    (None, "got null"),
])
def test_things_that_are_not_numbers_are_refused(value, expected):
    assert expected in message(normalize_number, value)


# -- quantities ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", [3, "3", "3 min", "3min", "3 minutes", "180 s", "180 seconds", "0.05 h",
                                      "180000 ms", "3 MIN", "3 min."])
def test_durations_in_any_unit_are_minutes(spelling):
    assert normalize_quantity(spelling, Dimension.DURATION) == Decimal(3)


@pytest.mark.parametrize(("spelling", "expected"), [
    (40000, 40000), ("40000", 40000), ("40000 bytes", 40000), ("40 KB", 40000), ("40 kB", 40000), ("40kb", 40000),
    ("0.04 MB", 40000), ("80 kB", 80000), ("0.08 MB", 80000), ("39 KiB", 39 * 1024), ("1 MiB", 2**20),
    ("40,000 bytes", 40000), ("320000 bits", 40000), ("1 GiB", 2**30), ("1 GB", 10**9),
])
def test_sizes_in_any_unit_are_bytes_kb_1000_kib_1024(spelling, expected):
    assert normalize_quantity(spelling, "size") == Decimal(expected)


def test_a_number_without_a_unit_takes_the_default_unit():
    assert normalize_quantity("3", Dimension.DURATION, default_unit="h") == Decimal(180)
    assert normalize_quantity(40, Dimension.SIZE, default_unit="KiB") == Decimal(40 * 1024)
    assert normalize_quantity("3 min", Dimension.DURATION, default_unit="h") == Decimal(3)


def test_a_unit_of_another_dimension_is_named():
    assert message(normalize_quantity, "40 KB", Dimension.DURATION) == \
        '"40 KB": expected a duration, got bytes ("KB")'
    assert message(normalize_quantity, "3 min", Dimension.SIZE) == \
        '"3 min": expected a size in bytes, got a duration ("min")'
    assert 'unknown unit "parsecs"' in message(normalize_quantity, "3 parsecs", Dimension.DURATION)
    assert "expected a number with an optional unit" in message(normalize_quantity, "many min", "duration")
    assert normalize_quantity("three min", "duration") == Decimal(3)  # number words are accepted (issue 13)


def test_the_callers_unit_table_replaces_the_builtin_one():
    units = {"m": "1", "min": "1", "s": "1/60", "h": "60"}
    assert normalize_quantity("90 s", Dimension.DURATION, units=units) == Decimal("1.5")
    assert normalize_quantity("2", Dimension.DURATION, units=units) == Decimal(2)  # the base unit is implied
    assert 'unknown unit "hours"' in message(normalize_quantity, "1 hours", Dimension.DURATION, units=units)
    counts = {"event": 1, "events": 1, "clicks": Fraction(1)}
    assert normalize_quantity("347.2 clicks", Dimension.COUNT, units=counts) == Decimal("347.2")


def test_parse_quantity_splits_number_and_unit():
    assert parse_quantity("3 min") == Quantity(Decimal(3), "min")
    assert parse_quantity("1e3bytes") == Quantity(Decimal(1000), "bytes")
    assert parse_quantity(2.5) == Quantity(Decimal("2.5"), None)


def test_an_inexact_conversion_is_a_fifty_digit_decimal():
    value = normalize_quantity("100 s", Dimension.DURATION)
    assert abs(Fraction(value) - Fraction(5, 3)) < Fraction(1, 10**48)
    assert str(normalize_quantity("1 s", Dimension.DURATION)).startswith("0.016666666666666666666666666666666")


# -- choices ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["at-least-once", "At least once", "at_least_once", "AT-LEAST-ONCE", "ALO",
                                      "alo", "atleastonce", " at least once. "])
def test_spellings_of_at_least_once(spelling):
    assert normalize_choice(spelling, SEMANTICS) == "at-least-once"


def test_delivery_abbreviations_and_the_callers_synonyms():
    assert normalize_choice("AMO", SEMANTICS) == "at-most-once"
    assert normalize_choice("EOS", SEMANTICS) == "exactly-once"
    assert normalize_choice("eo", SEMANTICS) == "exactly-once"
    assert normalize_choice("Effectively-Once", SEMANTICS) == "exactly-once"
    assert normalize_choice("fire and forget", SEMANTICS, synonyms={"fire and forget": "at-most-once"}) \
        == "at-most-once"
    assert normalize_choice("Allowed Lateness", POLICIES) == "allowed_lateness"
    assert normalize_choice("side-output", POLICIES) == "side_output"


def test_abbreviations_apply_only_where_their_choice_is_offered():
    assert '"ALO" is not one of drop' in message(normalize_choice, "ALO", POLICIES)


def test_an_unknown_choice_lists_the_choices():
    assert message(normalize_choice, "dorp", POLICIES) == \
        '"dorp" is not one of drop, allowed_lateness, side_output, reprocess'
    assert "got 3" in message(normalize_choice, 3, POLICIES)


def test_a_list_of_choices_keeps_order_and_says_which_item_is_wrong():
    assert normalize_choices(["EOS", "at most once", "ALO"], SEMANTICS) == \
        ("exactly-once", "at-most-once", "at-least-once")
    assert message(normalize_choices, ["ALO", "twice"], SEMANTICS).startswith('[1]: "twice" is not one of')


def test_a_table_with_one_spelling_for_two_choices_is_the_callers_bug():
    with pytest.raises(ValueError) as info:
        normalize_choice("x", {"a-b": ["ab"], "ab": []})
    assert not isinstance(info.value, NormalizeError)


# -- events and rows --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spelling", "expected"), [
    ("e1", EventById("e1")),
    (" E1 ", EventById("e1")),
    ("e1 (A, 10:00, 5)", EventById("e1")),
    ({"event_id": "e3"}, EventById("e3")),
    ({"user_id": "B", "amount": 3}, EventByValue("B", Decimal(3))),
    ({"user_id": "B", "amount": "3.0"}, EventByValue("B", Decimal(3))),
    (["B", 3], EventByValue("B", Decimal(3))),
    ("(B, 3)", EventByValue("B", Decimal(3))),
])
def test_event_references_of_ex4(spelling, expected):
    assert normalize_event_ref(spelling, event_ids=EVENTS) == expected


def test_event_references_that_cannot_be_read():
    assert '"e9" is not one of the events e1, e2' in message(normalize_event_ref, "e9", event_ids=EVENTS)
    assert message(normalize_event_ref, {"user_id": "B", "amount": "x"}) == 'amount: expected a number, got "x"'
    assert "two-item list" in message(normalize_event_ref, ["B", 3, 4])
    assert "needs user_id and amount" in message(normalize_event_ref, {"user": "B"})
    assert normalize_event_ref("E7") == EventById("E7")  # without the known ids it is kept as written


def test_user_ids_are_as_in_the_data():
    assert normalize_user_id(" A ") == "A"
    assert normalize_user_id("a") != normalize_user_id("A")
    assert "empty" in message(normalize_user_id, " ")


@pytest.mark.parametrize("spelling", [
    {"window_start": "10:00", "user_id": "A", "sum_amount": 7},
    {"window_start": "10:00:00", "user_id": "A", "sum_amount": "7.0"},
    {"window_start": "[10:00, 10:05)", "user_id": "A", "sum_amount": 7.0},
    {"window_start": "2024-01-01T10:00:00Z", "window_end": "10:05", "user_id": " A", "sum_amount": "7"},
    {"window_start": "10:00", "window_end": None, "user_id": "A", "sum_amount": 7, "note": "ignored"},
    ["10:00", "A", 7],
    "(10:00, A, 7)",
])
def test_rows_in_any_accepted_spelling_are_equal(spelling):
    assert normalize_row(spelling) == RowValue(TEN, "A", Decimal(7))
    assert hash(normalize_row(spelling)) == hash(RowValue(TEN, "A", Decimal(7)))


def test_a_row_keeps_the_window_end_the_student_wrote_for_diagnosis():
    assert normalize_row({"window_start": "[10:00, 10:05]", "user_id": "A", "sum_amount": 7}).window_end_ms == \
        TEN + 5 * MINUTE
    assert normalize_row({"window_start": "10:00", "user_id": "A", "sum_amount": 7}).window_end_ms is None
    assert normalize_row(["10:00", "A", 7]).describe() == "(10:00, A, 7)"


def test_row_problems_name_the_field():
    assert message(normalize_row, {"window_start": "10:00", "user_id": "A", "sum_amount": "seven"}) == \
        'sum_amount: expected a number, got "seven"'
    assert message(normalize_row, {"window_start": "10:00", "user_id": "A"}) == "sum_amount: required field missing"
    assert message(normalize_row, {"window_start": "10:05", "window_end": "10:00", "user_id": "A",
                                   "sum_amount": 1}) == "window_end: the window ends before it starts"
    assert "does not match" in message(normalize_row, {"window_start": "[10:00, 10:05)", "window_end": "10:10",
                                                       "user_id": "A", "sum_amount": 1})
    rows = [{"window_start": "10:00", "user_id": "A", "sum_amount": 7}, {"window_start": "x", "user_id": "B",
                                                                         "sum_amount": 3}]
    with pytest.raises(NormalizeError) as info:
        normalize_rows(rows)
    assert info.value.loc == (1, "window_start")
    assert info.value.describe("answers.ex6.rows").startswith('answers.ex6.rows[1].window_start: "x" is not a time')


def test_blank_answers():
    assert is_blank(None) and is_blank("") and is_blank("  ")
    assert not is_blank(0) and not is_blank([]) and not is_blank("0")


# -- properties: equivalent spellings normalise equal -----------------------------------------------------

clock = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))


def time_spellings(h: int, m: int, s: int) -> list[str]:
    spellings = [f"{h:02d}:{m:02d}:{s:02d}", f"{h}:{m:02d}:{s:02d}", f"2024-01-01T{h:02d}:{m:02d}:{s:02d}",
                 f"2024-03-09T{h:02d}:{m:02d}:{s:02d}Z", f"1999-12-31T{h:02d}:{m:02d}:{s:02d}-05:00",
                 f"2024-01-01 {h:02d}:{m:02d}:{s:02d}+01:00", f" {h:02d}:{m:02d}:{s:02d}.000 "]
    if s == 0:
        spellings += [f"{h:02d}:{m:02d}", f"{h}:{m:02d}", f"2024-01-01T{h:02d}:{m:02d}"]
    return spellings


@given(clock)
def test_property_time_spellings_normalise_equal(hms):
    h, m, s = hms
    expected = h * HOUR + m * MINUTE + s * SECOND
    for spelling in time_spellings(h, m, s):
        assert normalize_time(spelling) == expected, spelling
        assert normalize_window_start(spelling) == expected, spelling
    end = f"{(h + 1) % 24:02d}:{m:02d}:{s:02d}" if h < 23 else None
    if end:
        assert normalize_window_start(f"[{h:02d}:{m:02d}:{s:02d}, {end})") == expected


decimals = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), allow_nan=False, allow_infinity=False,
                       places=4)


def number_spellings(d: Decimal) -> list[object]:
    text = format(d, "f")
    spellings: list[object] = [d, text, f" {text} ", text + "0" if "." in text else text + ".0",
                               format(d, "e") if d else text]
    if d == d.to_integral_value():
        spellings += [int(d), str(int(d))]
    if Decimal(repr(float(d))) == d:
        spellings.append(float(d))
    return spellings


@given(decimals)
def test_property_number_spellings_normalise_equal(d):
    for spelling in number_spellings(d):
        assert normalize_number(spelling) == d, spelling


@given(st.integers(0, 10**6))
def test_property_duration_spellings_normalise_equal(seconds):
    minutes = Decimal(seconds) / 60 if seconds % 60 == 0 else None
    value = normalize_quantity(f"{seconds} s", Dimension.DURATION)
    assert value == normalize_quantity(f"{seconds * 1000} ms", Dimension.DURATION)
    assert value == normalize_quantity(f"{seconds}seconds", Dimension.DURATION)
    if seconds % 36 == 0:  # a terminating number of hours
        hours = Decimal(seconds) / 3600
        assert value == normalize_quantity(f"{format(hours, 'f')} h", Dimension.DURATION)
    if minutes is not None:
        assert value == normalize_quantity(f"{minutes} min", Dimension.DURATION) == minutes
        assert value == normalize_quantity(int(minutes), Dimension.DURATION)


@given(st.integers(0, 10**9))
def test_property_size_spellings_normalise_equal(n):
    value = normalize_quantity(n, Dimension.SIZE)
    assert value == Decimal(n) == normalize_quantity(f"{n} bytes", Dimension.SIZE)
    assert value == normalize_quantity(f"{Decimal(n) / 1000} KB", Dimension.SIZE)
    assert value == normalize_quantity(f"{Decimal(n) / 10**6} MB", Dimension.SIZE)
    if n % 1024 == 0:
        assert value == normalize_quantity(f"{n // 1024} KiB", Dimension.SIZE)


separators = st.sampled_from(["-", "_", " ", "", "  ", "- "])


@given(st.sampled_from(list(SEMANTICS) + POLICIES), separators, st.sampled_from([str.upper, str.lower, str.title]))
def test_property_choice_spellings_normalise_equal(choice, separator, case):
    choices = SEMANTICS if choice in SEMANTICS else POLICIES
    spelling = case(choice.replace("-", separator).replace("_", separator))
    assert normalize_choice(spelling, choices) == choice


@given(clock, st.text(alphabet="ABCxyz", min_size=1, max_size=3), decimals)
def test_property_row_spellings_normalise_equal(hms, user, amount):
    h, m, s = hms
    start = f"{h:02d}:{m:02d}:{s:02d}"
    expected = RowValue(h * HOUR + m * MINUTE + s * SECOND, user, amount)
    text = format(amount, "f")
    for spelling in ({"window_start": start, "user_id": user, "sum_amount": text},
                     {"window_start": f"2024-01-01T{start}Z", "user_id": f" {user} ", "sum_amount": amount},
                     [start, user, text]):
        assert normalize_row(spelling) == expected


# -- properties: garbage never raises anything but NormalizeError -----------------------------------------

garbage = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.decimals() | st.text()
    | st.text(alphabet="0123456789:.,;-+eE []()TZ kKMiBbsminh") | st.binary(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["window_start", "window_end", "user_id", "sum_amount", "amount", "event_id", "x"]),
        children, max_size=5),
    max_leaves=12,
)

NORMALIZERS = [
    normalize_time,
    lambda v: normalize_time(v, clock=False),
    normalize_window,
    normalize_window_start,
    normalize_number,
    parse_quantity,
    lambda v: normalize_quantity(v, Dimension.DURATION),
    lambda v: normalize_quantity(v, Dimension.SIZE, default_unit="KiB"),
    lambda v: normalize_quantity(v, Dimension.COUNT),
    lambda v: normalize_choice(v, SEMANTICS),
    lambda v: normalize_choices(v, POLICIES),
    normalize_event_ref,
    lambda v: normalize_event_ref(v, event_ids=EVENTS),
    normalize_user_id,
    normalize_row,
    normalize_rows,
]


@settings(max_examples=400, deadline=None)
@given(garbage)
def test_property_garbage_raises_only_normalize_error(value):
    for normalizer in NORMALIZERS:
        try:
            normalizer(value)
        except NormalizeError as exc:
            assert exc.message
            assert len(str(exc)) < 500

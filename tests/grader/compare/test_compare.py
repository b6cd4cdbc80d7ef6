"""Comparators, one kind of answer each: the normal forms they read and the findings they give.

Where a test needs the right answer of an exercise, it takes it from ``solve()`` (the
engine) and derives wrong answers from it; the other tests use small values made up for
the rule they check, which are not answers of the sheet.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from grader.compare.base import CompareContext
from grader.compare.choices import ChoiceComparator, ChoiceSetComparator
from grader.compare.kinds import comparator_for
from grader.compare.placements import WindowsEventsComparator
from grader.compare.quantities import NumberComparator, TimeComparator
from grader.compare.rows import RowComparator, RowsComparator
from grader.compare.text import TextComparator, literal_hint
from grader.normalize import NormalizeError
from reference.timestamps import format_time, parse_time


@pytest.fixture(scope="module")
def context(week10):
    return CompareContext(week10.context.events, week10.context.window_size)


def comparator(week10, context, exercise_id, part_id):
    part = week10.exercise(exercise_id).part(part_id)
    items = len(part.model_answer) if isinstance(part.model_answer, tuple) else 1
    return comparator_for(part.compare, context, items=items)


def run(comp, expected_value, given_value, show_expected=True):
    return comp.compare(comp.normalize(expected_value), comp.normalize(given_value), path="answers.x",
                        show_expected=show_expected)


# -- rows -------------------------------------------------------------------------------------------------------


def test_rows_in_any_order_are_the_same_set(week10, context, solved):
    comp = comparator(week10, context, "ex6", "rows")
    rows = solved["ex6"]["rows"].value
    assert run(comp, rows, list(reversed(rows))).fraction == 1


def test_wrong_sum_names_window_key_values_and_the_event_of_the_difference(week10, context, solved):
    comp = comparator(week10, context, "ex6", "rows")
    rows = copy.deepcopy(solved["ex6"]["rows"].value)
    # Add to one row the amount of an event of that user that lies in the row's window.
    window_ms = parse_time(rows[0]["window_start"])
    event = next(e for e in week10.context.events if e.user_id == rows[0]["user_id"]
                 and window_ms <= e.event_time < window_ms + week10.context.window_size)
    wrong = copy.deepcopy(rows)
    wrong[0]["sum_amount"] = Decimal(str(rows[0]["sum_amount"])) + event.amount
    wrong[0]["sum_amount"] = int(wrong[0]["sum_amount"])
    result = run(comp, rows, wrong)
    assert result.fraction == pytest.approx((len(rows) - 1) / len(rows))
    finding = next(f for f in result.findings if f.code == "wrong_value")
    assert finding.path == "answers.x[0].sum_amount"
    window = f"[{rows[0]['window_start']}, {format_time(window_ms + week10.context.window_size)})"
    assert f"window {window}, user {rows[0]['user_id']}" in finding.message
    assert f"expected sum_amount {rows[0]['sum_amount']}, got {wrong[0]['sum_amount']}" in finding.message


def test_missing_extra_and_duplicate_rows_are_each_named(week10, context, solved):
    comp = comparator(week10, context, "ex6", "rows")
    rows = solved["ex6"]["rows"].value
    stranger = {"window_start": "11:00", "user_id": "Z", "sum_amount": 1}
    given = [*copy.deepcopy(rows[1:]), copy.deepcopy(rows[1]), stranger]
    result = run(comp, rows, given)
    codes = sorted(f.code for f in result.findings)
    assert codes == ["duplicate_row", "extra_row", "missing_row"]
    # right rows / (expected rows + surplus rows)
    assert result.fraction == pytest.approx((len(rows) - 1) / (len(rows) + 2))


def test_missing_row_does_not_say_which_when_expected_is_hidden(week10, context, solved):
    comp = comparator(week10, context, "ex6", "rows")
    rows = solved["ex6"]["rows"].value
    result = run(comp, rows, rows[1:], show_expected=False)
    message = next(f.message for f in result.findings if f.code == "missing_row")
    assert message == "1 expected row is missing"


def test_unreadable_row_costs_its_share_and_names_its_path(week10, context, solved):
    comp = comparator(week10, context, "ex6", "rows")
    rows = copy.deepcopy(solved["ex6"]["rows"].value)
    rows[2]["sum_amount"] = "seven"
    result = run(comp, solved["ex6"]["rows"].value, rows)
    finding = next(f for f in result.findings if f.code == "unreadable_row")
    assert finding.path == "answers.x[2].sum_amount"
    assert result.fraction < 1


def test_no_rows_expected_and_none_given_is_right(context):
    comp = RowsComparator({"kind": "rows", "key_fields": ["window_start", "user_id"], "value_fields": ["sum_amount"]},
                          context)
    assert run(comp, [], []).fraction == 1
    assert run(comp, [], [{"window_start": "10:00", "user_id": "A", "sum_amount": 7}]).fraction == 0


def test_single_row_accepts_an_empty_object_for_no_write(context):
    comp = RowComparator({"kind": "row", "key_fields": ["window_start", "user_id"], "value_fields": ["sum_amount"]},
                         context)
    assert run(comp, None, {}).fraction == 1
    result = run(comp, {"window_start": "10:00", "user_id": "A", "sum_amount": 2},
                 {"window_start": "10:00:00", "user_id": "A", "sum_amount": "3"})
    assert result.fraction == 0 and result.findings[0].path == "answers.x.sum_amount"


def test_rows_are_not_a_list_is_refused(context):
    comp = RowsComparator({"kind": "rows", "key_fields": ["window_start", "user_id"], "value_fields": ["sum_amount"]},
                          context)
    with pytest.raises(NormalizeError):
        comp.normalize("(10:00, A, 7)")


# -- numbers and times -------------------------------------------------------------------------------------------


def test_number_within_relative_tolerance_and_unit_stated(week10, context, solved):
    comp = comparator(week10, context, "ex8", "events_per_window")
    expected = Decimal(str(solved["ex8"]["events_per_window"].value))
    tolerance = Decimal(str(week10.exercise("ex8").part("events_per_window").compare["tolerance"]["relative"]))
    inside = expected * (1 + tolerance * Decimal("0.9"))
    outside = expected * (1 + tolerance * Decimal("1.5"))
    assert run(comp, expected, str(inside)).fraction == 1
    result = run(comp, expected, str(outside))
    assert result.fraction == 0
    message = result.findings[0].message
    assert "events" in message and f"±{(tolerance * 100).normalize():f} %" in message


def test_quantities_in_other_units_are_converted_exactly(week10, context, solved):
    latency = comparator(week10, context, "ex8", "min_latency")
    minutes = solved["ex8"]["min_latency"].value
    assert run(latency, minutes, f"{minutes * 60} s").fraction == 1
    assert run(latency, minutes, f"{minutes} min").fraction == 1
    assert run(latency, minutes, str(minutes)).fraction == 1
    state = comparator(week10, context, "ex9", "state_bytes")
    size = solved["ex9"]["state_bytes"].value
    assert run(state, size, f"{Decimal(size) / 1000} KB").fraction == 1
    assert run(state, size, f"{size} bytes").fraction == 1
    assert run(state, size, f"{Decimal(size) / 1024:.2f} KiB").fraction == 1  # 5 % tolerance covers rounding


def test_quantity_of_the_wrong_dimension_is_refused_with_a_reason(week10, context):
    comp = comparator(week10, context, "ex8", "min_latency")
    with pytest.raises(NormalizeError, match="KB"):
        comp.normalize("40 KB")


def test_exact_number_states_exactly(context):
    comp = NumberComparator({"kind": "number", "tolerance": {"absolute": 0}, "unit": "rows"}, context)
    result = run(comp, 0, 2)
    assert result.findings[0].message == "expected 0 rows (exactly), got 2 rows"
    assert run(comp, 0, 2, show_expected=False).findings[0].message == "2 rows is not the expected value (exactly)"


def test_time_in_any_accepted_spelling(week10, context, solved):
    comp = TimeComparator({"kind": "time"}, context)
    close = solved["ex2"]["close_watermark"].value
    ms = parse_time(close)
    for spelling in (close, format_time(ms) + ":00" if len(close) == 5 else close, f"2024-01-01T{close}Z"):
        assert run(comp, close, spelling).fraction == 1
    assert run(comp, close, format_time(ms + 60_000)).fraction == 0


# -- choices ------------------------------------------------------------------------------------------------------


def test_choice_synonyms_case_and_separators_are_ignored(week10, context, solved):
    comp = comparator(week10, context, "ex3", "idempotent_sink_needed_for")
    right = solved["ex3"]["idempotent_sink_needed_for"].value
    for spelling in (right.upper(), right.replace("-", "_"), right.replace("-", " ").title()):
        assert run(comp, right, spelling).fraction == 1
    for synonym in week10.exercise("ex3").part("idempotent_sink_needed_for").compare["choices"][right]:
        assert run(comp, right, synonym).fraction == 1


def test_unknown_choice_is_wrong_not_invalid_and_lists_the_choices(context):
    comp = ChoiceComparator({"kind": "choice", "choices": {"drop": ["discard"], "keep": []}}, context)
    result = run(comp, "drop", "perhaps")
    assert result.fraction == 0 and result.findings[0].code == "unknown_choice"
    assert "drop, keep" in result.findings[0].message


def test_choice_set_scores_overlap_and_names_what_is_missing(week10, context, solved):
    comp = comparator(week10, context, "ex3", "semantics")
    right = solved["ex3"]["semantics"].value
    assert run(comp, right, list(reversed(right))).fraction == 1
    result = run(comp, right, right[:1])
    assert result.fraction == pytest.approx(1 / len(right))
    assert any(f.code == "missing_choice" for f in result.findings)


def test_choice_set_with_pick_takes_any_n_distinct_and_synonyms_count_once(week10, context, solved):
    comp = comparator(week10, context, "ex5", "policies")
    options = solved["ex5"]["policies"].value
    pick = week10.exercise("ex5").part("policies").compare["pick"]
    choices = week10.exercise("ex5").part("policies").compare["choices"]
    assert run(comp, options, options[-pick:]).fraction == 1
    first = options[0]
    twice = [first, choices[first][0]]  # one choice in two spellings
    result = run(comp, options, twice)
    assert result.fraction == pytest.approx(max(0, 1 - 1) / pick)
    assert {f.code for f in result.findings} >= {"duplicate_choice"}


def test_a_single_text_where_a_set_is_asked_is_read_as_one_item(context):
    comp = ChoiceSetComparator({"kind": "choice_set", "choices": {"a": [], "b": []}}, context)
    assert run(comp, ["a", "b"], "a").fraction == pytest.approx(0.5)


# -- windows with events ---------------------------------------------------------------------------------------------


def test_events_by_id_or_by_user_and_amount(week10, context, solved):
    comp = comparator(week10, context, "ex4", "windows")
    windows = solved["ex4"]["windows"].value
    by_value = []
    for window in windows:
        events = []
        for i, event_id in enumerate(window["events"]):
            event = week10.context.event(event_id)
            amount = int(event.amount) if event.amount == int(event.amount) else str(event.amount)
            events.append({"user_id": event.user_id, "amount": amount} if i % 2 else [event.user_id, amount])
        by_value.append({"window_start": window["window_start"], "events": events})
    assert run(comp, windows, by_value).fraction == 1


def test_misplaced_event_names_both_windows(week10, context, solved):
    comp = comparator(week10, context, "ex4", "windows")
    windows = copy.deepcopy(solved["ex4"]["windows"].value)
    moved = windows[-1]["events"].pop()
    windows[0]["events"].append(moved)
    windows = [w for w in windows if w["events"]]
    result = run(comp, solved["ex4"]["windows"].value, windows)
    finding = next(f for f in result.findings if f.code == "misplaced_event")
    assert week10.context.event(moved).describe() in finding.message
    assert "belongs to" in finding.message
    total = sum(len(w["events"]) for w in solved["ex4"]["windows"].value)
    assert result.fraction == pytest.approx((total - 1) / total)


def test_event_outside_the_exercise_is_extra(week10, context, solved):
    comp = comparator(week10, context, "ex4", "windows")
    windows = copy.deepcopy(solved["ex4"]["windows"].value)
    used = {e for w in windows for e in w["events"]}
    outsider = next(e.event_id for e in week10.context.events if e.event_id not in used)
    windows[0]["events"].append(outsider)
    result = run(comp, solved["ex4"]["windows"].value, windows)
    assert [f.code for f in result.findings] == ["extra_event"]


def test_unknown_event_id_is_reported_at_its_path(week10, context, solved):
    comp = WindowsEventsComparator(week10.exercise("ex4").part("windows").compare, context)
    windows = copy.deepcopy(solved["ex4"]["windows"].value)
    windows[0]["events"].append("e99")
    result = run(comp, solved["ex4"]["windows"].value, windows)
    finding = next(f for f in result.findings if f.code == "unreadable_event")
    assert finding.path.startswith("answers.x[0].events[")


# -- free text ---------------------------------------------------------------------------------------------------------


RUBRIC = {"kind": "text", "min_concepts": 2, "full_marks": 3, "concepts": [  # full marks: all three
    {"id": "state", "description": "more state", "weight": 2, "keywords": ["state"]},
    {"id": "latency", "description": "later results", "weight": 1, "regexes": ["\\blaten", "later\\b"]},
    {"id": "retract", "description": "retractions", "weight": 1, "phrases": ["retract  and emit"]},
]}


def test_text_scores_the_weight_of_the_concepts_present(context):
    comp = TextComparator(RUBRIC, context)
    result = run(comp, None, "It keeps more STATE and results come later.")
    assert result.fraction == pytest.approx(3 / 4) and not result.needs_review
    assert "retractions" in result.findings[0].message


def test_text_with_too_few_concepts_needs_review(context):
    comp = TextComparator(RUBRIC, context)
    result = run(comp, None, "The statement is late.")  # whole words only: neither 'state' nor 'later'
    assert result.needs_review and result.fraction == 0
    assert "an instructor will review" in result.findings[0].message


def test_phrases_ignore_case_and_runs_of_whitespace(context):
    comp = TextComparator(RUBRIC, context)
    assert run(comp, None, "We Retract and\n emit, keeping state.").fraction == pytest.approx(3 / 4)


def test_text_list_counts_the_best_items(context):
    comp = TextComparator(RUBRIC, context, items=2)
    result = run(comp, None, ["state, later", "state, later, retract and emit", "nothing"])
    assert result.fraction == pytest.approx((3 / 4 + 1) / 2)


def test_hidden_text_feedback_does_not_list_the_concepts(context):
    comp = TextComparator(RUBRIC, context)
    result = run(comp, None, "state and later", show_expected=False)
    assert all("retractions" not in f.message for f in result.findings)


def test_every_rubric_accepts_its_own_model_answer(week10, context, solved):
    for exercise in week10.exercises:
        for part in exercise.parts:
            if part.compare_kind != "text":
                continue
            comp = comparator(week10, context, exercise.id, part.id)
            result = run(comp, None, solved[exercise.id][part.id].value)
            assert not result.needs_review, (exercise.id, part.id, result.findings)


@pytest.mark.parametrize("pattern, hint", [
    ("latenc", "latenc"), ("later\\b", "later"), ("\\bdelay", "delay"), ("re-?emit", "re"), ("events?", "event"),
    ("10:07:59\\.999", "10:07:59.999"), ("a|b", None), ("(?i)x", None), ("\\d+ min", None), ("", None),
])
def test_literal_hint_is_a_substring_of_every_match(pattern, hint):
    assert literal_hint(pattern) == hint

"""Issue 13, spellings: each accepted form graded from a submission file, as a student sends it.

Each file in ``tests/data/spellings`` is graded through :func:`grader.grading.grade_bytes`;
what it must get is worked out here, never typed in: the score and status the engine's own
answer gets in the same place (or, for the sheet's own "≥ 2 min", the published key's
value), and no schema error.  Refused spellings keep a message that names the path.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from grader.compare.base import CompareContext
from grader.compare.kinds import comparator_for
from grader.exercises.fields import read_field, write_field
from grader.exercises.load import load_set
from grader.frozen import thaw
from grader.grading import grade_answers, grade_bytes
from grader.results import GradeResult, Status
from grader.solutions.solve import solve
from reference.events import Event
from reference.timestamps import MINUTE, parse_time
from tests.paths import ROOT

DATA = ROOT / "tests" / "data" / "spellings"


@pytest.fixture(scope="module")
def week10():
    return load_set("week10")


def graded(name: str) -> GradeResult:
    return grade_bytes((DATA / f"{name}.json").read_bytes(), f"{name}.json")


def submitted(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))["answers"]


def part(result: GradeResult, exercise_id: str, part_id: str):
    exercise = result.exercise(exercise_id)
    assert exercise is not None
    return next(p for p in exercise.parts if p.id == part_id)


def with_value(week10, exercise_id: str, part_id: str, value: Any) -> GradeResult:
    """``value`` graded alone in the part's field."""
    field = week10.exercise(exercise_id).part(part_id).field
    answer: dict[str, Any] = {}
    write_field(answer, field, copy.deepcopy(value))
    return grade_answers({exercise_id: answer}, week10)


def engine_graded(week10, exercise_id: str, part_id: str) -> GradeResult:
    """The engine's own answer for the part, graded alone in its field."""
    return with_value(week10, exercise_id, part_id, solve(week10)[exercise_id][part_id].value)


def published(week10, exercise_id: str, part_id: str) -> Any:
    exercise = week10.exercise(exercise_id)
    value, present = read_field(thaw(exercise.published.values), exercise.part(part_id).field)
    assert present
    return value


def assert_graded_as_the_engine(week10, result: GradeResult, exercise_id: str, part_ids: list[str]) -> None:
    for part_id in part_ids:
        got, want = part(result, exercise_id, part_id), part(engine_graded(week10, exercise_id, part_id),
                                                             exercise_id, part_id)
        assert (got.score, got.status) == (want.score, want.status), (exercise_id, part_id, got.feedback)
        assert got.status is Status.CORRECT
    assert not [e for e in result.errors if f"answers.{exercise_id}." in e]


# -- user ids -------------------------------------------------------------------------------------------------


def test_lower_case_user_ids_are_read_as_the_datas_with_a_note(week10):
    result = graded("user_ids_lower_case")
    assert_graded_as_the_engine(week10, result, "ex4", ["windows"])
    assert_graded_as_the_engine(week10, result, "ex6", ["rows"])
    assert_graded_as_the_engine(week10, result, "ex7", ["upsert"])
    for exercise_id in ("ex4", "ex6"):
        feedback = result.exercise(exercise_id).feedback
        assert "user ids are case-sensitive on the sheet: 'a' read as 'A'" in feedback
        assert "user ids are case-sensitive on the sheet: 'b' read as 'B'" in feedback
        assert len(feedback) == len(set(feedback)) == 2  # once per id, not once per row
    assert any("'a' read as 'A'" in line for line in result.exercise("ex7").feedback)


def test_user_ids_that_differ_only_by_case_in_the_data_stay_strict():
    ten = parse_time("10:00")
    events = (Event("e1", "A", ten, Decimal(5)), Event("e2", "a", ten + MINUTE, Decimal(3)))
    context = CompareContext(events, 5 * MINUTE)
    rows = comparator_for({"kind": "rows", "key_fields": ["window_start", "user_id"],
                           "value_fields": ["sum_amount"]}, context)
    given = rows.normalize([{"window_start": "10:00", "user_id": "a", "sum_amount": 3},
                            {"window_start": "10:00", "user_id": "B", "sum_amount": 1}])
    assert [r.user_id for _, r in given.rows] == ["a", "B"]
    assert not any(r.case_note for _, r in given.rows)
    placements = comparator_for({"kind": "windows_events", "window_field": "window_start",
                                 "events_field": "events", "event_identity": ["user_id+amount"]}, context)
    placed = placements.normalize([{"window_start": "10:00", "events": [["a", 5]]}])
    assert placed.placements[0].event_id is None  # no "a" with amount 5, and "A" is not "a" here


# -- times and window labels ----------------------------------------------------------------------------------


def test_10h05_and_iso_times_with_milliseconds_and_z(week10):
    result = graded("times")
    assert_graded_as_the_engine(week10, result, "ex2", ["close_watermark"])
    assert_graded_as_the_engine(week10, result, "ex6", ["rows"])
    assert_graded_as_the_engine(week10, result, "ex7", ["upsert"])


def test_a_window_label_where_a_start_is_asked_is_its_start(week10):
    result = graded("window_labels")
    assert_graded_as_the_engine(week10, result, "ex4", ["windows"])
    assert_graded_as_the_engine(week10, result, "ex6", ["rows"])


def test_a_window_label_of_the_wrong_size_is_named_and_its_events_are_not_missing(week10):
    result = graded("window_label_wrong_size")
    windows = part(result, "ex4", "windows")
    size = week10.context.window_size // MINUTE
    assert windows.status is Status.PARTIAL
    assert any(line.startswith("answers.ex4.windows[1].window_start: \"10:05-10:12\" is not a "
                               f"{size} min window") for line in windows.feedback), windows.feedback
    assert not [line for line in windows.feedback if "missing" in line], windows.feedback
    # The unreadable label costs what an unreadable item costs; the other windows still count.
    expected = solve(week10)["ex4"]["windows"].value
    placed = sum(len(w["events"]) for w in expected)
    right = placed - len(submitted("window_label_wrong_size")["ex4"]["windows"][1]["events"])
    assert windows.score == pytest.approx(windows.max_score * right / (placed + 1))


# -- numbers, estimates, units --------------------------------------------------------------------------------


def test_worked_answers_spaced_thousands_and_number_words(week10):
    result = graded("worked_numbers")
    assert_graded_as_the_engine(week10, result, "ex8", ["events_per_window", "events_per_window_per_user",
                                                        "min_latency"])
    assert_graded_as_the_engine(week10, result, "ex9", ["active_windows_per_user", "state_bytes"])
    assert_graded_as_the_engine(week10, result, "ex10", ["duplicate_rows"])


def test_estimates_and_per_window_and_per_user_units(week10):
    result = graded("estimates_and_units")
    assert_graded_as_the_engine(week10, result, "ex8", ["events_per_window", "events_per_window_per_user",
                                                        "min_latency"])
    assert_graded_as_the_engine(week10, result, "ex9", ["active_windows_per_user", "state_bytes"])


def test_a_per_user_unit_is_not_accepted_for_the_whole_window(week10):
    result = with_value(week10, "ex8", "events_per_window", "347.2 events per user")
    got = part(result, "ex8", "events_per_window")
    assert got.status is Status.INVALID
    assert got.feedback[0].startswith('answers.ex8.events_per_window: "347.2 events per user": unknown unit')


def test_the_published_keys_own_ge_2_min_scores_as_the_published_value(week10):
    as_written = part(graded("published_latency_as_written"), "ex8", "min_latency")
    key = part(with_value(week10, "ex8", "min_latency", published(week10, "ex8", "min_latency")), "ex8",
               "min_latency")
    assert (as_written.score, as_written.status, as_written.feedback) == (key.score, key.status, key.feedback)
    assert 0 < as_written.score < as_written.max_score  # the erratum's credit


def test_a_duration_in_hours_compares_within_the_digits_given(week10):
    in_hours = part(graded("latency_in_hours"), "ex8", "min_latency")
    key = part(with_value(week10, "ex8", "min_latency", published(week10, "ex8", "min_latency")), "ex8",
               "min_latency")
    assert (in_hours.score, in_hours.status) == (key.score, key.status)
    assert in_hours.score > 0
    # One significant digit is not precise enough to be widened: 0.1 h is 6 minutes.
    coarse = part(with_value(week10, "ex8", "min_latency", "0.1 h"), "ex8", "min_latency")
    assert coarse.score == 0


# -- choices --------------------------------------------------------------------------------------------------


def test_a_leading_choice_with_its_explanation_and_policies_in_own_words(week10):
    result = graded("choices_explained")
    assert_graded_as_the_engine(week10, result, "ex3", ["semantics", "idempotent_sink_needed_for"])
    policies = part(result, "ex5", "policies")
    assert (policies.score, policies.status) == (policies.max_score, Status.CORRECT), policies.feedback


def test_an_explanation_naming_another_choice_is_not_read_as_a_choice(week10):
    result = graded("choices_ambiguous")
    needed = part(result, "ex3", "idempotent_sink_needed_for")
    assert needed.score == 0
    assert needed.feedback[0] == '"at-least-once, exactly-once" names at-least-once and exactly-once: give one of them'
    policies = part(result, "ex5", "policies")
    assert policies.score == 0
    assert '"drop after 3 min" is not one of drop, allowed_lateness, side_output, reprocess' in policies.feedback
    assert any("names allowed_lateness and drop: give one of them" in line for line in policies.feedback)


# -- what stays refused ---------------------------------------------------------------------------------------


def test_refused_values_keep_a_message_that_names_the_path(week10):
    result = graded("refused")
    for exercise_id, part_id, field in (("ex8", "events_per_window", "events_per_window"),
                                        ("ex8", "min_latency", "min_latency_minutes"),
                                        ("ex9", "state_bytes", "state_bytes")):
        got = part(result, exercise_id, part_id)
        assert got.status is Status.INVALID, (part_id, got.feedback)
        assert got.feedback[0].startswith(f"answers.{exercise_id}.{field}: ")


def test_worked_sums_in_rows_and_number_fields(week10):
    result = graded("worked_sums")
    assert_graded_as_the_engine(week10, result, "ex6", ["rows"])
    assert_graded_as_the_engine(week10, result, "ex7", ["correct_sum", "upsert"])


def test_a_number_word_is_still_refused_where_a_sum_is_asked(week10):
    answers = {"ex6": {"rows": [{"window_start": "10:00", "user_id": "A", "sum_amount": "seven"}]}}
    result = grade_answers(answers, week10)
    assert 'answers.ex6.rows[0].sum_amount: expected a number, got "seven"' in result.errors


def test_a_row_whose_window_label_is_not_the_window_size_is_named(week10):
    result = graded("window_label_wrong_size_rows")
    rows = part(result, "ex6", "rows")
    size = week10.context.window_size // MINUTE
    assert rows.status is Status.PARTIAL
    assert any(line.startswith('answers.ex6.rows[2].window_start: "10:05-10:12" is not a '
                               f"{size} min window") for line in rows.feedback), rows.feedback
    assert not any("rows[0]" in line for line in rows.feedback)  # "[10:00, 10:05]" spans the window

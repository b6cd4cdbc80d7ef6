"""The rows comparator's scoring rules, from submission files graded end to end.

Each test writes a whole submission (every part's value from the engine, ``solve()``),
changes one part the way the rule is about, and grades the bytes through
:func:`grader.grading.grade_bytes`.  Wrong values are derived from the canonical ones
(plus one, another user), never typed in; windows are the engine's.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from grader.results import GradeResult, Status
from grader.scoring import MAX_FINDINGS_SHOWN
from grader.solutions.solve import solve, solve_part
from reference.timestamps import format_time, parse_time
from tests.grader.answers import canonical_answers
from tests.grader.answers import graded as graded_as


def graded(answers: dict[str, Any]) -> GradeResult:
    return graded_as(answers, "s-rows")


def part(result: GradeResult, exercise_id: str, part_id: str):
    return next(p for p in result.exercise(exercise_id).parts if p.id == part_id)


def window_text(week10, start: str) -> str:
    return f"[{start}, {format_time(parse_time(start) + week10.context.window_size)})"


def plus_one(value: Any) -> int | str:
    """A wrong sum: the canonical one plus one, in the same JSON spelling."""
    return int(Decimal(str(value)) + 1)


# -- an unreadable value scores like a wrong one ------------------------------------------------------------------


def test_unreadable_value_in_a_row_costs_what_a_wrong_value_costs(week10):
    wrong, unreadable = canonical_answers(week10), canonical_answers(week10)
    wrong["ex6"]["rows"][1]["sum_amount"] = plus_one(wrong["ex6"]["rows"][1]["sum_amount"])
    unreadable["ex6"]["rows"][1]["sum_amount"] = "seven"
    by_wrong, by_unreadable = graded(wrong).exercise("ex6"), graded(unreadable).exercise("ex6")
    rows = len(solve(week10)["ex6"]["rows"].value)
    assert by_wrong.score == pytest.approx(by_wrong.max_score * (rows - 1) / rows)
    assert by_unreadable.score == pytest.approx(by_wrong.score)
    assert any("answers.ex6.rows[1].sum_amount" in line for line in by_unreadable.feedback)


def test_a_row_that_cannot_be_read_at_all_takes_the_place_of_the_missing_one(week10):
    answers = canonical_answers(week10)
    answers["ex6"]["rows"][1] = {"window_start": "soon", "user_id": "", "sum_amount": "seven"}
    ex6 = graded(answers).exercise("ex6")
    rows = len(solve(week10)["ex6"]["rows"].value)
    assert ex6.score == pytest.approx(ex6.max_score * (rows - 1) / rows)


# -- two values for one key earn nothing for it, in either order --------------------------------------------------


@pytest.mark.parametrize("second_first", [False, True], ids=["right value first", "wrong value first"])
def test_two_values_for_one_key_earn_nothing_for_that_key_whatever_their_order(week10, second_first):
    answers = canonical_answers(week10)
    rows = answers["ex11"]["final_rows_drop"]
    right = copy.deepcopy(rows[0])
    other = {**right, "sum_amount": plus_one(right["sum_amount"])}
    answers["ex11"]["final_rows_drop"] = [other, *rows] if second_first else [rows[0], other, *rows[1:]]
    result = graded(answers)
    got = part(result, "ex11", "final_rows_drop")
    assert got.score == pytest.approx(got.max_score * (len(rows) - 1) / len(rows))
    first, second = (other, right) if second_first else (right, other)
    said = (f"two rows for window {window_text(week10, right['window_start'])}, user {right['user_id']}: "
            f"{first['sum_amount']} and {second['sum_amount']}")
    assert any(said in line for line in got.feedback), got.feedback
    assert "conflicting_rows" in [f.code for f in got.findings]


@pytest.mark.parametrize("mistaken_last", [False, True], ids=["mistaken value first", "mistaken value last"])
def test_two_values_for_one_key_show_no_mistake_whatever_their_order(week10, mistaken_last):
    # ex11: the late-event-counted row beside the right one is no diagnosis either way round.
    mistaken = solve_part(week10, "ex11", "final_rows_drop",
                          model={"allowed_lateness": "admit_all", "late_policy": "update"}).value
    answers = canonical_answers(week10)
    rows = answers["ex11"]["final_rows_drop"]
    changed = next(m for m in mistaken if m not in rows)
    same_key = next(r for r in rows if (r["window_start"], r["user_id"]) == (changed["window_start"],
                                                                             changed["user_id"]))
    pair = [same_key, changed] if mistaken_last else [changed, same_key]
    answers["ex11"]["final_rows_drop"] = [*pair, *(r for r in rows if r is not same_key)]
    result = graded(answers)
    assert result.exercise("ex11").diagnosis == ()
    got = part(result, "ex11", "final_rows_drop")
    assert got.score == pytest.approx(got.max_score * (len(rows) - 1) / len(rows))


def test_the_same_row_given_twice_is_one_surplus_row(week10):
    answers = canonical_answers(week10)
    rows = answers["ex6"]["rows"]
    answers["ex6"]["rows"] = [*rows, copy.deepcopy(rows[0])]
    ex6 = graded(answers).exercise("ex6")
    assert ex6.score == pytest.approx(ex6.max_score * len(rows) / (len(rows) + 1))


# -- rows of windows the part does not ask about are ignored ------------------------------------------------------


def test_a_true_row_of_a_window_not_asked_is_ignored_with_a_note(week10):
    canonical = solve(week10)["ex6"]["rows"].value
    asked = {r["window_start"] for r in canonical}
    # The engine's rows of every window for the same events: the later ones were not asked.
    every = solve_part(week10, "ex6", "rows", model={"window_starts": None}).value
    later = [r for r in every if r["window_start"] not in asked]
    assert later, "the engine gives no row outside the asked windows; the test needs one"
    answers = canonical_answers(week10)
    answers["ex6"]["rows"] = [*answers["ex6"]["rows"], *later]
    ex6 = graded(answers).exercise("ex6")
    assert ex6.score == ex6.max_score and ex6.status is Status.CORRECT
    note = next(line for line in ex6.feedback if "does not ask about" in line)
    assert window_text(week10, later[0]["window_start"]) in note and "ignored" in note
    assert {f.code for p in ex6.parts for f in p.findings} == {"row_not_asked"}


def test_a_false_row_of_a_window_not_asked_is_ignored_too(week10):
    canonical = solve(week10)["ex6"]["rows"].value
    last = max(parse_time(r["window_start"]) for r in canonical)
    stranger = {"window_start": format_time(last + 4 * week10.context.window_size), "user_id": canonical[0]["user_id"],
                "sum_amount": 99}
    answers = canonical_answers(week10)
    answers["ex6"]["rows"].append(stranger)
    assert graded(answers).exercise("ex6").score == week10.exercise("ex6").points


def test_a_row_in_an_asked_window_that_is_not_expected_still_costs(week10):
    answers = canonical_answers(week10)
    rows = answers["ex6"]["rows"]
    users = {e.user_id for e in week10.context.events}
    stranger = {**rows[0], "user_id": "Z" + "".join(sorted(users))}
    answers["ex6"]["rows"] = [*rows, stranger]
    ex6 = graded(answers).exercise("ex6")
    assert ex6.score == pytest.approx(ex6.max_score * len(rows) / (len(rows) + 1))


def test_a_part_that_names_no_window_judges_rows_of_every_window(week10):
    # ex11's records of e7's arrival name no window: any row given there is judged.
    answers = canonical_answers(week10)
    assert answers["ex11"]["allowed_lateness_3min"]["retract"] == [], "the engine retracts something here"
    answers["ex11"]["allowed_lateness_3min"]["retract"] = copy.deepcopy(answers["ex11"]["final_rows_drop"][:1])
    got = part(graded(answers), "ex11", "late_retract")
    assert got.score < got.max_score
    assert "row_not_asked" not in [f.code for f in got.findings]


# -- feedback is bounded ------------------------------------------------------------------------------------------


def test_feedback_lists_at_most_ten_findings_then_says_how_many_more(week10):
    answers = canonical_answers(week10)
    rows = answers["ex6"]["rows"]
    strangers = [{**rows[0], "user_id": f"Z{i}"} for i in range(3 * MAX_FINDINGS_SHOWN)]
    answers["ex6"]["rows"] = [*rows[1:], *strangers]  # one row missing, many extra
    got = part(graded(answers), "ex6", "rows")
    total = len(strangers) + 1
    assert f"... and {total - MAX_FINDINGS_SHOWN} more" in got.feedback
    listed = [line for line in got.feedback if not line.startswith(("... and", "Engine:"))]
    assert len(listed) == MAX_FINDINGS_SHOWN
    codes = [f.code for f in got.findings]
    # Every code found is kept, and the rest are counted.
    assert {"extra_row", "missing_row", "more_findings"} <= set(codes)
    assert len(got.findings) <= MAX_FINDINGS_SHOWN + 3
    assert got.score == pytest.approx(got.max_score * (len(rows) - 1) / (len(rows) + len(strangers)))

"""Diagnosis: mistaken models re-run through the engine, recognised answers, concrete feedback.

Every expectation comes from the exercise data and the engine: a mistake's answer is
``solve_part(..., model=mistake.model)`` (or its literal ``given``), the canonical one is
``solve()``; the events named in feedback are the data context's.
"""

from __future__ import annotations

import re

import pytest

from grader.compare.base import CompareContext
from grader.compare.kinds import comparator_for
from grader.diagnosis import HIDDEN, KnownMistake, Scene, known_mistakes, matching, render, scene_for, showing
from grader.frozen import thaw
from grader.scoring import plan_for
from grader.solutions.solve import solve, solve_part
from reference.timestamps import parse_time


@pytest.fixture(scope="module")
def plan(week10):
    return plan_for(week10)


def part_plan(plan, exercise_id, part_id):
    return next(p for e in plan.exercises if e.exercise.id == exercise_id for p in e.parts if p.part.id == part_id)


def mistake_cases(exercise_set):
    for exercise in exercise_set.exercises:
        for mistake in exercise.mistakes:
            for part_id in mistake.parts:
                yield exercise, mistake, part_id


def mistake_answer(exercise_set, exercise, mistake, part_id):
    if mistake.runnable:
        return solve_part(exercise_set, exercise.id, part_id, model=mistake.model).value
    return thaw(mistake.given)


def test_every_mistake_of_the_set_can_be_recognised(week10, plan):
    for exercise, mistake, part_id in mistake_cases(week10):
        p = part_plan(plan, exercise.id, part_id)
        codes = [m.code for m in p.mistakes]
        assert mistake.code in codes, f"{exercise.id}.{part_id}: {mistake.code} gives the canonical answer"


def test_mistaken_answer_is_matched_by_its_code(week10, plan):
    for exercise, mistake, part_id in mistake_cases(week10):
        p = part_plan(plan, exercise.id, part_id)
        given = p.comparator.normalize(mistake_answer(week10, exercise, mistake, part_id))
        assert mistake.code in [m.code for m in matching(p.mistakes, p.comparator, given)]


def test_canonical_answer_matches_no_mistake(week10, plan):
    solved = solve(week10)
    for exercise in week10.exercises:
        for part in exercise.parts:
            p = part_plan(plan, exercise.id, part.id)
            given = p.comparator.normalize(solved[exercise.id][part.id].value)
            assert matching(p.mistakes, p.comparator, given) == []


def test_feedback_has_every_placeholder_filled(plan):
    for exercise in plan.exercises:
        for p in exercise.parts:
            for m in p.mistakes:
                for text in (m.feedback, m.feedback_hidden):
                    assert not re.search(r"\{\w+\}", text), (m.code, text)
                    assert "the event" not in text or "{event}" not in text


def test_row_mistake_names_the_event_the_window_and_both_values(week10, plan):
    """inclusive_window_end on the per-user sums: the event at a window's end, both windows, both sums."""
    p = part_plan(plan, "ex6", "rows")
    mistake = next(m for m in p.mistakes if m.code == "inclusive_window_end")
    size = week10.context.window_size
    at_end = [e for e in week10.context.events if e.event_time % size == 0
              and e.event_id in week10.exercise("ex6").part("rows").solution.args["events"]]
    event = next(e for e in at_end if e.describe() in mistake.feedback)
    home_start = event.event_time
    assert f"[{_t(home_start)}, {_t(home_start + size)})" in mistake.feedback  # the window it belongs to
    assert f"[{_t(home_start - size)}, {_t(home_start)})" in mistake.feedback  # the window the mistake puts it in
    canonical = {(r["window_start"], r["user_id"]): r["sum_amount"] for r in solve(week10)["ex6"]["rows"].value}
    wrong = {(r["window_start"], r["user_id"]): r["sum_amount"]
             for r in solve_part(week10, "ex6", "rows", model={"windows": "inclusive_end"}).value}
    key = next(k for k in canonical if canonical[k] != wrong.get(k))
    assert f"expected sum_amount {canonical[key]}, got {wrong[key]}" in mistake.feedback


def test_late_event_mistake_names_the_late_event_and_its_watermark(week10, plan):
    p = part_plan(plan, "ex11", "late_retract")
    mistake = next(m for m in p.mistakes if m.code == "flink_end_plus_lateness_boundary")
    late = week10.context.event(week10.exercise("ex11").part("late_retract").solution.args["event"])
    assert late.describe() in mistake.feedback
    profile = week10.context.profile
    before = week10.context.events[: week10.context.events.index(late)]
    mark = profile.watermark(max(e.event_time for e in before), week10.context.watermark_delay)
    assert _t(mark) in mistake.feedback
    assert profile.name in mistake.feedback and profile.drop_rule() in mistake.feedback


def test_number_mistake_names_the_window_asked_about(week10, plan):
    p = part_plan(plan, "ex8", "min_latency")
    start = parse_time(week10.exercise("ex8").part("min_latency").solution.args["window_start"])
    window = f"[{_t(start)}, {_t(start + week10.context.window_size)})"
    for m in p.mistakes:
        if "{window}" in next(x for x in week10.exercise("ex8").mistakes if x.code == m.code).feedback:
            assert window in m.feedback


def test_hidden_feedback_masks_expected_and_uses_no_exercise_words(week10, plan):
    solved = solve(week10)
    for exercise in plan.exercises:
        for p in exercise.parts:
            for m in p.mistakes:
                assert m.code in m.feedback_hidden
                expected = str(solved[exercise.exercise.id][p.part.id].value)
                text = m.feedback_hidden
                for event in week10.context.events:  # the sheet's data, no secret
                    text = text.replace(event.describe(), event.event_id)
                leaked = re.search(rf"(?<![\w.:]){re.escape(expected)}(?![\w.:])", text)
                assert not leaked or expected in exercise.exercise.prompt, (m.code, text)


def test_render_masks_expected_placeholders(week10):
    part = week10.exercise("ex6").part("rows")
    scene = Scene("1", "3", week10.context.events[0], None, None)
    text = render("expected {expected} in {expected_window}, got {given} ({unknown})", week10, part, scene,
                  show_expected=False)
    assert text == f"expected {HIDDEN} in {HIDDEN}, got 3 ({{unknown}})"


def test_known_mistakes_skips_a_mistake_that_gives_the_canonical_answer(week10):
    exercise = week10.exercise("ex6")
    part = exercise.part("rows")
    context = CompareContext(week10.context.events, week10.context.window_size)
    comp = comparator_for(part.compare, context)
    expected = comp.normalize(solve(week10)["ex6"]["rows"].value)
    found = known_mistakes(week10, exercise, part, comp, expected)
    assert all(isinstance(m, KnownMistake) for m in found)
    # Recognising against the mistake's own answer as "canonical" leaves that mistake out.
    own = next(m for m in found if m.code == "inclusive_window_end")
    assert "inclusive_window_end" not in [m.code for m in known_mistakes(week10, exercise, part, comp, own.answer)]


def test_scene_of_windows_names_the_moved_event(week10):
    exercise = week10.exercise("ex4")
    part = exercise.part("windows")
    context = CompareContext(week10.context.events, week10.context.window_size)
    comp = comparator_for(part.compare, context)
    expected = comp.normalize(solve(week10)["ex4"]["windows"].value)
    wrong = comp.normalize(solve_part(week10, "ex4", "windows", model={"windows": "inclusive_end"}).value)
    scene = scene_for(week10, part, comp, expected, wrong)
    assert scene.event is not None and scene.window is not None and scene.expected_window is not None
    assert scene.window != scene.expected_window
    assert scene.expected_window.contains(scene.event.event_time)


def _t(ms: int) -> str:
    from reference.timestamps import format_time

    return format_time(ms)


def test_mistake_among_other_errors_is_still_diagnosed_but_earns_no_credit(week10, plan):
    """A rows answer with the mistake's wrong row plus another, unrelated error."""
    for exercise, mistake, part_id in mistake_cases(week10):
        p = part_plan(plan, exercise.id, part_id)
        if p.part.compare_kind != "rows" or not mistake.runnable:
            continue
        wrong = solve_part(week10, exercise.id, part_id, model=mistake.model).value
        canonical = solve(week10)[exercise.id][part_id].value
        differing = [r for r in wrong if r not in canonical]
        untouched = [r for r in wrong if r in canonical]
        if not differing or not untouched:
            continue
        given = p.comparator.normalize([r for r in wrong if r is not untouched[0]])  # drop a right row too
        assert mistake.code in [m.code for m in showing(p.mistakes, p.comparator, p.expected, given)]
        assert mistake.code not in [m.code for m in matching(p.mistakes, p.comparator, given)]

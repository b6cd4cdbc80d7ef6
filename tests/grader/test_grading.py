"""Grading a submission end to end: the entry points, scores, errata, examples and visibility.

No canonical answer is typed in here: fully correct answers are built from
``grader.solutions.solve`` (the engine), mistaken ones from ``solve_part`` under the
mistake's model, published ones from the exercise data.  The example submissions under
``submissions/examples`` are data with declared scores; each must get exactly that.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from grader import grading
from grader.exercises.fields import read_field, write_field
from grader.exercises.model import ExerciseSet, Settings
from grader.frozen import thaw
from grader.grading import DEFAULT_SET, grade_answers, grade_bytes, grade_file, grade_submission
from grader.results import GradeResult, Status
from grader.scoring import plan_for
from grader.solutions.solve import solve, solve_part
from grader.submissions.read import read_submission_bytes
from reference.timestamps import format_time, parse_time
from tests.grader.answers import canonical_answers
from tests.paths import EXAMPLES

EXAMPLE_FILES = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expect.json"))



def part_result(result: GradeResult, exercise_id: str, part_id: str):
    exercise = result.exercise(exercise_id)
    assert exercise is not None
    return next(p for p in exercise.parts if p.id == part_id)


# -- the whole set --------------------------------------------------------------------------------------------


def test_engine_answers_score_full_marks(week10):
    result = grade_answers(canonical_answers(week10), week10)
    assert result.score == pytest.approx(week10.total_points)
    assert result.max_score == week10.total_points
    assert all(e.status is Status.CORRECT for e in result.exercises), [
        (e.id, e.feedback) for e in result.exercises if e.status is not Status.CORRECT]
    assert result.errors == () and result.warnings == ()


def test_empty_answers_score_zero_and_every_exercise_is_not_answered(week10):
    result = grade_answers({}, week10)
    assert result.score == 0
    assert [e.id for e in result.exercises] == list(week10.exercise_ids)
    assert all(e.status is Status.NOT_ANSWERED and e.feedback == ("not answered",) for e in result.exercises)


def test_an_exercise_answered_null_is_not_answered(week10):
    answers = canonical_answers(week10)
    answers["ex6"] = None
    result = grade_answers(answers, week10)
    assert result.exercise("ex6").status is Status.NOT_ANSWERED
    assert result.score == pytest.approx(week10.total_points - week10.exercise("ex6").points)


def test_result_follows_the_result_format(week10):
    data = grade_answers(canonical_answers(week10), week10, student_id="s1").to_dict()
    assert set(data) >= {"student_id", "exercise_set", "score", "max_score", "exercises", "warnings", "errors"}
    exercise = data["exercises"][0]
    assert set(exercise) >= {"id", "score", "max_score", "status", "feedback", "diagnosis", "parts"}
    assert set(exercise["parts"][0]) >= {"id", "score", "max_score", "expected", "given"}
    json.dumps(data)  # JSON-ready as it is


# -- schema problems, warnings, unreadable input ----------------------------------------------------------------


def test_schema_error_is_listed_with_its_path_and_the_rest_is_still_graded(week10):
    answers = canonical_answers(week10)
    answers["ex6"]["rows"][1]["sum_amount"] = "seven"
    result = grade_answers(answers, week10)
    assert 'answers.ex6.rows[1].sum_amount: expected a number, got "seven"' in result.errors
    ex6 = result.exercise("ex6")
    rows = len(solve(week10)["ex6"]["rows"].value)
    # The unreadable row scores like a wrong value (its key earns nothing, it costs no
    # more); the other rows still earn theirs.
    assert ex6.score == pytest.approx(ex6.max_score * (rows - 1) / rows)
    assert any("answers.ex6.rows[1].sum_amount" in line for line in ex6.feedback)
    others = sum(e.score for e in result.exercises if e.id != "ex6")
    assert others == pytest.approx(week10.total_points - ex6.max_score)


def test_every_schema_error_is_listed(week10):
    answers = canonical_answers(week10)
    answers["ex3"]["idempotent_sink_needed_for"] = 5
    answers["ex4"] = 7
    answers["ex7"]["correct_sum"] = "NaN"
    result = grade_answers(answers, week10)
    paths = [e.split(":")[0] for e in result.errors]
    assert paths == ["answers.ex3.idempotent_sink_needed_for", "answers.ex4", "answers.ex7.correct_sum"]
    assert result.exercise("ex4").status is Status.INVALID
    assert part_result(result, "ex7", "correct_sum").status is Status.INVALID
    assert part_result(result, "ex7", "upsert").status is Status.CORRECT


def test_unknown_exercises_and_fields_are_warnings(week10):
    answers = canonical_answers(week10)
    answers["ex99"] = {"x": 1}
    answers["ex6"]["comment"] = "hello"
    result = grade_answers(answers, week10)
    assert "answers.ex99: unknown exercise, ignored" in result.warnings
    assert any(w.startswith("answers.ex6.comment") for w in result.warnings)
    assert result.errors == ()
    assert result.score == pytest.approx(week10.total_points)


@pytest.mark.parametrize("raw, name", [
    (b"", "a.json"), (b"{", "a.json"), (b"[]", "a.json"), (b'{"answers": 5}', "a.json"), (b"\xff\xfe{}", "a.json"),
    (b"answers: [", "a.yaml"), (b"not json at all {", None), (b'{"answers": {}}' * 2, "a.json"),
])
def test_unreadable_submission_is_a_result_with_one_error(raw, name):
    result = grade_bytes(raw, name)
    assert isinstance(result, GradeResult)
    assert not result.readable and result.score == 0 and len(result.errors) == 1
    assert re.search(r"line \d+", result.errors[0])


def test_unknown_exercise_set_is_an_error_result_not_an_exception():
    result = grade_bytes(b'{"answers": {}}', "a.json", exercise_set="week99")
    assert not result.readable
    assert "week99" in result.errors[0]


def test_grade_bytes_reads_yaml_and_sniffs_without_a_name(week10):
    answers = canonical_answers(week10)
    body = json.dumps({"answers": answers}).encode()
    assert grade_bytes(body).score == pytest.approx(week10.total_points)
    close = solve(week10)["ex2"]["close_watermark"].value
    yaml_body = f'answers:\n  ex2:\n    close_watermark: "{close}"\n'.encode()
    assert grade_bytes(yaml_body, "sub.yaml").exercise("ex2").parts[2].status is Status.CORRECT


def test_caller_student_id_overrides_the_file(week10):
    body = json.dumps({"student_id": "written", "answers": {}}).encode()
    assert grade_bytes(body, "a.json").student_id == "written"
    assert grade_bytes(body, "a.json", student_id="authenticated").student_id == "authenticated"


def test_submission_naming_another_set_gets_a_warning(week10):
    sub = read_submission_bytes(json.dumps({"exercise_set": "week11", "answers": {}}).encode(), "a.json")
    result = grade_submission(sub, week10)
    assert any("week11" in w for w in result.warnings)
    assert grade_submission(sub).exercise_set == DEFAULT_SET  # unknown set named: graded against the default


def test_python_file_goes_to_the_python_grader(monkeypatch):
    calls = []

    def fake(source, source_name, student_id, seed=None, **options):
        calls.append((source, source_name, student_id))
        return GradeResult(student_id, "week10-python", 10, 10)

    monkeypatch.setattr("grader.python.grade.grade_python", fake)
    result = grade_bytes(b"def f(): pass\n", "answer.py", student_id="s9")
    assert calls == [(b"def f(): pass\n", "answer.py", "s9")]
    assert result.score == 10


def test_grade_file_names_the_file_in_errors(tmp_path):
    path = tmp_path / "broken.json"
    path.write_bytes(b'{"answers": ')
    result = grade_file(path)
    assert result.errors and result.errors[0].startswith(str(path))
    assert grade_file(tmp_path / "missing.json").errors


# -- errata and mistakes ----------------------------------------------------------------------------------------


def erratum_cases(exercise_set: ExerciseSet):
    for exercise in exercise_set.exercises:
        for erratum in exercise.errata:
            yield exercise, erratum


def test_published_value_of_an_erratum_earns_the_erratum_credit(week10):
    cases = list(erratum_cases(week10))
    assert cases, "week10 acknowledges errata"
    for exercise, erratum in cases:
        part = exercise.part(erratum.part)
        published, present = read_field(thaw(exercise.published.values), part.field)
        assert present
        answers = canonical_answers(week10)
        write_field(answers[exercise.id], part.field, published)
        result = part_result(grade_answers(answers, week10), exercise.id, part.id)
        assert result.score == pytest.approx(erratum.credit * part.points), (exercise.id, part.id)
        assert "published_erratum" in [f.code for f in result.findings]
        assert any("erratum" in line for line in result.feedback)
        assert result.status is (Status.PARTIAL if 0 < erratum.credit < 1 else result.status)


def test_answer_matching_a_mistake_is_diagnosed_and_earns_its_credit(week10):
    checked = 0
    for exercise in week10.exercises:
        for mistake in exercise.mistakes:
            for part_id in mistake.parts:
                part = exercise.part(part_id)
                value = (solve_part(week10, exercise.id, part_id, model=mistake.model).value if mistake.runnable
                         else thaw(mistake.given))
                answers = canonical_answers(week10)
                write_field(answers[exercise.id], part.field, value)
                result = grade_answers(answers, week10)
                assert mistake.code in result.exercise(exercise.id).diagnosis, (exercise.id, part_id, mistake.code)
                part_score = part_result(result, exercise.id, part_id).score
                erratum = exercise.erratum_for(part_id)
                if erratum is None or not _same_as_published(week10, exercise.id, part_id, value):
                    assert part_score >= mistake.credit * part.points - 1e-9
                checked += 1
    assert checked >= 10


def _same_as_published(exercise_set, exercise_id, part_id, value) -> bool:
    plan = next(p for e in plan_for(exercise_set).exercises if e.exercise.id == exercise_id
                for p in e.parts if p.part.id == part_id)
    return plan.published is not None and plan.comparator.same(plan.published, plan.comparator.normalize(value))


def test_answer_of_another_profile_is_named_in_feedback(week10):
    solved = solve(week10)
    for exercise in week10.exercises:
        for part in exercise.parts:
            canonical = solved[exercise.id][part.id]
            if not canonical.depends_on_profile:
                continue
            for name, value in canonical.by_profile.items():
                if value == canonical.value:
                    continue
                answers = canonical_answers(week10)
                write_field(answers[exercise.id], part.field, value)
                feedback = part_result(grade_answers(answers, week10), exercise.id, part.id).feedback
                assert any(name in line and canonical.profile in line for line in feedback), (part.id, name)


# -- the example submissions ------------------------------------------------------------------------------------


def test_every_example_has_a_declared_expectation():
    assert EXAMPLE_FILES
    for path in EXAMPLE_FILES:
        assert path.with_suffix(".expect.json").is_file(), f"{path.name} has no sidecar .expect.json"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_gets_its_declared_score_and_diagnosis(path):
    expect = json.loads(path.with_suffix(".expect.json").read_text())
    result = grade_file(path)
    assert result.errors == () and result.warnings == ()
    assert result.to_dict()["score"] == expect["score"]
    assert result.max_score == expect["max_score"]
    assert [e.id for e in result.exercises if e.status is not Status.CORRECT] == expect["failing"]
    assert {e.id: list(e.diagnosis) for e in result.exercises if e.diagnosis} == expect["diagnosis"]


def test_accepted_spellings_score_exactly_the_same():
    plain = grade_file(EXAMPLES / "correct.json")
    spelled = grade_file(EXAMPLES / "correct_spellings.json")
    assert [(e.id, e.score, e.status) for e in spelled.exercises] == [(e.id, e.score, e.status)
                                                                       for e in plain.exercises]
    assert spelled.errors == ()


def test_published_key_example_is_the_exercise_data(week10):
    data = json.loads((EXAMPLES / "published_key.json").read_text())
    assert data["answers"] == {ex.id: thaw(ex.published.values) for ex in week10.exercises}


# -- visibility of expected values ----------------------------------------------------------------------------


def hidden(exercise_set: ExerciseSet) -> ExerciseSet:
    return replace(exercise_set, settings=Settings(show_expected=False, profile=exercise_set.settings.profile),
                   fingerprint=exercise_set.fingerprint + ":hidden")


def _value_texts(value: Any) -> set[str]:
    """Spellings of a canonical value that must not show up in hidden feedback."""
    if isinstance(value, list):
        out = set()
        for item in value:
            out |= _value_texts(item)
        return out
    if isinstance(value, dict):
        if {"window_start", "user_id", "sum_amount"} <= set(value):
            return {f"({value['window_start']}, {value['user_id']}, {value['sum_amount']})"}
        return set().union(*(_value_texts(v) for v in value.values())) if value else set()
    return {str(value)} if not isinstance(value, str) or len(value) < 40 else set()


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_hidden_expected_values_never_leak(week10, path):
    secret = hidden(week10)
    solved = solve(week10)
    sub = read_submission_bytes(path.read_bytes(), path.name)
    result = grade_submission(sub, secret)
    data = result.to_dict()
    for exercise in data["exercises"]:
        for part in exercise["parts"]:
            assert "expected" not in part
            if part["status"] == "correct":
                continue
            prompt = week10.exercise(exercise["id"]).prompt  # what the question itself says is no secret
            texts = {t for t in _value_texts(solved[exercise["id"]][part["id"]].value) if t not in prompt}
            given = json.dumps(part["given"])
            for line in part["feedback"]:
                for event in week10.context.events:  # the events are the sheet's data, no secret
                    line = line.replace(event.describe(), event.event_id)
                for text in texts:
                    if text in given:
                        continue  # the student wrote it; repeating their own answer reveals nothing
                    assert not re.search(rf"(?<![\w.:]){re.escape(text)}(?![\w.:])", line), (part["id"], text, line)


def test_grading_runs_no_engine_once_the_plan_is_built(week10, monkeypatch):
    plan_for(week10)
    answers = canonical_answers(week10)

    def refuse(*args, **kwargs):
        raise AssertionError("the engine ran while grading a submission")

    monkeypatch.setattr("grader.solutions.job.run_engine", refuse)
    monkeypatch.setattr("grader.diagnosis.solve_part", refuse)
    monkeypatch.setattr("grader.scoring.solve", refuse)
    answers["ex6"]["rows"][0]["sum_amount"] = 1000  # a new answer, not a remembered one
    assert grade_answers(answers, week10).score < week10.total_points


def test_grading_module_exposes_its_version():
    assert grading.GRADER_VERSION


@pytest.mark.parametrize("grading, credit, status", [("full", 1.0, Status.CORRECT), ("none", 0.0, Status.INCORRECT)])
def test_erratum_graded_full_or_none_gives_all_or_nothing(week10, grading, credit, status):
    from grader.exercises.model import ErratumGrading

    exercise, erratum = next(erratum_cases(week10))
    changed = replace(exercise, errata=tuple(replace(e, grading=ErratumGrading(grading), credit=credit)
                                             if e is erratum else e for e in exercise.errata))
    exercise_set = replace(week10, exercises=tuple(changed if e is exercise else e for e in week10.exercises),
                           fingerprint=f"{week10.fingerprint}:{grading}")
    part = exercise.part(erratum.part)
    published, _ = read_field(thaw(exercise.published.values), part.field)
    answers = canonical_answers(week10)
    write_field(answers[exercise.id], part.field, published)
    result = part_result(grade_answers(answers, exercise_set), exercise.id, part.id)
    assert result.score == pytest.approx(credit * part.points)
    assert result.status is status
    assert any("erratum" in line for line in result.feedback)


def test_caller_student_id_is_kept_on_an_unreadable_submission():
    assert grade_bytes(b"{", "a.json", student_id="s7").student_id == "s7"


def test_profile_dependent_part_names_the_profile_even_when_right(week10):
    solved = solve(week10)
    result = grade_answers(canonical_answers(week10), week10)
    for exercise in week10.exercises:
        for part in exercise.parts:
            canonical = solved[exercise.id][part.id]
            if canonical.depends_on_profile:
                feedback = part_result(result, exercise.id, part.id).feedback
                assert any(f"Graded under {canonical.profile}" in line for line in feedback)


def test_wrong_row_shows_how_the_engine_got_that_row(week10):
    answers = canonical_answers(week10)
    row = answers["ex6"]["rows"][0]
    row["sum_amount"] = row["sum_amount"] + 100
    start = parse_time(row["window_start"])
    window = f"[{format_time(start)}, {format_time(start + week10.context.window_size)})"
    feedback = part_result(grade_answers(answers, week10), "ex6", "rows").feedback
    engine = [line for line in feedback if line.startswith("Engine: ")]
    assert engine and all(line.startswith(f"Engine: {window}, user {row['user_id']}:") for line in engine)
    hidden_feedback = part_result(grade_answers(answers, hidden(week10)), "ex6", "rows").feedback
    assert not any(line.startswith("Engine: ") for line in hidden_feedback)


def test_text_the_rubric_cannot_decide_needs_review(week10):
    answers = canonical_answers(week10)
    answers["ex1"]["why_event_time"] = "Because the lecturer said so."
    result = grade_answers(answers, week10)
    assert result.exercise("ex1").status is Status.NEEDS_REVIEW
    part = part_result(result, "ex1", "why_event_time")
    assert part.status is Status.NEEDS_REVIEW and part.score == 0
    assert any("instructor will review" in line for line in part.feedback)


def test_threads_grading_at_once_get_the_same_results_as_one_at_a_time():
    from concurrent.futures import ThreadPoolExecutor

    from grader import scoring

    scoring.cache_clear()  # the plan is built, and the memos filled, by the threads themselves
    bodies = [(p.read_bytes(), p.name) for p in EXAMPLE_FILES] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda b: grade_bytes(*b).to_dict(), bodies))
    alone = [grade_bytes(*b).to_dict() for b in bodies]
    assert together == alone


def test_schema_problems_keep_their_codes_in_the_result_and_its_dict(week10):
    from grader.results import Problem, Severity, result_from_dict

    answers = {"ex6": {"rows": [{"window_start": "10:00", "user_id": "A", "sum_amount": "seven"}]},
               "ex99": {"x": 1}}
    result = grade_answers(answers, week10)
    codes = {(p.code, p.severity) for p in result.problems}
    assert ("wrong_type", Severity.ERROR) in codes and ("unknown_exercise", Severity.WARNING) in codes
    assert [str(p) for p in result.problems if p.is_error] == list(result.errors)  # the strings are their rendering
    document = result.to_dict()
    assert {"path": "answers.ex6.rows[0].sum_amount", "code": "wrong_type", "severity": "error",
            "message": next(p.message for p in result.problems if p.code == "wrong_type")} in document["problems"]
    assert result_from_dict(document).problems == result.problems
    assert all(isinstance(p, Problem) for p in result_from_dict(document).problems)

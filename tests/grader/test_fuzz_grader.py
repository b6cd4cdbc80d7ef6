"""Property tests: whatever a student sends, grading returns a result and never raises.

Random bytes, random JSON, deep nesting, huge numbers, NaN and infinity spelled as text,
and the wrong type at every path of a correct answer: ``grade_bytes`` always returns a
:class:`GradeResult` whose score lies in ``[0, max]``, every exercise's within its own
``[0, max]``, and never the "internal error" message that would hide a bug.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.exercises.load import load_named_set
from grader.grading import grade_answers, grade_bytes
from grader.results import GradeResult, Status
from tests.grader.test_grading import canonical_answers

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
WEEK10 = load_named_set("week10")
CORRECT = canonical_answers(WEEK10)


def check(result: GradeResult) -> None:
    assert isinstance(result, GradeResult)
    assert 0 <= result.score <= result.max_score + 1e-9
    for exercise in result.exercises:
        assert 0 <= exercise.score <= exercise.max_score + 1e-9
        assert isinstance(exercise.status, Status)
        for part in exercise.parts:
            assert 0 <= part.score <= part.max_score + 1e-9
    assert not any("internal error" in e for e in result.errors), result.errors
    json.dumps(result.to_dict(), default=str)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**20, max_value=10**80),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.sampled_from(["NaN", "nan", "Infinity", "-Infinity", "1e999", "1e-999", "10:00", "10:05:00", "[10:00, 10:05)",
                     "2024-01-01T10:00:00Z", "7", "7.0", "3 min", "180 s", "40 KB", "39 KiB", "ALO", "e1", "e99",
                     "", "   ", "\x00", "\u202e", "99:99", "10:60", "-5", "1,000", "7,5", "(10:00, A, 7)"]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                            st.dictionaries(st.text(max_size=12), inner, max_size=5)),
                           max_leaves=40)


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([None, "a.json", "a.yaml", "a.yml", "a.txt"]))
def test_random_bytes_never_raise(raw, name):
    check(grade_bytes(raw, name))


@FUZZ
@given(json_values)
def test_random_json_documents_never_raise(document):
    check(grade_bytes(json.dumps(document).encode(), "a.json"))


@FUZZ
@given(st.dictionaries(st.sampled_from([*WEEK10.exercise_ids, "ex0", "ex99", "answers", ""]), json_values,
                       max_size=12))
def test_random_answers_never_raise(answers):
    check(grade_bytes(json.dumps({"answers": answers}).encode(), "a.json"))


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON value (object keys and list indexes), the value itself included."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(paths(item, (*prefix, i)))
    return out


ALL_PATHS = paths(CORRECT)


def replaced(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(document)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


@FUZZ
@given(st.sampled_from(ALL_PATHS), scalars | st.just([]) | st.just({}) | st.just([[[]]]) | st.just({"x": {"y": 1}}))
def test_wrong_type_at_any_path_never_raises_and_the_rest_is_graded(path, value):
    answers = replaced(CORRECT, path, value)
    if not isinstance(answers, dict):
        answers = {"ex1": answers}
    result = grade_bytes(json.dumps({"answers": answers}).encode(), "a.json")
    check(result)
    if len(path) >= 1:
        # Exercises other than the one touched keep full marks.
        for exercise in result.exercises:
            if exercise.id != path[0]:
                assert exercise.score == pytest.approx(exercise.max_score), (path, exercise.id, exercise.feedback)


@pytest.mark.parametrize("depth", [10, 31, 33, 200, 5000])
def test_deep_nesting_is_refused_or_graded_never_a_crash(depth):
    body = '{"answers": {"ex6": {"rows": ' + "[" * depth + "]" * depth + "}}}"
    check(grade_bytes(body.encode(), "a.json"))
    yaml_body = "answers:\n  ex6:\n    rows: " + "[" * depth + "]" * depth + "\n"
    check(grade_bytes(yaml_body.encode(), "a.yaml"))


@pytest.mark.parametrize("number", ["1" + "0" * 99, "1" + "0" * 400, "1e308", "-1e308", "1e-320",
                                    "123456789.123456789"])
def test_huge_and_tiny_numbers_never_raise(number):
    for exercise, field in (("ex7", "correct_sum"), ("ex8", "min_latency_minutes"), ("ex9", "state_bytes")):
        answers = copy.deepcopy(CORRECT)
        answers[exercise][field] = json.loads(number) if len(number) < 300 else number
        check(grade_bytes(json.dumps({"answers": answers}).encode(), "a.json"))
        body = json.dumps({"answers": {exercise: {field: "X"}}}).replace('"X"', number).encode()
        check(grade_bytes(body, "a.json"))


@FUZZ
@given(st.text(max_size=3000))
def test_any_free_text_is_scored_by_the_rubric_without_raising(text):
    answers = copy.deepcopy(CORRECT)
    answers["ex11"]["tradeoff"] = text
    answers["ex5"]["options"][0]["explanation"] = text
    result = grade_answers(answers, WEEK10)
    check(result)


def test_field_names_with_unicode_digits_are_warnings_not_a_crash():
    """Found by the fuzzer: "²" is a digit to str.isdigit but not to int()."""
    result = grade_bytes(json.dumps({"answers": {"ex1": {"0²0": None}, "ex6": {"rows": [{"x²": 1}]}}}).encode(),
                         "a.json")
    check(result)
    assert any(w.startswith("answers.ex1") for w in result.warnings)
    assert any(e.startswith("answers.ex6.rows[0]") for e in result.errors)

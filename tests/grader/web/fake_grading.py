"""A deterministic stand-in for ``grader.grading.grade_bytes``, for the service's tests.

It reads a submission the way the contract says (JSON or YAML object, or Python source)
and answers in the result format, without judging answers: an exercise that is missing
or empty is ``not_answered``; one whose answer has a text containing ``"?"`` is
``needs_review`` (0 points, for the review routes); any other answer gets full marks.
Every part echoes the answer as ``given``, so pages that show it can be tested for
escaping.  The service must not care which grading function it runs.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import PurePath
from typing import Any

import yaml

from grader.exercises.load import load_named_set
from grader.exercises.model import ExerciseSet
from grader.results import ExerciseResult, GradeResult, PartResult, Status, unreadable

GRADER_VERSION = "fake-1"


@cache
def _set(name: str) -> ExerciseSet:
    return load_named_set(name)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def _empty(value: Any) -> bool:
    if value in (None, "", [], {}):
        return True
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return False


def grade_bytes(raw: bytes, filename: str | None = None, student_id: str | None = None,
                exercise_set: str = "week10", *, submission: Any = None,
                sets: Any = None, variants: bool | None = None, seed: int | None = None) -> GradeResult:
    name = filename or "submission.json"
    try:
        exercises = _set(exercise_set)
    except Exception as exc:  # an unknown set is the submitter's problem here
        return unreadable(exercise_set, f"{name}: {exc}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return unreadable(exercise_set, f"{name}: not UTF-8 text (byte {exc.start})")
    suffix = PurePath(name).suffix.lower()
    answers: dict[str, Any] = {}
    if suffix != ".py":
        try:
            data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            return unreadable(exercise_set, f"{name}: {exc}")
        if not isinstance(data, dict) or not isinstance(data.get("answers", {}), dict):
            return unreadable(exercise_set, f"{name}: expected an object with an 'answers' object")
        answers = data.get("answers") or {}
    results = []
    for ex in exercises.exercises:
        answer = answers.get(ex.id)
        if _empty(answer):
            status, score, feedback = Status.NOT_ANSWERED, 0.0, ("not answered",)
        elif any("?" in t for t in _texts(answer)):
            status, score, feedback = Status.NEEDS_REVIEW, 0.0, ("the rubric could not decide: an instructor will",)
        else:
            status, score, feedback = Status.CORRECT, float(ex.points), (f"{ex.id}: answered",)
        part = PartResult(id="answer", score=score, max_score=float(ex.points), status=status,
                          expected="(fake grader)", given=answer)
        results.append(ExerciseResult(ex.id, ex.title, score, float(ex.points), status, feedback, (), (part,)))
    warnings = tuple(f"answers.{k}: unknown exercise, ignored" for k in answers if k not in exercises.exercise_ids)
    return GradeResult(student_id, exercise_set, sum(r.score for r in results), exercises.total_points,
                       tuple(results), warnings)

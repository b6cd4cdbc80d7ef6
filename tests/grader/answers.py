"""Submissions the grading tests build from the engine's own answers (never typed in)."""

from __future__ import annotations

import copy
import json
from typing import Any

from grader.exercises.fields import write_field
from grader.exercises.model import ExerciseSet
from grader.grading import grade_bytes
from grader.results import GradeResult
from grader.solutions.solve import solve


def canonical_answers(exercise_set: ExerciseSet) -> dict[str, Any]:
    """Every exercise's answer object holding the canonical value of each of its parts."""
    solved = solve(exercise_set)
    answers: dict[str, Any] = {}
    for exercise in exercise_set.exercises:
        answer: dict[str, Any] = {}
        for part in exercise.parts:
            write_field(answer, part.field, copy.deepcopy(solved[exercise.id][part.id].value))
        answers[exercise.id] = answer
    return answers


def graded(answers: dict[str, Any], student_id: str = "s-test") -> GradeResult:
    """``answers`` graded as a JSON submission file of week 10."""
    raw = json.dumps({"student_id": student_id, "exercise_set": "week10", "answers": answers}).encode()
    return grade_bytes(raw, "answers.json")

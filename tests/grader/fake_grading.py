"""A stand-in for ``grader.grading.grade_bytes`` in CLI and batch tests.

It reads submissions with the real reader (so unreadable files give the real messages)
and scores from what the answers say, so a test controls scores, diagnoses and
crashes from the file's content:

- ``answers.ex1.points`` (0..4) is ex1's score; ex2 is correct when ``answers.ex2.ok``;
- ``answers.ex1.mistake`` names a diagnosis (and a finding code) on ex1;
- ``answers.crash`` raises (a bug in the grader); ``answers.die`` ends the process;
- a ``.py`` file scores 5/10 on one exercise ``python``.

Module level (not inside a test) so worker processes can unpickle references to it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from grader.errors import SubmissionUnreadable
from grader.results import ExerciseResult, Finding, GradeResult, PartResult, status_for, unreadable
from grader.submissions.read import read_submission_bytes


def _exercise(exercise_id: str, score: float, max_score: float, diagnosis: tuple[str, ...] = ()) -> ExerciseResult:
    status = status_for(score, max_score)
    findings = tuple(Finding(code, f"{exercise_id}.value", code) for code in diagnosis)
    part = PartResult("value", score, max_score, status, expected=max_score, given=score, findings=findings)
    return ExerciseResult(exercise_id, f"Exercise {exercise_id}", score, max_score, status,
                          feedback=(f"{exercise_id} feedback",), diagnosis=diagnosis, parts=(part,))


def fake_grade_bytes(raw: bytes, filename: str | None = None, student_id: str | None = None,
                     exercise_set: str = "week10", *, submission=None, sets=None, variants=None,
                     seed=None) -> GradeResult:
    name = filename or "<stdin>"
    if name.endswith(".py"):
        return GradeResult(student_id, exercise_set, 5, 10, (_exercise("python", 5, 10),))
    try:
        submission = read_submission_bytes(raw, name)
    except SubmissionUnreadable as exc:
        return unreadable(exercise_set, exc.message, 10)
    answers: Mapping[str, Any] = submission.answers
    if answers.get("crash"):
        raise RuntimeError("boom in the grader")
    if answers.get("die"):
        os._exit(13)
    ex1 = answers.get("ex1") or {}
    points = float(ex1.get("points", 0))
    mistake = ex1.get("mistake")
    exercises = (
        _exercise("ex1", points, 4, (mistake,) if mistake else ()),
        _exercise("ex2", 6 if (answers.get("ex2") or {}).get("ok") else 0, 6),
    )
    total = sum(e.score for e in exercises)
    return GradeResult(student_id or submission.student_id, exercise_set, total, 10, exercises)

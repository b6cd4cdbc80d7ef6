"""Grading one submission end to end: read, validate, normalise, compare, diagnose, score.

This module is the single entry point the CLI, the batch runner and the web service
call.  It stays thin: reading is :mod:`grader.submissions`, comparing
:mod:`grader.compare`, recognising mistakes :mod:`grader.diagnosis`, points and errata
:mod:`grader.scoring`; Python answers go to :mod:`grader.python`.

Nothing a student writes makes these functions raise: an unreadable submission gives a
:class:`~grader.results.GradeResult` with ``errors`` and no exercises (CLI exit 2, HTTP
400 at the edges), and schema problems are listed, each with its JSON path, while the
rest of the submission is still graded.  Canonical answers and the answers of known
mistakes are worked out once per exercise set (:func:`grader.scoring.plan_for`); grading
a submission runs no engine.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from grader.errors import ExerciseDataError, SandboxUnavailable, SubmissionUnreadable, UsageProblem
from grader.exercises.load import DEFAULT_SET, available_sets, load_set
from grader.exercises.model import ExerciseSet
from grader.results import GradeResult, Problem, bounded, unreadable
from grader.scoring import plan_for, score_exercise
from grader.submissions.read import Submission, SubmissionFormat, format_for_name, read_submission_bytes
from grader.variants.policy import policy_for
from grader.visibility import grading_now, visibility_meta

#: Stored with every result by the web service (grader.web.service.grader_version).
GRADER_VERSION = "grading-1"
_MAX_FILE_BYTES = 1024 * 1024

log = logging.getLogger(__name__)


def grade_answers(answers: Mapping, exercise_set: ExerciseSet, *, student_id: str | None = None,
                  warnings: Iterable[str] = (), now: datetime | None = None) -> GradeResult:
    """Grade an ``answers`` object (exercise id -> answer, as in the submission format).

    Every schema problem is listed with its path (``answers.ex6.rows[1].sum_amount:
    expected a number, got "seven"``) in ``errors``, unknown exercises and fields in
    ``warnings``, and kept structured, with its code, in ``problems``; every exercise is
    still graded from what can be read.  ``now`` is the one instant the submission's
    expected values are shown or withheld at (default :func:`grader.visibility.grading_now`:
    ``STREAMGRADE_NOW``, else the wall clock); ``meta.visibility`` records the set's policy.
    """
    plan = plan_for(exercise_set)
    now = now or grading_now()
    notes = list(warnings)
    problems: list[Problem] = []
    if not isinstance(answers, Mapping):
        problems.append(Problem("answers", "wrong_type", "expected an object mapping exercise ids to answers"))
        answers = {}
    answers = {str(k): v for k, v in answers.items()}
    problems.extend(plan.problems(answers))
    errors = [str(p) for p in problems if p.is_error]
    notes += [str(p) for p in problems if not p.is_error]
    results = tuple(score_exercise(ex, answers.get(ex.exercise.id), f"answers.{ex.exercise.id}", now=now)
                    for ex in plan.exercises)
    score = sum(r.score for r in results)
    settings = exercise_set.settings
    return GradeResult(student_id, exercise_set.id, score, exercise_set.total_points, results,
                       tuple(dict.fromkeys(notes)), tuple(dict.fromkeys(errors)),
                       meta={"visibility": visibility_meta(settings.visibility, settings.due, now)},
                       problems=tuple(dict.fromkeys(problems)))


def grade_submission(sub: Submission, exercise_set: ExerciseSet | None = None) -> GradeResult:
    """Grade a readable JSON or YAML submission against ``exercise_set`` (the one it names, else the default).

    A submission that names another set than the one it is graded against gets a warning.
    """
    warnings = list(sub.warnings)
    if exercise_set is None:
        name = sub.exercise_set or DEFAULT_SET
        try:
            exercise_set = load_set(name)
        except ExerciseDataError as exc:
            if sub.exercise_set is None:
                raise
            warnings.append(f"exercise_set: {exc.problems[0] if exc.problems else exc.message}; "
                            f"graded against {DEFAULT_SET}")
            exercise_set = load_set(DEFAULT_SET)
    elif sub.exercise_set and sub.exercise_set != exercise_set.id:
        warnings.append(f"exercise_set: the submission names {sub.exercise_set!r}; graded against {exercise_set.id}")
    return grade_answers(sub.answers, exercise_set, student_id=sub.student_id, warnings=warnings)


def grade_bytes(raw: bytes, filename: str | None = None, student_id: str | None = None,
                exercise_set: str = DEFAULT_SET, *, submission: Submission | None = None,
                sets: Path | None = None, variants: bool | None = None, seed: int | None = None) -> GradeResult:
    """Grade a submission given as bytes (JSON, YAML or Python source by ``filename``'s suffix).

    Never raises for bad student input: an unreadable submission gives a result with
    ``errors`` set (HTTP 400 / CLI exit 2 at the edges).  ``student_id`` from an
    authenticated caller overrides the one written in the submission.  An unknown
    ``exercise_set`` is reported the same way, as an error of the result.  ``submission``:
    these bytes already read by :func:`read_submission_bytes` (the service reads a body
    once, to file it under its set), so that they are not parsed again.  ``sets``: the
    folder the set is found in (default :func:`~grader.exercises.load.sets_folder`; the
    service passes its own).  ``variants``: the caller's ``--variants`` flag (``None``:
    the environment and the data decide, :func:`grader.variants.policy.policy_for`); the
    student is graded on their own variant when variants are on.  A Python answer is
    graded on the set's ``python.yaml``; ``seed`` fixes its hidden streams (a replay),
    else the seed is derived from the set, the student and the bytes
    (:func:`grader.python.seeds.hidden_seed`); JSON and YAML answers have no seed and
    ignore it.  What can
    raise is the operator's side: :class:`~grader.exercise_sets.ExerciseDataError` for
    broken exercise data, :class:`~grader.errors.SandboxUnavailable` for a Python answer
    when no sandbox can run.
    """
    name = filename or "<submission>"
    try:
        chosen = load_set(exercise_set, sets)
    except ExerciseDataError as exc:
        if exercise_set in available_sets(sets):
            raise  # broken exercise data is the operator's problem, not the student's
        return unreadable(str(exercise_set), f"{name}: {exc.problems[0] if exc.problems else exc.message}")
    if format_for_name(name) is SubmissionFormat.PYTHON:
        return _grade_python(bytes(raw), name, student_id, chosen, seed)
    try:
        sub = submission if submission is not None else read_submission_bytes(bytes(raw), name)
    except SubmissionUnreadable as exc:
        return replace(unreadable(chosen.id, exc.message, chosen.total_points), student_id=student_id)
    if sub.format is SubmissionFormat.PYTHON:  # pragma: no cover - the suffix check above takes these
        return _grade_python(bytes(raw), name, student_id, chosen, seed)
    try:
        chosen = policy_for(chosen, override=variants).set_for(student_id or sub.student_id)
        result = grade_submission(sub, chosen)
    except UsageProblem:
        raise  # the operator's setting (a STREAMGRADE_NOW that is no instant), not the student's file
    except RecursionError:
        return unreadable(chosen.id, f"{name}: the answers are nested too deeply to grade", chosen.total_points)
    except Exception:  # a bug of ours must not become a student's 500; it is logged with the file's hash
        log.exception("grading %s (sha256 %s) failed", name, sub.content_hash)
        return unreadable(chosen.id, f"{name}: the grader failed on this submission (an internal error, not a "
                                     "problem with your file); it has been logged", chosen.total_points)
    if student_id:
        result = replace(result, student_id=student_id)
    return bounded(result)


def _grade_python(raw: bytes, name: str, student_id: str | None, exercise_set: ExerciseSet,
                  seed: int | None = None) -> GradeResult:
    """A Python answer, graded in the sandbox, with the same guarantee as the JSON path: a
    bug of ours gives the student an "internal error, not your fault" result (logged
    with the file's hash), never a traceback or a 500.  The operator's problems still
    raise: no sandbox (:class:`SandboxUnavailable`), broken exercise data."""
    from grader.python.exercise import python_exercise_of
    from grader.python.grade import grade_python

    exercise = python_exercise_of(exercise_set)
    if exercise is None:
        return replace(unreadable(exercise_set.id, f"{name}: exercise set {exercise_set.id!r} has no Python "
                                  "exercise; send your answers as JSON or YAML", exercise_set.total_points),
                       student_id=student_id)
    try:
        return bounded(grade_python(raw, name, student_id, seed, exercise=exercise,
                                    set_fingerprint=exercise_set.fingerprint))
    except (SandboxUnavailable, ExerciseDataError, UsageProblem):
        raise
    except Exception:
        log.exception("grading %s (sha256 %s) failed", name, hashlib.sha256(raw).hexdigest())
        failed = unreadable(exercise.exercise_set, f"{name}: the grader failed on this submission (an internal "
                            "error, not a problem with your file); it has been logged", exercise.max_score)
        return replace(failed, student_id=student_id)


def grade_file(path: str | os.PathLike[str]) -> GradeResult:
    """Grade the submission in the file at ``path`` (format by its suffix)."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(_MAX_FILE_BYTES + 1)  # the reader refuses what is larger, without reading it all
    except OSError as exc:
        return unreadable(DEFAULT_SET, f"{os.fspath(path)}: cannot read the file: {exc.strerror or exc}")
    return grade_bytes(raw, os.fspath(path))


__all__ = ["GRADER_VERSION", "grade_answers", "grade_bytes", "grade_file", "grade_submission"]

"""Gradescope's ``results.json`` from one grading: one Gradescope test per exercise.

The shape follows Gradescope's autograder specification ("Output format"); the JSON
Schema written from it is ``grader/schemas/gradescope_results.schema.json`` and the tests
validate this module's output against it.  A test is ``passed`` only at full marks.
All output is declared ``text`` (Gradescope's other formats, ``md`` and ``html``, would
interpret whatever a student wrote in an answer that the feedback quotes).  Expected
values appear only for parts whose ``show_expected`` allows it (the grading decided, see
:func:`grader.visibility.withheld_because`); ``extra_data`` holds ids and scores only.

Each test's own ``visibility`` follows the exercise's visibility setting (its parts',
else the set's ``meta.visibility.policy``): ``never`` is ``hidden``, ``after_attempt``
and ``always`` are ``visible``, ``after_due`` is ``after_due_date`` (``after_published``
if no due date is known).  An exercise whose parts differ takes the most restrictive.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.attempts import Assignment
from grader.exercises.model import Visibility as ExpectedVisibility
from grader.reports.text import STATUS_WORDS, clean, exercise_lines, json_default, score_text
from grader.results import ExerciseResult, GradeResult, PartResult, provisional_note, round_score

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "gradescope_results.schema.json"


class Visibility(enum.StrEnum):
    """When Gradescope shows a result (or the autograder's stdout) to the student."""

    VISIBLE = "visible"
    HIDDEN = "hidden"
    AFTER_DUE_DATE = "after_due_date"
    AFTER_PUBLISHED = "after_published"


#: The expected-value visibility settings, most restrictive first.
_RESTRICTIVE = (ExpectedVisibility.NEVER, ExpectedVisibility.AFTER_DUE, ExpectedVisibility.AFTER_ATTEMPT,
                ExpectedVisibility.ALWAYS)
#: A test's Gradescope visibility by the exercise's setting (``after_due`` with a due date).
TEST_VISIBILITY = {
    ExpectedVisibility.NEVER: Visibility.HIDDEN,
    ExpectedVisibility.AFTER_ATTEMPT: Visibility.VISIBLE,
    ExpectedVisibility.AFTER_DUE: Visibility.AFTER_DUE_DATE,
    ExpectedVisibility.ALWAYS: Visibility.VISIBLE,
}


def gradescope_results(result: GradeResult, *, visibility: Visibility | str = Visibility.VISIBLE,
                       stdout_visibility: Visibility | str = Visibility.HIDDEN,
                       test_visibility: Visibility | str | None = None,
                       execution_time: float | None = None) -> dict[str, Any]:
    """The ``results.json`` document (a dict) for one :class:`GradeResult`.

    ``visibility`` applies to the whole result, ``test_visibility`` (when given) to every
    test, else each test's follows its exercise's setting (:data:`TEST_VISIBILITY`);
    ``stdout_visibility`` is hidden by default: the grader's own output is for the
    instructor.
    """
    policy = result.meta.get("visibility") if isinstance(result.meta.get("visibility"), dict) else {}
    document: dict[str, Any] = {
        "score": _number(result.score),
        "output": _overall_output(result),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": Visibility(visibility).value,
        "stdout_visibility": Visibility(stdout_visibility).value,
        "extra_data": {"student_id": result.student_id, "exercise_set": result.exercise_set,
                       "max_score": _number(result.max_score)},
        "tests": [_test(exercise, position, test_visibility if test_visibility is not None
                        else exercise_visibility(exercise, policy))
                  for position, exercise in enumerate(result.exercises, start=1)],
    }
    if execution_time is not None:
        document["execution_time"] = max(0, round(execution_time, 3))
    return document


def render_gradescope(result: GradeResult, **options: Any) -> str:
    """:func:`gradescope_results` as JSON text (``options`` are passed through)."""
    return json.dumps(gradescope_results(result, **options), indent=2, ensure_ascii=False,
                      default=json_default) + "\n"


def gradescope_submission(graded: Sequence[tuple[Assignment, GradeResult]], **options: Any) -> dict[str, Any]:
    """One ``results.json`` for a Gradescope submission that holds the sheet, the Python answer, or both.

    The two are separate assignments (:mod:`grader.attempts`), never one replacing the
    other: the sheet's exercises are a test each, the Python answer's functions are a test
    each (``python.<function>``, as in the gradebook), and the score is their sum;
    ``extra_data.assignments`` gives each one's score and maximum.  ``options`` are
    :func:`gradescope_results`'s."""
    documents = []
    for assignment, result in graded:
        document = gradescope_results(result, **options)
        if assignment is Assignment.PYTHON:
            policy = result.meta.get("visibility") if isinstance(result.meta.get("visibility"), dict) else {}
            chosen = options.get("test_visibility")
            document["tests"] = [_function_test(exercise, part, chosen if chosen is not None else
                                                exercise_visibility(exercise, policy))
                                 for exercise in result.exercises for part in exercise.parts] or document["tests"]
        documents.append((assignment, result, document))
    if len(documents) == 1:
        return documents[0][2]
    tests = [test for _, _, document in documents for test in document["tests"]]
    for number, test in enumerate(tests, start=1):
        test["number"] = str(number)
    first = documents[0][2]
    return {
        **first,
        "score": _number(sum(r.score for _, r, _ in documents)),
        "output": "\n\n".join(f"{a.title}\n{d['output']}" for a, _, d in documents),
        "extra_data": {"student_id": first["extra_data"]["student_id"],
                       "exercise_set": first["extra_data"]["exercise_set"],
                       "max_score": _number(sum(r.max_score for _, r, _ in documents)),
                       "assignments": {a.value: {"score": _number(r.score), "max_score": _number(r.max_score)}
                                       for a, r, _ in documents}},
        "tests": tests,
    }


def _function_test(exercise: ExerciseResult, part: PartResult, visibility: Visibility | None) -> dict[str, Any]:
    """A Gradescope test for one function of the Python answer."""
    lines = [f"{score_text(part.score, part.max_score)} {STATUS_WORDS.get(part.status, str(part.status))}"]
    lines.extend(clean(line) for line in part.feedback)
    test: dict[str, Any] = {
        "name": f"python.{clean(part.id)}",
        "number": "",
        "score": _number(part.score),
        "max_score": _number(part.max_score),
        "status": "passed" if part.score >= part.max_score else "failed",
        "output": "\n".join(lines),
        "tags": [part.status.value, *(clean(f.code) for f in part.findings)],
    }
    if visibility is not None:
        test["visibility"] = Visibility(visibility).value
    return test


def _test(exercise: ExerciseResult, position: int, visibility: Visibility | str | None) -> dict[str, Any]:
    full = exercise.score >= exercise.max_score
    title = clean(exercise.title).strip()
    test: dict[str, Any] = {
        "name": f"{clean(exercise.id)}: {title}" if title else clean(exercise.id),
        "number": str(position),
        "score": _number(exercise.score),
        "max_score": _number(exercise.max_score),
        "status": "passed" if full else "failed",
        "output": _exercise_output(exercise),
        "tags": [exercise.status.value, *(clean(code) for code in exercise.diagnosis)],
    }
    if visibility is not None:
        test["visibility"] = Visibility(visibility).value
    return test


def exercise_visibility(exercise: ExerciseResult, policy: dict[str, Any]) -> Visibility | None:
    """The Gradescope visibility of an exercise's test: from its parts' settings (the most
    restrictive), else the set's ``policy`` (``meta.visibility``); ``None`` when neither says."""
    known = {v.value for v in ExpectedVisibility}
    settings = {ExpectedVisibility(p.visibility) for p in exercise.parts if p.visibility in known}
    if not settings and policy.get("policy") in known:
        settings = {ExpectedVisibility(policy["policy"])}
    if not settings:
        return None
    setting = next(v for v in _RESTRICTIVE if v in settings)
    if setting is ExpectedVisibility.AFTER_DUE and not policy.get("due"):
        return Visibility.AFTER_PUBLISHED
    return TEST_VISIBILITY[setting]


def _exercise_output(exercise: ExerciseResult) -> str:
    words = STATUS_WORDS.get(exercise.status, str(exercise.status))
    lines = [f"{score_text(exercise.score, exercise.max_score)} {words}"]
    lines.extend(exercise_lines(exercise, color=False, indent=""))
    return "\n".join(lines)


def _overall_output(result: GradeResult) -> str:
    lines = [f"Total: {score_text(result.score, result.max_score)}"
             + (f" ({provisional_note(result.awaiting_review)})" if result.awaiting_review else "")]
    if not result.readable:
        lines.append("The submission could not be read.")
    for title, items in (("Warnings", result.warnings), ("Errors", result.errors)):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"- {clean(item)}" for item in items)
    return "\n".join(lines)


def _number(value: float) -> float:
    return float(round_score(value))

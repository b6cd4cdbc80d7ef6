"""Gradescope's ``results.json`` from one grading: one Gradescope test per exercise.

The shape follows Gradescope's autograder specification ("Output format"); the JSON
Schema written from it is ``grader/schemas/gradescope_results.schema.json`` and the tests
validate this module's output against it.  A test is ``passed`` only at full marks.
All output is declared ``text`` (Gradescope's other formats, ``md`` and ``html``, would
interpret whatever a student wrote in an answer that the feedback quotes).  Expected
values appear only for parts whose ``show_expected`` allows it; ``extra_data`` holds ids
and scores only.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

from grader.reports.text import STATUS_WORDS, clean, exercise_lines, json_default, score_text
from grader.results import ExerciseResult, GradeResult, round_score

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "gradescope_results.schema.json"


class Visibility(enum.StrEnum):
    """When Gradescope shows a result (or the autograder's stdout) to the student."""

    VISIBLE = "visible"
    HIDDEN = "hidden"
    AFTER_DUE_DATE = "after_due_date"
    AFTER_PUBLISHED = "after_published"


def gradescope_results(result: GradeResult, *, visibility: Visibility | str = Visibility.VISIBLE,
                       stdout_visibility: Visibility | str = Visibility.HIDDEN,
                       test_visibility: Visibility | str | None = None,
                       execution_time: float | None = None) -> dict[str, Any]:
    """The ``results.json`` document (a dict) for one :class:`GradeResult`.

    ``visibility`` applies to the whole result, ``test_visibility`` (when given) to every
    test; ``stdout_visibility`` is hidden by default: the grader's own output is for the
    instructor.
    """
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
        "tests": [_test(exercise, position, test_visibility)
                  for position, exercise in enumerate(result.exercises, start=1)],
    }
    if execution_time is not None:
        document["execution_time"] = max(0, round(execution_time, 3))
    return document


def render_gradescope(result: GradeResult, **options: Any) -> str:
    """:func:`gradescope_results` as JSON text (``options`` are passed through)."""
    return json.dumps(gradescope_results(result, **options), indent=2, ensure_ascii=False,
                      default=json_default) + "\n"


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


def _exercise_output(exercise: ExerciseResult) -> str:
    words = STATUS_WORDS.get(exercise.status, str(exercise.status))
    lines = [f"{score_text(exercise.score, exercise.max_score)} {words}"]
    lines.extend(exercise_lines(exercise, color=False, indent=""))
    return "\n".join(lines)


def _overall_output(result: GradeResult) -> str:
    lines = [f"Total: {score_text(result.score, result.max_score)}"]
    if not result.readable:
        lines.append("The submission could not be read.")
    for title, items in (("Warnings", result.warnings), ("Errors", result.errors)):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"- {clean(item)}" for item in items)
    return "\n".join(lines)


def _number(value: float) -> float:
    return float(round_score(value))

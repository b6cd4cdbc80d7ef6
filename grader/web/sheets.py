"""A student's own sheet: the events and parameters they are graded on, never answers.

With per-student variants on (``STREAMGRADE_VARIANTS=1`` or the set's
``variation.yaml``), each student sees and is graded on their own variant; otherwise
everyone sees the set's own data context.  Both come back in the same shape
(:func:`grader.variants.sheets.sheet_document`), ``seed`` being ``None`` for the shared
sheet.  Which one is :func:`grader.variants.policy.policy_for`'s decision, the same one
grading makes.
"""

from __future__ import annotations

from typing import Any

from grader.exercises.model import ExerciseSet
from grader.variants.policy import policy_for
from grader.variants.sheets import shared_sheet_document, sheet_document


def student_sheet(base: ExerciseSet, student_id: str) -> dict[str, Any]:
    """The sheet ``student_id`` works on for ``base``."""
    variant = policy_for(base).variant_of(student_id)
    return sheet_document(variant) if variant is not None else shared_sheet_document(base, student_id)


def graded_set(base: ExerciseSet, student_id: str | None) -> ExerciseSet:
    """The set ``student_id``'s submissions are graded on (their variant, or ``base``): for timelines."""
    return policy_for(base).set_for(student_id)

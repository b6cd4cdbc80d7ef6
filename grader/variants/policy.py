"""Which exercise set a student is graded on: their own variant, or the set itself.

The one place that decides it, for grading, batch, the service and the sheet page.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from grader.exercises.model import ExerciseSet
from grader.variants.declaration import load_variation
from grader.variants.generate import Variant, reissue_of, variant_for

#: ``1``/``true``/``on`` turns variants on for every set that declares them, ``0``/``false``/``off`` off.
ENV_VAR = "STREAMGRADE_VARIANTS"


_ON = frozenset({"1", "true", "on", "yes"})


_OFF = frozenset({"0", "false", "off", "no"})


def variants_enabled(base: ExerciseSet, *, override: bool | None = None,
                     environ: Mapping[str, str] | None = None) -> bool:
    """Whether students of ``base`` are graded against their own variants.

    ``override`` (a command-line flag) wins; else ``STREAMGRADE_VARIANTS`` in the
    environment (``1``/``0``); else the variation's ``enabled``.  A set without a
    ``variation.yaml`` never has variants.  When the flag or the environment says off,
    the variation is not even read, so a broken ``variation.yaml`` cannot stop grading
    of the sheet itself.
    """
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower()
    wanted = override if override is not None else True if value in _ON else False if value in _OFF else None
    if wanted is False:
        return False
    v = load_variation(base)
    if v is None:
        return False
    return v.enabled if wanted is None else True


def exercise_set_for(student_id: str | None, base: ExerciseSet, *, enabled: bool | None = None) -> ExerciseSet:
    """The exercise set to grade ``student_id`` against: their variant, or ``base``.

    ``base`` itself when ``student_id`` is ``None`` or variants are off for the set
    (:func:`variants_enabled`; ``enabled`` is the caller's flag, ``None`` to follow the
    environment and the data).  The re-issue number comes from the variation's ``reissued``.
    """
    if not student_id or not variants_enabled(base, override=enabled):
        return base
    return variant_for(base, student_id, reissue_of(base, student_id)).exercise_set


def variant_of_student(student_id: str | None, base: ExerciseSet, *, enabled: bool | None = None) -> Variant | None:
    """The variant ``student_id`` is graded against, or ``None`` when they get the base sheet.

    The same decision as :func:`exercise_set_for`, for callers that show the sheet (the
    web page: :func:`sheet_document` / :func:`sheet_markdown` of the result, else the
    base sheet).
    """
    if not student_id or not variants_enabled(base, override=enabled):
        return None
    return variant_for(base, student_id, reissue_of(base, student_id))

"""Which exercise set a student is graded on: their own variant, or the set itself.

THE one place that decides it, for grading, the batch, the service and the sheet page:
:func:`policy_for` decides once per set (reading ``variation.yaml`` at most once), and
the :class:`VariantPolicy` it returns answers for every student.

The decision: a command-line flag (``--variants`` / ``--no-variants``, passed as
``override``) wins; else ``STREAMGRADE_VARIANTS`` in the environment (``1``/``0``); else
the variation's own ``enabled``.  A set without a ``variation.yaml`` never has variants.
When the flag or the environment says off, the variation is not even read, so a broken
``variation.yaml`` cannot stop grading of the sheet itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from grader.exercises.model import ExerciseSet
from grader.variants.declaration import VARIATION_FILE, Variation, load_variation
from grader.variants.generate import Variant, clear_variants, variant_from

#: ``1``/``true``/``on`` turns variants on for every set that declares them, ``0``/``false``/``off`` off.
ENV_VAR = "STREAMGRADE_VARIANTS"
_ON = frozenset({"1", "true", "on", "yes"})
_OFF = frozenset({"0", "false", "off", "no"})


@dataclass(frozen=True)
class VariantPolicy:
    """Whether the students of ``base`` are graded on their own variants, and on which.

    ``variation`` is the set's declaration when variants are on, ``None`` when everyone
    is graded on ``base`` itself."""

    base: ExerciseSet
    variation: Variation | None = None

    @property
    def active(self) -> bool:
        return self.variation is not None

    def variant_of(self, student_id: str | None) -> Variant | None:
        """The variant ``student_id`` is graded on (their re-issue number from the
        variation's ``reissued``), or ``None`` when they get the base sheet."""
        if self.variation is None or not student_id:
            return None
        reissue = int(self.variation.reissued.get(student_id, 0))
        return variant_from(self.base, self.variation, student_id, reissue)

    def set_for(self, student_id: str | None) -> ExerciseSet:
        """The exercise set to grade ``student_id`` against."""
        variant = self.variant_of(student_id)
        return variant.exercise_set if variant is not None else self.base


def wanted(override: bool | None = None, environ: Mapping[str, str] | None = None) -> bool | None:
    """What the caller and the environment ask for: on, off, or ``None`` (the data decides)."""
    if override is not None:
        return override
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower()
    return True if value in _ON else False if value in _OFF else None


def policy_for(base: ExerciseSet, *, override: bool | None = None,
               environ: Mapping[str, str] | None = None) -> VariantPolicy:
    """The variant policy of ``base`` (see the module's docstring for the decision).

    Remembered per set, wish and state of ``variation.yaml`` (its size and time), so
    grading a class reads the file once, and an edited file is read again."""
    want = wanted(override, environ)
    if want is False:
        return VariantPolicy(base)
    try:
        stat = (Path(base.path) / VARIATION_FILE).stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        return VariantPolicy(base)
    return _decided(base.key, want, stamp)


@lru_cache(maxsize=64)
def _decided(key, want: bool | None, stamp: tuple[int, int]) -> VariantPolicy:
    base = key.exercise_set
    variation = load_variation(base)
    if variation is None or (want is None and not variation.enabled):
        return VariantPolicy(base)
    return VariantPolicy(base, variation)


def cache_clear() -> None:
    """Forget cached decisions, variations and variants (tests, or after editing variation.yaml in place)."""
    _decided.cache_clear()
    clear_variants()

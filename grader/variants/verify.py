"""Checking N variants of a set (``streamgrade verify --variants N``).

Each variant is generated, its constraints re-checked on fresh engine runs, its
canonical answers solved, and its known mistakes shown to give answers distinct from
the correct one (a mistake a variant cannot tell apart would grade unfairly).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grader.errors import VariantGenerationError
from grader.exercises.model import ExerciseSet
from grader.variants.declaration import Variation
from grader.variants.generate import (
    check_variant,
    event_record,
    generate_variant,
    parameters_record,
    require_variation,
    variant_seed,
)


@dataclass(frozen=True)
class VariantProblem:
    student_id: str
    seed: int
    message: str


@dataclass(frozen=True)
class VariantsReport:
    """What :func:`verify_variants` found: problems (empty when every variant is good) and timings in ms."""

    set_id: str
    count: int
    problems: tuple[VariantProblem, ...]
    distinct_contexts: int
    attempts_max: int
    generate_ms_p50: float
    generate_ms_p95: float
    solve_ms_p50: float
    solve_ms_p95: float

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise_set": self.set_id, "variants": self.count, "ok": self.ok,
            "problems": [{"student_id": p.student_id, "seed": p.seed, "message": p.message} for p in self.problems],
            "distinct_contexts": self.distinct_contexts, "attempts_max": self.attempts_max,
            "generate_ms_p50": self.generate_ms_p50, "generate_ms_p95": self.generate_ms_p95,
            "solve_ms_p50": self.solve_ms_p50, "solve_ms_p95": self.solve_ms_p95,
        }

    def summary(self) -> str:
        head = (f"{self.set_id}: {self.count} variants, {self.count - len({p.student_id for p in self.problems})} "
                f"good, {self.distinct_contexts} distinct contexts; generate p50 {self.generate_ms_p50:.1f} ms, "
                f"p95 {self.generate_ms_p95:.1f} ms; solve p50 {self.solve_ms_p50:.1f} ms")
        return "\n".join([head, *(f"  {p.student_id} (seed {p.seed}): {p.message}" for p in self.problems)])


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _indistinct_mistakes(s: ExerciseSet, answers: Mapping[str, Any], v: Variation) -> list[str]:
    """Runnable mistakes whose answer equals the canonical one: diagnosis could not see them."""
    from grader.solutions.job import SolutionError
    from grader.solutions.solve import solve_part

    out = []
    for exercise in s.exercises:
        for mistake in exercise.mistakes:
            if not mistake.runnable:
                continue
            for part_id in mistake.parts:
                try:
                    value = solve_part(s, exercise.id, part_id, model=mistake.model).value
                except SolutionError as exc:
                    out.append(f"{exercise.id}.{part_id}: mistake {mistake.code} cannot be computed: {exc}")
                    continue
                if value == answers[exercise.id][part_id].value:
                    out.append(f"{exercise.id}.{part_id}: mistake {mistake.code} gives the canonical answer, "
                               "so it cannot be diagnosed")
    return out


def verify_variants(base: ExerciseSet, n: int = 200, *, student_prefix: str = "verify-",
                    check_mistakes: bool = True) -> VariantsReport:
    """Generate ``n`` variants and check each one completely.

    For each: the constraints hold on fresh engine runs, every template was filled, the
    canonical answers compute for every part of every exercise (``solve``) and none is
    missing, the variant's fingerprint is its own, and (``check_mistakes``) every runnable
    mistake of the variant's exercises gives an answer other than the canonical one, so
    diagnosis can tell it (the variation removes, in ``mistakes_not_in_variants``, those
    that cannot apply to any variant).
    ``streamgrade verify --variants N`` calls this.
    """
    from grader.solutions.job import SolutionError
    from grader.solutions.solve import solve

    problems: list[VariantProblem] = []
    gen_ms: list[float] = []
    solve_ms: list[float] = []
    contexts: set[str] = set()
    attempts = 0
    for i in range(n):
        sid = f"{student_prefix}{i:04d}"
        v = require_variation(base)
        seed = variant_seed(v, sid)
        t0 = time.perf_counter()
        try:
            variant = generate_variant(base, seed, student_id=sid)
        except VariantGenerationError as exc:
            problems.append(VariantProblem(sid, seed, str(exc)))
            continue
        gen_ms.append((time.perf_counter() - t0) * 1000)
        attempts = max(attempts, variant.attempt + 1)
        s = variant.exercise_set
        contexts.add(json.dumps([event_record(e) for e in s.context.events]) + json.dumps(parameters_record(s.context)))

        def report(message: str, sid: str = sid, seed: int = seed) -> None:
            problems.append(VariantProblem(sid, seed, message))

        for failed in check_variant(variant):
            report(f"constraint {failed} does not hold")
        if s.fingerprint == base.fingerprint:
            report("the variant has the base set's fingerprint (its answers would be the sheet's)")
        for exercise in s.exercises:
            if "${" in exercise.prompt or "${" in exercise.title:
                report(f"{exercise.id}: a placeholder is left in the title or prompt")
        t1 = time.perf_counter()
        try:
            answers = solve(s)
        except SolutionError as exc:
            report(f"solve failed: {exc}")
            continue
        solve_ms.append((time.perf_counter() - t1) * 1000)
        for exercise in s.exercises:
            for part in exercise.parts:
                canonical = answers.get(exercise.id, {}).get(part.id)
                if canonical is None or canonical.value is None:
                    report(f"{exercise.id}.{part.id}: no canonical answer")
        if check_mistakes:
            for message in _indistinct_mistakes(s, answers, variant.variation):
                report(message)
    return VariantsReport(
        set_id=base.id, count=n, problems=tuple(problems), distinct_contexts=len(contexts), attempts_max=attempts,
        generate_ms_p50=_percentile(gen_ms, 0.5), generate_ms_p95=_percentile(gen_ms, 0.95),
        solve_ms_p50=_percentile(solve_ms, 0.5), solve_ms_p95=_percentile(solve_ms, 0.95),
    )

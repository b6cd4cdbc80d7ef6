"""Solving a set: each part's canonical answer, under every profile when it depends on one.

Results are cached per exercise set fingerprint (all of the set's data), so the grader
can ask for every submission; callers get fresh copies, never the cached objects.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from grader.exercises.model import ExerciseSet, SetKey
from grader.exercises.vocabulary import CONFIG_KEYS, QUERIES
from grader.frozen import thaw
from grader.solutions.catalogue import SOLVERS
from grader.solutions.job import Answer, Job, SolutionError, engine_run, job_settings
from reference.profiles import PROFILES


@dataclass(frozen=True)
class Canonical:
    """The canonical answer of one part.

    ``value`` is JSON-ready, in the submission format's spelling.  ``derivation`` is a
    few sentences naming the events, windows, watermarks and the profile's rule.
    ``depends_on_profile`` says whether another profile of ``PROFILES`` gives a different
    value; then ``by_profile`` maps every profile name to its value.  ``profile`` is the
    profile the value is for.
    """

    value: Any
    derivation: tuple[str, ...]
    depends_on_profile: bool = False
    by_profile: Mapping[str, Any] | None = None
    profile: str = ""


def _compute(exercise_set: ExerciseSet, exercise_id: str, part_id: str, model: Mapping[str, Any] | None,
             profile: str | None) -> Answer:
    exercise = exercise_set.exercise(exercise_id)
    part = exercise.part(part_id)
    query = QUERIES[part.solution.query]
    model = model or {}
    # A mistake's model covers all its parts: an argument of another query (final_row's
    # window_of beside final_sum) does not apply to this part; a name no query knows is an error.
    unknown = [k for k in model if k not in CONFIG_KEYS and not any(k in q.params for q in QUERIES.values())]
    if unknown:
        raise SolutionError(f"{exercise_set.id} {exercise_id}.{part_id}: the model overrides unknown settings "
                            f"{', '.join(unknown)}")
    args = query.defaults()
    args.update(thaw(part.solution.args))
    args.update({k: thaw(v) for k, v in model.items() if k in query.params})
    layers: list[Mapping[str, Any]] = [part.solution.config, model]
    if profile is not None:
        layers.append({"profile": profile})
    try:
        settings = job_settings(exercise_set.context, *layers)
        return SOLVERS[query.name](Job(exercise_set.context, part, args, settings))
    except (ValueError, KeyError, StopIteration) as exc:
        raise SolutionError(f"{exercise_set.id} {exercise_id}.{part_id} ({query.name}): {exc}") from None


def _canonical(exercise_set: ExerciseSet, exercise_id: str, part_id: str) -> Canonical:
    part = exercise_set.exercise(exercise_id).part(part_id)
    query = QUERIES[part.solution.query]
    answer = _compute(exercise_set, exercise_id, part_id, None, None)
    profile = job_settings(exercise_set.context, part.solution.config).profile.name
    if not query.engine or "profile" in part.solution.config:
        return Canonical(answer.value, answer.derivation, False, None, profile)
    by_profile = {
        name: answer.value if name == profile else _compute(exercise_set, exercise_id, part_id, None, name).value
        for name in PROFILES
    }
    if all(v == answer.value for v in by_profile.values()):
        return Canonical(answer.value, answer.derivation, False, None, profile)
    same = [n for n, v in by_profile.items() if v == answer.value]
    others = "; ".join(f"{n}: {json.dumps(v)}" for n, v in by_profile.items() if v != answer.value)
    note = f"This answer depends on the profile: {', '.join(same)} give it; {others}."
    return Canonical(answer.value, (*answer.derivation, note), True, by_profile, profile)


@lru_cache(maxsize=1024)
def _solve_cached(key: SetKey) -> dict[str, dict[str, Canonical]]:
    s = key.exercise_set
    return {ex.id: {p.id: _canonical(s, ex.id, p.id) for p in ex.parts} for ex in s.exercises}


@lru_cache(maxsize=1024)
def _solve_part_cached(key: SetKey, exercise_id: str, part_id: str, model_json: str, profile: str | None) -> Canonical:
    answer = _compute(key.exercise_set, exercise_id, part_id, json.loads(model_json), profile)
    part = key.exercise_set.exercise(exercise_id).part(part_id)
    layers = [part.solution.config, json.loads(model_json)] + ([{"profile": profile}] if profile else [])
    profile_name = job_settings(key.exercise_set.context, *layers).profile.name
    return Canonical(answer.value, answer.derivation, False, None, profile_name)


def solve(exercise_set: ExerciseSet) -> dict[str, dict[str, Canonical]]:
    """The canonical answer of every part: ``{exercise_id: {part_id: Canonical}}``.

    Computed once per exercise set fingerprint (set data and parameters); each call
    returns a fresh deep copy, so a caller may modify what it gets.
    """
    return copy.deepcopy(_solve_cached(exercise_set.key))


def solve_part(exercise_set: ExerciseSet, exercise_id: str, part_id: str, *,
               model: Mapping[str, Any] | None = None, profile: str | None = None) -> Canonical:
    """The canonical answer of one part, or the answer under a mistaken model or another profile.

    ``model`` is a mistake's ``model`` (engine settings from ``CONFIG_KEYS`` and the
    query's arguments); ``profile`` names a profile of ``PROFILES``.  With neither, this
    is ``solve(exercise_set)[exercise_id][part_id]``.  Raises ``KeyError`` for an unknown
    exercise or part and :class:`SolutionError` when the answer cannot be computed.
    """
    exercise_set.exercise(exercise_id).part(part_id)
    key = exercise_set.key
    if not model and profile is None:
        return copy.deepcopy(_solve_cached(key)[exercise_id][part_id])
    model_json = json.dumps(thaw(model or {}), sort_keys=True)
    return copy.deepcopy(_solve_part_cached(key, exercise_id, part_id, model_json, profile))


def cache_clear() -> None:
    """Forget every cached answer and engine run (tests, or after editing exercise data in place)."""
    _solve_cached.cache_clear()
    _solve_part_cached.cache_clear()
    engine_run.cache_clear()

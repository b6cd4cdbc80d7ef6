"""Generating a student's variant: a seed, a drawn candidate, its own exercise set.

A variant is generated from a seed derived with SHA-256 from the set, the student id and
a re-issue number (never Python's ``hash()``, which changes between processes), so the
same student always gets the same variant.  Generation draws a candidate from the seed,
runs the reference engine on it and checks every declared constraint on the runs; a
candidate that fails is thrown away and the next sub-seed is tried, at most
``max_tries`` times.

A :class:`Variant` holds an ordinary frozen :class:`~grader.exercises.model.ExerciseSet`
whose context carries the variant's events and parameters and whose fingerprint is its
own, so the solver computes (and caches) that variant's canonical answers like any
set's.  Errata are dropped in a variant: they explain the sheet's published key, which
was written for the sheet's data, not the variant's.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from typing import Any

from grader.errors import VariantGenerationError, VariationError
from grader.exercises.model import ExerciseSet, Scale, SetKey
from grader.frozen import freeze, thaw
from grader.variants.constraints import CONSTRAINTS, Draft, probe_draft
from grader.variants.declaration import VARIATION_FILE, Variation, load_variation, read_variation
from grader.variants.symbols import render, symbols_of
from reference.events import Event
from reference.profiles import Profile
from reference.serialize import decimal_json
from reference.timestamps import MINUTE, Ticks, format_time
from reference.windows import Window


def variant_seed(variation: Variation, student_id: str, reissue: int = 0) -> int:
    """The stable seed of a student's variant: SHA-256 of salt, set, student id and re-issue."""
    text = "\x1f".join([variation.seed_salt, variation.exercise_set, student_id, str(reissue)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _sub_seed(seed: int, attempt: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{attempt}".encode()).digest()[:8], "big")


def _draw(v: Variation, rng: random.Random) -> Draft:
    size = rng.choice(v.window_sizes)
    size_min = size // MINUTE
    delays = [d for d in v.watermark_delays if d < size] or list(v.watermark_delays)
    delay = rng.choice(delays)
    users = rng.sample(v.user_ids, rng.randint(*v.user_count))
    n_on = rng.randint(*v.on_time)
    # n1 clicks in W1 (one minute of W1 is kept free for the late click), n2 in W2, then the boundary click.
    n1_hi = max(min(v.in_first_window[1], n_on - 2, size_min - 1), 1)
    n1 = rng.randint(min(v.in_first_window[0], n1_hi), n1_hi)
    n2 = max(n_on - 1 - n1, 1)
    lo = -(-v.first_window_start[0] // size) * size
    starts = range(lo, v.first_window_start[1] + 1, size) or range(lo, lo + 1)
    w1 = Window(rng.choice(starts), 0)
    w1 = Window(w1.start, w1.start + size)
    minutes1 = sorted(rng.sample(range(size_min), min(n1, size_min)))
    # The first click of W2 comes before W1 fires (offset < delay), so a user can hold two windows.
    first2 = rng.randrange(max(delay // MINUTE, 1))
    rest2 = [m for m in range(size_min) if m != first2]
    minutes2 = sorted([first2, *rng.sample(rest2, min(n2 - 1, len(rest2)))])
    users1 = [users[i % len(users)] for i in range(len(minutes1))]
    rng.shuffle(users1)
    users2 = [rng.choice(users1)] + [rng.choice(users) for _ in minutes2[1:]]
    boundary_user = rng.choice(users2)
    times = [w1.start + m * MINUTE for m in minutes1] + [w1.end + m * MINUTE for m in minutes2] + [w1.end + size]
    owners = users1 + users2 + [boundary_user]
    on_time = tuple(
        Event(f"{v.id_prefix}{i + 1}", owners[i], t, Decimal(rng.randint(*v.amount))) for i, t in enumerate(times)
    )
    free = [m for m in range(size_min) if m not in minutes1]
    late_time = w1.start + rng.choice(free) * MINUTE
    late = Event(f"{v.id_prefix}{len(on_time) + 1}", rng.choice(users1), late_time, Decimal(rng.randint(*v.amount)))
    lateness = rng.choice(v.allowed_latenesses)
    if v.late_arrival == "at_expiry":
        # Arrive right after a click whose watermark M - B is exactly end + L, for an L on offer.
        options = [(j, e.event_time - delay - w1.end) for j, e in enumerate(on_time)
                   if e.event_time - delay - w1.end in v.allowed_latenesses]
        j, lateness = rng.choice(options) if options else (len(on_time) - 1, lateness)
    else:
        # Late (W1 has fired: M >= end + B) but inside the lateness (M - B < end + L).
        options = [j for j, e in enumerate(on_time) if w1.end + delay <= e.event_time < w1.end + delay + lateness]
        j = rng.choice(options) if options else len(on_time) - 1
    scale = Scale(rng.choice(v.events_per_day), rng.choice(v.scale_users), rng.choice(v.bytes_per_window))
    return Draft(on_time, late, j, size, delay, lateness, w1, scale)


def failed_constraints(v: Variation, d: Draft, profile: Profile) -> list[str]:
    runs = probe_draft(d, profile)
    return [c.id for c in v.constraints if not CONSTRAINTS[c.id](d, runs, v.late_arrival)]


@dataclass(frozen=True)
class Variant:
    """One student's variant: the seed it came from and the exercise set to solve and grade with.

    ``exercise_set`` is a complete set (its own context, prompts, solution arguments,
    mistake feedback and fingerprint; no errata, and without the mistakes the variation
    lists in ``mistakes_not_in_variants``); ``solve(variant.exercise_set)`` gives the variant's canonical answers.
    ``attempt`` is the sub-seed index whose candidate met every constraint.  ``symbols``
    are the values the templates were filled with (they include figures that are answers:
    never show them to a student as such).
    """

    set_id: str
    student_id: str | None
    reissue: int
    seed: int
    attempt: int
    exercise_set: ExerciseSet
    late_event_id: str
    late_after: str
    symbols: Mapping[str, Any]
    variation: Variation = field(repr=False, compare=False)

    @property
    def context(self):
        return self.exercise_set.context


def _variant_set(base: ExerciseSet, v: Variation, d: Draft, symbols: Mapping[str, Any]) -> ExerciseSet:
    context = replace(base.context, events=d.events, window_size=d.window_size,
                      watermark_delay=d.watermark_delay, allowed_lateness=d.allowed_lateness, scale=d.scale)
    rendered: dict[str, Any] = {}
    exercises = []
    for exercise in base.exercises:
        spec = thaw(v.render.get(exercise.id, {}))
        out = render(spec, symbols) if spec else {}
        rendered[exercise.id] = out
        args = out.get("args") or {}
        answers = out.get("model_answers") or {}
        parts = tuple(
            replace(
                part,
                solution=replace(part.solution, args=freeze({**thaw(part.solution.args), **args[part.id]}))
                if part.id in args else part.solution,
                model_answer=freeze(answers[part.id]) if part.id in answers else part.model_answer,
            )
            for part in exercise.parts
        )
        feedback = out.get("feedback") or {}
        mistakes = tuple(replace(m, feedback=feedback[m.code]) if m.code in feedback else m for m in exercise.mistakes
                         if f"{exercise.id}.{m.code}" not in v.mistakes_not_in_variants)
        exercises.append(replace(exercise, title=out.get("title", exercise.title),
                                 prompt=out.get("prompt", exercise.prompt), parts=parts,
                                 mistakes=mistakes, errata=()))
    data = {
        "base": base.fingerprint,
        "events": [event_record(e) for e in d.events],
        "parameters": parameters_record(context),
        "scale": scale_record(d.scale),
        "rendered": rendered,
    }
    fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return replace(base, context=context, exercises=tuple(exercises), fingerprint=fingerprint)


def event_record(e: Event) -> dict[str, Any]:
    return {"event_id": e.event_id, "user_id": e.user_id, "event_time": format_time(e.event_time),
            "amount": decimal_json(e.amount)}


def _minutes_text(ticks: Ticks) -> str:
    return f"{ticks // MINUTE}m" if ticks % MINUTE == 0 else f"{ticks}ms"


def parameters_record(context) -> dict[str, Any]:
    return {"window": "tumbling", "window_size": _minutes_text(context.window_size),
            "watermark_delay": _minutes_text(context.watermark_delay),
            "allowed_lateness": _minutes_text(context.allowed_lateness), "profile": context.profile.name}


def scale_record(scale: Scale) -> dict[str, int]:
    return {"events_per_day": scale.events_per_day, "users": scale.users, "bytes_per_window": scale.bytes_per_window}


def require_variation(base: ExerciseSet) -> Variation:
    v = load_variation(base)
    if v is None:
        raise VariationError(str(base.path), [f"{base.id} declares no variants (no {VARIATION_FILE})"])
    return v


def generate_variant(base: ExerciseSet, seed: int, *, student_id: str | None = None, reissue: int = 0,
                     variation: Variation | None = None) -> Variant:
    """Generate the variant of ``base`` for ``seed``: draw, run the engine, check, retry.

    Sub-seeds ``0, 1, ...`` are tried until a candidate satisfies every constraint of the
    variation (``variation``, else the set's, read now); after ``max_tries`` a
    :class:`VariantGenerationError` names the constraints that failed most.
    """
    v = variation if variation is not None else require_variation(base)
    failures: Counter[str] = Counter()
    for attempt in range(v.max_tries):
        draft = _draw(v, random.Random(_sub_seed(seed, attempt)))
        runs = probe_draft(draft, base.context.profile)
        failed = [c.id for c in v.constraints if not CONSTRAINTS[c.id](draft, runs, v.late_arrival)]
        if failed:
            failures.update(failed)
            continue
        symbols = symbols_of(draft, runs, v.late_arrival)
        return Variant(
            set_id=base.id, student_id=student_id, reissue=reissue, seed=seed, attempt=attempt,
            exercise_set=_variant_set(base, v, draft, symbols), late_event_id=draft.late.event_id,
            late_after=draft.on_time[draft.late_after].event_id, symbols=freeze(symbols), variation=v,
        )
    listing = ", ".join(f"{name} ({count}x)" for name, count in failures.most_common())
    raise VariantGenerationError(
        f"{base.id}: no variant for seed {seed} satisfies the constraints of {VARIATION_FILE} in "
        f"{v.max_tries} tries; failed: {listing}. Widen the ranges in {v.path} or raise max_tries."
    )


def variant_for(base: ExerciseSet, student_id: str, reissue: int = 0) -> Variant:
    """The variant of ``student_id`` (stable: the same student and re-issue always get the same one)."""
    return variant_from(base, require_variation(base), student_id, reissue)


def variant_from(base: ExerciseSet, variation: Variation, student_id: str, reissue: int = 0) -> Variant:
    """The variant of ``student_id`` under a variation already read (no file is read again)."""
    if not isinstance(student_id, str) or not student_id:
        raise ValueError("a variant needs a non-empty student id")
    return _variant_cached(base.key, _VariationKey(variation.digest, variation), student_id, reissue)


@dataclass(frozen=True)
class _VariationKey:
    """A variation as a cache key: equal and hashed by its file's digest only."""

    digest: str
    variation: Variation = field(compare=False, hash=False)


@lru_cache(maxsize=4096)
def _variant_cached(key: SetKey, vkey: _VariationKey, student_id: str, reissue: int) -> Variant:
    seed = variant_seed(vkey.variation, student_id, reissue)
    return generate_variant(key.exercise_set, seed, student_id=student_id, reissue=reissue, variation=vkey.variation)


def check_variant(variant: Variant) -> list[str]:
    """Re-check a variant's constraints on fresh engine runs of its own context (empty when all hold)."""
    v = variant.variation
    ctx = variant.exercise_set.context
    late_index = next(i for i, e in enumerate(ctx.events) if e.event_id == variant.late_event_id)
    on_time = tuple(e for e in ctx.events if e.event_id != variant.late_event_id)
    late = ctx.events[late_index]
    size = ctx.window_size
    start = late.event_time - late.event_time % size
    draft = Draft(on_time, late, late_index - 1, size, ctx.watermark_delay, ctx.allowed_lateness,
                   Window(start, start + size), ctx.scale)
    return failed_constraints(v, draft, ctx.profile)


def clear_variants() -> None:
    """Forget cached variations and variants (the policy's :func:`~grader.variants.policy.cache_clear`)."""
    read_variation.cache_clear()
    _variant_cached.cache_clear()

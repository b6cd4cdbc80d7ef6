"""Per-student variants of an exercise set: same exercises, each student's own data.

An exercise set may declare, in ``variation.yaml`` next to its ``context.yaml``, how its
data context may vary (users, clicks, times, amounts, which click is late and when it
arrives, window size, watermark delay, allowed lateness, scale figures), which
constraints keep the exercises meaningful, and how prompts, solution arguments, mistake
feedback and model answers read for a variant (``${name}`` templates over
:data:`SYMBOLS`).

A variant is generated from a seed derived with SHA-256 from the set, the student id and
a re-issue number (never Python's ``hash()``, which changes between processes), so the
same student always gets the same variant.  Generation draws a candidate from the seed,
runs the reference engine on it and checks every declared constraint on the runs; a
candidate that fails is thrown away and the next sub-seed is tried, at most
``max_tries`` times.

A :class:`Variant` holds an ordinary frozen :class:`~grader.exercise_sets.ExerciseSet`
whose context carries the variant's events and parameters and whose fingerprint is its
own, so :func:`grader.solutions.solve` computes (and caches) that variant's canonical
answers like any set's.  Errata are dropped in a variant: they explain the sheet's
published key, which was written for the sheet's data, not the variant's.

Entry points for other areas:

- :func:`exercise_set_for` (grading, batch, service): the set to grade a student against.
- :func:`variant_for` / :func:`generate_variant`: one variant.
- :func:`verify_variants` (``streamgrade verify --variants N``): N variants checked.
- :func:`find_matching_variant` (batch summary): whose variant a submission fits.
- :func:`sheet_markdown` / :func:`sheet_document`: a student's sheet, as text or JSON data.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import string
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from grader.errors import GraderError, VariationError
from grader.exercises.fields import json_path
from grader.exercises.load import SCHEMA_DIR
from grader.exercises.model import ExerciseSet, Scale
from grader.frozen import freeze, thaw
from reference.config import LatePolicy, RunConfig
from reference.engine import run as run_engine
from reference.events import Event
from reference.profiles import Profile, get_profile
from reference.results import EmissionKind, LateOutcome, Run, Timing
from reference.serialize import decimal_json, decimal_text
from reference.timestamps import MINUTE, Ticks, format_time, parse_duration, parse_time
from reference.windows import Tumbling, Window

VARIATION_FILE = "variation.yaml"
VARIATION_SCHEMA = "variation.schema.json"
#: ``1``/``true``/``on`` turns variants on for every set that declares them, ``0``/``false``/``off`` off.
ENV_VAR = "STREAMGRADE_VARIANTS"
#: The profile a late click is compared with: it admits at exactly end + allowed lateness.
BOUNDARY_PROFILE = "beam-python"
_ON = frozenset({"1", "true", "on", "yes"})
_OFF = frozenset({"0", "false", "off", "no"})


class VariantGenerationError(GraderError):
    """No candidate satisfied the constraints within ``max_tries``; names the constraints that failed."""


# -- the declaration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Constraint:
    id: str
    description: str


@dataclass(frozen=True)
class Variation:
    """``variation.yaml`` as a frozen value (durations and times in integer milliseconds)."""

    path: Path
    digest: str
    exercise_set: str
    enabled: bool
    seed_salt: str
    max_tries: int
    reissued: Mapping[str, int]
    user_count: tuple[int, int]
    user_ids: tuple[str, ...]
    on_time: tuple[int, int]
    in_first_window: tuple[int, int]
    amount: tuple[int, int]
    first_window_start: tuple[Ticks, Ticks]
    id_prefix: str
    window_sizes: tuple[Ticks, ...]
    watermark_delays: tuple[Ticks, ...]
    allowed_latenesses: tuple[Ticks, ...]
    late_arrival: str
    events_per_day: tuple[int, ...]
    scale_users: tuple[int, ...]
    bytes_per_window: tuple[int, ...]
    constraints: tuple[Constraint, ...]
    render: Mapping[str, Any]
    mistakes_not_in_variants: frozenset[str] = frozenset()


def load_variation(base: ExerciseSet) -> Variation | None:
    """The variation declared next to ``base``'s ``context.yaml``, or ``None`` when there is none.

    Raises :class:`VariationError` listing every problem (schema, unknown constraints,
    templates naming unknown exercises, parts, mistakes or symbols, data parts left
    without a rendering of their arguments).
    """
    path = Path(base.path) / VARIATION_FILE
    if not path.is_file():
        return None
    raw_bytes = path.read_bytes()
    return _load_variation(str(path), hashlib.sha256(raw_bytes).hexdigest(), base.fingerprint, _key(base))


@dataclass(frozen=True)
class _BaseKey:
    """An exercise set as a cache key: equal and hashed by its fingerprint only."""

    fingerprint: str
    exercise_set: ExerciseSet = field(compare=False, hash=False)


def _key(exercise_set: ExerciseSet) -> _BaseKey:
    return _BaseKey(exercise_set.fingerprint, exercise_set)


@lru_cache(maxsize=8)
def _load_variation(path_text: str, digest: str, fingerprint: str, key: _BaseKey) -> Variation:
    path = Path(path_text)
    base = key.exercise_set
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise VariationError(str(path), [f"{VARIATION_FILE}: {exc}"]) from None
    schema = json.loads((SCHEMA_DIR / VARIATION_SCHEMA).read_text(encoding="utf-8"))
    errors = sorted(Draft202012Validator(schema).iter_errors(raw), key=lambda e: list(e.absolute_path))
    problems = [f"{VARIATION_FILE}: {json_path(e.absolute_path) or '(top)'}: {e.message}" for e in errors]
    if problems:
        raise VariationError(str(path), problems)
    problems += _semantic_problems(raw, base)
    if problems:
        raise VariationError(str(path), problems)
    ev, params, scale = raw["events"], raw["parameters"], raw["scale"]
    return Variation(
        path=path,
        digest=digest,
        exercise_set=raw["exercise_set"],
        enabled=raw["enabled"],
        seed_salt=raw["seed_salt"],
        max_tries=raw["max_tries"],
        reissued=freeze(dict(raw.get("reissued") or {})),
        user_count=(raw["users"]["count"]["min"], raw["users"]["count"]["max"]),
        user_ids=tuple(raw["users"]["ids"]),
        on_time=(ev["on_time"]["min"], ev["on_time"]["max"]),
        in_first_window=(ev["in_first_window"]["min"], ev["in_first_window"]["max"]),
        amount=(ev["amount"]["min"], ev["amount"]["max"]),
        first_window_start=(parse_time(ev["first_window_start"]["earliest"]),
                            parse_time(ev["first_window_start"]["latest"])),
        id_prefix=ev.get("id_prefix", "e"),
        window_sizes=tuple(parse_duration(d) for d in params["window_size"]),
        watermark_delays=tuple(parse_duration(d) for d in params["watermark_delay"]),
        allowed_latenesses=tuple(parse_duration(d) for d in params["allowed_lateness"]),
        late_arrival=params["late_arrival"],
        events_per_day=tuple(scale["events_per_day"]),
        scale_users=tuple(scale["users"]),
        bytes_per_window=tuple(scale["bytes_per_window"]),
        constraints=tuple(Constraint(c["id"], c["description"]) for c in raw["constraints"]),
        render=freeze(raw["render"]),
        mistakes_not_in_variants=frozenset(raw.get("mistakes_not_in_variants") or ()),
    )


def _semantic_problems(raw: Mapping[str, Any], base: ExerciseSet) -> list[str]:
    from grader.exercises.vocabulary import QUERIES

    out: list[str] = []
    where = VARIATION_FILE
    if raw["exercise_set"] != base.id:
        out.append(f"{where}: exercise_set: {raw['exercise_set']!r} is not this set ({base.id!r})")
    for name in ("users.count", "events.on_time", "events.in_first_window", "events.amount"):
        section, key = name.split(".")
        r = raw[section][key]
        if r["min"] > r["max"]:
            out.append(f"{where}: {name}: min {r['min']} is more than max {r['max']}")
    if raw["users"]["count"]["max"] > len(raw["users"]["ids"]):
        out.append(f"{where}: users.count.max: more users than ids ({len(raw['users']['ids'])})")
    if raw["events"]["amount"]["min"] < 1:
        out.append(f"{where}: events.amount.min: amounts must be positive (a late click must change a sum)")
    for i, c in enumerate(raw["constraints"]):
        if c["id"] not in CONSTRAINTS:
            out.append(f"{where}: constraints[{i}].id: unknown constraint {c['id']!r} "
                       f"(known: {', '.join(sorted(CONSTRAINTS))})")
    for i, name in enumerate(raw.get("mistakes_not_in_variants") or ()):
        ex_id, _, code = name.partition(".")
        try:
            known = {m.code for m in base.exercise(ex_id).mistakes}
        except KeyError:
            known = set()
        if code not in known:
            out.append(f"{where}: mistakes_not_in_variants[{i}]: no mistake {name!r} (write exercise.code)")
    rendered_args: dict[tuple[str, str], set[str]] = {}
    for ex_id, spec in raw["render"].items():
        try:
            exercise = base.exercise(ex_id)
        except KeyError:
            out.append(f"{where}: render.{ex_id}: no exercise {ex_id!r} in {base.id}")
            continue
        part_ids = {p.id for p in exercise.parts}
        codes = {m.code for m in exercise.mistakes}
        for text_path, text in _templates(spec, f"render.{ex_id}"):
            out.extend(f"{where}: {text_path}: {p}" for p in _template_problems(text))
        for part_id, args in (spec.get("args") or {}).items():
            if part_id not in part_ids:
                out.append(f"{where}: render.{ex_id}.args.{part_id}: no part {part_id!r} in {ex_id}")
                continue
            params = QUERIES[exercise.part(part_id).solution.query].params
            for name in args:
                if name not in params:
                    out.append(f"{where}: render.{ex_id}.args.{part_id}.{name}: not an argument of query "
                               f"{exercise.part(part_id).solution.query}")
            rendered_args[(ex_id, part_id)] = set(args)
        for code in spec.get("feedback") or {}:
            if code not in codes:
                out.append(f"{where}: render.{ex_id}.feedback.{code}: no mistake {code!r} in {ex_id}")
        for part_id, answer in (spec.get("model_answers") or {}).items():
            if part_id not in part_ids:
                out.append(f"{where}: render.{ex_id}.model_answers.{part_id}: no part {part_id!r} in {ex_id}")
            elif exercise.part(part_id).model_answer is None:
                out.append(f"{where}: render.{ex_id}.model_answers.{part_id}: the part has no model answer")
            elif isinstance(answer, list) != exercise.part(part_id).is_list_field:
                out.append(f"{where}: render.{ex_id}.model_answers.{part_id}: give a list exactly when the "
                           "field has [*]")
    # A part whose arguments name the sheet's events or times would silently keep the
    # sheet's data in every variant: each such argument must be rendered.
    for exercise in base.exercises:
        for part in exercise.parts:
            query = QUERIES[part.solution.query]
            data_args = {a for a in part.solution.args if a in (*query.event_params, *query.time_params)}
            missing = data_args - rendered_args.get((exercise.id, part.id), set())
            if missing:
                out.append(f"{where}: render.{exercise.id}.args.{part.id}: the sheet's "
                           f"{', '.join(sorted(missing))} must be given for a variant")
    return out


def _templates(spec: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str):
            found.append((path, value))
        elif isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")

    walk(spec, where)
    return found


def _template_problems(text: str) -> list[str]:
    out = []
    for match in string.Template.pattern.finditer(text):
        name = match.group("named") or match.group("braced")
        if match.group("invalid") is not None:
            out.append(f"a '$' that is not a ${{name}} placeholder at character {match.start()}")
        elif name is not None and name not in SYMBOLS:
            out.append(f"unknown placeholder ${{{name}}} (known: {', '.join(sorted(SYMBOLS))})")
    return out


# -- seeds -------------------------------------------------------------------------------------------


def variant_seed(variation: Variation, student_id: str, reissue: int = 0) -> int:
    """The stable seed of a student's variant: SHA-256 of salt, set, student id and re-issue."""
    text = "\x1f".join([variation.seed_salt, variation.exercise_set, student_id, str(reissue)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _sub_seed(seed: int, attempt: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{attempt}".encode()).digest()[:8], "big")


# -- drawing a candidate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    """A candidate context before its constraints are checked."""

    on_time: tuple[Event, ...]
    late: Event
    late_after: int  # index into on_time: the late click arrives right after this one
    window_size: Ticks
    watermark_delay: Ticks
    allowed_lateness: Ticks
    w1: Window
    scale: Scale

    @property
    def events(self) -> tuple[Event, ...]:
        """All clicks in arrival order."""
        return (*self.on_time[: self.late_after + 1], self.late, *self.on_time[self.late_after + 1:])

    @property
    def w2(self) -> Window:
        return Window(self.w1.end, self.w1.end + self.window_size)

    @property
    def boundary(self) -> Event:
        return self.on_time[-1]

    @property
    def late_arrival(self) -> int:
        return self.late_after + 1


def _draw(v: Variation, rng: random.Random) -> _Draft:
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
    return _Draft(on_time, late, j, size, delay, lateness, w1, scale)


# -- engine probes and constraints ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Probe:
    """The engine runs every constraint reads (the variant's profile unless named)."""

    on_time: Run  # on-time clicks only, no allowed lateness, policy update
    dropping: Run  # every click in arrival order, no allowed lateness, policy drop
    late: Run  # every click, the allowed lateness, policy retract
    late_boundary: Run  # as `late`, under BOUNDARY_PROFILE


def _probe(d: _Draft, profile: Profile) -> _Probe:
    def config(lateness: Ticks, policy: LatePolicy, p: Profile = profile) -> RunConfig:
        return RunConfig(windows=Tumbling(d.window_size), watermark_delay=d.watermark_delay,
                         allowed_lateness=lateness, late_policy=policy, profile=p)

    return _Probe(
        on_time=run_engine(d.on_time, config(0, LatePolicy.UPDATE)),
        dropping=run_engine(d.events, config(0, LatePolicy.DROP)),
        late=run_engine(d.events, config(d.allowed_lateness, LatePolicy.RETRACT)),
        late_boundary=run_engine(d.events, config(d.allowed_lateness, LatePolicy.RETRACT,
                                                  get_profile(BOUNDARY_PROFILE))),
    )


def _windows_with_rows(run: Run) -> dict[Window, set[str]]:
    found: dict[Window, set[str]] = {}
    for e in run.emissions:
        if e.kind is not EmissionKind.RETRACT:
            found.setdefault(e.window, set()).update(e.event_ids)
    return found


def _c_distinct_event_times(d: _Draft, p: _Probe, late_arrival: str) -> bool:
    return len({e.event_time for e in d.events}) == len(d.events)


def _c_on_time_order(d: _Draft, p: _Probe, late_arrival: str) -> bool:
    times = [e.event_time for e in d.on_time]
    return all(a < b for a, b in itertools.pairwise(times))


def _c_two_windows_and_boundary(d: _Draft, p: _Probe, late_arrival: str) -> bool:
    windows = _windows_with_rows(p.on_time)
    w3 = Window(d.w2.end, d.w2.end + d.window_size)
    return (set(windows) == {d.w1, d.w2, w3} and windows[w3] == {d.boundary.event_id}
            and d.boundary.event_time == d.w2.end)


def _c_boundary_user_in_second_window(d: _Draft, p: _Probe, late_arrival: str) -> bool:
    return bool(p.on_time.emissions_for(d.w2, d.boundary.user_id))


def _c_two_users_in_first_window(d: _Draft, p: _Probe, late_arrival: str) -> bool:
    keys = {e.key for e in p.on_time.emissions_for(d.w1)}
    return len(keys) >= 2 and d.late.user_id in keys


def _c_key_with_two_live_windows(d: _Draft, p: _Probe, late_arrival: str) -> bool:
    return p.on_time.max_windows_per_key >= 2


def _c_first_window_fires_on_time(d: _Draft, p: _Probe, late_arrival: str) -> bool:
    first = p.dropping.first_emission(d.w1)
    return (first is not None and first.timing is Timing.ON_TIME and first.on_arrival is not None
            and first.on_arrival < d.late_arrival and first.cause != d.late.event_id)


def _late_outcome(run: Run, d: _Draft) -> LateOutcome | None:
    return next((x.outcome for x in run.late if x.event.event_id == d.late.event_id), None)


def _c_late_dropped_without_lateness(d: _Draft, p: _Probe, late_arrival: str) -> bool:
    return _late_outcome(p.dropping, d) is LateOutcome.DROPPED


def _corrects_row(run: Run, d: _Draft) -> bool:
    caused = [e for e in run.emissions if e.on_arrival == d.late_arrival and e.window == d.w1
              and e.key == d.late.user_id]
    return ({e.kind for e in caused} >= {EmissionKind.RETRACT}
            and any(e.kind is not EmissionKind.RETRACT for e in caused))


def _c_late_event_outcome(d: _Draft, p: _Probe, late_arrival: str) -> bool:
    main, other = _late_outcome(p.late, d), _late_outcome(p.late_boundary, d)
    if late_arrival == "at_expiry":
        return main is LateOutcome.DROPPED and other is LateOutcome.ADMITTED
    return (main is LateOutcome.ADMITTED and other is LateOutcome.ADMITTED
            and _corrects_row(p.late, d) and _corrects_row(p.late_boundary, d))


#: Every constraint a variation may name, checked on the engine runs of a candidate.
CONSTRAINTS: Mapping[str, Callable[[_Draft, _Probe, str], bool]] = {
    "distinct_event_times": _c_distinct_event_times,
    "on_time_in_event_time_order": _c_on_time_order,
    "two_windows_and_boundary": _c_two_windows_and_boundary,
    "boundary_user_in_second_window": _c_boundary_user_in_second_window,
    "two_users_in_first_window": _c_two_users_in_first_window,
    "key_with_two_live_windows": _c_key_with_two_live_windows,
    "first_window_fires_on_time": _c_first_window_fires_on_time,
    "late_event_dropped_without_lateness": _c_late_dropped_without_lateness,
    "late_event_outcome": _c_late_event_outcome,
}


def _failed_constraints(v: Variation, d: _Draft, profile: Profile) -> list[str]:
    probe = _probe(d, profile)
    return [c.id for c in v.constraints if not CONSTRAINTS[c.id](d, probe, v.late_arrival)]


# -- symbols: what templates may say ---------------------------------------------------------------------


#: The ``${name}`` placeholders of the templates in ``variation.yaml``, and what each holds.
SYMBOLS: Mapping[str, str] = {
    "on_time": "the on-time clicks as a range, 'e1 to e6'",
    "on_time_ids": "(list) the on-time click ids, for solution arguments",
    "late": "the late click in the sheet's notation, 'e7 (A, 10:01, 1)'",
    "late_id": "the late click's id",
    "late_user": "the late click's user",
    "late_time": "the late click's event time",
    "late_amount": "the late click's amount",
    "late_after": "the id of the click the late one arrives after",
    "late_watermark": "the watermark (the profile's own value) when the late click arrives",
    "late_outcome_text": "what becomes of the late click with the allowed lateness, in words",
    "late_sum_before": "the late user's sum in W1 without the late click",
    "late_sum_after": "the late user's sum in W1 with it",
    "late_row_before": "the late user's W1 row without the late click, '(10:00, A, 7)'",
    "boundary": "the click at the end of W2 in the sheet's notation",
    "boundary_user": "that click's user",
    "w1": "the first window, '[10:00, 10:05)'",
    "w1_start": "its start", "w1_end": "its end",
    "w2": "the second window", "w2_start": "its start",
    "w1_rows": "W1's on-time sink rows, '(10:00, A, 7) and (10:00, B, 3)'",
    "w2_rows": "W2's sink rows",
    "w1_events": "W1's on-time clicks in the sheet's notation",
    "w2_events": "W2's clicks in the sheet's notation",
    "late_writes": "what the sink receives when the late click arrives with the allowed lateness, in words",
    "w1_fire_time": "the smallest max event time that fires W1 (end + delay)",
    "w1_fired_by": "the click that fires W1 in the stream, in the sheet's notation",
    "latency_time": "the event time of the last on-time click in W1 (Exercise 8)",
    "size_min": "window size in minutes", "delay_min": "watermark delay in minutes",
    "lateness_min": "allowed lateness in minutes",
    "events_per_day": "scale: clicks per day, '100K'", "users": "scale: users, '5K'",
    "users_count": "scale: users, '5000'", "bytes_per_window": "scale: bytes of one window buffer",
}


def _short(n: int) -> str:
    if n >= 1000 and n % 100 == 0:
        k = n / 1000
        return f"{k:g}K"
    return str(n)


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _symbols(d: _Draft, p: _Probe, late_arrival: str) -> dict[str, Any]:
    rows_w1 = [r for r in p.on_time.final_rows() if r.window_start == d.w1.start]
    row_text = {r.user_id: f"({format_time(r.window_start)}, {r.user_id}, {decimal_text(r.sum_amount)})"
                for r in rows_w1}
    before = next((r.sum_amount for r in rows_w1 if r.user_id == d.late.user_id), Decimal(0))
    fired = p.dropping.first_emission(d.w1)
    fired_by = next((e.describe() for e in d.events if fired and e.event_id == fired.cause), "")
    late_info = next(x for x in p.late.late if x.event.event_id == d.late.event_id)
    lateness_min = d.allowed_lateness // MINUTE
    if late_info.outcome is LateOutcome.ADMITTED:
        outcome = (f"that is before the expiry of {d.w1} with {lateness_min} minutes of lateness, so it is "
                   f"admitted and a late firing corrects {d.late.user_id}'s row")
    else:
        outcome = (f"that is exactly the expiry of {d.w1} with {lateness_min} minutes of lateness, and "
                   f"{p.late.config.profile.name} drops at equality: {lateness_min} minutes is not quite enough")
    in_w1 = [e for e in d.on_time if d.w1.contains(e.event_time)]
    rows_w2 = [r for r in p.on_time.final_rows() if r.window_start == d.w2.start]
    caused = [e for e in p.late.emissions if e.on_arrival == d.late_arrival]
    writes = ", ".join(f"{'retract' if e.kind is EmissionKind.RETRACT else 'emit'} "
                       f"({format_time(e.window.start)}, {e.key}, {decimal_text(e.value)})" for e in caused)
    return {
        "on_time": f"{d.on_time[0].event_id} to {d.on_time[-1].event_id}",
        "on_time_ids": [e.event_id for e in d.on_time],
        "late": d.late.describe(),
        "late_id": d.late.event_id,
        "late_user": d.late.user_id,
        "late_time": format_time(d.late.event_time),
        "late_amount": decimal_text(d.late.amount),
        "late_after": d.on_time[d.late_after].event_id,
        "late_watermark": format_time(late_info.watermark),
        "late_outcome_text": outcome,
        "late_sum_before": decimal_text(before),
        "late_sum_after": decimal_text(before + d.late.amount),
        "late_row_before": row_text.get(d.late.user_id, ""),
        "boundary": d.boundary.describe(),
        "boundary_user": d.boundary.user_id,
        "w1": str(d.w1), "w1_start": format_time(d.w1.start), "w1_end": format_time(d.w1.end),
        "w2": str(d.w2), "w2_start": format_time(d.w2.start),
        "w1_rows": _join([row_text[k] for k in sorted(row_text)]),
        "w2_rows": _join([f"({format_time(r.window_start)}, {r.user_id}, {decimal_text(r.sum_amount)})"
                          for r in sorted(rows_w2, key=lambda r: r.user_id)]),
        "w1_events": ", ".join(e.describe() for e in in_w1),
        "w2_events": ", ".join(e.describe() for e in d.on_time if d.w2.contains(e.event_time)),
        "late_writes": writes or f"nothing: {d.late.event_id} is dropped at the expiry",
        "w1_fire_time": format_time(d.w1.end + d.watermark_delay),
        "w1_fired_by": fired_by,
        "latency_time": format_time(in_w1[-1].event_time),
        "size_min": str(d.window_size // MINUTE),
        "delay_min": str(d.watermark_delay // MINUTE),
        "lateness_min": str(lateness_min),
        "events_per_day": _short(d.scale.events_per_day),
        "users": _short(d.scale.users),
        "users_count": str(d.scale.users),
        "bytes_per_window": str(d.scale.bytes_per_window),
    }


def _render(value: Any, symbols: Mapping[str, Any]) -> Any:
    """Fill ``${name}`` templates; a string that is exactly one list symbol becomes the list."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("${") and stripped.endswith("}") and isinstance(symbols.get(stripped[2:-1]), list):
            return list(symbols[stripped[2:-1]])
        return string.Template(value).substitute({k: v for k, v in symbols.items() if isinstance(v, str)})
    if isinstance(value, Mapping):
        return {k: _render(v, symbols) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_render(v, symbols) for v in value]
    return value


# -- building the variant's exercise set ----------------------------------------------------------------


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


def _variant_set(base: ExerciseSet, v: Variation, d: _Draft, symbols: Mapping[str, Any]) -> ExerciseSet:
    context = replace(base.context, events=d.events, window_size=d.window_size,
                      watermark_delay=d.watermark_delay, allowed_lateness=d.allowed_lateness, scale=d.scale)
    rendered: dict[str, Any] = {}
    exercises = []
    for exercise in base.exercises:
        spec = thaw(v.render.get(exercise.id, {}))
        out = _render(spec, symbols) if spec else {}
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
        "events": [_event_dict(e) for e in d.events],
        "parameters": _parameters(context),
        "scale": _scale(d.scale),
        "rendered": rendered,
    }
    fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return replace(base, context=context, exercises=tuple(exercises), fingerprint=fingerprint)


def _event_dict(e: Event) -> dict[str, Any]:
    return {"event_id": e.event_id, "user_id": e.user_id, "event_time": format_time(e.event_time),
            "amount": decimal_json(e.amount)}


def _minutes_text(ticks: Ticks) -> str:
    return f"{ticks // MINUTE}m" if ticks % MINUTE == 0 else f"{ticks}ms"


def _parameters(context) -> dict[str, Any]:
    return {"window": "tumbling", "window_size": _minutes_text(context.window_size),
            "watermark_delay": _minutes_text(context.watermark_delay),
            "allowed_lateness": _minutes_text(context.allowed_lateness), "profile": context.profile.name}


def _scale(scale: Scale) -> dict[str, int]:
    return {"events_per_day": scale.events_per_day, "users": scale.users, "bytes_per_window": scale.bytes_per_window}


def _require_variation(base: ExerciseSet) -> Variation:
    v = load_variation(base)
    if v is None:
        raise VariationError(str(base.path), [f"{base.id} declares no variants (no {VARIATION_FILE})"])
    return v


def generate_variant(base: ExerciseSet, seed: int, *, student_id: str | None = None, reissue: int = 0) -> Variant:
    """Generate the variant of ``base`` for ``seed``: draw, run the engine, check, retry.

    Sub-seeds ``0, 1, ...`` are tried until a candidate satisfies every constraint of the
    variation; after ``max_tries`` a :class:`VariantGenerationError` names the constraints
    that failed most.
    """
    v = _require_variation(base)
    failures: Counter[str] = Counter()
    for attempt in range(v.max_tries):
        draft = _draw(v, random.Random(_sub_seed(seed, attempt)))
        probe = _probe(draft, base.context.profile)
        failed = [c.id for c in v.constraints if not CONSTRAINTS[c.id](draft, probe, v.late_arrival)]
        if failed:
            failures.update(failed)
            continue
        symbols = _symbols(draft, probe, v.late_arrival)
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
    if not isinstance(student_id, str) or not student_id:
        raise ValueError("a variant needs a non-empty student id")
    v = _require_variation(base)
    return _variant_cached(_key(base), v.digest, student_id, reissue)


@lru_cache(maxsize=4096)
def _variant_cached(key: _BaseKey, digest: str, student_id: str, reissue: int) -> Variant:
    base = key.exercise_set
    seed = variant_seed(_require_variation(base), student_id, reissue)
    return generate_variant(base, seed, student_id=student_id, reissue=reissue)


def check_variant(variant: Variant) -> list[str]:
    """Re-check a variant's constraints on fresh engine runs of its own context (empty when all hold)."""
    v = variant.variation
    ctx = variant.exercise_set.context
    late_index = next(i for i, e in enumerate(ctx.events) if e.event_id == variant.late_event_id)
    on_time = tuple(e for e in ctx.events if e.event_id != variant.late_event_id)
    late = ctx.events[late_index]
    size = ctx.window_size
    start = late.event_time - late.event_time % size
    draft = _Draft(on_time, late, late_index - 1, size, ctx.watermark_delay, ctx.allowed_lateness,
                   Window(start, start + size), ctx.scale)
    return _failed_constraints(v, draft, ctx.profile)


# -- enabling, and what grading calls ---------------------------------------------------------------------


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


def reissue_of(base: ExerciseSet, student_id: str) -> int:
    """The re-issue number recorded for ``student_id`` in the variation (0 when none)."""
    v = load_variation(base)
    return int(v.reissued.get(student_id, 0)) if v is not None else 0


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


# -- copied answers -----------------------------------------------------------------------------------------


Scorer = Callable[[Mapping[str, Any], ExerciseSet], float]


def grade_fraction(answers: Mapping[str, Any], exercise_set: ExerciseSet) -> float:
    """The fraction of the points ``answers`` earn on ``exercise_set``, by :func:`grader.grading.grade_answers`."""
    from grader.grading import grade_answers

    result = grade_answers(answers, exercise_set)
    return result.score / result.max_score if result.max_score else 0.0


class VariantMatcher:
    """Which student's variant a submission's answers fit, over a fixed set of candidates.

    Built once per batch (it solves every candidate once); :meth:`match` then compares a
    submission with every candidate's canonical values with the grader's own comparators
    (:func:`grader.compare.comparator_for`, the same normalisation and equality as
    grading), on the *data parts* only: the non-text parts whose canonical value differs
    between candidates.  Parts that every variant answers alike (the three delivery
    guarantees, the sink's key) and free text prove nothing about whose data was used.
    """

    def __init__(self, candidates: Mapping[str, ExerciseSet]) -> None:
        from grader.compare import CompareContext, comparator_for
        from grader.solutions import solve

        self._plans: dict[str, list[tuple[str, Any, Any, Any]]] = {}
        values: dict[tuple[str, str], set[str]] = {}
        solved = {sid: (s, solve(s)) for sid, s in candidates.items()}
        for s, canonical in solved.values():
            for exercise in s.exercises:
                for part in exercise.parts:
                    if part.compare_kind != "text":
                        key = json.dumps(canonical[exercise.id][part.id].value, sort_keys=True, default=str)
                        values.setdefault((exercise.id, part.id), set()).add(key)
        self.data_parts = tuple(sorted(k for k, v in values.items() if len(v) > 1))
        for sid, (s, canonical) in solved.items():
            plan = []
            for ex_id, part_id in self.data_parts:
                part = s.exercise(ex_id).part(part_id)
                comparator = comparator_for(part.compare, CompareContext(s.context.events, s.context.window_size))
                plan.append((ex_id, part.field, comparator, comparator.normalize(canonical[ex_id][part_id].value)))
            self._plans[sid] = plan

    def scores(self, answers: Mapping[str, Any]) -> dict[str, float]:
        """For each candidate, the fraction of the data parts where ``answers`` equal its canonical values."""
        from grader.normalize import NormalizeError
        from grader.scoring import field_value

        if not self.data_parts or not isinstance(answers, Mapping):
            return {sid: 0.0 for sid in self._plans}
        out = {}
        for sid, plan in self._plans.items():
            hits = 0
            for ex_id, path, comparator, expected in plan:
                answer = answers.get(ex_id)
                value, present = field_value(answer, path) if answer is not None else (None, False)
                if not present or comparator.is_blank(value):
                    continue
                try:
                    hits += comparator.same(expected, comparator.normalize(value))
                except (NormalizeError, TypeError, ValueError):
                    continue
            out[sid] = hits / len(plan)
        return out

    def match(self, answers: Mapping[str, Any], threshold: float = 0.8) -> str | None:
        """The one candidate whose data ``answers`` fit best, if it reaches ``threshold``; else ``None``."""
        return _best(self.scores(answers), threshold)


def _best(scores: Mapping[str, float], threshold: float) -> str | None:
    if not scores:
        return None
    best = max(scores.values())
    winners = [sid for sid, value in scores.items() if value == best]
    if best < threshold or len(winners) != 1:
        return None
    return winners[0]


def find_matching_variant(answers: Mapping[str, Any], candidates: Mapping[str, ExerciseSet], *,
                          score: Scorer | None = None, threshold: float = 0.8) -> str | None:
    """The student id whose variant ``answers`` fit, or ``None``.

    By default a :class:`VariantMatcher` compares the answers with each candidate's
    canonical values on the data parts; ``score`` replaces that with any scorer
    ``(answers, exercise_set) -> fraction`` (e.g. :func:`grade_fraction`, whole-set
    grading).  The best candidate is returned when it reaches ``threshold`` and no other
    scores the same (answers that fit several variants equally prove nothing).  For the
    batch summary: pass every student's set, the submitter's own included; a result
    other than the submitter means the answers were computed on someone else's data.
    To check many submissions, build one :class:`VariantMatcher` and call ``match``.
    """
    if score is None:
        return VariantMatcher(candidates).match(answers, threshold)
    return _best({sid: score(answers, s) for sid, s in candidates.items()}, threshold)


# -- verification -----------------------------------------------------------------------------------------


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
    from grader.solutions import SolutionError, solve_part

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
    from grader.solutions import SolutionError, solve

    problems: list[VariantProblem] = []
    gen_ms: list[float] = []
    solve_ms: list[float] = []
    contexts: set[str] = set()
    attempts = 0
    for i in range(n):
        sid = f"{student_prefix}{i:04d}"
        v = _require_variation(base)
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
        contexts.add(json.dumps([_event_dict(e) for e in s.context.events]) + json.dumps(_parameters(s.context)))

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


# -- the student's sheet ------------------------------------------------------------------------------------


def sheet_document(variant: Variant) -> dict[str, Any]:
    """A student's sheet as JSON-ready data: seed, events, parameters, scale, prompts; never answers."""
    s = variant.exercise_set
    ctx = s.context
    return {
        "exercise_set": s.id,
        "title": s.title,
        "student_id": variant.student_id,
        "seed": variant.seed,
        "reissue": variant.reissue,
        "events": [_event_dict(e) | ({"late": True} if e.event_id == variant.late_event_id else {})
                   for e in ctx.events],
        "late_event": {"event_id": variant.late_event_id, "arrives_after": variant.late_after},
        **_sheet_rest(s),
    }


def shared_sheet_document(s: ExerciseSet, student_id: str | None = None) -> dict[str, Any]:
    """The set's own data context in the shape of :func:`sheet_document` (``seed`` is ``None``)."""
    ctx = s.context
    return {
        "exercise_set": s.id,
        "title": s.title,
        "student_id": student_id,
        "seed": None,
        "reissue": 0,
        "events": [_event_dict(e) for e in ctx.events],
        **_sheet_rest(s),
    }


def _sheet_rest(s: ExerciseSet) -> dict[str, Any]:
    """What a student's sheet and the shared sheet hold alike after the events."""
    ctx = s.context
    return {
        "parameters": _parameters(ctx),
        "scale": _scale(ctx.scale),
        "sink": {"table": ctx.sink.table, "columns": [{"name": n, "type": t} for n, t in ctx.sink.columns],
                 "primary_key": list(ctx.sink.primary_key)},
        "exercises": [{"id": ex.id, "title": ex.title, "points": ex.points, "prompt": ex.prompt}
                      for ex in s.exercises],
    }


def sheet_markdown(variant: Variant) -> str:
    """A student's sheet in the notation of the printed one (events table, data context, prompts)."""
    s = variant.exercise_set
    ctx = s.context
    late = ctx.event(variant.late_event_id)
    on_time = sorted((e for e in ctx.events if e.event_id != late.event_id), key=lambda e: e.event_time)
    size = ctx.window_size
    start = late.event_time - late.event_time % size
    lines = [
        f"# {s.title}",
        "",
        f"Variant for student `{variant.student_id}` (seed {variant.seed}"
        + (f", re-issue {variant.reissue}" if variant.reissue else "") + ").",
        "",
        "## Data Context",
        "",
        "### Event stream: clicks",
        "",
        "**Schema:** `(event_id, user_id, event_time, amount)`",
        "",
        "**Sample events (ordered by event_time):**",
        "",
        "| event_id | user_id | event_time | amount |",
        "|----------|---------|------------|--------|",
    ]
    for e in (*on_time, late):
        label = f"{e.event_id} (late)" if e is late else e.event_id
        lines.append(f"| {label} | {e.user_id} | {format_time(e.event_time)} | {decimal_text(e.amount)} |")
    lines += [
        "",
        "In the sheet's notation: " + ", ".join(e.describe() for e in ctx.events) + " (arrival order).",
        "",
        f"**Note:** {late.event_id} arrives late (processing_time after {variant.late_after}); event_time "
        f"{format_time(late.event_time)} belongs to window {Window(start, start + size)}.",
        "",
        f"**Sink table (window aggregates):** `{ctx.sink.table}("
        + ", ".join(f"{n} {t}" for n, t in ctx.sink.columns)
        + f", PRIMARY KEY ({', '.join(ctx.sink.primary_key)}))`",
        "",
        f"**Scale (for exercises):** {_short(ctx.scale.events_per_day)} events/day; {_short(ctx.scale.users)} "
        f"distinct users; tumbling windows {ctx.window_size // MINUTE} min; watermark delay "
        f"{ctx.watermark_delay // MINUTE} min; allowed lateness {ctx.allowed_lateness // MINUTE} min "
        f"(where an exercise allows lateness); one window buffer {ctx.scale.bytes_per_window} bytes; "
        f"profile {ctx.profile.name}.",
    ]
    for i, ex in enumerate(s.exercises, start=1):
        lines += ["", f"## Exercise {i} ({ex.id}, {ex.points:g} points): {ex.title}", "", ex.prompt]
    return "\n".join(lines) + "\n"


def cache_clear() -> None:
    """Forget cached variations and variants (tests, or after editing variation.yaml in place)."""
    _load_variation.cache_clear()
    _variant_cached.cache_clear()


__all__ = [
    "CONSTRAINTS",
    "ENV_VAR",
    "SYMBOLS",
    "VARIATION_FILE",
    "Variant",
    "VariantGenerationError",
    "VariantMatcher",
    "VariantProblem",
    "VariantsReport",
    "Variation",
    "cache_clear",
    "check_variant",
    "exercise_set_for",
    "find_matching_variant",
    "generate_variant",
    "grade_fraction",
    "load_variation",
    "reissue_of",
    "sheet_document",
    "sheet_markdown",
    "variant_for",
    "variant_of_student",
    "variant_seed",
    "variants_enabled",
    "verify_variants",
]

"""The declaration of a set's variation: ``variation.yaml`` read, validated and checked.

Validated against ``exercises/schema/variation.schema.json`` (every problem at once, with
its path), then checked against the base set: constraints and template symbols that
exist, solution arguments that may vary.  Read once per file content (cached by the
file's digest and the set's fingerprint).
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from grader.errors import VariationError
from grader.exercises.fields import json_path
from grader.exercises.load import SCHEMA_DIR
from grader.exercises.model import ExerciseSet, SetKey
from grader.frozen import freeze
from grader.variants.constraints import CONSTRAINTS
from grader.variants.symbols import SYMBOLS
from reference.timestamps import Ticks, parse_duration, parse_time

VARIATION_FILE = "variation.yaml"


VARIATION_SCHEMA = "variation.schema.json"


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
    return read_variation(str(path), hashlib.sha256(raw_bytes).hexdigest(), base.fingerprint, base.key)


@lru_cache(maxsize=8)
def read_variation(path_text: str, digest: str, fingerprint: str, key: SetKey) -> Variation:
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

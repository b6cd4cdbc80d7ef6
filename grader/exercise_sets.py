"""Exercise sets as data: load a set folder, validate it, and hand out frozen values.

A set is a folder under ``exercises/`` holding ``context.yaml`` (the events in arrival
order, the engine parameters, the scale, the sink and the grading settings) and one
``exNN.yaml`` per exercise.  Every file is validated against its JSON Schema in
``exercises/schema/`` with ``iter_errors``, so *all* problems are reported at once, each
as ``file: json.path: message`` (``ex06.yaml: parts[0].points: -1 is less than the
minimum of 0``).  Then the invariants no schema can state are checked across files: ids
unique and matching file names, part points adding up to the exercise's points and the
set to 100, solution queries and their arguments known to :mod:`grader.solutions`,
events named in arguments present in the context, mistakes and errata naming existing
parts, every part's field present in the answer schema, and the published values valid
answers.  Any problem raises one :class:`ExerciseDataError` listing them all.

Loaded values are frozen: mappings become read-only ``MappingProxyType`` views and lists
become tuples.  :func:`thaw` turns one back into plain JSON-ready data (for jsonschema or
``json.dumps``).  Canonical answers are not here: :mod:`grader.solutions` computes them.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from grader.errors import ExerciseDataError
from grader.frozen import freeze, thaw
from reference.config import LatePolicy
from reference.events import Event, EventError, event_from_mapping
from reference.profiles import Profile, get_profile
from reference.timestamps import MS, Ticks, TimeFormatError, parse_duration, parse_time

EXERCISES_DIR = Path(__file__).resolve().parent.parent / "exercises"
SCHEMA_DIR = EXERCISES_DIR / "schema"
CONTEXT_FILE = "context.yaml"
SET_SCHEMA = "exercise_set.schema.json"
EXERCISE_SCHEMA = "exercise.schema.json"
TOTAL_POINTS = 100

_EXERCISE_FILE = re.compile(r"^ex(\d+)\.ya?ml$")
_FIELD_SEGMENT = re.compile(r"^([a-z_][a-z0-9_]*)(\[\*\])?$")


# -- frozen values ---------------------------------------------------------------------


class ErratumGrading(enum.StrEnum):
    """How an answer that repeats an erroneous published value is graded."""

    PARTIAL = "partial"
    FULL = "full"
    NONE = "none"


@dataclass(frozen=True)
class Scale:
    """The back-of-envelope scale of the sheet (Exercises 8 and 9)."""

    events_per_day: int
    users: int
    bytes_per_window: int


@dataclass(frozen=True)
class Sink:
    """The sink table: name, ``(column, type)`` pairs and the primary key columns."""

    table: str
    columns: tuple[tuple[str, str], ...]
    primary_key: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    """Set-level grading settings: whether students see expected values, and the profile."""

    show_expected: bool
    profile: str


@dataclass(frozen=True)
class Context:
    """The data context every exercise of a set shares.

    ``events`` are in arrival order, as written in ``context.yaml``.  Durations are
    integer milliseconds.  ``time_granularity`` is the unit of the events' timestamps
    (1 ms unless the context says otherwise).
    """

    id: str
    title: str
    events: tuple[Event, ...]
    window_size: Ticks
    watermark_delay: Ticks
    allowed_lateness: Ticks
    profile: Profile
    time_granularity: Ticks
    scale: Scale
    sink: Sink

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(e.event_id for e in self.events)

    def event(self, event_id: str) -> Event:
        for e in self.events:
            if e.event_id == event_id:
                return e
        raise KeyError(event_id)


@dataclass(frozen=True)
class SolutionSpec:
    """Which query of :mod:`grader.solutions` computes a part, with which arguments.

    ``config`` holds engine settings that differ from the context's parameters for this
    part (e.g. ``allowed_lateness: 0m``).  Both mappings are frozen.
    """

    query: str
    args: Mapping[str, Any]
    config: Mapping[str, Any]


@dataclass(frozen=True)
class Part:
    """One graded part: the answer field it reads, its points, comparison and solution.

    ``compare`` is the comparison spec as data (``kind`` plus that kind's settings, see
    ``exercise.schema.json``).  ``model_answer`` is set for text parts.
    """

    id: str
    field: str
    points: float
    compare: Mapping[str, Any]
    solution: SolutionSpec
    model_answer: str | tuple[str, ...] | None = None

    @property
    def compare_kind(self) -> str:
        return self.compare["kind"]

    @property
    def is_list_field(self) -> bool:
        """True for a ``[*]`` field: its canonical value is a list, one item per entry."""
        return "[*]" in self.field


@dataclass(frozen=True)
class Mistake:
    """A well-known mistake, recognisable in an answer.

    ``model`` (runnable) overrides engine settings and query arguments:
    ``grader.solutions.solve_part(..., model=mistake.model)`` gives the answer the
    mistake produces.  ``given`` is instead a literal wrong answer, for parts no engine
    run describes.  ``feedback`` is a template with ``{placeholders}``; ``credit`` is the
    fraction of the part's points an answer matching the mistake still earns.
    """

    code: str
    description: str
    parts: tuple[str, ...]
    feedback: str
    model: Mapping[str, Any] | None = None
    given: Any = None
    credit: float = 0.0

    @property
    def runnable(self) -> bool:
        return self.model is not None


@dataclass(frozen=True)
class Erratum:
    """A part where the sheet's published value disagrees with the engine, and why."""

    part: str
    reason: str
    grading: ErratumGrading
    credit: float
    mistake: str | None = None


@dataclass(frozen=True)
class Published:
    """The sheet's own solution: its text, copied exactly, and its values in answer shape."""

    text: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    prompt: str
    points: float
    parts: tuple[Part, ...]
    answer_schema: Mapping[str, Any]
    mistakes: tuple[Mistake, ...]
    published: Published
    errata: tuple[Erratum, ...]
    source: str

    def part(self, part_id: str) -> Part:
        for p in self.parts:
            if p.id == part_id:
                return p
        raise KeyError(f"{self.id} has no part {part_id!r}")

    def erratum_for(self, part_id: str) -> Erratum | None:
        return next((e for e in self.errata if e.part == part_id), None)

    def mistakes_for(self, part_id: str) -> tuple[Mistake, ...]:
        return tuple(m for m in self.mistakes if part_id in m.parts)

    def answer_json_schema(self) -> dict[str, Any]:
        """The answer object's JSON Schema as plain data, ready for jsonschema."""
        return thaw(self.answer_schema)

    def field_json_schema(self, part_id: str) -> dict[str, Any]:
        """The JSON Schema of one part's value (a list of items for a ``[*]`` field)."""
        schema = field_schema(self.answer_schema, self.part(part_id).field)
        if schema is None:  # ruled out when the set was loaded
            raise KeyError(part_id)
        return schema


@dataclass(frozen=True)
class ExerciseSet:
    """A loaded, validated exercise set.

    ``fingerprint`` is a hash of all of the set's data (context and exercises): two sets
    with the same fingerprint have the same canonical answers, which is what
    :mod:`grader.solutions` caches on.
    """

    id: str
    title: str
    path: Path
    context: Context
    settings: Settings
    exercises: tuple[Exercise, ...]
    fingerprint: str

    def exercise(self, exercise_id: str) -> Exercise:
        for ex in self.exercises:
            if ex.id == exercise_id:
                return ex
        raise KeyError(f"exercise set {self.id} has no exercise {exercise_id!r}")

    @property
    def exercise_ids(self) -> tuple[str, ...]:
        return tuple(ex.id for ex in self.exercises)

    @property
    def total_points(self) -> float:
        return sum(ex.points for ex in self.exercises)


# -- finding sets ------------------------------------------------------------------------


def available_sets(root: Path | str = EXERCISES_DIR) -> tuple[str, ...]:
    """Names of the exercise sets under ``root``: each subfolder with a ``context.yaml``."""
    base = Path(root)
    if not base.is_dir():
        return ()
    return tuple(sorted(p.name for p in base.iterdir() if p.is_dir() and (p / CONTEXT_FILE).is_file()))


def load_named_set(name: str, root: Path | str = EXERCISES_DIR) -> ExerciseSet:
    """Load the set called ``name`` under ``root`` (``week10``)."""
    known = available_sets(root)
    if name not in known:
        raise ExerciseDataError(name, [f"unknown exercise set {name!r}; known sets: {', '.join(known) or 'none'}"])
    return load_exercise_set(Path(root) / name)


def load_exercise_set(path: Path | str, schema_dir: Path | str = SCHEMA_DIR) -> ExerciseSet:
    """Load and validate the set in folder ``path``; raise :class:`ExerciseDataError` listing every problem."""
    folder = Path(path)
    problems: list[str] = []
    if not (folder / CONTEXT_FILE).is_file():
        raise ExerciseDataError(str(folder), [f"{CONTEXT_FILE}: no such file in {folder}"])
    set_validator = _validator(Path(schema_dir) / SET_SCHEMA)
    exercise_validator = _validator(Path(schema_dir) / EXERCISE_SCHEMA)

    raw_context = _read_yaml(folder / CONTEXT_FILE, problems)
    context = settings = None
    if raw_context is not None:
        before = len(problems)
        problems.extend(_schema_problems(set_validator, raw_context, CONTEXT_FILE))
        if len(problems) == before:
            context, settings = _build_context(raw_context, problems)

    files = sorted(
        (p for p in folder.iterdir() if _EXERCISE_FILE.match(p.name)),
        key=lambda p: (int(_EXERCISE_FILE.match(p.name).group(1)), p.name),
    )
    if not files:
        problems.append(f"{folder.name}: no exercise files (ex01.yaml, ex02.yaml, ...)")
    raw_exercises: list[Any] = []
    exercises: list[Exercise] = []
    for file in files:
        raw = _read_yaml(file, problems)
        raw_exercises.append(raw)
        if raw is None:
            continue
        before = len(problems)
        problems.extend(_schema_problems(exercise_validator, raw, file.name))
        if len(problems) > before:
            continue
        exercise = _build_exercise(raw, file.name, context, problems)
        if exercise is not None:
            exercises.append(exercise)

    problems.extend(_set_problems(files, raw_exercises, exercises, context, settings))
    if problems:
        raise ExerciseDataError(str(folder), problems)
    assert context is not None and settings is not None  # no problems means both were built
    fingerprint = hashlib.sha256(
        json.dumps({"context": raw_context, "exercises": raw_exercises}, sort_keys=True, default=str).encode()
    ).hexdigest()
    return ExerciseSet(
        id=context.id,
        title=context.title,
        path=folder,
        context=context,
        settings=settings,
        exercises=tuple(exercises),
        fingerprint=fingerprint,
    )


# -- reading and schema validation ----------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a key written twice in one mapping (a silent overwrite otherwise)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"{path.name}: not UTF-8 text (byte {exc.start})")
        return None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problems.append(f"{path.name}: {where}{getattr(exc, 'problem', None) or exc}")
        return None


@cache
def _validator(schema_path: Path) -> Draft202012Validator:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def json_path(path: Iterable[Any]) -> str:
    """``['parts', 0, 'points']`` -> ``parts[0].points``."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else str(step)
    return out


def _located(file: str, path: str, message: str) -> str:
    return f"{file}: {path}: {message}" if path else f"{file}: {message}"


def _schema_problems(validator: Draft202012Validator, instance: Any, file: str, prefix: str = "") -> list[str]:
    """Every schema error of ``instance``, as ``file: path: message``, in document order."""
    errors: list[ValidationError] = list(validator.iter_errors(instance))
    errors.sort(key=lambda e: [str(p).zfill(6) if isinstance(p, int) else str(p) for p in e.absolute_path])
    out = []
    for error in errors:
        path = json_path(error.absolute_path)
        if prefix:
            path = f"{prefix}{'.' if path and not path.startswith('[') else ''}{path}"
        out.append(_located(file, path, error.message))
    return out


# -- building values -------------------------------------------------------------------


def _duration(value: Any, file: str, path: str, problems: list[str]) -> Ticks | None:
    try:
        return parse_duration(value)
    except TimeFormatError as exc:
        problems.append(_located(file, path, str(exc)))
        return None


def _build_context(raw: Mapping[str, Any], problems: list[str]) -> tuple[Context | None, Settings | None]:
    file = CONTEXT_FILE
    before = len(problems)
    events: list[Event] = []
    seen: set[str] = set()
    for i, record in enumerate(raw["events"]):
        try:
            event = event_from_mapping(record, f"events[{i}]")
        except EventError as exc:
            problems.append(_located(file, exc.where, exc.message))
            continue
        if event.event_id in seen:
            problems.append(_located(file, f"events[{i}].event_id", f"event id {event.event_id!r} is used twice"))
        seen.add(event.event_id)
        events.append(event)
    params = raw["parameters"]
    durations = {
        name: _duration(params[name], file, f"parameters.{name}", problems)
        for name in ("window_size", "watermark_delay", "allowed_lateness")
    }
    granularity = _duration(params.get("time_granularity", "1ms"), file, "parameters.time_granularity", problems)
    if durations["window_size"] == 0:
        problems.append(_located(file, "parameters.window_size", "a window size must be positive"))
    if granularity == 0:
        problems.append(_located(file, "parameters.time_granularity", "the time granularity must be positive"))
    profile = _profile(params["profile"], file, "parameters.profile", problems)
    settings_raw = raw["settings"]
    settings_profile = _profile(settings_raw["profile"], file, "settings.profile", problems)
    if profile is not None and settings_profile is not None and profile != settings_profile:
        problems.append(
            _located(
                file,
                "settings.profile",
                f"{settings_raw['profile']!r} differs from parameters.profile {params['profile']!r}; "
                "the engine runs with parameters.profile, so the two must agree",
            )
        )
    sink_raw = raw["sink"]
    columns = tuple((c["name"], c["type"]) for c in sink_raw["columns"])
    names = [c for c, _ in columns]
    for i, key in enumerate(sink_raw["primary_key"]):
        if key not in names:
            problems.append(_located(file, f"sink.primary_key[{i}]", f"{key!r} is not a column of {sink_raw['table']}"))
    if len(problems) > before:
        return None, None
    scale = raw["scale"]
    context = Context(
        id=raw["id"],
        title=raw["title"],
        events=tuple(events),
        window_size=durations["window_size"],
        watermark_delay=durations["watermark_delay"],
        allowed_lateness=durations["allowed_lateness"],
        profile=profile,
        time_granularity=granularity if granularity is not None else MS,
        scale=Scale(scale["events_per_day"], scale["users"], scale["bytes_per_window"]),
        sink=Sink(sink_raw["table"], columns, tuple(sink_raw["primary_key"])),
    )
    return context, Settings(show_expected=settings_raw["show_expected"], profile=settings_profile.name)


def _profile(name: str, file: str, path: str, problems: list[str]) -> Profile | None:
    try:
        return get_profile(name)
    except ValueError as exc:
        problems.append(_located(file, path, str(exc)))
        return None


def _build_exercise(raw: Mapping[str, Any], file: str, context: Context | None, problems: list[str]) -> Exercise | None:
    before = len(problems)
    match = _EXERCISE_FILE.match(file)
    if match and raw["id"] != f"ex{int(match.group(1))}":
        expected = f"ex{int(match.group(1))}"
        problems.append(_located(file, "id", f"{raw['id']!r} does not match the file name (expected {expected!r})"))
    problems.extend(_answer_schema_problems(raw, file))

    part_ids = [p["id"] for p in raw["parts"]]
    for i, pid in enumerate(part_ids):
        if part_ids.index(pid) != i:
            problems.append(_located(file, f"parts[{i}].id", f"part id {pid!r} is used twice"))
    total = sum(Fraction(str(p["points"])) for p in raw["parts"])
    if total != Fraction(str(raw["points"])):
        problems.append(
            _located(file, "parts",
                     f"the parts' points add up to {_num(total)}, but the exercise has {raw['points']} points")
        )
    for i, part in enumerate(raw["parts"]):
        problems.extend(_part_problems(raw, part, f"parts[{i}]", file, context))
    problems.extend(_mistake_problems(raw, file, set(part_ids)))
    problems.extend(_erratum_problems(raw, file, set(part_ids)))
    if len(problems) > before:
        return None
    return _exercise_value(raw, file)


def _answer_schema_problems(raw: Mapping[str, Any], file: str) -> list[str]:
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    out = _schema_problems(meta, raw["answer_schema"], file, prefix="answer_schema")
    if out:
        return out
    for i, part in enumerate(raw["parts"]):
        if field_schema(raw["answer_schema"], part["field"]) is None:
            out.append(_located(file, f"parts[{i}].field", f"{part['field']!r} is not a field of answer_schema"))
    if not out:
        validator = Draft202012Validator(raw["answer_schema"])
        out.extend(_schema_problems(validator, raw["published"]["values"], file, prefix="published.values"))
    return out


def _part_problems(raw: Mapping[str, Any], part: Mapping[str, Any], where: str, file: str,
                   context: Context | None) -> list[str]:
    from grader.solutions import CONFIG_KEYS, QUERIES  # solutions imports this module

    out: list[str] = []
    spec = part["solution"]
    query = QUERIES.get(spec["query"])
    if query is None:
        out.append(_located(file, f"{where}.solution.query",
                            f"unknown query {spec['query']!r}; known queries: {', '.join(sorted(QUERIES))}"))
    else:
        args = spec.get("args", {})
        for name in args:
            if name not in query.params:
                known = ", ".join(query.params) or "none"
                out.append(_located(file, f"{where}.solution.args.{name}",
                                    f"query {query.name} takes no argument {name!r} (arguments: {known})"))
        for name in query.required:
            if name not in args:
                out.append(_located(file, f"{where}.solution.args", f"query {query.name} needs argument {name!r}"))
        if context is not None:
            out.extend(_event_arg_problems(args, query.event_params, context, file, f"{where}.solution.args"))
        out.extend(_time_arg_problems(args, query.time_params, file, f"{where}.solution.args"))
        text_compare = part["compare"]["kind"] == "text"
        if text_compare != (query.name == "model_answer"):
            out.append(_located(file, f"{where}.solution.query",
                                "text parts, and only text parts, use the query model_answer"))
    out.extend(_config_problems(spec.get("config", {}), file, f"{where}.solution.config", CONFIG_KEYS))
    for c, concept in enumerate(part["compare"].get("concepts", ())):
        for r, pattern in enumerate(concept.get("regexes", ())):
            try:
                re.compile(pattern)
            except re.error as exc:
                out.append(_located(file, f"{where}.compare.concepts[{c}].regexes[{r}]",
                                    f"not a regular expression: {exc}"))
    if isinstance(part.get("model_answer"), list) != ("[*]" in part["field"]) and "model_answer" in part:
        out.append(_located(file, f"{where}.model_answer", "give a list exactly when the field has [*]"))
    return out


def _event_arg_problems(args: Mapping[str, Any], names: Iterable[str], context: Context, file: str,
                        where: str) -> list[str]:
    out = []
    known = set(context.event_ids)
    for name in names:
        if name not in args:
            continue
        value = args[name]
        ids = [value] if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else [value]
        if ids == ["all"]:
            continue
        for event_id in ids:
            if event_id not in known:
                listing = ", ".join(context.event_ids)
                message = f"no event {event_id!r} in {CONTEXT_FILE} (events: {listing})"
                out.append(_located(file, f"{where}.{name}", message))
    return out


def _time_arg_problems(args: Mapping[str, Any], names: Iterable[str], file: str, where: str) -> list[str]:
    out = []
    for name in names:
        value = args.get(name)
        if value is None:
            continue
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            path = f"{where}.{name}" + (f"[{i}]" if i is not None else "")
            if not isinstance(item, str):
                out.append(_located(file, path, f"{item!r} is not a time string (quote times in YAML: \"10:00\")"))
                continue
            try:
                parse_time(item)
            except TimeFormatError as exc:
                out.append(_located(file, path, str(exc)))
    return out


def _config_problems(config: Mapping[str, Any], file: str, where: str, keys: Iterable[str]) -> list[str]:
    out = []
    keys = set(keys)
    for name, value in config.items():
        path = f"{where}.{name}"
        if name not in keys:
            out.append(_located(file, path, f"not an engine setting (settings: {', '.join(sorted(keys))})"))
        elif name in ("window_size", "watermark_delay") or (name == "allowed_lateness" and value != "admit_all"):
            _duration(value, file, path, out)
        elif name == "late_policy":
            try:
                LatePolicy.parse(str(value))
            except ValueError as exc:
                out.append(_located(file, path, str(exc)))
        elif name == "profile":
            _profile(str(value), file, path, out)
    return out


def _mistake_problems(raw: Mapping[str, Any], file: str, part_ids: set[str]) -> list[str]:
    from grader.solutions import CONFIG_KEYS, QUERIES

    out = []
    codes: list[str] = []
    queries = {p["id"]: QUERIES.get(p["solution"]["query"]) for p in raw["parts"]}
    for i, mistake in enumerate(raw.get("mistakes", ())):
        where = f"mistakes[{i}]"
        if mistake["code"] in codes:
            out.append(_located(file, f"{where}.code", f"mistake code {mistake['code']!r} is used twice"))
        codes.append(mistake["code"])
        for j, pid in enumerate(mistake["parts"]):
            if pid not in part_ids:
                listing = ", ".join(sorted(part_ids))
                out.append(_located(file, f"{where}.parts[{j}]", f"no part {pid!r} (parts: {listing})"))
        if ("model" in mistake) == ("given" in mistake):
            out.append(_located(file, where,
                                "give exactly one of model (runnable overrides) or given (a literal answer)"))
        model = mistake.get("model") or {}
        params = set(CONFIG_KEYS)
        for pid in mistake["parts"]:
            if queries.get(pid) is not None:
                params |= set(queries[pid].params)
        for name in model:
            if name not in params:
                out.append(_located(file, f"{where}.model.{name}",
                                    f"neither an engine setting nor an argument of the parts' queries "
                                    f"(known: {', '.join(sorted(params))})"))
        config = {k: v for k, v in model.items() if k in CONFIG_KEYS}
        out.extend(_config_problems(config, file, f"{where}.model", CONFIG_KEYS))
        if "given" in mistake:
            for pid in mistake["parts"]:
                part = next((p for p in raw["parts"] if p["id"] == pid), None)
                schema = field_schema(raw["answer_schema"], part["field"]) if part else None
                if schema is not None:
                    out.extend(_schema_problems(Draft202012Validator(schema), mistake["given"], file, f"{where}.given"))
    return out


def _erratum_problems(raw: Mapping[str, Any], file: str, part_ids: set[str]) -> list[str]:
    out = []
    seen: set[str] = set()
    codes = {m["code"] for m in raw.get("mistakes", ())}
    for i, erratum in enumerate(raw.get("errata", ())):
        where = f"errata[{i}]"
        if erratum["part"] not in part_ids:
            listing = ", ".join(sorted(part_ids))
            out.append(_located(file, f"{where}.part", f"no part {erratum['part']!r} (parts: {listing})"))
        if erratum["part"] in seen:
            out.append(_located(file, f"{where}.part", f"a second erratum for part {erratum['part']!r}"))
        seen.add(erratum["part"])
        if "mistake" in erratum and erratum["mistake"] not in codes:
            out.append(_located(file, f"{where}.mistake", f"no mistake {erratum['mistake']!r} in this exercise"))
    return out


def _set_problems(files: list[Path], raw_exercises: list[Any], exercises: list[Exercise], context: Context | None,
                  settings: Settings | None) -> list[str]:
    out = []
    owners: dict[str, str] = {}
    for file, raw in zip(files, raw_exercises, strict=True):
        if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
            if raw["id"] in owners:
                out.append(f"{file.name}: id: {raw['id']!r} is also the id of {owners[raw['id']]}")
            else:
                owners[raw["id"]] = file.name
    if files and len(exercises) == len(files):
        total = sum(Fraction(str(ex.points)) for ex in exercises)
        if total != TOTAL_POINTS:
            listing = ", ".join(f"{ex.id} {_num(Fraction(str(ex.points)))}" for ex in exercises)
            out.append(f"exercise set: the exercises' points add up to {_num(total)}, not {TOTAL_POINTS} ({listing})")
    return out


def _num(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))


def _exercise_value(raw: Mapping[str, Any], file: str) -> Exercise:
    parts = tuple(
        Part(
            id=p["id"],
            field=p["field"],
            points=p["points"],
            compare=freeze(p["compare"]),
            solution=SolutionSpec(
                query=p["solution"]["query"],
                args=freeze(p["solution"].get("args", {})),
                config=freeze(p["solution"].get("config", {})),
            ),
            model_answer=freeze(p.get("model_answer")),
        )
        for p in raw["parts"]
    )
    mistakes = tuple(
        Mistake(
            code=m["code"],
            description=m["description"],
            parts=tuple(m["parts"]),
            feedback=m["feedback"],
            model=freeze(m["model"]) if "model" in m else None,
            given=freeze(m.get("given")),
            credit=float(m.get("credit", 0)),
        )
        for m in raw.get("mistakes", ())
    )
    errata = tuple(
        Erratum(
            part=e["part"],
            reason=e["reason"],
            grading=ErratumGrading(e.get("grading", "partial")),
            credit=_erratum_credit(e),
            mistake=e.get("mistake"),
        )
        for e in raw.get("errata", ())
    )
    return Exercise(
        id=raw["id"],
        title=raw["title"],
        prompt=raw["prompt"],
        points=raw["points"],
        parts=parts,
        answer_schema=freeze(raw["answer_schema"]),
        mistakes=mistakes,
        published=Published(text=raw["published"]["text"], values=freeze(raw["published"]["values"])),
        errata=errata,
        source=file,
    )


def _erratum_credit(raw: Mapping[str, Any]) -> float:
    grading = raw.get("grading", "partial")
    if grading == "full":
        return 1.0
    if grading == "none":
        return 0.0
    return float(raw["credit"])


# -- answer schema paths ---------------------------------------------------------------------


def field_schema(answer_schema: Mapping[str, Any], field: str) -> dict[str, Any] | None:
    """The JSON Schema of the value at ``field`` of an answer object, or ``None`` if absent.

    ``field`` is a part's path (``allowed_lateness_3min.retract``, ``options[*].policy``).
    A ``[*]`` segment collects every item, so the value is a list and the schema is an
    array of the item schema.  The root's ``$defs`` are kept so ``$ref`` still resolves.
    """
    root = thaw(answer_schema)
    defs = root.get("$defs", {})
    current: list[dict[str, Any]] = [root]
    lists = 0
    for segment in field.split("."):
        match = _FIELD_SEGMENT.match(segment)
        if match is None:
            return None
        name, star = match.groups()
        found = [s["properties"][name] for s in _alternatives(current, defs) if name in s.get("properties", {})]
        if not found:
            return None
        current = found
        if star:
            items = [s["items"] for s in _alternatives(current, defs) if isinstance(s.get("items"), dict)]
            if not items:
                return None
            current = items
            lists += 1
    schema: dict[str, Any] = current[0] if len(current) == 1 else {"anyOf": current}
    for _ in range(lists):
        schema = {"type": "array", "items": schema}
    return {"$defs": defs, **schema} if defs else schema


def _alternatives(schemas: list[dict[str, Any]], defs: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Each schema with its local ``$ref`` followed and its ``anyOf``/``oneOf`` branches opened."""
    for schema in schemas:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
            yield from _alternatives([defs[ref[8:]]], defs)
            continue
        yield schema
        for key in ("anyOf", "oneOf", "allOf"):
            yield from _alternatives([s for s in schema.get(key, ()) if isinstance(s, dict)], defs)


__all__ = [
    "CONTEXT_FILE",
    "EXERCISES_DIR",
    "SCHEMA_DIR",
    "TOTAL_POINTS",
    "Context",
    "Erratum",
    "ErratumGrading",
    "Exercise",
    "ExerciseSet",
    "Mistake",
    "Part",
    "Published",
    "Scale",
    "Settings",
    "Sink",
    "SolutionSpec",
    "available_sets",
    "field_schema",
    "json_path",
    "load_exercise_set",
    "load_named_set",
]

"""Where exercise sets come from, and loading one: a folder validated into frozen values.

A set is a folder under ``exercises/`` holding ``context.yaml`` (the events in arrival
order, the engine parameters, the scale, the sink and the grading settings) and one
``exNN.yaml`` per exercise.  Every file is validated against its JSON Schema in
``exercises/schema/`` and checked (:mod:`grader.exercises.checks`); any problem raises
one :class:`~grader.errors.ExerciseDataError` listing them all, each as ``file:
json.path: message``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from datetime import date, datetime
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from grader.errors import ExerciseDataError
from grader.exercises.checks import (
    answer_schema_problems,
    erratum_problems,
    fraction_text,
    located,
    mistake_problems,
    part_problems,
    read_due,
    read_duration,
    read_profile,
    read_visibility,
    schema_problems,
    schema_validator,
    set_problems,
)
from grader.exercises.model import (
    AttemptPolicy,
    Context,
    Erratum,
    ErratumGrading,
    Exercise,
    ExerciseSet,
    Mistake,
    Part,
    Published,
    Scale,
    Settings,
    Sink,
    SolutionSpec,
    Visibility,
)
from grader.exercises.vocabulary import CONTEXT_FILE
from grader.frozen import freeze
from reference.events import Event, EventError, event_from_mapping
from reference.timestamps import MS

#: The sets that ship with streamgrade; ``STREAMGRADE_EXERCISES`` names another folder.
PACKAGED_SETS = Path(__file__).resolve().parents[2] / "exercises"
#: The JSON Schemas of the exercise format: the package's, whatever folder the sets are in.
SCHEMA_DIR = PACKAGED_SETS / "schema"
SET_SCHEMA = "exercise_set.schema.json"
EXERCISE_SCHEMA = "exercise.schema.json"
#: The environment variable naming the sets folder, for every command and the service.
SETS_VARIABLE = "STREAMGRADE_EXERCISES"
#: The set a submission is graded against when nothing names one.
DEFAULT_SET = "week10"

_EXERCISE_FILE = re.compile(r"^ex(\d+)\.ya?ml$")


def sets_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The one folder exercise sets come from: ``STREAMGRADE_EXERCISES`` when it is set,
    else the packaged sets.  Every command, the grader and the service ask here."""
    named = (os.environ if environ is None else environ).get(SETS_VARIABLE, "").strip()
    return Path(named).expanduser().resolve() if named else PACKAGED_SETS


def available_sets(root: Path | str | None = None) -> tuple[str, ...]:
    """Names of the exercise sets under ``root`` (default :func:`sets_folder`): each
    subfolder with a ``context.yaml``."""
    base = Path(root) if root is not None else sets_folder()
    if not base.is_dir():
        return ()
    return tuple(sorted(p.name for p in base.iterdir() if p.is_dir() and (p / CONTEXT_FILE).is_file()))


def load_named_set(name: str, root: Path | str | None = None) -> ExerciseSet:
    """Load the set called ``name`` (such as :data:`DEFAULT_SET`) under ``root`` (default :func:`sets_folder`)."""
    base = Path(root) if root is not None else sets_folder()
    known = available_sets(base)
    if name not in known:
        raise ExerciseDataError(name, [f"unknown exercise set {name!r}; known sets: {', '.join(known) or 'none'}"])
    return load_exercise_set(base / name)


def find_set(name_or_path: str | Path, root: Path | str | None = None) -> ExerciseSet:
    """A set by name under ``root`` (default :func:`sets_folder`), or by its folder's path
    (``./exercises/week11``, for an author trying a set out).

    Raises :class:`~grader.errors.ExerciseDataError` for an unknown name or broken data."""
    base = Path(root) if root is not None else sets_folder()
    known = available_sets(base)
    if str(name_or_path) in known:
        return load_set(str(name_or_path), base)
    if Path(name_or_path).is_dir():
        return load_exercise_set(name_or_path)
    raise ExerciseDataError(str(name_or_path), [f"unknown exercise set {str(name_or_path)!r}; known sets: "
                                                f"{', '.join(known) or 'none'} (or give a set's folder)"])


@lru_cache(maxsize=16)
def _cached_set(folder: Path, name: str) -> ExerciseSet:
    return load_named_set(name, folder)


def load_set(name: str, root: Path | str | None = None) -> ExerciseSet:
    """The set called ``name`` under ``root`` (default :func:`sets_folder`), loaded once per process.

    Raises :class:`~grader.errors.ExerciseDataError` for an unknown name or broken data."""
    return _cached_set(Path(root) if root is not None else sets_folder(), name)


def load_exercise_set(path: Path | str, schema_dir: Path | str = SCHEMA_DIR) -> ExerciseSet:
    """Load and validate the set in folder ``path``; raise :class:`ExerciseDataError` listing every problem."""
    folder = Path(path)
    problems: list[str] = []
    if not (folder / CONTEXT_FILE).is_file():
        raise ExerciseDataError(str(folder), [f"{CONTEXT_FILE}: no such file in {folder}"])
    set_validator = schema_validator(Path(schema_dir) / SET_SCHEMA)
    exercise_validator = schema_validator(Path(schema_dir) / EXERCISE_SCHEMA)

    raw_context = _dates_as_written(_read_yaml(folder / CONTEXT_FILE, problems))
    context = settings = None
    if raw_context is not None:
        before = len(problems)
        problems.extend(schema_problems(set_validator, raw_context, CONTEXT_FILE))
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
        problems.extend(schema_problems(exercise_validator, raw, file.name))
        if len(problems) > before:
            continue
        exercise = _build_exercise(raw, file.name, context, problems)
        if exercise is not None:
            exercises.append(exercise)

    problems.extend(set_problems(files, raw_exercises, exercises, context, settings))
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


def _dates_as_written(raw: Any) -> Any:
    """``context.yaml`` with an unquoted ``settings.due`` (a YAML timestamp) back as the ISO text it was.

    YAML reads ``due: 2026-12-10`` as a date; the schema and :func:`read_due` take text."""
    settings = raw.get("settings") if isinstance(raw, dict) else None
    if isinstance(settings, dict) and isinstance(settings.get("due"), datetime | date):
        settings["due"] = settings["due"].isoformat()
    return raw


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


def _build_context(raw: Mapping[str, Any], problems: list[str]) -> tuple[Context | None, Settings | None]:
    file = CONTEXT_FILE
    before = len(problems)
    events: list[Event] = []
    seen: set[str] = set()
    for i, record in enumerate(raw["events"]):
        try:
            event = event_from_mapping(record, f"events[{i}]")
        except EventError as exc:
            problems.append(located(file, exc.where, exc.message))
            continue
        if event.event_id in seen:
            problems.append(located(file, f"events[{i}].event_id", f"event id {event.event_id!r} is used twice"))
        seen.add(event.event_id)
        events.append(event)
    params = raw["parameters"]
    durations = {
        name: read_duration(params[name], file, f"parameters.{name}", problems)
        for name in ("window_size", "watermark_delay", "allowed_lateness")
    }
    granularity = read_duration(params.get("time_granularity", "1ms"), file, "parameters.time_granularity", problems)
    if durations["window_size"] == 0:
        problems.append(located(file, "parameters.window_size", "a window size must be positive"))
    if granularity == 0:
        problems.append(located(file, "parameters.time_granularity", "the time granularity must be positive"))
    profile = read_profile(params["profile"], file, "parameters.profile", problems)
    settings_raw = raw["settings"]
    settings_profile = read_profile(settings_raw["profile"], file, "settings.profile", problems)
    if profile is not None and settings_profile is not None and profile != settings_profile:
        problems.append(
            located(
                file,
                "settings.profile",
                f"{settings_raw['profile']!r} differs from parameters.profile {params['profile']!r}; "
                "the engine runs with parameters.profile, so the two must agree",
            )
        )
    visibility = read_visibility(settings_raw, file, problems)
    due = read_due(settings_raw["due"], file, "settings.due", problems) if "due" in settings_raw else None
    sink_raw = raw["sink"]
    columns = tuple((c["name"], c["type"]) for c in sink_raw["columns"])
    names = [c for c, _ in columns]
    for i, key in enumerate(sink_raw["primary_key"]):
        if key not in names:
            problems.append(located(file, f"sink.primary_key[{i}]", f"{key!r} is not a column of {sink_raw['table']}"))
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
    return context, Settings(profile=settings_profile.name, visibility=visibility, due=due,
                             attempts=AttemptPolicy(settings_raw.get("attempts", AttemptPolicy.BEST_PER_EXERCISE)))


def _build_exercise(raw: Mapping[str, Any], file: str, context: Context | None, problems: list[str]) -> Exercise | None:
    before = len(problems)
    match = _EXERCISE_FILE.match(file)
    if match and raw["id"] != f"ex{int(match.group(1))}":
        expected = f"ex{int(match.group(1))}"
        problems.append(located(file, "id", f"{raw['id']!r} does not match the file name (expected {expected!r})"))
    problems.extend(answer_schema_problems(raw, file))

    part_ids = [p["id"] for p in raw["parts"]]
    for i, pid in enumerate(part_ids):
        if part_ids.index(pid) != i:
            problems.append(located(file, f"parts[{i}].id", f"part id {pid!r} is used twice"))
    total = sum(Fraction(str(p["points"])) for p in raw["parts"])
    if total != Fraction(str(raw["points"])):
        problems.append(
            located(file, "parts",
                     f"the parts' points add up to {fraction_text(total)}, but the exercise has {raw['points']} points")
        )
    for i, part in enumerate(raw["parts"]):
        problems.extend(part_problems(raw, part, f"parts[{i}]", file, context))
    problems.extend(mistake_problems(raw, file, set(part_ids)))
    problems.extend(erratum_problems(raw, file, set(part_ids)))
    if len(problems) > before:
        return None
    return _exercise_value(raw, file)


def _compare_spec(part: Mapping[str, Any], prompt: str) -> Mapping[str, Any]:
    """A part's ``compare`` spec; a text rubric also learns the part's field and the exercise's prompt
    (naming the question, or repeating it, never counts as an answer)."""
    if part["compare"].get("kind") == "text":
        return {**part["compare"], "part_field": part["field"], "part_prompt": prompt}
    return part["compare"]


def _exercise_value(raw: Mapping[str, Any], file: str) -> Exercise:
    parts = tuple(
        Part(
            id=p["id"],
            field=p["field"],
            points=p["points"],
            compare=freeze(_compare_spec(p, raw.get("prompt", ""))),
            solution=SolutionSpec(
                query=p["solution"]["query"],
                args=freeze(p["solution"].get("args", {})),
                config=freeze(p["solution"].get("config", {})),
            ),
            model_answer=freeze(p.get("model_answer")),
            visibility=Visibility(p["visibility"]) if "visibility" in p else None,
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
            title=" ".join(str(m["title"]).split()) if m.get("title") else None,
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

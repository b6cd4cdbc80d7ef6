"""A set's ``python.yaml``: the functions, their points, how hidden tests are generated.

Read with the set's ``context.yaml`` beside it (the sheet's events are the visible
test); every problem is reported at once as :class:`~grader.errors.ExerciseDataError`.
The mistaken models and stream kinds it may name are listed here (:data:`MISTAKE_MODELS`,
:data:`STREAM_KINDS`); the bindings and the generator implement each, and a test checks
that they agree.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from grader.errors import ExerciseDataError
from grader.exercises.checks import located, read_due, read_profile, read_visibility, schema_problems, schema_validator
from grader.exercises.load import DEFAULT_SET, SCHEMA_DIR, sets_folder
from grader.exercises.model import ExerciseSet, Visibility
from grader.exercises.vocabulary import CONTEXT_FILE
from reference.events import Event, event_from_mapping
from reference.profiles import Profile, get_profile
from reference.timestamps import MINUTE, Ticks, format_duration, parse_time

#: The file of a set folder that declares its Python exercise, and its JSON Schema.
PYTHON_FILE = "python.yaml"
PYTHON_SCHEMA = "python.schema.json"
FUNCTIONS = ("assign_window", "is_late", "window_aggregate", "upsert")


#: The mistaken models ``python.yaml``'s mistakes may name, per function (the bindings
#: implement each; a test checks they agree).
MISTAKE_MODELS = frozenset({
    ("assign_window", "inclusive_end"), ("is_late", "inclusive_end"), ("is_late", "admitted_at_expiry"),
    ("window_aggregate", "canonical"), ("window_aggregate", "inclusive_end"),
    ("window_aggregate", "admitted_at_expiry"), ("window_aggregate", "event_time_order"),
    ("upsert", "accumulating"),
})


#: The kinds of hidden stream ``hidden_tests.kinds`` may weigh (the generator draws each).
STREAM_KINDS = ("empty", "in_order", "shuffled", "late_heavy", "at_expiry", "at_fire", "replayed")


@dataclass(frozen=True)
class Params:
    """Window size, watermark delay and allowed lateness of one test (ticks, whole minutes)."""

    size: Ticks
    delay: Ticks
    lateness: Ticks

    def describe(self) -> str:
        return (f"window {format_duration(self.size)}, watermark delay {format_duration(self.delay)}, "
                f"allowed lateness {format_duration(self.lateness)}")


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    title: str
    points: float


@dataclass(frozen=True)
class MistakeSpec:
    code: str
    models: Mapping[str, str]
    feedback: str


@dataclass(frozen=True)
class HiddenSpec:
    streams: int
    show_inputs: str
    sizes: tuple[int, ...]
    delays: tuple[int, ...]
    latenesses: tuple[int, ...]
    users: tuple[str, ...]
    events_min: int
    events_max: int
    start: Ticks
    second_share: float
    decimal_share: float
    boundary_share: float
    late_share: float
    duplicate_share: float
    kinds: tuple[tuple[str, int], ...]
    assign_per_stream: int
    is_late_per_stream: int
    upsert_share: float
    upsert_max_writes: int


@dataclass(frozen=True, eq=False)
class PythonExercise:
    """``python.yaml`` read and checked, with the sheet's events from ``context.yaml``.

    ``fingerprint`` is a hash of the data it was read from (``python.yaml`` and
    ``context.yaml``): the derived seeds of hidden streams change when it does."""

    id: str
    exercise_set: str
    title: str
    max_bytes: int
    display_name: str
    profile: Profile
    functions: tuple[FunctionSpec, ...]
    sheet_params: Params
    sheet_events: tuple[Event, ...]
    #: The set's visibility of expected values (``context.yaml`` settings): a defined function
    #: is an answered part, so a failing one is shown the expected value of its
    #: counterexample when :func:`grader.visibility.expected_visible` allows.
    visibility: Visibility
    due: datetime | None
    hidden: HiddenSpec
    shrink_rounds: int
    shrink_seconds: float
    call_timeout_s: float
    forbidden_imports: tuple[str, ...]
    mistakes: tuple[MistakeSpec, ...]
    template: str
    fingerprint: str

    @property
    def max_score(self) -> float:
        return sum(f.points for f in self.functions)

    def function(self, name: str) -> FunctionSpec:
        return next(f for f in self.functions if f.name == name)


@functools.lru_cache(maxsize=4)
def load_python_exercise(path: Path | str | None = None) -> PythonExercise:
    """Read ``python.yaml`` (and the set's ``context.yaml`` beside it), validated against
    ``exercises/schema/python.schema.json`` and then by the checks no schema states; every
    problem found is reported at once as :class:`ExerciseDataError`, each with its file and
    path.  Without ``path``, the default set's, in the sets folder."""
    path = Path(path) if path is not None else sets_folder() / DEFAULT_SET / PYTHON_FILE
    problems: list[str] = []
    raw = _yaml(path, problems)
    context = _yaml(path.with_name(CONTEXT_FILE), problems)
    if problems:
        raise ExerciseDataError(path.name, problems)
    context = context if isinstance(context, dict) else {}
    problems = schema_problems(schema_validator(SCHEMA_DIR / PYTHON_SCHEMA), raw, path.name)
    problems += _semantic_problems(raw if isinstance(raw, dict) else {}, context, path.name)
    if problems:
        raise ExerciseDataError(path.name, problems)
    return _exercise(raw, context)


def _at(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...``, or ``None`` where a level is missing or not a mapping: the
    checks below run beside the schema's, on whatever parts have the right shape."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _semantic_problems(raw: dict[str, Any], context: dict[str, Any], file: str) -> list[str]:
    """What the schema cannot state: a known profile with its own allowed lateness, a start
    time, window sizes aligned to the hour, min <= max, known mistaken models, the sheet's
    events, and the set this file belongs to."""
    problems: list[str] = []
    profile_name = _at(raw, "semantics", "profile")
    profile = read_profile(profile_name, file, "semantics.profile", problems) if isinstance(profile_name, str) else None
    if profile is not None and profile.lateness_in_watermark:
        problems.append(located(file, "semantics.profile", f"{profile.name} has no allowed lateness of its own"))
    start = _at(raw, "hidden_tests", "start_time")
    if isinstance(start, str):
        try:
            parse_time(start)
        except ValueError as exc:
            problems.append(f"{file}: hidden_tests.start_time: {exc}")
    sizes = _at(raw, "hidden_tests", "window_sizes_minutes")
    if isinstance(sizes, list) and any(isinstance(s, int) and s > 0 and 60 % s for s in sizes):
        problems.append(f"{file}: hidden_tests.window_sizes_minutes: each size must divide 60 minutes "
                        "(windows are aligned to midnight and to the hour alike)")
    counts = _at(raw, "hidden_tests", "events_per_stream")
    low, high = _at(counts, "min"), _at(counts, "max")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(f"{file}: hidden_tests.events_per_stream: min is more than max")
    for i, mistake in enumerate(raw.get("mistakes") if isinstance(raw.get("mistakes"), list) else []):
        models = _at(mistake, "models")
        for fn, model in (models.items() if isinstance(models, dict) else ()):
            if fn in FUNCTIONS and isinstance(model, str) and (fn, model) not in MISTAKE_MODELS:
                problems.append(f"{file}: mistakes[{i}].models.{fn}: no model {model!r} for {fn}")
    for i, record in enumerate(context.get("events") or []):
        try:
            event_from_mapping(record, f"{CONTEXT_FILE} events[{i}]")
        except ValueError as exc:
            problems.append(str(exc))
    settings = context.get("settings") if isinstance(context.get("settings"), dict) else {}
    read_visibility(settings, CONTEXT_FILE, problems)
    if "due" in settings:
        read_due(settings["due"], CONTEXT_FILE, "settings.due", problems)
    declared, owner = raw.get("exercise_set"), context.get("id")
    if isinstance(declared, str) and isinstance(owner, str) and declared != owner:
        problems.append(f"{file}: exercise_set: {declared!r}, but the set in this folder is {owner!r} "
                        f"({CONTEXT_FILE} id)")
    return problems


def _exercise(raw: dict[str, Any], context: dict[str, Any]) -> PythonExercise:
    """The exercise from data that passed every check above."""
    sheet, h, settings = raw["sheet_test"], raw["hidden_tests"], context.get("settings") or {}
    hidden = HiddenSpec(
        streams=h["streams"], show_inputs=h["show_inputs"], sizes=tuple(h["window_sizes_minutes"]),
        delays=tuple(h["watermark_delays_minutes"]), latenesses=tuple(h["allowed_lateness_minutes"]),
        users=tuple(str(u) for u in h["users"]), events_min=h["events_per_stream"]["min"],
        events_max=h["events_per_stream"]["max"], start=parse_time(h["start_time"]),
        second_share=float(h["second_granularity_share"]), decimal_share=float(h["decimal_amount_share"]),
        boundary_share=float(h["boundary_time_share"]), late_share=float(h["late_arrival_share"]),
        duplicate_share=float(h["duplicate_share"]), kinds=tuple((str(k), int(v)) for k, v in h["kinds"].items()),
        assign_per_stream=h["assign_window_per_stream"], is_late_per_stream=h["is_late_per_stream"],
        upsert_share=float(h["upsert_share"]), upsert_max_writes=h["upsert_max_writes"],
    )
    return PythonExercise(
        id=raw["id"], exercise_set=raw["exercise_set"], title=raw["title"],
        max_bytes=raw["submission"]["max_bytes"], display_name=raw["submission"]["display_name"],
        profile=get_profile(raw["semantics"]["profile"]),
        functions=tuple(FunctionSpec(f["name"], f["title"], float(f["points"])) for f in raw["functions"]),
        sheet_params=Params(sheet["window_size_minutes"] * MINUTE, sheet["watermark_delay_minutes"] * MINUTE,
                            sheet["allowed_lateness_minutes"] * MINUTE),
        sheet_events=tuple(event_from_mapping(r, f"{CONTEXT_FILE} events[{i}]")
                           for i, r in enumerate(context.get("events") or [])),
        visibility=read_visibility(settings, CONTEXT_FILE, []) or Visibility.NEVER,
        due=read_due(settings["due"], CONTEXT_FILE, "settings.due", []) if "due" in settings else None,
        hidden=hidden,
        shrink_rounds=raw["shrinking"]["max_rounds"], shrink_seconds=float(raw["shrinking"]["max_seconds"]),
        call_timeout_s=float(raw["limits"]["call_timeout_s"]),
        forbidden_imports=tuple(raw["forbidden_imports"]),
        mistakes=tuple(MistakeSpec(m["code"], dict(m["models"]), " ".join(m["feedback"].split()))
                       for m in raw["mistakes"]),
        template=raw["template"],
        fingerprint=hashlib.sha256(json.dumps({"python": raw, "context": context}, sort_keys=True,
                                              default=str).encode()).hexdigest(),
    )


def _yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: {exc}")
        return None


def python_exercise_of(exercise_set: ExerciseSet) -> PythonExercise | None:
    """The Python exercise the set declares (its ``python.yaml``), or ``None`` when it has none."""
    path = exercise_set.path / PYTHON_FILE
    return load_python_exercise(path) if path.is_file() else None

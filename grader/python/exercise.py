"""A set's ``python.yaml``: the functions, their points, how hidden tests are generated.

Read with the set's ``context.yaml`` beside it (the sheet's events are the visible
test); every problem is reported at once as :class:`~grader.errors.ExerciseDataError`.
The mistaken models and stream kinds it may name are listed here (:data:`MISTAKE_MODELS`,
:data:`STREAM_KINDS`); the bindings and the generator implement each, and a test checks
that they agree.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from grader.errors import ExerciseDataError
from grader.exercises.load import DEFAULT_SET, sets_folder
from grader.exercises.model import ExerciseSet
from reference.config import LatePolicy
from reference.events import Event, event_from_mapping
from reference.profiles import Profile, get_profile
from reference.timestamps import MINUTE, Ticks, format_duration, parse_time

#: The file of a set folder that declares its Python exercise.
PYTHON_FILE = "python.yaml"
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
    """``python.yaml`` read and checked, with the sheet's events from ``context.yaml``."""

    id: str
    exercise_set: str
    title: str
    max_bytes: int
    display_name: str
    profile: Profile
    functions: tuple[FunctionSpec, ...]
    sheet_params: Params
    sheet_events: tuple[Event, ...]
    show_expected: bool
    hidden: HiddenSpec
    shrink_rounds: int
    shrink_seconds: float
    call_timeout_s: float
    forbidden_imports: tuple[str, ...]
    mistakes: tuple[MistakeSpec, ...]
    template: str

    @property
    def max_score(self) -> float:
        return sum(f.points for f in self.functions)

    def function(self, name: str) -> FunctionSpec:
        return next(f for f in self.functions if f.name == name)


@functools.lru_cache(maxsize=4)
def load_python_exercise(path: Path | str | None = None) -> PythonExercise:
    """Read ``python.yaml`` (and the set's ``context.yaml`` beside it); every problem found
    is reported at once as :class:`ExerciseDataError`.  Without ``path``, the default
    set's, in the sets folder."""
    path = Path(path) if path is not None else sets_folder() / DEFAULT_SET / PYTHON_FILE
    problems: list[str] = []
    raw = _yaml(path, problems)
    context = _yaml(path.with_name("context.yaml"), problems)
    if problems:
        raise ExerciseDataError(path.name, problems)
    reader = _Reader(path.name, problems)
    functions = tuple(
        FunctionSpec(reader.str(f, "name", f"functions[{i}]"), reader.str(f, "title", f"functions[{i}]"),
                     reader.num(f, "points", f"functions[{i}]"))
        for i, f in enumerate(reader.list(raw, "functions")))
    for f in functions:
        if f.name not in FUNCTIONS:
            problems.append(f"{path.name}: functions: unknown function {f.name!r} (known: {', '.join(FUNCTIONS)})")
    semantics = reader.map(raw, "semantics")
    try:
        profile = get_profile(reader.str(semantics, "profile", "semantics"))
        if profile.lateness_in_watermark:
            problems.append(f"{path.name}: semantics.profile: {profile.name} has no allowed lateness of its own")
    except ValueError as exc:
        problems.append(f"{path.name}: semantics.profile: {exc}")
        profile = get_profile("flink")
    if reader.str(semantics, "late_policy", "semantics") != LatePolicy.UPDATE.value:
        problems.append(f"{path.name}: semantics.late_policy: only 'update' gives an upsert sink's final rows")
    sheet = reader.map(raw, "sheet_test")
    sheet_params = Params(reader.int(sheet, "window_size_minutes", "sheet_test") * MINUTE,
                          reader.int(sheet, "watermark_delay_minutes", "sheet_test") * MINUTE,
                          reader.int(sheet, "allowed_lateness_minutes", "sheet_test") * MINUTE)
    h = reader.map(raw, "hidden_tests")
    counts = reader.map(h, "events_per_stream", "hidden_tests")
    kinds = reader.map(h, "kinds", "hidden_tests")
    unknown_kinds = set(kinds) - set(STREAM_KINDS)
    if unknown_kinds:
        problems.append(f"{path.name}: hidden_tests.kinds: unknown {sorted(unknown_kinds)} "
                        f"(known: {list(STREAM_KINDS)})")
    show_inputs = reader.str(h, "show_inputs", "hidden_tests")
    if show_inputs not in ("never", "counterexample"):
        problems.append(f"{path.name}: hidden_tests.show_inputs: {show_inputs!r} is not never or counterexample")
    try:
        start = parse_time(reader.str(h, "start_time", "hidden_tests"))
    except ValueError as exc:
        problems.append(f"{path.name}: hidden_tests.start_time: {exc}")
        start = 10 * 60 * MINUTE
    hidden = HiddenSpec(
        streams=reader.int(h, "streams", "hidden_tests"), show_inputs=show_inputs,
        sizes=tuple(reader.ints(h, "window_sizes_minutes", "hidden_tests")),
        delays=tuple(reader.ints(h, "watermark_delays_minutes", "hidden_tests")),
        latenesses=tuple(reader.ints(h, "allowed_lateness_minutes", "hidden_tests")),
        users=tuple(str(u) for u in reader.list(h, "users", "hidden_tests")),
        events_min=reader.int(counts, "min", "hidden_tests.events_per_stream"),
        events_max=reader.int(counts, "max", "hidden_tests.events_per_stream"),
        start=start,
        second_share=reader.num(h, "second_granularity_share", "hidden_tests"),
        decimal_share=reader.num(h, "decimal_amount_share", "hidden_tests"),
        boundary_share=reader.num(h, "boundary_time_share", "hidden_tests"),
        late_share=reader.num(h, "late_arrival_share", "hidden_tests"),
        duplicate_share=reader.num(h, "duplicate_share", "hidden_tests"),
        kinds=tuple((str(k), int(v)) for k, v in kinds.items()),
        assign_per_stream=reader.int(h, "assign_window_per_stream", "hidden_tests"),
        is_late_per_stream=reader.int(h, "is_late_per_stream", "hidden_tests"),
        upsert_share=reader.num(h, "upsert_share", "hidden_tests"),
        upsert_max_writes=reader.int(h, "upsert_max_writes", "hidden_tests"),
    )
    if not hidden.sizes or any(60 % s for s in hidden.sizes):
        problems.append(f"{path.name}: hidden_tests.window_sizes_minutes: each size must divide 60 minutes "
                        "(windows are aligned to midnight and to the hour alike)")
    mistakes = []
    for i, m in enumerate(reader.list(raw, "mistakes")):
        models = reader.map(m, "models", f"mistakes[{i}]")
        for fn, model in models.items():
            if (fn, model) not in MISTAKE_MODELS:
                problems.append(f"{path.name}: mistakes[{i}].models.{fn}: no model {model!r} for {fn}")
        mistakes.append(MistakeSpec(reader.str(m, "code", f"mistakes[{i}]"), dict(models),
                                    " ".join(reader.str(m, "feedback", f"mistakes[{i}]").split())))
    sub = reader.map(raw, "submission")
    limits = reader.map(raw, "limits")
    shrink = reader.map(raw, "shrinking")
    events = []
    for i, record in enumerate((context or {}).get("events") or []):
        try:
            events.append(event_from_mapping(record, f"context.yaml events[{i}]"))
        except ValueError as exc:
            problems.append(str(exc))
    settings = (context or {}).get("settings") or {}
    declared, owner = (raw or {}).get("exercise_set"), (context or {}).get("id")
    if isinstance(declared, str) and isinstance(owner, str) and declared != owner:
        problems.append(f"{path.name}: exercise_set: {declared!r}, but the set in this folder is {owner!r} "
                        "(context.yaml id)")
    exercise = PythonExercise(
        id=reader.str(raw, "id"), exercise_set=reader.str(raw, "exercise_set"), title=reader.str(raw, "title"),
        max_bytes=reader.int(sub, "max_bytes", "submission"),
        display_name=reader.str(sub, "display_name", "submission"),
        profile=profile, functions=functions, sheet_params=sheet_params, sheet_events=tuple(events),
        show_expected=bool(settings.get("show_expected", False)), hidden=hidden,
        shrink_rounds=reader.int(shrink, "max_rounds", "shrinking"),
        shrink_seconds=reader.num(shrink, "max_seconds", "shrinking"),
        call_timeout_s=reader.num(limits, "call_timeout_s", "limits"),
        forbidden_imports=tuple(str(x) for x in reader.list(raw, "forbidden_imports")),
        mistakes=tuple(mistakes), template=reader.str(raw, "template"),
    )
    if problems:
        raise ExerciseDataError(path.name, problems)
    return exercise


def _yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path.name}: {exc}")
        return None


class _Reader:
    """Typed access to the YAML with every problem recorded as ``file: path: message``."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems

    def _get(self, data: Any, key: str, where: str, kinds: tuple[type, ...], default: Any) -> Any:
        path = f"{where}.{key}" if where else key
        value = data.get(key) if isinstance(data, Mapping) else None
        if value is None or (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.problems.append(f"{self.file}: {path}: expected {' or '.join(k.__name__ for k in kinds)}, "
                                 f"got {value!r}")
            return default
        return value

    def str(self, data: Any, key: str, where: str = "") -> str:
        return self._get(data, key, where, (str,), "")

    def int(self, data: Any, key: str, where: str = "") -> int:
        return self._get(data, key, where, (int,), 0)

    def num(self, data: Any, key: str, where: str = "") -> float:
        return float(self._get(data, key, where, (int, float), 0))

    def list(self, data: Any, key: str, where: str = "") -> list:
        return self._get(data, key, where, (list,), [])

    def ints(self, data: Any, key: str, where: str = "") -> list[int]:
        values = self.list(data, key, where)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
            self.problems.append(f"{self.file}: {where}.{key}: expected whole minutes, got {values!r}")
            return [1]
        return values

    def map(self, data: Any, key: str, where: str = "") -> dict:
        return self._get(data, key, where, (dict,), {})


def python_exercise_of(exercise_set: ExerciseSet) -> PythonExercise | None:
    """The Python exercise the set declares (its ``python.yaml``), or ``None`` when it has none."""
    path = exercise_set.path / PYTHON_FILE
    return load_python_exercise(path) if path.is_file() else None

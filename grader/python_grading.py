"""Grading Python answers: the sheet's events and hidden generated streams, run in the
sandbox, compared with the reference engine, failures shrunk to minimal counterexamples.

A submission defines some of ``assign_window``, ``is_late``, ``window_aggregate`` and
``upsert`` (SUBMISSION_FORMAT.md, "Python answers"); ``exercises/week10/python.yaml``
gives their points and how hidden tests are generated.  Each function is one part of
one exercise, scored all or nothing: a function is right when it is right on the
sheet's events (always a visible test) and on every hidden test.

The flow of :func:`grade_python`:

1. the suite: the sheet's cases and about 200 streams generated from a seed (random
   users and times, out-of-order and late arrivals, event times exactly on window ends,
   late events arriving exactly when the watermark reaches ``end + L``, replayed event
   ids, empty streams); every expected value comes from the engine (:class:`Binding`
   subclasses are the one place that binds a function to its engine call);
2. one sandboxed process runs every call, started before the suite is built and sent the
   calls in batches as they are built, so that it runs them meanwhile (a process that
   dies is rerun without the function that killed it, which is then reported with the
   input it died on);
3. outputs are checked outside the sandbox, types first, then values;
4. for each wrong function the failing input is shrunk (delta debugging over events or
   writes, plus simpler parameters), each round's candidates batched into one sandboxed
   run, and shown in the sheet's notation (``e3 (A, 10:04, 2)``);
5. known mistakes are diagnosed by models that reproduce them.

The sandbox never receives an expected value.
"""

from __future__ import annotations

import functools
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from grader.errors import ExerciseDataError
from grader.quoting import cut, quote
from grader.results import (
    ExerciseResult,
    Finding,
    GradeResult,
    PartResult,
    Status,
    bounded,
    status_for,
    unreadable,
)
from grader.sandbox import (
    Call,
    CallOutcome,
    Opaque,
    PendingRun,
    RunEnd,
    Sandbox,
    SandboxRun,
    Tier,
    default_sandbox,
)
from reference.config import LatePolicy, RunConfig
from reference.engine import run as run_engine
from reference.events import Event, event_from_mapping
from reference.profiles import Profile, get_profile
from reference.results import EmissionKind, LateOutcome, Run
from reference.timestamps import MINUTE, MS, SECOND, Ticks, format_duration, format_time, parse_time, to_datetime
from reference.windows import Tumbling

EXERCISES_DIR = Path(__file__).resolve().parent.parent / "exercises"
DEFAULT_EXERCISE = EXERCISES_DIR / "week10" / "python.yaml"
FUNCTIONS = ("assign_window", "is_late", "window_aggregate", "upsert")
_EPOCH = datetime(1970, 1, 1)

Table = dict[tuple[Ticks, str], Decimal]


# -- the exercise data -------------------------------------------------------------------

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
def load_python_exercise(path: Path | str = DEFAULT_EXERCISE) -> PythonExercise:
    """Read ``python.yaml`` (and the set's ``context.yaml`` beside it); every problem found
    is reported at once as :class:`ExerciseDataError`."""
    path = Path(path)
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
    unknown_kinds = set(kinds) - set(_KINDS)
    if unknown_kinds:
        problems.append(f"{path.name}: hidden_tests.kinds: unknown {sorted(unknown_kinds)} (known: {list(_KINDS)})")
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
            if (fn, model) not in _MODELS:
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


# -- test inputs and the engine's answers -------------------------------------------------

@dataclass(frozen=True)
class AssignInput:
    time: Ticks
    size: Ticks


@dataclass(frozen=True)
class LateInput:
    time: Ticks
    watermark: Ticks  # the sheet's convention: M - B
    size: Ticks
    lateness: Ticks


@dataclass(frozen=True)
class StreamInput:
    events: tuple[Event, ...]
    params: Params


@dataclass(frozen=True)
class SinkRow:
    window_start: Ticks
    user_id: str
    sum_amount: Decimal

    def describe(self) -> str:
        return f"({format_time(self.window_start)}, {self.user_id}, {self.sum_amount})"


@dataclass(frozen=True)
class WritesInput:
    writes: tuple[SinkRow, ...]


@dataclass(frozen=True)
class Case:
    """One call of one function with its canonical answer (never sent to the sandbox)."""

    id: str
    function: str
    input: Any
    expected: Any
    visible: bool = False
    encoded: Any = field(default=None, compare=False, repr=False)


def _minutes(ticks: Ticks) -> int:
    return ticks // MINUTE


def _window_start(t: Ticks, size: Ticks) -> Ticks:
    return Tumbling(size).assign(t)[0].start


def _event_dict(ev: Event) -> dict[str, Any]:
    return {"event_id": ev.event_id, "user_id": ev.user_id, "event_time": to_datetime(ev.event_time),
            "amount": ev.amount}


@functools.lru_cache(maxsize=1 << 16)
def _iso(t: Ticks) -> str:
    return to_datetime(t).isoformat()


def _dt(t: Ticks) -> dict[str, str]:
    """A time in the sandbox codec's form (what ``encode(to_datetime(t))`` gives, faster)."""
    return {"$dt": _iso(t)}


def _dec(amount: Decimal) -> dict[str, str]:
    return {"$dec": str(amount)}


def _ticks(value: Any) -> Ticks | None:
    """Ticks of a naive ``datetime`` (what a submission must return), else None."""
    if type(value) is datetime and value.tzinfo is None:
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds // 1000
    return None


def _fmt_table(table: Table) -> str:
    if not table:
        return "{}"
    return cut("{" + ", ".join(f"({format_time(k[0])}, {cut(k[1], 40)}): {cut(str(v), 40)}"
                               for k, v in sorted(table.items())) + "}")


def _fmt_rows(rows: Table) -> str:
    if not rows:
        return "no rows"
    return cut(", ".join(f"({format_time(k[0])}, {cut(k[1], 40)}, {cut(str(v), 40)})"
                         for k, v in sorted(rows.items())))


def _type_of(value: Any) -> str:
    if isinstance(value, Opaque):
        return value.type_name
    return type(value).__name__


def _shown(value: Any) -> str:
    return quote(value)


class TypeProblem(Exception):
    """A returned value of the wrong type or shape; the message says what was expected."""


class Binding:
    """Binds one submission function to its canonical answer, its checks and its words."""

    name: str = ""
    fold = False

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    # the call
    def args(self, inp: Any) -> tuple:
        """The arguments as Python values (datetime, Decimal, dicts)."""
        raise NotImplementedError

    def encoded(self, inp: Any) -> list:
        """The same arguments already in the sandbox codec's form (built without datetimes)."""
        raise NotImplementedError

    def expected(self, inp: Any) -> Any:
        raise NotImplementedError

    def normalize(self, value: Any) -> Any:
        """The returned value in the canonical form; raises :class:`TypeProblem`."""
        raise NotImplementedError

    # words
    def describe_input(self, inp: Any) -> str:
        raise NotImplementedError

    def describe_value(self, value: Any) -> str:
        raise NotImplementedError

    def explain(self, inp: Any, expected: Any, given: Any) -> str:
        """Why the expected value is what it is, for this input (one sentence or empty)."""
        return ""

    # shrinking and choosing what to show
    def candidates(self, inp: Any) -> list[Any]:
        return []

    def size(self, inp: Any) -> tuple:
        return ()

    def simplicity(self, inp: Any) -> tuple:
        return self.size(inp)

    # mistakes
    def model(self, name: str, inp: Any) -> Any:
        return _MODELS[(self.name, name)](self, inp)


class AssignWindow(Binding):
    name = "assign_window"

    def args(self, inp: AssignInput) -> tuple:
        return (to_datetime(inp.time), _minutes(inp.size))

    def encoded(self, inp: AssignInput) -> list:
        return [_dt(inp.time), _minutes(inp.size)]

    def expected(self, inp: AssignInput) -> Ticks:
        return _window_start(inp.time, inp.size)

    def normalize(self, value: Any) -> Ticks:
        ticks = _ticks(value)
        if ticks is None:
            if isinstance(value, datetime):
                raise TypeProblem(f"returned an aware datetime {value}; the inputs are naive, return a naive one")
            raise TypeProblem(f"returned {_shown(value)} ({_type_of(value)}); expected a datetime.datetime")
        return ticks

    def describe_input(self, inp: AssignInput) -> str:
        return f"assign_window({format_time(inp.time)}, {_minutes(inp.size)})"

    def describe_value(self, value: Ticks) -> str:
        return format_time(value)

    def explain(self, inp: AssignInput, expected: Ticks, given: Any) -> str:
        end = expected + inp.size
        if inp.time == expected:
            return (f"Windows are half-open, [start, end): {format_time(inp.time)} is the start of "
                    f"[{format_time(expected)}, {format_time(end)}), not the end of the window before")
        return f"{format_time(inp.time)} lies in [{format_time(expected)}, {format_time(end)})"

    def simplicity(self, inp: AssignInput) -> tuple:
        return (inp.size != 5 * MINUTE, inp.time % MINUTE != 0, inp.time)


class IsLate(Binding):
    name = "is_late"

    def args(self, inp: LateInput) -> tuple:
        return (to_datetime(inp.time), to_datetime(inp.watermark), _minutes(inp.size), _minutes(inp.lateness))

    def encoded(self, inp: LateInput) -> list:
        return [_dt(inp.time), _dt(inp.watermark), _minutes(inp.size), _minutes(inp.lateness)]

    def expected(self, inp: LateInput) -> bool:
        end = _window_start(inp.time, inp.size) + inp.size
        # The student's watermark is M - B; the engine's (Flink) is M - B - 1 ms.
        return self.profile.is_droppable(end, inp.lateness, self.profile.watermark(inp.watermark, 0))

    def normalize(self, value: Any) -> bool:
        if type(value) is not bool:
            raise TypeProblem(f"returned {_shown(value)} ({_type_of(value)}); expected True or False")
        return value

    def describe_input(self, inp: LateInput) -> str:
        return (f"is_late(event_time {format_time(inp.time)}, watermark {format_time(inp.watermark)}, "
                f"size {_minutes(inp.size)}, allowed lateness {_minutes(inp.lateness)})")

    def describe_value(self, value: bool) -> str:
        return str(value)

    def explain(self, inp: LateInput, expected: bool, given: Any) -> str:
        start = _window_start(inp.time, inp.size)
        end = start + inp.size
        expiry = end + inp.lateness
        window = f"[{format_time(start)}, {format_time(end)})"
        lateness = f" + {format_duration(inp.lateness)}" if inp.lateness else ""
        if expected:
            equal = " (at equality too)" if inp.watermark == expiry else ""
            return (f"{format_time(inp.time)} belongs to {window}, whose state is kept until the watermark reaches "
                    f"{format_time(end)}{lateness} = {format_time(expiry)}; the watermark is "
                    f"{format_time(inp.watermark)}, so the event is dropped{equal}")
        return (f"{format_time(inp.time)} belongs to {window}, kept until the watermark reaches "
                f"{format_time(end)}{lateness} = {format_time(expiry)}; the watermark is only "
                f"{format_time(inp.watermark)}, so the event still counts")

    def simplicity(self, inp: LateInput) -> tuple:
        return (inp.size != 5 * MINUTE, inp.time % MINUTE != 0 or inp.watermark % MINUTE != 0, inp.lateness == 0,
                inp.time)


class WindowAggregate(Binding):
    name = "window_aggregate"

    def args(self, inp: StreamInput) -> tuple:
        p = inp.params
        return ([_event_dict(ev) for ev in inp.events], _minutes(p.size), _minutes(p.delay), _minutes(p.lateness))

    def encoded(self, inp: StreamInput) -> list:
        p = inp.params
        events = [{"event_id": ev.event_id, "user_id": ev.user_id, "event_time": _dt(ev.event_time),
                   "amount": _dec(ev.amount)} for ev in inp.events]
        return [events, _minutes(p.size), _minutes(p.delay), _minutes(p.lateness)]

    def config(self, params: Params) -> RunConfig:
        return RunConfig(windows=Tumbling(params.size), watermark_delay=params.delay,
                         allowed_lateness=params.lateness, late_policy=LatePolicy.UPDATE, profile=self.profile,
                         track_events=False)

    def expected(self, inp: StreamInput) -> Table:
        result = run_engine(inp.events, self.config(inp.params))
        return {(r.window_start, r.user_id): r.sum_amount for r in result.final_rows()}

    def normalize(self, value: Any) -> Table:
        if not isinstance(value, list | tuple):
            raise TypeProblem(f"returned {_shown(value)} ({_type_of(value)}); expected a list of rows "
                              '{"window_start": datetime, "user_id": str, "sum_amount": Decimal}')
        rows: Table = {}
        for i, row in enumerate(value):
            if not isinstance(row, dict):
                raise TypeProblem(f"row {i} is {_shown(row)} ({_type_of(row)}); expected a dict with "
                                  "window_start, user_id and sum_amount")
            missing = [k for k in ("window_start", "user_id", "sum_amount") if k not in row]
            if missing:
                raise TypeProblem(f"row {i} {_shown(row)} has no {', '.join(missing)}")
            start = _ticks(row["window_start"])
            if start is None:
                raise TypeProblem(f"row {i}: window_start {_shown(row['window_start'])} "
                                  f"({_type_of(row['window_start'])}) is not a naive datetime.datetime")
            user = row["user_id"]
            if not isinstance(user, str):
                raise TypeProblem(f"row {i}: user_id {_shown(user)} ({_type_of(user)}) is not a str")
            rows_key = (start, user)
            if rows_key in rows:
                raise TypeProblem(f"two rows for ({format_time(start)}, {user}): the sink holds one row per "
                                  "(window_start, user_id)")
            rows[rows_key] = _amount(row["sum_amount"], f"row {i}: sum_amount")
        return rows

    def describe_input(self, inp: StreamInput) -> str:
        events = ", ".join(ev.describe() for ev in inp.events) if inp.events else "no events"
        return f"window_aggregate on {events} (arrival order; {inp.params.describe()})"

    def describe_value(self, value: Table) -> str:
        return _fmt_rows(value)

    def explain(self, inp: StreamInput, expected: Table, given: Any) -> str:
        if not isinstance(given, dict):
            return ""
        differing = {k for k in set(expected) | set(given) if expected.get(k) != given.get(k)}
        result = run_engine(inp.events, self.config(inp.params))
        minus = self.profile.watermark_minus
        notes = []
        for late in result.late:
            window = late.window
            if not any(k[0] == window.start and k[1] == late.event.user_id for k in differing):
                continue
            watermark = format_time(late.watermark + minus)
            expiry = format_time(window.end + inp.params.lateness)
            if late.outcome is LateOutcome.DROPPED:
                notes.append(f"{late.event.describe()} arrives when the watermark is {watermark} and {window} "
                             f"expired at {expiry} (end + allowed lateness): dropped")
            else:
                notes.append(f"{late.event.describe()} arrives after {window} fired (watermark {watermark}) but "
                             f"before it expires at {expiry}: it updates the row")
        for (start, user) in sorted(differing):
            if not any(ev.user_id == user and _window_start(ev.event_time, inp.params.size) == start
                       for ev in inp.events):
                notes.append(f"No event of {user} lies in [{format_time(start)}, "
                             f"{format_time(start + inp.params.size)})")
        return "; ".join(notes)

    def candidates(self, inp: StreamInput) -> list[StreamInput]:
        events, p = inp.events, inp.params
        out: list[StreamInput] = []
        n = len(events)
        chunk = n // 2
        seen = set()
        while chunk >= 1:
            for start in range(0, n, chunk):
                kept = events[:start] + events[start + chunk:]
                if kept not in seen:
                    seen.add(kept)
                    out.append(StreamInput(kept, p))
            chunk //= 2
        for simpler in (replace(p, lateness=0), replace(p, delay=0), replace(p, size=5 * MINUTE)):
            if simpler != p:
                out.append(StreamInput(events, simpler))
        relabelled = _relabel(events)
        if relabelled != events:
            out.append(StreamInput(relabelled, p))
        shifted = _shift_to_start(events, p.size)
        if shifted != events:
            out.append(StreamInput(shifted, p))
        return out

    def size(self, inp: StreamInput) -> tuple:
        p = inp.params
        return (len(inp.events), p.lateness != 0, p.delay != 0, p.size != 5 * MINUTE,
                inp.events != _relabel(inp.events), inp.events != _shift_to_start(inp.events, p.size))


class Upsert(Binding):
    name = "upsert"
    fold = True

    def args(self, inp: WritesInput) -> tuple:
        rows = [{"window_start": to_datetime(w.window_start), "user_id": w.user_id, "sum_amount": w.sum_amount}
                for w in inp.writes]
        return ({}, rows)

    def encoded(self, inp: WritesInput) -> list:
        return [{}, [{"window_start": _dt(w.window_start), "user_id": w.user_id, "sum_amount": _dec(w.sum_amount)}
                     for w in inp.writes]]

    def expected(self, inp: WritesInput) -> list[Table]:
        table: Table = {}
        after = []
        for w in inp.writes:
            table[(w.window_start, w.user_id)] = w.sum_amount
            after.append(dict(table))
        return after

    def normalize(self, value: Any) -> list[Table]:
        if not isinstance(value, list):  # the harness always sends the list of states
            raise TypeProblem(f"returned {_shown(value)} ({_type_of(value)}) in place of the table's states")
        tables = []
        for step, snapshot in enumerate(value):
            if not isinstance(snapshot, dict):
                raise TypeProblem(f"after write {step + 1} the table is {_shown(snapshot)} ({_type_of(snapshot)}); "
                                  "expected a dict keyed by (window_start, user_id)")
            table: Table = {}
            for key, stored in snapshot.items():
                if not (isinstance(key, tuple) and len(key) == 2 and _ticks(key[0]) is not None
                        and isinstance(key[1], str)):
                    raise TypeProblem(f"after write {step + 1} the table has the key {_shown(key)}; expected "
                                      "(window_start, user_id), a (datetime, str) tuple")
                amount = stored.get("sum_amount") if isinstance(stored, dict) else stored
                if not (type(amount) is Decimal and amount.is_finite()):  # checked, and quoted, only when odd
                    amount = _amount(amount, f"table[{_shown(key)}]")
                table[(_ticks(key[0]), key[1])] = amount
            tables.append(table)
        return tables

    def describe_input(self, inp: WritesInput) -> str:
        return "upsert, writes in order into an empty table: " + ", ".join(w.describe() for w in inp.writes)

    def describe_value(self, value: list[Table]) -> str:
        return _fmt_table(value[-1]) if value else "{}"

    def first_difference(self, expected: list[Table], given: list[Table]) -> int | None:
        for step, (want, got) in enumerate(zip(expected, given, strict=False)):
            if want != got:
                return step
        return None if len(expected) == len(given) else min(len(expected), len(given))

    def explain(self, inp: WritesInput, expected: list[Table], given: Any) -> str:
        if not isinstance(given, list):
            return ""
        step = self.first_difference(expected, given)
        if step is None or step >= len(inp.writes):
            return ""
        write = inp.writes[step]
        got = _fmt_table(given[step]) if step < len(given) else "nothing"
        repeated = any(w == write for w in inp.writes[:step])
        why = (" Writing a row that is already there must change nothing (idempotent)." if repeated else
               " An upsert sets the row for its key; it replaces any older value.")
        return (f"After write {step + 1} {write.describe()} the table should be {_fmt_table(expected[step])}, "
                f"got {got}.{why}")

    def candidates(self, inp: WritesInput) -> list[WritesInput]:
        writes = inp.writes
        out = []
        n = len(writes)
        chunk = n // 2
        while chunk >= 1:
            for start in range(0, n, chunk):
                kept = writes[:start] + writes[start + chunk:]
                if kept:
                    out.append(WritesInput(kept))
            chunk //= 2
        return out

    def size(self, inp: WritesInput) -> tuple:
        return (len(inp.writes),)


def _amount(value: Any, where: str) -> Decimal:
    """A returned amount as a finite Decimal; anything else is a :class:`TypeProblem`.

    NaN, signalling NaN and infinities are refused here, so no later comparison meets
    one (``Decimal("sNaN") == x`` raises ``InvalidOperation``)."""
    if type(value) is Decimal and value.is_finite():  # the common case first: thousands per grading
        return value
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        hint = ": use decimal.Decimal for exact sums" if isinstance(value, float) else ""
        raise TypeProblem(f"{where} is {_shown(value)} ({_type_of(value)}); expected a Decimal{hint}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise TypeProblem(f"{where} is {_shown(value)}, which is not a number; expected a finite Decimal")
    return Decimal(value)


def _relabel(events: tuple[Event, ...]) -> tuple[Event, ...]:
    """Ids e1, e2, ... in arrival order (a replayed event keeps its first id)."""
    names: dict[str, str] = {}
    out = []
    for ev in events:
        new = names.setdefault(ev.event_id, f"e{len(names) + 1}")
        out.append(replace(ev, event_id=new))
    return tuple(out)


def _shift_to_start(events: tuple[Event, ...], size: Ticks, start: Ticks = 10 * 60 * MINUTE) -> tuple[Event, ...]:
    """The same stream moved by whole windows so that its first window starts at 10:00."""
    if not events:
        return events
    first = _window_start(min(ev.event_time for ev in events), size)
    delta = first - _window_start(start, size)
    if delta == 0 or delta % size:
        return events
    return tuple(replace(ev, event_time=ev.event_time - delta) for ev in events)


# -- mistaken models ---------------------------------------------------------------------

def _model_rows(inp: StreamInput, start_of: Callable[[Ticks, Ticks], Ticks],
                dropped: Callable[[Ticks, Ticks, Ticks], bool], event_time_order: bool = False) -> Table:
    """Final rows as a student computes them: the watermark before an arrival is M - B, an
    event is dropped when ``dropped(watermark, window end, L)``, every other one counts.
    With the canonical rules this equals the engine (tests check it); the mistakes vary a rule."""
    p = inp.params
    events = sorted(inp.events, key=lambda ev: ev.event_time) if event_time_order else inp.events
    rows: Table = {}
    max_seen: Ticks | None = None
    for ev in events:
        start = start_of(ev.event_time, p.size)
        if max_seen is None or not dropped(max_seen - p.delay, start + p.size, p.lateness):
            key = (start, ev.user_id)
            rows[key] = rows.get(key, Decimal(0)) + ev.amount
        max_seen = ev.event_time if max_seen is None else max(max_seen, ev.event_time)
    return rows


def _inclusive_start(t: Ticks, size: Ticks) -> Ticks:
    """(start, end]: an event exactly at a window's end goes to the window it ends."""
    return _window_start(t - MS, size)


def _drops_at_expiry(watermark: Ticks, end: Ticks, lateness: Ticks) -> bool:
    return watermark >= end + lateness


def _drops_past_expiry(watermark: Ticks, end: Ticks, lateness: Ticks) -> bool:
    return watermark > end + lateness


def _accumulating(binding: Binding, inp: WritesInput) -> list[Table]:
    table: Table = {}
    after = []
    for w in inp.writes:
        key = (w.window_start, w.user_id)
        table[key] = table.get(key, Decimal(0)) + w.sum_amount
        after.append(dict(table))
    return after


_MODELS: dict[tuple[str, str], Callable[[Binding, Any], Any]] = {
    ("assign_window", "inclusive_end"): lambda b, inp: _inclusive_start(inp.time, inp.size),
    ("is_late", "inclusive_end"): lambda b, inp: _drops_at_expiry(
        inp.watermark, _inclusive_start(inp.time, inp.size) + inp.size, inp.lateness),
    ("is_late", "admitted_at_expiry"): lambda b, inp: _drops_past_expiry(
        inp.watermark, _window_start(inp.time, inp.size) + inp.size, inp.lateness),
    ("window_aggregate", "canonical"): lambda b, inp: _model_rows(inp, _window_start, _drops_at_expiry),
    ("window_aggregate", "inclusive_end"): lambda b, inp: _model_rows(inp, _inclusive_start, _drops_at_expiry),
    ("window_aggregate", "admitted_at_expiry"): lambda b, inp: _model_rows(inp, _window_start, _drops_past_expiry),
    ("window_aggregate", "event_time_order"): lambda b, inp: _model_rows(
        inp, _window_start, _drops_at_expiry, event_time_order=True),
    ("upsert", "accumulating"): _accumulating,
}


def bindings(profile: Profile) -> dict[str, Binding]:
    return {b.name: b for b in (AssignWindow(profile), IsLate(profile), WindowAggregate(profile), Upsert(profile))}


# -- hidden streams ----------------------------------------------------------------------

_KINDS = ("empty", "in_order", "shuffled", "late_heavy", "at_expiry", "at_fire", "replayed")


class StreamGenerator:
    """Random streams from one seed; the same seed gives the same streams."""

    def __init__(self, spec: HiddenSpec, seed: int) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        names, weights = zip(*spec.kinds, strict=True) if spec.kinds else (("shuffled",), (1,))
        self._kinds, self._weights = list(names), list(weights)

    def params(self) -> Params:
        rng, s = self.rng, self.spec
        return Params(rng.choice(s.sizes) * MINUTE, rng.choice(s.delays) * MINUTE, rng.choice(s.latenesses) * MINUTE)

    def stream(self) -> tuple[str, StreamInput, Ticks]:
        """(kind, stream, time unit) of the next stream."""
        rng, s = self.rng, self.spec
        kind = rng.choices(self._kinds, self._weights)[0]
        params = self.params()
        unit = SECOND if rng.random() < s.second_share else MINUTE
        users = rng.sample(s.users, rng.randint(1, len(s.users)))
        decimals = rng.random() < s.decimal_share
        n = rng.randint(s.events_min, s.events_max)
        span = params.size * rng.randint(2, 6)
        records: list[tuple[str, Ticks, Decimal]] = []

        def record(t: Ticks) -> tuple[str, Ticks, Decimal]:
            return (rng.choice(users), t, self._amount(decimals))

        if kind == "empty":
            pass
        elif kind in ("at_expiry", "at_fire"):
            # A late event arriving exactly when the watermark (M - B) reaches end + L (dropped;
            # at_fire: end, where the window has just fired), or one step earlier.
            start = s.start + params.size * rng.randint(0, 2)
            end = start + params.size
            boundary = end + (params.lateness if kind == "at_expiry" else 0)
            anchor = boundary + params.delay - (unit if rng.random() < 0.3 else 0)
            before = sorted(self._time(params, unit, anchor - s.start) for _ in range(max(n - 2, 0)))
            records = [record(t) for t in before if t <= anchor]
            records.append(record(anchor))
            records.append(record(start + rng.randrange(params.size // unit) * unit))
            for _ in range(rng.randint(0, 3)):
                records.append(record(anchor + rng.randrange(0, params.size // unit + 1) * unit))
        else:
            times = sorted(self._time(params, unit, span) for _ in range(n))
            records = [record(t) for t in times]
            share = {"in_order": 0.0, "late_heavy": 0.65}.get(kind, s.late_share)
            for i in range(len(records) - 1, -1, -1):
                if rng.random() < share:
                    moved = records.pop(i)
                    records.insert(min(len(records), i + rng.randint(1, max(2, len(records)))), moved)
        events = [Event(f"e{i + 1}", u, t, a) for i, (u, t, a) in enumerate(records)]
        if events and (kind == "replayed" or rng.random() < s.duplicate_share):
            for _ in range(rng.randint(1, 2)):
                original = rng.randrange(len(events))
                events.insert(rng.randint(original + 1, len(events)), events[original])
        return kind, StreamInput(tuple(events), params), unit

    def _time(self, params: Params, unit: Ticks, span: Ticks) -> Ticks:
        rng, s = self.rng, self.spec
        if rng.random() < s.boundary_share:
            return s.start + params.size * rng.randint(1, max(1, span // params.size))
        return s.start + rng.randrange(max(1, span // unit)) * unit

    def _amount(self, decimals: bool) -> Decimal:
        if decimals and self.rng.random() < 0.7:
            return (Decimal(self.rng.randint(1, 999)) / 100).quantize(Decimal("0.01"))
        return Decimal(self.rng.randint(1, 9))


@dataclass(frozen=True)
class Suite:
    """Every case of one grading: the sheet's (visible) and the hidden ones from ``seed``."""

    seed: int
    streams: int
    cases: tuple[Case, ...]

    def of(self, function: str) -> tuple[Case, ...]:
        return tuple(c for c in self.cases if c.function == function)


#: Hidden streams per batch handed to ``on_cases`` while a suite is built.
STREAMS_PER_BATCH = 10

_suites: dict[tuple[PythonExercise, int], Suite] = {}
_suites_lock = threading.Lock()
_SUITES_KEPT = 2


def build_suite(exercise: PythonExercise, seed: int,
                on_cases: Callable[[Sequence[Case]], None] | None = None) -> Suite:
    """The sheet's cases and the hidden ones, each with the engine's answer.

    ``on_cases`` receives the cases in order, in batches as they are built (the sheet's,
    then every :data:`STREAMS_PER_BATCH` hidden streams'; all at once for a cached
    suite), so that a sandboxed process can run them while the rest is built.

    Cached for the last seeds only: batch grading reuses one seed, while a fresh seed per
    submission gains nothing from a cache, and a big one makes every full garbage
    collection of the process slower (about 8 ms per cached suite here)."""
    key = (exercise, seed)  # an exercise compares by identity
    with _suites_lock:
        suite = _suites.pop(key, None)
        if suite is not None:
            _suites[key] = suite  # the most recently used last
    if suite is None:
        suite = _build_suite(exercise, seed, on_cases)
        with _suites_lock:
            _suites.pop(key, None)
            _suites[key] = suite
            while len(_suites) > _SUITES_KEPT:
                del _suites[next(iter(_suites))]
    elif on_cases is not None:
        on_cases(suite.cases)
    return suite


def _build_suite(exercise: PythonExercise, seed: int, on_cases: Callable[[Sequence[Case]], None] | None) -> Suite:
    b = bindings(exercise.profile)
    cases: list[Case] = []
    handed = 0

    def hand_over() -> None:
        nonlocal handed
        if on_cases is not None and handed < len(cases):
            on_cases(cases[handed:])
            handed = len(cases)

    def add(function: str, inp: Any, visible: bool = False) -> None:
        prefix = "s" if visible else "h"
        binding = b[function]
        cases.append(Case(f"{prefix}{function[0]}{len(cases)}", function, inp, binding.expected(inp), visible,
                          binding.encoded(inp)))

    sheet = StreamInput(exercise.sheet_events, exercise.sheet_params)
    for inp in _assign_inputs(sheet, MINUTE, None, 0, exercise.hidden.start):
        add("assign_window", inp, True)
    for inp in _late_inputs(sheet, MINUTE, None, 0, exercise.hidden.start):
        add("is_late", inp, True)
    add("window_aggregate", sheet, True)
    add("upsert", _sheet_writes(b["window_aggregate"], sheet), True)
    hand_over()

    gen = StreamGenerator(exercise.hidden, seed)
    spec = exercise.hidden
    aggregate = b["window_aggregate"]
    for n in range(spec.streams):
        if n and n % STREAMS_PER_BATCH == 0:
            hand_over()
        _, stream, unit = gen.stream()
        result = run_engine(stream.events, aggregate.config(stream.params))  # one run: rows and sink writes
        rows = {(r.window_start, r.user_id): r.sum_amount for r in result.final_rows()}
        cases.append(Case(f"hw{len(cases)}", "window_aggregate", stream, rows, False, aggregate.encoded(stream)))
        for inp in _assign_inputs(stream, unit, gen.rng, spec.assign_per_stream, spec.start):
            add("assign_window", inp)
        for inp in _late_inputs(stream, unit, gen.rng, spec.is_late_per_stream, spec.start):
            add("is_late", inp)
        if gen.rng.random() < spec.upsert_share:
            add("upsert", _writes(_sink_writes(result), gen.rng, spec.upsert_max_writes))
    hand_over()
    return Suite(seed, spec.streams, tuple(cases))


def _assign_inputs(stream: StreamInput, unit: Ticks, rng: random.Random | None, limit: int,
                   first: Ticks) -> list[AssignInput]:
    size = stream.params.size
    times = list(dict.fromkeys(ev.event_time for ev in stream.events))
    if rng is None:
        return [AssignInput(t, size) for t in times]
    start = _window_start(times[0], size) if times else first
    boundary = start + size * rng.randint(1, 3)
    extra = [boundary, boundary - unit, boundary + unit]
    rng.shuffle(times)
    return [AssignInput(t, size) for t in dict.fromkeys(extra + times[: max(limit - len(extra), 0)])]


def _late_inputs(stream: StreamInput, unit: Ticks, rng: random.Random | None, limit: int,
                 first: Ticks) -> list[LateInput]:
    p = stream.params
    arrivals: list[LateInput] = []
    max_seen: Ticks | None = None
    for ev in stream.events:
        if max_seen is not None:
            arrivals.append(LateInput(ev.event_time, max_seen - p.delay, p.size, p.lateness))
        max_seen = ev.event_time if max_seen is None else max(max_seen, ev.event_time)
    if rng is None:
        return arrivals
    # The boundary: a watermark exactly at end + L (dropped), one unit before and after.
    t = rng.choice(stream.events).event_time if stream.events else first + rng.randrange(60) * unit
    expiry = _window_start(t, p.size) + p.size + p.lateness
    boundary = [LateInput(t, w, p.size, p.lateness) for w in (expiry, expiry - unit, expiry + unit)]
    rng.shuffle(arrivals)
    return list(dict.fromkeys(boundary + arrivals[: max(limit - len(boundary), 0)]))


def _sheet_writes(aggregate: WindowAggregate, sheet: StreamInput) -> WritesInput:
    """The sheet's sink writes: the run's rows, the replay after the crash (Exercise 10),
    then the correction of A's row by e7 (Exercise 7)."""
    writes = _emitted_rows(aggregate, sheet)
    replay = writes[:2]
    corrected = ()
    if writes:
        first = writes[0]
        late = [ev for ev in sheet.events if ev.user_id == first.user_id
                and _window_start(ev.event_time, sheet.params.size) == first.window_start]
        total = sum((ev.amount for ev in late), Decimal(0))
        if total != first.sum_amount:
            corrected = (replace(first, sum_amount=total),)
    return WritesInput(writes + replay + corrected)


def _emitted_rows(aggregate: WindowAggregate, stream: StreamInput) -> tuple[SinkRow, ...]:
    return _sink_writes(run_engine(stream.events, aggregate.config(stream.params)))


def _sink_writes(result: Run) -> tuple[SinkRow, ...]:
    """What the upsert sink receives from a run (update policy: inserts and updates)."""
    return tuple(SinkRow(e.window.start, e.key, e.value) for e in result.emissions
                 if e.kind is not EmissionKind.RETRACT)


def _writes(emitted: Sequence[SinkRow], rng: random.Random, limit: int) -> WritesInput:
    writes = list(emitted)[: max(limit - 3, 1)]
    if not writes:
        writes = [SinkRow(10 * 60 * MINUTE, "A", Decimal(rng.randint(1, 9)))]
    # an at-least-once replay of a slice, and maybe a correction of one row
    i = rng.randrange(len(writes))
    writes += writes[i: i + rng.randint(1, 2)]
    if rng.random() < 0.5:
        target = rng.choice(writes)
        writes.append(replace(target, sum_amount=target.sum_amount + rng.randint(1, 5)))
    return WritesInput(tuple(writes[:limit]))


# -- checking outputs --------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """One case's result: ``kind`` is ``pass``, ``not_run``, or what went wrong.

    ``not_run`` is the only kind that is neither a pass nor a failure: the call has no
    honest outcome yet (the harness skipped it, or the process stopped before it).  It is
    rerun elsewhere or, at the end, counted against the function: never as a pass."""

    case: Case
    kind: str
    given: Any = None
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.kind == "pass"

    @property
    def ran(self) -> bool:
        return self.kind != "not_run"


_OUTCOME_KINDS = {"raised": "raised", "timeout": "timeout", "memory": "memory", "cpu": "cpu",
                  "too_large": "too_large", "too_large_total": "too_large"}
_OUTCOME_WORDS = {"cpu": "used up the CPU time limit", "too_large_total": "returned more than the result may hold "
                  "in all (the values of the calls before it filled it)"}
_SKIP_REASONS = {"cpu": "an earlier call used up the CPU time limit", "timeout": "an earlier call of it timed out",
                 "too_large_total": "the values returned before it filled the result's size limit"}


def judge(binding: Binding, case: Case, outcome: CallOutcome | None) -> Verdict:
    """The verdict on one call's outcome, total: whatever came back, a verdict (a value
    the grader cannot read or compare is a wrong type, never an exception)."""
    if outcome is None:
        return Verdict(case, "not_run", message="no outcome came back")
    status = outcome.status
    try:
        if status == "ok":
            try:
                given = binding.normalize(outcome.value)
            except TypeProblem as exc:
                return Verdict(case, "wrong_type", message=str(exc))
            return Verdict(case, "pass" if given == case.expected else "wrong_value", given)
        if status in ("skipped", "not_defined"):
            reason = outcome.detail.get("reason", "")
            return Verdict(case, "not_run", message=_SKIP_REASONS.get(reason, "the harness did not run it"))
        if status == "bad_fold_return":
            return Verdict(case, "wrong_type", message=(
                f"upsert returned {_shown(outcome.value)} ({_type_of(outcome.value)}) at write "
                f"{int(outcome.detail.get('step', 0)) + 1}; return None (changing table in place) or the table"))
        if status == "timeout":
            return Verdict(case, "timeout", message=f"did not return within {outcome.detail.get('limit_s', '?')} s")
        if status == "memory":
            return Verdict(case, "memory", message=f"ran out of memory ({cut(outcome.error or 'MemoryError', 300)})")
        if status == "raised":
            return Verdict(case, "raised", message=f"raised {cut(outcome.error or 'an exception', 2000)}")
        if status == "too_large":
            return Verdict(case, "too_large", message=f"returned a value too large to check "
                           f"({cut(outcome.error or '', 200)})")
        return Verdict(case, _OUTCOME_KINDS.get(status, "lost"), message=_OUTCOME_WORDS.get(status, status))
    except Exception as exc:  # whatever came back over the channel and broke a check of ours: still theirs
        return Verdict(case, "wrong_type", message=f"returned a value the grader cannot read or compare "
                       f"({type(exc).__name__}: {cut(str(exc), 200)})")


@dataclass
class FunctionReport:
    """Everything known about one function after the runs (mutable while grading).

    ``asked`` are the calls the grader owns for this function; ``verdicts`` holds the
    latest verdict of each (by case id), a rerun replacing a ``not_run``.  The function
    is right only when every asked call ran and passed."""

    name: str
    defined: str = "function"
    asked: int = 0
    asked_visible: int = 0  # of which on the sheet's events
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    lost: str | None = None  # why the process died in one of its calls
    not_run_reason: str | None = None  # why some calls never ran
    sheet_failure: Verdict | None = None
    counterexample: Verdict | None = None
    shrunk_from: int | None = None
    diagnosis: list[MistakeSpec] = field(default_factory=list)

    def record(self, verdict: Verdict) -> None:
        previous = self.verdicts.get(verdict.case.id)
        if previous is None or not previous.ran:
            self.verdicts[verdict.case.id] = verdict

    @property
    def ran(self) -> list[Verdict]:
        return [v for v in self.verdicts.values() if v.kind != "not_run"]

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts.values() if v.kind not in ("pass", "not_run")]

    @property
    def not_run(self) -> int:
        return self.asked - len(self.ran)

    @property
    def correct(self) -> bool:
        return self.asked > 0 and self.not_run == 0 and not self.failures


# -- running -----------------------------------------------------------------------------

#: At most this many sandboxed runs for the suite, per function graded (plus one): each
#: rerun follows a run that stopped early, and takes only the calls still unanswered.
RUNS_PER_FUNCTION = 2
#: A rerun is not started with less of the budget left than this (seconds).
MIN_RUN_S = 0.5


@dataclass
class _Runs:
    deadline: float  # time.monotonic() at which the grading's budget ends
    runs: list[SandboxRun] = field(default_factory=list)
    import_problem: dict | None = None

    @property
    def seconds(self) -> float:
        return sum(r.wall_s for r in self.runs)

    @property
    def time_left(self) -> float:
        return self.deadline - time.monotonic()


def _calls(cases: Iterable[Case], b: Mapping[str, Binding]) -> list[Call]:
    return [Call(c.id, c.function, fold=b[c.function].fold,
                 encoded=c.encoded if c.encoded is not None else b[c.function].encoded(c.input)) for c in cases]


def _run_suite(box: Sandbox, exercise: PythonExercise, source: bytes, display: str, cases: Sequence[Case],
               b: Mapping[str, Binding], reports: dict[str, FunctionReport], runs: _Runs,
               started: PendingRun | None = None, sent: Sequence[Call] = ()) -> None:
    """Run every case, trusting nothing the sandbox says about which calls count.

    The grader owns the list of calls.  A call is answered only by an outcome from a run
    that completed with a well-formed document (a value, judged here, or a failure such as
    a timeout); a call the harness reports skipped, and every call of a run that stopped
    early, stays unanswered.  When a run is killed or times out, the call that was running
    fails its function.  When its document is garbled or forged, nothing in it counts and
    no call is blamed (the submission may have written it at any time): the unanswered
    calls then run one function per process, where a garbled document can only be that
    function's.  Unanswered calls of functions that have not failed run again in fresh
    processes until all are answered, a round answers nothing new, the runs are used up
    or the grading's time budget ends; what is still unanswered counts against its
    function.

    ``started``: a process already started on the submission (it imported the file while
    the suite was being built); it takes the first batch.  ``sent``: the calls already
    sent to it, the first of that batch."""
    asked = [c for c in cases if c.function in reports]
    for report in reports.values():
        report.asked = sum(1 for c in asked if c.function == report.name)
        report.asked_visible = sum(1 for c in asked if c.function == report.name and c.visible)
    pending = asked
    first, isolated = True, False
    runs_left = 1 + RUNS_PER_FUNCTION * len(reports)
    while pending:
        if isolated:
            names = dict.fromkeys(c.function for c in pending)
            batches = [[c for c in pending if c.function == name] for name in names]
        else:
            batches = [pending]
        progress = False
        for batch in batches:
            if started is not None:
                calls = list(sent) + _calls(batch[len(sent):], b)
                run, started = box.finish(started, calls), None
            elif runs_left <= 0:
                break
            elif runs.time_left < MIN_RUN_S:
                _not_run(reports, f"the time budget of the grading ({box.settings.budget_s:g} s) ran out")
                return
            else:
                run = box.run(source, display, _calls(batch, b), forbidden_imports=exercise.forbidden_imports,
                              call_timeout_s=exercise.call_timeout_s, deadline=runs.deadline)
            runs_left -= 1
            runs.runs.append(run)
            answered = _take(run, batch, b, reports, runs, display, first=first, isolated=isolated)
            if runs.import_problem is not None:
                return
            if run.end is RunEnd.CORRUPT and not isolated:
                isolated = True  # nothing in it counts: the next round runs one function per process
                progress = True
            progress = progress or answered
            first = False
        pending = _unanswered(asked, reports)
        if not progress or runs_left <= 0:
            break
    if pending:
        _not_run(reports, "the sandboxed process kept stopping before it ran them")


def _unanswered(asked: Sequence[Case], reports: dict[str, FunctionReport]) -> list[Case]:
    """The calls worth another run: not answered yet, of a function that is defined and
    has not failed (one failure already decides an all-or-nothing function)."""
    open_functions = {name for name, r in reports.items() if r.defined == "function" and not r.failures}
    out = []
    for case in asked:
        if case.function in open_functions:
            verdict = reports[case.function].verdicts.get(case.id)
            if verdict is None or not verdict.ran:
                out.append(case)
    return out


def _take(run: SandboxRun, batch: Sequence[Case], b: Mapping[str, Binding], reports: dict[str, FunctionReport],
          runs: _Runs, display: str, *, first: bool, isolated: bool) -> bool:
    """Record what ``run`` answered; True when it answered (or failed) at least one call."""
    by_id = {c.id: c for c in batch}
    if run.completed:
        if not run.imported["ok"]:
            if first:
                runs.import_problem = dict(run.imported)
            return False
        for name, state in run.functions.items():
            if name in reports:
                reports[name].defined = state
        progress = False
        for cid, outcome in run.outcomes.items():
            case = by_id.get(cid)
            if case is None:
                continue
            report = reports[case.function]
            verdict = judge(b[case.function], case, outcome)
            if verdict.kind != "not_run":
                report.verdicts[cid] = verdict  # the case was pending: no verdict of a run to replace
                progress = True
            else:
                report.verdicts.setdefault(cid, verdict)
                if report.not_run_reason is None:
                    report.not_run_reason = verdict.message
        return progress
    culprit = run.last_started
    if run.end is RunEnd.CORRUPT:
        if first and culprit is None:
            runs.import_problem = {"ok": False, "kind": "corrupt", "message": f"{display}: {run.detail}"}
            return False
        if not isolated or not batch:
            return False
        # one function alone in this process: the garbled document is its own
        case = by_id.get(culprit) or batch[0]
        reports[case.function].record(Verdict(case, "corrupt", message=f"was running when {run.detail}"))
        return True
    if culprit is None or culprit not in by_id:
        if first:
            loaded = "+loaded" in run.started
            runs.import_problem = {
                "ok": False, "kind": run.end.value,
                "message": (f"{display}: the process stopped before any function ran: {run.detail}" if loaded
                            else f"importing {display} failed: {run.detail}")}
        return False
    case = by_id[culprit]
    report = reports[case.function]
    report.lost = run.detail
    report.record(Verdict(case, _STOP_KINDS.get(run.end, run.end.value), message=f"was running when {run.detail}"))
    return True


#: The verdict kind of the call that was running when a run stopped early.
_STOP_KINDS = {RunEnd.CORRUPT: "corrupt", RunEnd.BUDGET: "timeout", RunEnd.TIMEOUT: "timeout"}


def _not_run(reports: dict[str, FunctionReport], reason: str) -> None:
    for report in reports.values():
        if report.not_run and report.not_run_reason is None:
            report.not_run_reason = reason


def _shrink(box: Sandbox, exercise: PythonExercise, source: bytes, display: str, b: Mapping[str, Binding],
            reports: dict[str, FunctionReport], runs: _Runs) -> None:
    """Shrink each function's counterexample: every round's candidates in one sandboxed run.

    Shrinking only chooses what to show; no verdict of it counts for or against a function."""
    current: dict[str, Verdict] = {}
    for name, report in reports.items():
        if report.counterexample is not None \
                and report.counterexample.kind in ("wrong_value", "wrong_type", "raised") \
                and b[name].candidates(report.counterexample.case.input):
            current[name] = report.counterexample
    deadline = min(time.monotonic() + exercise.shrink_seconds, runs.deadline - MIN_RUN_S)
    done: set[str] = set()
    for _round in range(exercise.shrink_rounds):
        if time.monotonic() > deadline:
            break
        batch: list[Case] = []
        for name, verdict in current.items():
            if name in done:
                continue
            for k, inp in enumerate(b[name].candidates(verdict.case.input)):
                batch.append(Case(f"x{_round}.{name[0]}{k}", name, inp, b[name].expected(inp), verdict.case.visible))
        if not batch:
            break
        run = box.run(source, display, _calls(batch, b), forbidden_imports=exercise.forbidden_imports,
                      call_timeout_s=exercise.call_timeout_s, deadline=runs.deadline)
        runs.runs.append(run)
        if not run.completed or not run.imported.get("ok"):
            break
        for name, verdict in list(current.items()):
            if name in done:
                continue
            binding = b[name]
            smaller = [judge(binding, c, run.outcomes.get(c.id)) for c in batch if c.function == name]
            smaller = [v for v in smaller if v.kind == verdict.kind
                       and binding.size(v.case.input) < binding.size(verdict.case.input)]
            if smaller:
                current[name] = min(smaller, key=lambda v: binding.size(v.case.input))
            else:
                done.add(name)
        if len(done) == len(current):
            break
    for name, verdict in current.items():
        report = reports[name]
        report.shrunk_from = _stream_length(report.counterexample.case.input)
        report.counterexample = verdict


def _stream_length(inp: Any) -> int | None:
    if isinstance(inp, StreamInput):
        return len(inp.events)
    if isinstance(inp, WritesInput):
        return len(inp.writes)
    return None


def _pick_counterexample(report: FunctionReport, binding: Binding) -> None:
    failures = report.failures
    if not failures:
        return
    visible = [v for v in failures if v.case.visible]
    if visible:
        report.sheet_failure = report.counterexample = visible[0]
        return
    kinds_first = ("wrong_type", "raised", "wrong_value")
    failures.sort(key=lambda v: (kinds_first.index(v.kind) if v.kind in kinds_first else 3,
                                 binding.simplicity(v.case.input)))
    report.counterexample = failures[0]


def _diagnose(report: FunctionReport, binding: Binding, mistakes: Sequence[MistakeSpec]) -> None:
    checked = [v for v in report.ran if v.kind in ("pass", "wrong_value")]
    if not report.failures or not checked or any(v.kind not in ("pass", "wrong_value") for v in report.failures):
        return
    for mistake in mistakes:
        model = mistake.models.get(report.name)
        if model and all(binding.model(model, v.case.input) == v.given for v in checked):
            report.diagnosis.append(mistake)


# -- results -----------------------------------------------------------------------------

def _part(report: FunctionReport, spec: FunctionSpec, binding: Binding, exercise: PythonExercise,
          suite: Suite) -> PartResult:
    path = f"{exercise.id}.{report.name}"
    if report.defined == "missing":
        return PartResult(report.name, 0, spec.points, Status.NOT_ANSWERED, feedback=(f"{report.name}: not defined",),
                          findings=(Finding("not_defined", path, "not defined"),), show_expected=False)
    if report.defined != "function":
        message = f"{report.name} is defined but is not a function ({report.defined.partition(': ')[2]})"
        return PartResult(report.name, 0, spec.points, Status.INVALID, feedback=(message,),
                          findings=(Finding("not_callable", path, message),), show_expected=False)
    hidden_failed = sum(1 for v in report.failures if not v.case.visible)
    hidden_total = sum(1 for v in report.ran if not v.case.visible)
    cx = report.counterexample
    not_run = _not_run_line(report)
    if cx is None and not_run:
        head = f"{report.name}: not credited: {not_run}"
        return PartResult(report.name, 0, spec.points, Status.INCORRECT, feedback=(head,),
                          findings=(Finding("not_run", path, head),), show_expected=False)
    if cx is None:
        return PartResult(report.name, spec.points, spec.points, Status.CORRECT,
                          feedback=(f"{report.name}: correct on the sheet's events and on {hidden_total} hidden "
                                    "tests",), show_expected=False)
    hidden = f"{hidden_failed} of {hidden_total} hidden tests (generated from seed {suite.seed})"
    sheet_checked = sum(1 for v in report.ran if v.case.visible) == report.asked_visible
    if report.sheet_failure is None:
        head = (f"{report.name}: correct on the sheet's events, wrong on {hidden}." if sheet_checked
                else f"{report.name}: wrong on {hidden}.")
    elif hidden_failed:
        head = f"{report.name}: wrong on the sheet's events and on {hidden}."
    elif hidden_total:
        head = f"{report.name}: wrong on the sheet's events (right on the {hidden_total} hidden tests)."
    else:
        head = f"{report.name}: wrong on the sheet's events."
    lines = [head]
    sheet = report.sheet_failure
    if sheet is not None and sheet is not cx:
        lines.append(_case_lines(binding, sheet, exercise, "On the sheet's input")[0])
    show_input = cx.case.visible or exercise.hidden.show_inputs == "counterexample"
    if show_input:
        origin = "the sheet's events" if cx.case.visible else "a hidden stream"
        size_now = _stream_length(cx.case.input)
        if report.shrunk_from is not None and size_now is not None and size_now < report.shrunk_from:
            unit = "event" if isinstance(cx.case.input, StreamInput) else "write"
            label = (f"Smallest failing input, shrunk from {origin} ({report.shrunk_from} to {size_now} "
                     f"{unit}{'' if size_now == 1 else 's'})")
        elif cx is sheet:
            label = "On the sheet's input"
        else:
            label = "Simplest failing input among the hidden tests"
        lines += _case_lines(binding, cx, exercise, label, explain=True)
    else:
        detail = f" ({cx.message})" if cx.kind != "wrong_value" and cx.message else ""
        lines.append(f"The hidden inputs of this exercise are not shown; the first failure: "
                     f"{cx.kind.replace('_', ' ')}{detail}.")
    lines += [m.feedback for m in report.diagnosis]
    shown_expected = show_input and exercise.show_expected
    status = Status.INVALID if cx.kind == "wrong_type" else Status.INCORRECT
    findings = [Finding(cx.kind, path, head)] + [Finding(m.code, path, m.feedback) for m in report.diagnosis]
    return PartResult(
        report.name, 0, spec.points, status,
        expected=binding.describe_value(cx.case.expected) if shown_expected else None,
        given=binding.describe_value(cx.given) if show_input and cx.kind == "wrong_value" else None,
        feedback=tuple(lines), findings=tuple(findings), show_expected=shown_expected)


def _not_run_line(report: FunctionReport) -> str:
    """``"180 of 312 tests ran; ..."`` when some asked calls never ran, else empty."""
    if not report.not_run:
        return ""
    reason = f" ({report.not_run_reason})" if report.not_run_reason else ""
    return (f"only {len(report.ran)} of {report.asked} tests ran; the other {report.not_run} did not{reason}. "
            "A function counts as correct only when every one of its tests runs and passes.")


def _case_lines(binding: Binding, verdict: Verdict, exercise: PythonExercise, label: str,
                explain: bool = False) -> list[str]:
    """``label: input. Expected X; returned Y.`` and, with ``explain``, why X."""
    case = verdict.case
    text = f"{label}: {binding.describe_input(case.input)}."
    if verdict.kind != "wrong_value":
        return [f"{text} It {verdict.message}."]
    given = binding.describe_value(verdict.given)
    if not exercise.show_expected:
        return [f"{text} Returned {given}, which is not what the engine computes."]
    lines = [f"{text} Expected {binding.describe_value(case.expected)}; returned {given}."]
    why = binding.explain(case.input, case.expected, verdict.given) if explain else ""
    if why:
        lines.append(why if why.endswith(".") else why + ".")
    return lines


def _safe_display_name(name: str | None, default: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", base)[:80]
    return base if base.endswith(".py") and len(base) > 3 else default


def grade_python(source: bytes, source_name: str, student_id: str | None, seed: int | None = None, *,
                 sandbox: Sandbox | None = None, exercise: PythonExercise | None = None) -> GradeResult:
    """Grade a Python submission: each function of ``python.yaml`` is one part.

    Never raises for anything a student can write: syntax errors, forbidden imports,
    exceptions, hangs, memory, wrong types and attacks end as statuses and messages.
    Raises :class:`grader.errors.SandboxUnavailable` when the sandbox cannot run (no
    tier available, or it failed to start): untrusted code is never run unconfined.
    ``seed`` fixes the hidden streams (a random one is drawn otherwise); it is recorded
    in ``meta`` with the sandbox tier and the timings.
    """
    started = time.perf_counter()
    exercise = exercise or load_python_exercise()
    if len(source) > exercise.max_bytes:
        return unreadable(exercise.exercise_set, f"{source_name}: the file is {len(source)} bytes; Python answers "
                          f"may be at most {exercise.max_bytes // 1024} KiB", exercise.max_score)
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        return unreadable(exercise.exercise_set, f"{source_name}: not UTF-8 (byte {exc.start}: {exc.reason})",
                          exercise.max_score)
    box = sandbox or default_sandbox()
    report = box.require()
    # One budget of wall time for everything this submission runs (reruns and shrinking
    # included): no submission holds a worker longer, whatever it does.
    runs = _Runs(deadline=time.monotonic() + box.settings.budget_s)
    seed = secrets.randbits(32) if seed is None else int(seed)
    display = _safe_display_name(source_name, exercise.display_name)
    b = bindings(exercise.profile)

    # The sandboxed process starts and imports the file while the suite is built, and
    # runs each batch of calls as soon as it is built (the cases' order is kept).
    process = box.start(source, display, forbidden_imports=exercise.forbidden_imports,
                        call_timeout_s=exercise.call_timeout_s, deadline=runs.deadline)
    reports = {f.name: FunctionReport(f.name) for f in exercise.functions}
    sent: list[Call] = []

    def stream(cases: Sequence[Case]) -> None:
        calls = _calls([c for c in cases if c.function in reports], b)
        process.send(calls)
        sent.extend(calls)

    suite_started = time.perf_counter()
    try:
        suite = build_suite(exercise, seed, stream)
    except BaseException:
        process.cancel()
        raise
    suite_s = time.perf_counter() - suite_started
    _run_suite(box, exercise, source, display, suite.cases, b, reports, runs, started=process, sent=sent)
    sandbox_s = runs.seconds
    shrink_started = time.perf_counter()
    if runs.import_problem is None:
        for name, fr in reports.items():
            _pick_counterexample(fr, b[name])
        _shrink(box, exercise, source, display, b, reports, runs)
        for name, fr in reports.items():
            _diagnose(fr, b[name], exercise.mistakes)
    shrink_s = time.perf_counter() - shrink_started

    if runs.import_problem is not None:
        message = runs.import_problem.get("message", "the submission could not be imported")
        code = runs.import_problem.get("kind", "import_failed")
        parts = tuple(PartResult(f.name, 0, f.points, Status.INVALID, feedback=(message,),
                                 findings=(Finding(code, f"{exercise.id}.{f.name}", message),), show_expected=False)
                      for f in exercise.functions)
        exercise_result = ExerciseResult(exercise.id, exercise.title, 0, exercise.max_score, Status.INVALID,
                                         feedback=(message,), parts=parts)
    else:
        parts = tuple(_part(reports[f.name], f, b[f.name], exercise, suite) for f in exercise.functions)
        score = sum(p.score for p in parts)
        if all(p.status is Status.NOT_ANSWERED for p in parts):
            status = Status.NOT_ANSWERED
        else:
            status = status_for(score, exercise.max_score)
        correct = sum(1 for p in parts if p.status is Status.CORRECT)
        summary = (f"{correct} of {len(parts)} functions correct, each checked on the sheet's events and on "
                   f"{suite.streams} hidden generated streams (seed {seed}).")
        asked = sum(fr.asked for fr in reports.values() if fr.defined == "function")
        ran = sum(len(fr.ran) for fr in reports.values() if fr.defined == "function")
        if ran < asked:
            summary += f" Only {ran} of the {asked} tests ran."
        diagnosis = tuple(dict.fromkeys(m.code for fr in reports.values() for m in fr.diagnosis))
        exercise_result = ExerciseResult(exercise.id, exercise.title, score, exercise.max_score, status,
                                         feedback=(summary,), diagnosis=diagnosis, parts=parts)
    warnings: tuple[str, ...] = ()
    if report.tier is Tier.WEAK:
        warnings = ("graded in the WEAK sandbox tier (no namespaces), as the operator configured",)
    warnings += tuple(f"the sandbox here does not bound {what}" for what in report.unbounded)
    meta = {
        "seed": seed,
        "hidden_streams": suite.streams,
        "tests": {name: {"asked": fr.asked, "ran": len(fr.ran), "failed": len(fr.failures)}
                  for name, fr in reports.items()},
        "submission": {"name": display, "bytes": len(source)},
        "sandbox": {"tier": report.tier.value, "python": report.interpreter.version if report.interpreter else None,
                    "runs": len(runs.runs), "layers": [x.name for x in report.layers if x.ok],
                    "unbounded": list(report.unbounded)},
        "budget_s": box.settings.budget_s,
        "timings": {"total_s": round(time.perf_counter() - started, 4), "suite_s": round(suite_s, 4),
                    "sandbox_s": round(sandbox_s, 4), "shrink_s": round(shrink_s, 4)},
    }
    return bounded(GradeResult(student_id, exercise.exercise_set, exercise_result.score, exercise.max_score,
                               (exercise_result,), warnings, (), meta))

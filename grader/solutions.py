"""Canonical answers: the one place that binds an exercise part to an engine call.

Nothing here is typed in.  Each part of an exercise names a *query* (``solution.query`` in
its YAML) with arguments; the query runs the reference engine on the data context's
events under the context's parameters (overridden per part by ``solution.config``) and
reads the answer off the run: rows, emissions and the arrival that caused them,
watermarks, windows held per key.  Figures that are formulas (events per window, state
bytes) use the context's scale and the engine's window size; boundary decisions are the
profile's own predicates (``fires``, ``is_droppable``) and its rules in words
(``fire_rule()``, ``drop_rule()``).

Each answer is a :class:`Canonical`: the value in the submission format's spelling (times
``"10:05"``, amounts as JSON numbers when exact, else exact strings, other figures as
JSON numbers), a short derivation that names the events, windows, watermarks and rule,
and, when the value differs between the semantics profiles of
:data:`reference.profiles.PROFILES`, the value under each of them.

Mistaken models run through the same code: :func:`solve_part` takes ``model``, a
mistake's overrides of engine settings and query arguments
(``{"windows": "inclusive_end"}``, ``{"measure_from": "window_end"}``), and returns the
answer that mistake produces, for diagnosis.

Results are cached per exercise set fingerprint (all of the set's data), so the grader
can ask for every submission; callers get fresh copies, never the cached objects.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from grader.errors import GraderError
from grader.exercises.model import Context, ExerciseSet, Part
from grader.exercises.vocabulary import ADMIT_ALL, CONFIG_KEYS, QUERIES
from grader.frozen import thaw
from reference.config import LatePolicy, RunConfig
from reference.delivery import CrashPhase, CrashPoint, DeliveryOutcome, Guarantee, deliver
from reference.engine import run as run_engine
from reference.events import Event
from reference.profiles import PROFILES, Profile, get_profile
from reference.results import Emission, EmissionKind, LateOutcome, Row, Run, Timing
from reference.serialize import decimal_json, decimal_text
from reference.sinks import COLUMNS as SINK_COLUMNS
from reference.sinks import SinkTable, SqlSink
from reference.timestamps import (
    DAY,
    MINUTE,
    MS,
    NEG_INF,
    Bound,
    Ticks,
    format_duration,
    format_time,
    parse_duration,
    parse_time,
)
from reference.windows import Tumbling, Window

#: A dense stream (Exercise 9) never has more arrivals than this; a finer granularity is coarsened.
_DENSE_MAX_EVENTS = 20_000


class SolutionError(GraderError):
    """A canonical answer that cannot be computed: the message names the set, exercise and part."""


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


# -- the job of one query ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
    """The engine settings of one query, after context, part config and mistake model."""

    window_size: Ticks
    watermark_delay: Ticks
    allowed_lateness: Ticks | str
    late_policy: LatePolicy
    profile: Profile
    watermark_every: int = 1
    order: str = "arrival"
    windows: str = "half_open"


@dataclass(frozen=True)
class _Job:
    context: Context
    part: Part
    args: Mapping[str, Any]
    settings: _Settings


@dataclass(frozen=True)
class _Answer:
    value: Any
    derivation: tuple[str, ...]


def _settings(context: Context, *overrides: Mapping[str, Any]) -> _Settings:
    values: dict[str, Any] = {
        "window_size": context.window_size,
        "watermark_delay": context.watermark_delay,
        "allowed_lateness": context.allowed_lateness,
        "late_policy": LatePolicy.UPDATE,
        "profile": context.profile,
    }
    for layer in overrides:
        for key, value in layer.items():
            if key not in CONFIG_KEYS:
                continue
            if key in ("window_size", "watermark_delay"):
                value = parse_duration(value)
            elif key == "allowed_lateness":
                value = ADMIT_ALL if value == ADMIT_ALL else parse_duration(value)
            elif key == "late_policy":
                value = LatePolicy.parse(str(value))
            elif key == "profile":
                value = get_profile(str(value))
            values[key] = value
    return _Settings(**values)


def _events(job: _Job, selector: Any) -> tuple[Event, ...]:
    """The selected events of the context, always in the context's arrival order."""
    if selector == "all":
        return job.context.events
    wanted = {selector} if isinstance(selector, str) else set(selector)
    return tuple(e for e in job.context.events if e.event_id in wanted)


def _prepare(events: Sequence[Event], s: _Settings) -> tuple[Event, ...]:
    """Apply the mistaken stream models (``order: event_time``, ``windows: inclusive_end``)."""
    out = list(events)
    if s.order == "event_time":
        out.sort(key=lambda e: e.event_time)
    if s.windows == "inclusive_end":
        # Windows read as closed [start, end]: an event exactly at the end of a window
        # that is already open stays in it instead of opening the next window.  Modelled
        # by moving that event 1 ms earlier (which also moves the watermark by 1 ms).
        size = s.window_size
        opened: set[Ticks] = set()
        moved = []
        for e in out:
            start = e.event_time - e.event_time % size
            if e.event_time == start and start - size in opened:
                e = replace(e, event_time=e.event_time - MS)
                start -= size
            opened.add(start)
            moved.append(e)
        out = moved
    return tuple(out)


def _lateness(s: _Settings, events: Sequence[Event]) -> Ticks:
    """The allowed lateness in ms; ``admit_all`` is more than the span of the events' times."""
    if s.allowed_lateness != ADMIT_ALL:
        return s.allowed_lateness
    times = [e.event_time for e in events] or [0]
    return max(times) - min(times) + s.window_size


def _config(s: _Settings, events: Sequence[Event]) -> RunConfig:
    return RunConfig(
        windows=Tumbling(s.window_size),
        watermark_delay=s.watermark_delay,
        allowed_lateness=_lateness(s, events),
        late_policy=s.late_policy,
        profile=s.profile,
        watermark_every=s.watermark_every,
    )


@lru_cache(maxsize=512)
def _engine(events: tuple[Event, ...], config: RunConfig) -> Run:
    """One engine run; runs are frozen values, so identical runs are shared."""
    return run_engine(events, config)


def _run(job: _Job, events: Sequence[Event]) -> Run:
    prepared = _prepare(events, job.settings)
    return _engine(prepared, _config(job.settings, prepared))


# -- spelling of values and derivations ----------------------------------------------------------


def _row_value(row: Row) -> dict[str, Any]:
    return {"window_start": format_time(row.window_start), "user_id": row.user_id,
            "sum_amount": decimal_json(row.sum_amount)}


def _row_text(row: Row) -> str:
    return f"({format_time(row.window_start)}, {row.user_id}, {decimal_text(row.sum_amount)})"


def _rows_text(rows: Iterable[Row]) -> str:
    rows = list(rows)
    return ", ".join(_row_text(r) for r in rows) if rows else "no rows"


def _number(value: Fraction | int) -> int | float:
    """A JSON number: exact when integral, else 6 significant digits (the tolerance covers it)."""
    value = Fraction(value)
    if value.denominator == 1:
        return int(value)
    return float(f"{float(value):.6g}")


def _minutes(ticks: Ticks) -> int | float:
    return _number(Fraction(ticks, MINUTE))


def _describe(job: _Job, event_id: str) -> str:
    """An event in the sheet's notation, from the context (never a model's moved copy)."""
    try:
        return job.context.event(event_id).describe()
    except KeyError:
        return event_id


def _window_at(job: _Job, start_text: str) -> Window:
    start = parse_time(start_text)
    window = Tumbling(job.settings.window_size).assign(start)[0]
    if window.start != start:
        raise ValueError(f"{start_text} is not the start of a {format_duration(job.settings.window_size)} window")
    return window


def _rules(p: Profile) -> str:
    return f"{p.name}: {p.watermark_rule()}; a window {p.fire_rule()}; an event is {p.drop_rule()}"


def _earliest(predicate: Callable[[Ticks], bool], lo: Ticks, step: Ticks) -> Ticks:
    """The smallest ``lo + k * step`` (k >= 0) where the monotone ``predicate`` holds."""
    if predicate(lo):
        return lo
    hi = 1
    while not predicate(lo + hi * step):
        hi *= 2
    low = hi // 2
    while hi - low > 1:
        mid = (low + hi) // 2
        if predicate(lo + mid * step):
            hi = mid
        else:
            low = mid
    return lo + hi * step


def _earliest_firing(s: _Settings, window: Window, lateness: Ticks, lo: Ticks, step: Ticks) -> Ticks:
    """Smallest max event time M (on the granularity grid, >= lo) at which ``window`` fires."""
    p = s.profile
    grid_lo = -(-lo // step) * step
    return _earliest(lambda m: p.fires(window.end, p.watermark(m, s.watermark_delay, lateness)), grid_lo, step)


def _previous_watermark(run: Run, arrival: int) -> Bound:
    return run.watermarks[arrival - 1].watermark if arrival > 0 else NEG_INF


def _late_lines(job: _Job, run: Run, only: Iterable[str] | None = None) -> list[str]:
    wanted = None if only is None else set(only)
    lines = []
    for late in run.late:
        if wanted is not None and late.event.event_id not in wanted:
            continue
        verb = {"dropped": "is dropped", "admitted": "is admitted", "side_output": "goes to the side output"}
        lines.append(
            f"{_describe(job, late.event.event_id)} arrives late at watermark {format_time(late.watermark)} and "
            f"{verb[late.outcome.value]}: {late.reason}."
        )
    return lines


def _boundary_lines(job: _Job, events: Sequence[Event], windows: Iterable[Window]) -> list[str]:
    """Events exactly at the end of an asked-about window: the half-open rule decides."""
    size = job.settings.window_size
    ends = {w.end: w for w in windows}
    lines = []
    for e in events:
        if e.event_time in ends:
            w = ends[e.event_time]
            nxt = Window(w.end, w.end + size)
            lines.append(
                f"{e.describe()} is at {format_time(e.event_time)}, the end of {w}: windows are half-open "
                f"[start, end), so it belongs to {nxt} (start = floor(t / {format_duration(size)}) * "
                f"{format_duration(size)})."
            )
    return lines


def _config_line(job: _Job, events: Sequence[Event]) -> str:
    s = job.settings
    ids = [e.event_id for e in events]
    span = f"{ids[0]}..{ids[-1]}" if len(ids) > 2 else ", ".join(ids)
    order = "sorted by event time" if s.order == "event_time" else "in arrival order"
    lateness = _lateness(s, events)
    text = (
        f"Engine run over {span} {order}: tumbling {format_duration(s.window_size)}, watermark delay "
        f"{format_duration(s.watermark_delay)}, allowed lateness {format_duration(lateness)}"
    )
    if s.allowed_lateness == ADMIT_ALL:
        text += " (enough to admit every event)"
    policy = _config(s, events).late_policy.value
    return text + f", late policy {policy}, profile {s.profile.name} ({_rules(s.profile)})."


def _final_emission(run: Run, window: Window, key: str) -> Emission | None:
    found = [e for e in run.emissions_for(window, key) if e.kind is not EmissionKind.RETRACT]
    return found[-1] if found else None


def _contributions(job: _Job, run: Run, window: Window, key: str) -> str:
    emission = _final_emission(run, window, key)
    if emission is None:
        return ""
    parts = [f"{eid} ({decimal_text(job.context.event(eid).amount)})" for eid in emission.event_ids
             if eid in job.context.event_ids]
    return " + ".join(parts)


# -- queries ----------------------------------------------------------------------------------------


def _q_model_answer(job: _Job) -> _Answer:
    compare = job.part.compare
    concepts = [c["id"] for c in compare["concepts"]]
    line = (
        f"Model answer written by the instructor; answers are graded with the concept rubric: at least "
        f"{compare['min_concepts']} of {len(concepts)} concepts ({', '.join(concepts)}), fewer -> needs review."
    )
    return _Answer(thaw(job.part.model_answer), (line,))


def _q_close_watermark(job: _Job) -> _Answer:
    s, ctx = job.settings, job.context
    p = s.profile
    window = _window_at(job, job.args["window_start"])
    lateness = _lateness(s, ctx.events)
    m = _earliest_firing(s, window, lateness, window.start, ctx.time_granularity)
    raw = p.watermark(m, s.watermark_delay, lateness)
    conventional = raw + p.watermark_minus
    convention = job.args["convention"]
    values = {"watermark": conventional, "raw": raw, "max_event_time": m}
    if convention not in values:
        raise ValueError(f"convention must be one of {', '.join(values)}, not {convention!r}")
    lines = [
        f"{window} is half-open; under {_rules(p)} (delay B = {format_duration(s.watermark_delay)}).",
        f"The smallest max event time that fires it is M = {format_time(m)} (time granularity "
        f"{format_duration(ctx.time_granularity)}): the watermark is then {format_time(raw)}"
        + (
            f", Flink's raw value (end - 1 ms, {p.watermark_minus} ms below M - B); in the 'watermark >= end' "
            f"convention of SEMANTICS.md (watermark = M - B) that is {format_time(conventional)}"
            if p.watermark_minus
            else ""
        )
        + (", the window end." if conventional == window.end else "."),
    ]
    run = _run(job, ctx.events)
    emission = run.first_emission(window)
    if emission is not None and emission.on_arrival is not None:
        arrival = run.events[emission.on_arrival]
        fired = ", ".join(f"{e.key}={decimal_text(e.value)}" for e in run.emissions
                          if e.window == window and e.on_arrival == emission.on_arrival)
        lines.append(
            f"In the data context's stream, {_describe(job, arrival.event_id)} is the first arrival with "
            f"M >= {format_time(m)}: it moves the watermark from "
            f"{format_time(_previous_watermark(run, emission.on_arrival))} to {format_time(emission.watermark)} "
            f"and {window} fires ({fired})."
        )
    elif emission is not None:
        lines.append(f"In the data context's stream no arrival reaches M = {format_time(m)}: "
                     f"{window} fires at end of input.")
    lines.append(
        f"close_watermark = {format_time(values[convention])}"
        + {"watermark": " (watermark >= end convention)", "raw": " (the profile's raw watermark)",
           "max_event_time": " (the max event time, not the watermark)"}[convention]
        + "."
    )
    return _Answer(format_time(values[convention]), tuple(lines))


# SEMANTICS.md, "Sinks and delivery": the guarantees and their order of writing and
# committing are reference.delivery's.  Whether a crash makes a guarantee write rows
# twice is not reasoned out here but measured: the job runs into a real table
# (reference.sinks), crashes, restarts and replays.
_CRASHES = {"after_write_before_commit": CrashPhase.AFTER_WRITE}


def _crash_phase(name: str) -> CrashPhase:
    if name not in _CRASHES:
        raise ValueError(f"unknown crash point {name!r} (known: {', '.join(_CRASHES)})")
    return _CRASHES[name]


def _sink_table(context: Context) -> SinkTable:
    """The data context's sink as the delivery model's upsert table (its name and key)."""
    sink = context.sink
    names = [c for c, _ in sink.columns]
    if sorted(names) != sorted(SINK_COLUMNS):
        raise ValueError(f"the sink's columns must be {', '.join(SINK_COLUMNS)} (got {', '.join(names)})")
    return SinkTable(sink.table, tuple(sink.primary_key))


def _delivered(job: _Job, events: Sequence[Event], guarantee: Guarantee, crash: CrashPoint,
               commit_every: int) -> DeliveryOutcome:
    """Run the job into an in-memory SQLite copy of the context's sink, crash once, restart, replay."""
    prepared = _prepare(events, job.settings)
    with SqlSink("sqlite::memory:", table=_sink_table(job.context)) as sink:
        return deliver(prepared, _config(job.settings, prepared), sink, guarantee, crash, commit_every)


def _first_writer(run: Run) -> str:
    """The first arrival whose processing writes to the sink (the crash that matters).

    When no arrival fires a window, the first write is the end of input's, which the
    delivery model reads with the last record.
    """
    first = next((e for e in run.emissions if e.kind is not EmissionKind.RETRACT), None)
    if first is None:
        raise ValueError("the run writes nothing to the sink, so no crash can repeat a write")
    return first.cause or run.events[-1].event_id


def _q_delivery_semantics(job: _Job) -> _Answer:
    lines = [f"{g.value}: {g.describe()} (SEMANTICS.md, Sinks and delivery)." for g in Guarantee]
    return _Answer([g.value for g in Guarantee], tuple(lines))


def _q_idempotent_sink_needed_for(job: _Job) -> _Answer:
    phase = _crash_phase(job.args["crash"])
    events = job.context.events
    cause = _first_writer(_run(job, events))
    crash = CrashPoint(cause, phase)
    outcomes = {g: _delivered(job, events, g, crash, 1) for g in Guarantee}
    repeating = [g.value for g, out in outcomes.items() if out.duplicates]
    if len(repeating) != 1:
        raise ValueError(f"expected exactly one guarantee to re-write rows on replay, got {repeating}")
    lines = []
    for g, out in outcomes.items():
        again = (f"the replay writes {', '.join(w.describe() for w in out.duplicates)} again" if out.duplicates
                 else "the replay writes nothing twice")
        lines.append(f"{g.value}: {g.describe()}; crashing after {cause}'s write and before its offset commit, "
                     f"{again}.")
    lines.append(f"Only {repeating[0]} writes the same rows twice, so its sink must be idempotent (upsert by key).")
    return _Answer(repeating[0], tuple(lines))


def _q_window_events(job: _Job) -> _Answer:
    events = _events(job, job.args["events"])
    run = _run(job, events)
    members: dict[Window, set[str]] = {}
    for emission in run.emissions:
        if emission.kind is not EmissionKind.RETRACT:
            members.setdefault(emission.window, set()).update(emission.event_ids)
    order = {e.event_id: i for i, e in enumerate(events)}
    value = []
    lines = [_config_line(job, events)]
    for window in sorted(members):
        ids = sorted(members[window], key=order.__getitem__)
        value.append({"window_start": format_time(window.start), "events": ids})
        listed = ", ".join(f"{eid} ({job.context.event(eid).user_id}, {decimal_text(job.context.event(eid).amount)})"
                           for eid in ids)
        lines.append(f"{window}: {listed}.")
    lines += _boundary_lines(job, events, members)
    lines += _late_lines(job, run)
    return _Answer(value, tuple(lines))


def _q_late_policy_options(job: _Job) -> _Answer:
    mapping = job.args["engine_policies"]
    missing = [p.value for p in LatePolicy if p.value not in mapping]
    if missing:
        raise ValueError(f"the engine implements late policies the exercise does not map: {', '.join(missing)}")
    options: list[str] = []
    for policy in LatePolicy:
        if mapping[policy.value] not in options:
            options.append(mapping[policy.value])
    for extra in job.args["other_options"]:
        if extra not in options:
            options.append(extra)
    grouped = "; ".join(f"{p.value} -> {mapping[p.value]}" for p in LatePolicy)
    pick = job.part.compare.get("pick")
    lines = [
        f"Late policies the engine implements (reference.config.LatePolicy): {grouped}.",
        f"Options outside the streaming job: {', '.join(job.args['other_options']) or 'none'}.",
        f"Accepted: {', '.join(options)}" + (f"; any {pick} distinct ones answer the question." if pick else "."),
    ]
    return _Answer(options, tuple(lines))


def _q_final_rows(job: _Job) -> _Answer:
    events = _events(job, job.args["events"])
    run = _run(job, events)
    starts = job.args["window_starts"]
    windows = [_window_at(job, w) for w in starts] if starts is not None else None
    rows = [r for r in run.final_rows() if windows is None or Window(r.window_start, r.window_end) in windows]
    lines = [_config_line(job, events)]
    for r in rows:
        window = Window(r.window_start, r.window_end)
        lines.append(f"{window}, user {r.user_id}: {_contributions(job, run, window, r.user_id)} -> {_row_text(r)}.")
    lines += _boundary_lines(job, events, windows or {Window(r.window_start, r.window_end) for r in rows})
    lines += _late_lines(job, run)
    lines.append(f"Rows of the upsert sink for the windows asked: {_rows_text(rows)}.")
    return _Answer([_row_value(r) for r in rows], tuple(lines))


def _final_row(job: _Job) -> tuple[Row | None, list[str]]:
    events = _events(job, job.args["events"])
    run = _run(job, events)
    window = _window_at(job, job.args["window_start"])
    user = job.args["user_id"]
    row = next((r for r in run.final_rows() if r.window_start == window.start and r.user_id == user), None)
    lines = [_config_line(job, events)]
    lines += _late_lines(job, run)
    if row is not None:
        lines.append(f"{window}, user {user}: {_contributions(job, run, window, user)} "
                     f"= {decimal_text(row.sum_amount)}.")
        history = list(run.emissions_for(window, user))
        writes = "; ".join(
            f"{e.kind.value} {_row_text(e.row)} "
            + (f"caused by {e.cause} at watermark {format_time(e.watermark)}" if e.cause else "at end of input")
            + (" (late firing)" if e.timing is Timing.LATE else "")
            for e in history
        )
        lines.append(f"Sink writes for ({format_time(window.start)}, {user}): {writes}.")
        if len(history) > 1:
            lines.append(
                f"The upsert sink is keyed by ({', '.join(job.context.sink.primary_key)}): the last write "
                f"{_row_text(row)} overwrites the earlier row; one write corrects it."
            )
    return row, lines


def _q_final_sum(job: _Job) -> _Answer:
    row, lines = _final_row(job)
    return _Answer(decimal_json(row.sum_amount) if row is not None else 0, tuple(lines))


def _q_final_row(job: _Job) -> _Answer:
    row, lines = _final_row(job)
    return _Answer(_row_value(row) if row is not None else None, tuple(lines))


def _q_writes_on_arrival(job: _Job) -> _Answer:
    events = _events(job, job.args["events"])
    run = _run(job, events)
    event_id = job.args["event"]
    records = job.args["records"]
    if records not in ("retract", "emit"):
        raise ValueError(f"records must be retract or emit, not {records!r}")
    arrival = next(i for i, e in enumerate(run.events) if e.event_id == event_id)
    caused = [e for e in run.emissions if e.on_arrival == arrival]
    if records == "retract":
        chosen = [e for e in caused if e.kind is EmissionKind.RETRACT]
    else:
        chosen = [e for e in caused if e.kind is not EmissionKind.RETRACT]
    step = run.watermarks[arrival]
    previous = run.events[arrival - 1].event_id if arrival else None
    wm = _previous_watermark(run, arrival)
    s = job.settings
    lines = [
        _config_line(job, events),
        f"{_describe(job, event_id)} is arrival {arrival + 1}"
        + (f", after {previous}" if previous else "")
        + f"; the max event time is then {format_time(step.max_event_time)} and it is judged at watermark "
        f"{format_time(wm)} ({s.profile.watermark_rule()}).",
    ]
    late = [x for x in run.late if x.arrival == arrival]
    if not late:
        lines.append(f"{event_id} is on time: its window has not fired yet, so its arrival writes nothing by itself.")
    for x in late:
        lateness = _lateness(s, events)
        lines.append(
            f"Its window {x.window} has fired ({s.profile.fire_rule()}); with allowed lateness "
            f"{format_duration(lateness)} the expiry is {format_time(s.profile.expiry(x.window.end, lateness))} and "
            f"the profile's rule is: {s.profile.drop_rule()}."
        )
        if x.outcome is LateOutcome.ADMITTED:
            lines.append(
                f"So {event_id} is admitted and causes a late firing under policy {run.config.late_policy.value}: "
                + "; ".join(f"{e.kind.value} {_row_text(e.row)}" for e in caused)
                + "."
            )
        else:
            lines.append(f"So {event_id} is {x.outcome.value.replace('_', ' ')} and the sink receives nothing.")
    lines.append(f"{'Retracted' if records == 'retract' else 'Emitted'} at {event_id}'s arrival: "
                 f"{_rows_text(e.row for e in chosen)}.")
    return _Answer([_row_value(e.row) for e in chosen], tuple(lines))


def _q_events_per_window(job: _Job) -> _Answer:
    scale, size = job.context.scale, job.settings.window_size
    per = job.args["per"]
    if per not in ("window", "user"):
        raise ValueError(f"per must be window or user, not {per!r}")
    windows_per_day = Fraction(DAY, size)
    per_window = Fraction(scale.events_per_day) / windows_per_day
    lines = [
        f"A day holds 24 h / {format_duration(size)} = {_number(windows_per_day)} tumbling windows; spread uniformly, "
        f"{scale.events_per_day} events/day / {_number(windows_per_day)} = {_number(per_window)} events per window "
        f"({_number(Fraction(scale.events_per_day) / (DAY // MINUTE))} events/min)."
    ]
    value = per_window
    if per == "user":
        value = per_window / scale.users
        lines.append(f"Per user: {_number(per_window)} / {scale.users} users = {_number(value)} events per window.")
    return _Answer(_number(value), tuple(lines))


def _q_min_latency(job: _Job) -> _Answer:
    s, ctx = job.settings, job.context
    p = s.profile
    window = _window_at(job, job.args["window_start"])
    t = parse_time(job.args["event_time"])
    if not window.contains(t):
        raise ValueError(f"event time {format_time(t)} is not in {window}")
    lateness = _lateness(s, ctx.events)
    step = ctx.time_granularity
    m = _earliest_firing(s, window, lateness, t, step)
    origins = {"event": t, "window_end": window.end, "window_start": window.start}
    measure_from = job.args["measure_from"]
    if measure_from not in origins:
        raise ValueError(f"measure_from must be one of {', '.join(origins)}, not {measure_from!r}")
    latency = m - origins[measure_from]
    _confirm_firing(job, window, t, m, step)
    raw = p.watermark(m, s.watermark_delay, lateness)
    lines = [
        f"Under {p.name} a window {p.fire_rule()} ({p.watermark_rule()}, B = {format_duration(s.watermark_delay)}): "
        f"the smallest max event time that fires {window} is M = {format_time(m)} (watermark {format_time(raw)}).",
        "Processing time >= event time, and the arrival carrying that max event time comes as early as "
        f"possible, at processing time {format_time(m)} (SEMANTICS.md, Latency and state).",
        f"Latency from event time {format_time(t)}: {format_time(m)} - {format_time(t)} = {format_duration(m - t)} "
        f"({format_duration(window.end - t)} to the window end {format_time(window.end)}, plus "
        f"{format_duration(m - window.end)} until the watermark reaches it).",
        f"Checked with the engine: an event at {format_time(t)} followed by one at {format_time(m)} fires {window} on "
        f"the second arrival; with {format_time(m - step)} instead it fires only at end of input.",
    ]
    if measure_from != "event":
        origin = f"{measure_from.replace('_', ' ')} {format_time(origins[measure_from])}"
        lines.append(f"Measured from the {origin} instead: {format_duration(latency)}.")
    return _Answer(_minutes(latency), tuple(lines))


def _confirm_firing(job: _Job, window: Window, t: Ticks, m: Ticks, step: Ticks) -> None:
    """Run the engine on two arrivals to check the predicate search against the operator."""
    key = job.context.events[0].user_id

    def fires_on_second(at: Ticks) -> bool:
        events = (Event("probe", key, t, Decimal(1)), Event("trigger", key, at, Decimal(0)))
        run = _engine(events, _config(job.settings, job.context.events))
        first = run.first_emission(window)
        return first is not None and first.cause == "trigger"

    if not fires_on_second(m) or (m - step >= t and fires_on_second(m - step)):
        raise ValueError(f"the engine and the profile's predicates disagree on when {window} fires")


def _dense_windows(job: _Job) -> tuple[int, list[str]]:
    """Windows one key holds at once, measured on a dense stream for that key."""
    s, ctx = job.settings, job.context
    p = s.profile
    size, delay = s.window_size, s.watermark_delay
    lateness = s.allowed_lateness if s.allowed_lateness != ADMIT_ALL else 0
    base = Tumbling(size).assign(ctx.events[0].event_time)[0].start
    span = 4 * size + delay + lateness
    step = ctx.time_granularity
    if span // step > _DENSE_MAX_EVENTS:
        step = -(-span // _DENSE_MAX_EVENTS // step) * step
    key = ctx.events[0].user_id
    events = tuple(Event(f"d{i}", key, base + i * step, Decimal(1)) for i in range(span // step + 1))
    run = _engine(_prepare(events, s), _config(s, events))
    most = run.max_windows_per_key
    lines = [
        f"Dense stream for one user: one event every {format_duration(step)} from {format_time(base)} to "
        f"{format_time(events[-1].event_time)}; engine run with tumbling {format_duration(size)}, delay "
        f"{format_duration(delay)}, allowed lateness {format_duration(lateness)} under {_rules(p)}.",
        f"Run.max_windows_per_key = {most}.",
    ]
    at = next(i for i, sample in enumerate(run.state) if sample.max_windows_per_key == most)
    mark = run.watermarks[at]
    held = [Window(w, w + size) for w in range(base, mark.max_event_time + 1, size)
            if not p.is_droppable(w + size, lateness, mark.watermark)]
    if most > 1:
        oldest = held[0]
        release = _earliest(lambda m: p.is_droppable(oldest.end, lateness, p.watermark(m, delay, lateness)),
                            mark.max_event_time, step)
        lines.append(
            f"First after the arrival at {format_time(mark.max_event_time)} (watermark {format_time(mark.watermark)}): "
            f"the user holds {', '.join(str(w) for w in held)}. {oldest} is released only when M reaches "
            f"{format_time(release)} (watermark {format_time(p.watermark(release, delay, lateness))}; "
            f"{p.fire_rule()}, {p.drop_rule()}), while events from {format_time(held[-1].start)} "
            f"already fill {held[-1]}."
        )
    else:
        lines.append("Each window is released when the watermark reaches its end, before the next one opens.")
    return most, lines


def _q_windows_per_key(job: _Job) -> _Answer:
    most, lines = _dense_windows(job)
    return _Answer(most, tuple(lines))


def _q_state_bytes(job: _Job) -> _Answer:
    scale = job.context.scale
    most, lines = _dense_windows(job)
    total = scale.users * most * scale.bytes_per_window
    lines.append(
        f"All users at their peak at once (worst case): {scale.users} users × {most} window buffers × "
        f"{scale.bytes_per_window} bytes = {total} bytes ({_number(Fraction(total, 1000))} KB), sums only."
    )
    return _Answer(total, tuple(lines))


def _q_sink_key_columns(job: _Job) -> _Answer:
    sink = job.context.sink
    line = (
        f"{sink.table} has PRIMARY KEY ({', '.join(sink.primary_key)}) in the data context: one row per "
        f"({', '.join(sink.primary_key)}), so a repeated write for the same key updates that row."
    )
    return _Answer(list(sink.primary_key), (line,))


def _q_replay_duplicates(job: _Job) -> _Answer:
    events = _events(job, job.args["events"])
    run = _run(job, events)
    crash_window = _window_at(job, job.args["crash_after_window"])
    sink_kind = job.args["sink"]
    if sink_kind not in ("upsert", "append"):
        raise ValueError(f"sink must be upsert or append, not {sink_kind!r}")
    last = max(i for i, e in enumerate(run.emissions) if e.window == crash_window)
    cause = run.emissions[last].cause or run.events[-1].event_id
    # The story: the job crashes after writing the window's rows and before committing
    # any offset, so the restart reads the selected events from the first again.  One
    # commit for the whole selection models "nothing committed yet".
    out = _delivered(job, events, Guarantee.AT_LEAST_ONCE, CrashPoint(cause, CrashPhase.AFTER_WRITE), len(events))
    rows = out.rows if sink_kind == "upsert" else out.append_rows
    duplicates = len(rows) - len({r.key for r in rows})
    sink = job.context.sink
    statement = (
        f"INSERT ... ON CONFLICT ({', '.join(sink.primary_key)}) DO UPDATE" if sink_kind == "upsert"
        else "plain INSERT into the table without a key"
    )
    lines = [
        _config_line(job, events),
        *out.explanation[:-2],
        f"In the in-memory SQLite table {sink.table}{'' if sink_kind == 'upsert' else ' (append, no key)'}, written "
        f"with {statement}: {len(rows)} rows, {duplicates} duplicate{'s' if duplicates != 1 else ''} of a "
        f"({', '.join(sink.primary_key)}).",
    ]
    return _Answer(duplicates, tuple(lines))


#: Each query of the vocabulary and the function that computes it.
SOLVERS: Mapping[str, Callable[[_Job], _Answer]] = {
    "model_answer": _q_model_answer,
    "close_watermark": _q_close_watermark,
    "delivery_semantics": _q_delivery_semantics,
    "idempotent_sink_needed_for": _q_idempotent_sink_needed_for,
    "window_events": _q_window_events,
    "late_policy_options": _q_late_policy_options,
    "final_rows": _q_final_rows,
    "final_sum": _q_final_sum,
    "final_row": _q_final_row,
    "writes_on_arrival": _q_writes_on_arrival,
    "events_per_window": _q_events_per_window,
    "min_latency": _q_min_latency,
    "windows_per_key": _q_windows_per_key,
    "state_bytes": _q_state_bytes,
    "sink_key_columns": _q_sink_key_columns,
    "replay_duplicates": _q_replay_duplicates,
}


# -- solving ------------------------------------------------------------------------------------------


def _compute(exercise_set: ExerciseSet, exercise_id: str, part_id: str, model: Mapping[str, Any] | None,
             profile: str | None) -> _Answer:
    exercise = exercise_set.exercise(exercise_id)
    part = exercise.part(part_id)
    query = QUERIES[part.solution.query]
    model = model or {}
    unknown = [k for k in model if k not in CONFIG_KEYS and k not in query.params]
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
        settings = _settings(exercise_set.context, *layers)
        return SOLVERS[query.name](_Job(exercise_set.context, part, args, settings))
    except (ValueError, KeyError, StopIteration) as exc:
        raise SolutionError(f"{exercise_set.id} {exercise_id}.{part_id} ({query.name}): {exc}") from None


def _canonical(exercise_set: ExerciseSet, exercise_id: str, part_id: str) -> Canonical:
    part = exercise_set.exercise(exercise_id).part(part_id)
    query = QUERIES[part.solution.query]
    answer = _compute(exercise_set, exercise_id, part_id, None, None)
    profile = _settings(exercise_set.context, part.solution.config).profile.name
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


@dataclass(frozen=True)
class _SetKey:
    """An exercise set as a cache key: equal and hashed by its data's fingerprint only."""

    fingerprint: str
    exercise_set: ExerciseSet = field(compare=False, hash=False)


@lru_cache(maxsize=1024)
def _solve_cached(key: _SetKey) -> dict[str, dict[str, Canonical]]:
    s = key.exercise_set
    return {ex.id: {p.id: _canonical(s, ex.id, p.id) for p in ex.parts} for ex in s.exercises}


@lru_cache(maxsize=1024)
def _solve_part_cached(key: _SetKey, exercise_id: str, part_id: str, model_json: str, profile: str | None) -> Canonical:
    answer = _compute(key.exercise_set, exercise_id, part_id, json.loads(model_json), profile)
    part = key.exercise_set.exercise(exercise_id).part(part_id)
    layers = [part.solution.config, json.loads(model_json)] + ([{"profile": profile}] if profile else [])
    profile_name = _settings(key.exercise_set.context, *layers).profile.name
    return Canonical(answer.value, answer.derivation, False, None, profile_name)


def solve(exercise_set: ExerciseSet) -> dict[str, dict[str, Canonical]]:
    """The canonical answer of every part: ``{exercise_id: {part_id: Canonical}}``.

    Computed once per exercise set fingerprint (set data and parameters); each call
    returns a fresh deep copy, so a caller may modify what it gets.
    """
    return copy.deepcopy(_solve_cached(_SetKey(exercise_set.fingerprint, exercise_set)))


def solve_part(exercise_set: ExerciseSet, exercise_id: str, part_id: str, *,
               model: Mapping[str, Any] | None = None, profile: str | None = None) -> Canonical:
    """The canonical answer of one part, or the answer under a mistaken model or another profile.

    ``model`` is a mistake's ``model`` (engine settings from ``CONFIG_KEYS`` and the
    query's arguments); ``profile`` names a profile of ``PROFILES``.  With neither, this
    is ``solve(exercise_set)[exercise_id][part_id]``.  Raises ``KeyError`` for an unknown
    exercise or part and :class:`SolutionError` when the answer cannot be computed.
    """
    exercise_set.exercise(exercise_id).part(part_id)
    key = _SetKey(exercise_set.fingerprint, exercise_set)
    if not model and profile is None:
        return copy.deepcopy(_solve_cached(key)[exercise_id][part_id])
    model_json = json.dumps(thaw(model or {}), sort_keys=True)
    return copy.deepcopy(_solve_part_cached(key, exercise_id, part_id, model_json, profile))


def cache_clear() -> None:
    """Forget every cached answer and engine run (tests, or after editing exercise data in place)."""
    _solve_cached.cache_clear()
    _solve_part_cached.cache_clear()
    _engine.cache_clear()


__all__ = ["SOLVERS", "Canonical", "SolutionError", "cache_clear", "solve", "solve_part"]

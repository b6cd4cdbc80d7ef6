"""The suite of one grading: the sheet's cases and the hidden ones, each with the engine's answer.

Built in batches handed to the sandboxed process as they are built, so that it runs the
first while the rest is computed; cached for the last seeds only (a grading repeated:
the same file graded again, a regrade).  A suite is a pure function of the exercise and
the seed, so a cached one is the suite a fresh build would give.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from grader.python.bindings import WindowAggregate, bindings
from grader.python.exercise import PythonExercise
from grader.python.inputs import AssignInput, Case, LateInput, SinkRow, StreamInput, WritesInput, window_start_of
from grader.python.streams import StreamGenerator
from reference.delivery import CrashPhase, CrashPoint, Guarantee, deliver
from reference.engine import run as run_engine
from reference.results import EmissionKind, Run
from reference.sinks import SqlSink
from reference.timestamps import MINUTE, Ticks


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

    Cached for the last seeds only: seeds are derived per submission, so only a grading
    repeated soon after (the same bytes of the same student, a replay with ``--seed``)
    meets its suite again, and a big cache makes every full garbage collection of the
    process slower (about 8 ms per cached suite here).  Building is deterministic (one
    ``random.Random(seed)``, no set or hash order), so cached and built suites are equal."""
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
            quiet = SinkRow(window_start_of(spec.start, stream.params.size), spec.users[0], Decimal(0))
            add("upsert", _writes(_sink_writes(result), gen.rng, spec.upsert_max_writes, quiet))
    hand_over()
    return Suite(seed, spec.streams, tuple(cases))


def _assign_inputs(stream: StreamInput, unit: Ticks, rng: random.Random | None, limit: int,
                   first: Ticks) -> list[AssignInput]:
    size = stream.params.size
    times = list(dict.fromkeys(ev.event_time for ev in stream.events))
    if rng is None:
        return [AssignInput(t, size) for t in times]
    start = window_start_of(times[0], size) if times else first
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
    expiry = window_start_of(t, p.size) + p.size + p.lateness
    boundary = [LateInput(t, w, p.size, p.lateness) for w in (expiry, expiry - unit, expiry + unit)]
    rng.shuffle(arrivals)
    return list(dict.fromkeys(boundary + arrivals[: max(limit - len(boundary), 0)]))


def _sheet_writes(aggregate: WindowAggregate, sheet: StreamInput) -> WritesInput:
    """The sink writes an at-least-once job makes from the sheet's events, as
    :func:`reference.delivery.deliver` models it: it crashes after its first write and
    before committing that record's offset, so the restart writes the record's rows again;
    late events are all admitted, so each late event's correction of a fired window is
    written too.  An idempotent upsert ends with the crash-free table either way."""
    events = sheet.events
    if not events:
        return WritesInput(())
    times = [ev.event_time for ev in events]
    config = replace(aggregate.config(sheet.params),
                     allowed_lateness=max(times) - min(times) + sheet.params.size)
    first = next((e for e in run_engine(events, config).emissions if e.kind is not EmissionKind.RETRACT), None)
    if first is None:
        return WritesInput(())
    crash = CrashPoint(first.cause or events[-1].event_id, CrashPhase.AFTER_WRITE)
    with SqlSink("sqlite::memory:") as sink:
        outcome = deliver(events, config, sink, Guarantee.AT_LEAST_ONCE, crash)
    return WritesInput(tuple(SinkRow(w.row.window_start, w.row.user_id, w.row.sum_amount)
                             for attempt in outcome.attempts for w in attempt.durable_writes
                             if w.kind is not EmissionKind.RETRACT))


def _sink_writes(result: Run) -> tuple[SinkRow, ...]:
    """What the upsert sink receives from a run (update policy: inserts and updates)."""
    return tuple(SinkRow(e.window.start, e.key, e.value) for e in result.emissions
                 if e.kind is not EmissionKind.RETRACT)


def _writes(emitted: Sequence[SinkRow], rng: random.Random, limit: int, quiet: SinkRow) -> WritesInput:
    """A hidden upsert case: the run's writes, an at-least-once replay of a slice, maybe a
    correction; ``quiet`` (amount drawn here) stands in when the run wrote nothing."""
    writes = list(emitted)[: max(limit - 3, 1)]
    if not writes:
        writes = [replace(quiet, sum_amount=Decimal(rng.randint(1, 9)))]
    # an at-least-once replay of a slice, and maybe a correction of one row
    i = rng.randrange(len(writes))
    writes += writes[i: i + rng.randint(1, 2)]
    if rng.random() < 0.5:
        target = rng.choice(writes)
        writes.append(replace(target, sum_amount=target.sum_amount + rng.randint(1, 5)))
    return WritesInput(tuple(writes[:limit]))

"""Queries about delivery: crash, restart and replay into a real SQL sink, duplicates and guarantees.
"""

from __future__ import annotations

from collections.abc import Sequence

from grader.exercises.model import Context
from grader.solutions.derivations import config_line, window_at
from grader.solutions.job import Answer, Job, job_events, prepared_events, run_config, run_of
from reference.delivery import CrashPhase, CrashPoint, DeliveryOutcome, Guarantee, deliver
from reference.events import Event
from reference.results import EmissionKind, Run
from reference.sinks import COLUMNS as SINK_COLUMNS
from reference.sinks import SinkTable, SqlSink

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


def _delivered(job: Job, events: Sequence[Event], guarantee: Guarantee, crash: CrashPoint,
               commit_every: int) -> DeliveryOutcome:
    """Run the job into an in-memory SQLite copy of the context's sink, crash once, restart, replay."""
    ready = prepared_events(events, job.settings)
    with SqlSink("sqlite::memory:", table=_sink_table(job.context)) as sink:
        return deliver(ready, run_config(job.settings, ready), sink, guarantee, crash, commit_every)


def _first_writer(run: Run) -> str:
    """The first arrival whose processing writes to the sink (the crash that matters).

    When no arrival fires a window, the first write is the end of input's, which the
    delivery model reads with the last record.
    """
    first = next((e for e in run.emissions if e.kind is not EmissionKind.RETRACT), None)
    if first is None:
        raise ValueError("the run writes nothing to the sink, so no crash can repeat a write")
    return first.cause or run.events[-1].event_id


def solve_idempotent_sink_needed_for(job: Job) -> Answer:
    phase = _crash_phase(job.args["crash"])
    events = job.context.events
    cause = _first_writer(run_of(job, events))
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
    return Answer(repeating[0], tuple(lines))


def solve_replay_duplicates(job: Job) -> Answer:
    events = job_events(job, job.args["events"])
    run = run_of(job, events)
    crash_window = window_at(job, job.args["crash_after_window"])
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
        config_line(job, events),
        *out.explanation[:-2],
        f"In the in-memory SQLite table {sink.table}{'' if sink_kind == 'upsert' else ' (append, no key)'}, written "
        f"with {statement}: {len(rows)} rows, {duplicates} duplicate{'s' if duplicates != 1 else ''} of a "
        f"({', '.join(sink.primary_key)}).",
    ]
    return Answer(duplicates, tuple(lines))

"""Delivery: a source log with offsets, a committing consumer, a crash, a restart and a replay.

The model (SEMANTICS.md, "Sinks and delivery"):

- The **source log** holds the events in arrival order at offsets ``0..n-1``.  A
  consumer's **committed offset** is the next offset it will read (Kafka's convention):
  committing offset 5 says "offsets 0..4 are done".
- The job reads the log, runs the window operator and writes each record's emissions to
  a :class:`reference.sinks.SqlSink`.  Offsets are committed every ``commit_every``
  records (counted from where the attempt started) and after the last record.  The end
  of the log is read with its last record: the bounded source finishes, the watermark
  jumps to plus infinity, and the windows that fires are written among the last
  record's writes.
- The guarantee decides the order of writing and committing:

  ==============  =====================================================================
  at-most-once    commit the offset (for the whole batch), then write: a crash between
                  the two loses the writes, it never repeats them
  at-least-once   write (each record in its own sink transaction), then commit: a crash
                  between the two replays the records and repeats their writes
  exactly-once    write and commit the offset in one sink transaction (per batch): a
                  crash before the commit rolls back the writes and the offset together
  ==============  =====================================================================

- A **crash point** names an event and a phase of that record's processing:
  ``before_write`` (before its emissions are written), ``after_write`` (its emissions
  written, before the offset commit that covers it) or ``after_commit`` (after that
  commit).  The phases are the same three moments for every guarantee, so two of them
  can coincide: under at-most-once the commit comes first, so ``after_commit`` is the
  moment ``before_write``; when no commit is due at the record (``commit_every`` > 1,
  not the batch's last record), ``after_commit`` is the moment ``after_write``.  A bare
  event id (``e5``) means ``after_write``: the sheet's Exercise 10 crash, after the
  write and before the commit.
- A crash kills the job: an open sink transaction is rolled back (what the database does
  when its client dies) and nothing else happens in that attempt.
- **Restart**: the new attempt reads the committed offset ``c`` from the sink's
  ``source_offsets`` table.  It restores the operator's state by recomputing offsets
  ``0..c-1`` through a fresh operator *without writing*, then replays from ``c``
  writing to the sink.  This models restoring a checkpoint taken at offset ``c``: the
  engine is deterministic (arrival order is the log's order, no wall clock), so
  recomputing the same prefix gives exactly the state, watermark and emission sequence
  numbers a checkpoint would hold.  The crash is injected once; the second attempt runs
  to the end.

The outcome compares what landed in the sink with a crash-free run of the same job:
a *duplicate* is a durable write of an emission that had already been written durably
(visible as an extra row in the append table); a *loss* is an emission of the
crash-free run that never reached the sink.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from reference.config import RunConfig
from reference.engine import make_operator
from reference.engine import run as run_engine
from reference.events import Event
from reference.results import Emission, EmissionKind
from reference.sinks import ChangeRecord, SinkMode, SqlSink, StoredRow

DEFAULT_CONSUMER = "streamgrade"


class DeliveryError(ValueError):
    """A delivery setting that cannot be simulated (bad crash point, unknown event, bad guarantee)."""


class Guarantee(enum.StrEnum):
    AT_MOST_ONCE = "at-most-once"
    AT_LEAST_ONCE = "at-least-once"
    EXACTLY_ONCE = "exactly-once"

    @classmethod
    def parse(cls, text: str | Guarantee) -> Guarantee:
        if isinstance(text, Guarantee):
            return text
        key = str(text).strip().lower().replace("_", "-").replace(" ", "-")
        for g in cls:
            if g.value == key:
                return g
        raise DeliveryError(f"unknown delivery guarantee {text!r}; choose one of {', '.join(g.value for g in cls)}")

    def describe(self) -> str:
        return {
            Guarantee.AT_MOST_ONCE: "commits the offset, then writes: a crash can lose writes, never repeat them",
            Guarantee.AT_LEAST_ONCE: "writes, then commits the offset: a crash in between replays and repeats writes",
            Guarantee.EXACTLY_ONCE: "writes and commits the offset in one sink transaction: no loss, no repeat",
        }[self]


class CrashPhase(enum.StrEnum):
    BEFORE_WRITE = "before_write"
    AFTER_WRITE = "after_write"
    AFTER_COMMIT = "after_commit"


_CRASH = re.compile(r"^\s*([^:\s]+)\s*(?::\s*([A-Za-z_-]+)\s*)?$")
CRASH_FORMS = "EVENT_ID:before_write, EVENT_ID:after_write, EVENT_ID:after_commit or EVENT_ID (= after_write)"


@dataclass(frozen=True)
class CrashPoint:
    """Where the job dies: an event (by id) and a phase of that record's processing."""

    event_id: str
    phase: CrashPhase = CrashPhase.AFTER_WRITE

    @classmethod
    def parse(cls, text: str) -> CrashPoint:
        """``e5:after_write``, ``e5:before_write``, ``e5:after_commit``; ``e5`` alone is ``after_write``."""
        m = _CRASH.match(text or "")
        if not m:
            raise DeliveryError(f"bad crash point {text!r}; use {CRASH_FORMS}")
        event_id, phase = m.group(1), m.group(2)
        if phase is None:
            return cls(event_id)
        key = phase.lower().replace("-", "_")
        for p in CrashPhase:
            if p.value == key:
                return cls(event_id, p)
        raise DeliveryError(
            f"bad crash phase {phase!r} in {text!r}; phases are {', '.join(p.value for p in CrashPhase)} "
            f"(forms: {CRASH_FORMS})"
        )

    def describe(self) -> str:
        return f"{self.event_id}:{self.phase.value}"


@dataclass(frozen=True)
class SourceLog:
    """The events in arrival order; an event's offset is its position."""

    events: tuple[Event, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for e in self.events:
            if e.event_id in seen:
                raise DeliveryError(f"event id {e.event_id!r} occurs twice in the log; crash points need unique ids")
            seen.add(e.event_id)

    def __len__(self) -> int:
        return len(self.events)

    def offset_of(self, event_id: str) -> int:
        for i, e in enumerate(self.events):
            if e.event_id == event_id:
                return i
        known = ", ".join(e.event_id for e in self.events[:12]) + (", ..." if len(self.events) > 12 else "")
        raise DeliveryError(f"crash point names {event_id!r}, which is not in the log (events: {known})")

    def span(self, start: int, stop: int) -> str:
        """``e1..e4 (offsets 0..3)``; ``nothing`` for an empty span."""
        if stop <= start:
            return "nothing"
        if stop - start == 1:
            return f"{self.events[start].event_id} (offset {start})"
        return f"{self.events[start].event_id}..{self.events[stop - 1].event_id} (offsets {start}..{stop - 1})"


@dataclass(frozen=True, slots=True)
class Write:
    """One emission sent to the sink by an attempt.

    ``emission_seq`` is the emission's position in the job's output (the same in every
    attempt, since the engine is deterministic); ``offset`` the record whose processing
    produced it; ``durable`` whether its sink transaction committed (a write rolled back
    by a crash never reached the table).
    """

    attempt: int
    offset: int
    event_id: str
    emission_seq: int
    kind: EmissionKind
    row: StoredRow
    end_of_input: bool
    durable: bool

    def describe(self) -> str:
        verb = "retract " if self.kind is EmissionKind.RETRACT else ""
        return f"{verb}{self.row.describe()}"


@dataclass(frozen=True)
class Attempt:
    """One run of the job, from its start offset to a crash or the end of the log."""

    number: int
    start_offset: int
    recomputed: int
    writes: tuple[Write, ...]
    commits: tuple[int, ...]
    crash: CrashPoint | None
    committed_offset: int

    @property
    def durable_writes(self) -> tuple[Write, ...]:
        return tuple(w for w in self.writes if w.durable)

    @property
    def rolled_back(self) -> tuple[Write, ...]:
        return tuple(w for w in self.writes if not w.durable)


@dataclass(frozen=True, slots=True)
class Expected:
    """An emission of the crash-free run: what the sink should receive once."""

    emission_seq: int
    offset: int
    event_id: str
    kind: EmissionKind
    row: StoredRow


@dataclass(frozen=True)
class DeliveryOutcome:
    """What the sink holds after the crash and replay, and how it differs from a crash-free run.

    ``rows`` is the upsert table, ``append_rows`` the append table (duplicates kept),
    ``changelog`` the changelog table.  ``duplicates`` are durable writes of emissions
    already written durably; ``losses`` the crash-free run's emissions that never
    reached the sink.  ``explanation`` says it in words, naming events and offsets.
    """

    guarantee: Guarantee
    crash: CrashPoint | None
    commit_every: int
    sink: str
    table: str
    attempts: tuple[Attempt, ...]
    rows: tuple[StoredRow, ...]
    append_rows: tuple[StoredRow, ...]
    changelog: tuple[ChangeRecord, ...]
    committed_offset: int
    crash_free_rows: tuple[StoredRow, ...]
    crash_free_append_rows: tuple[StoredRow, ...]
    expected: tuple[Expected, ...]
    duplicates: tuple[Write, ...]
    losses: tuple[Expected, ...]
    explanation: tuple[str, ...]

    @property
    def matches_crash_free(self) -> bool:
        """Whether the upsert table holds exactly the crash-free run's rows."""
        return self.rows == self.crash_free_rows

    @property
    def append_duplicates(self) -> int:
        """Extra rows in the append table compared with a crash-free run (rows written twice)."""
        extra = Counter(self.append_rows) - Counter(self.crash_free_append_rows)
        return sum(extra.values())

    @property
    def writes(self) -> tuple[Write, ...]:
        return tuple(w for a in self.attempts for w in a.writes)

    def text(self) -> str:
        return "\n".join(self.explanation)


def _rows(writes: Iterable[Write]) -> str:
    items = [w.describe() for w in writes]
    return ", ".join(items) if items else "nothing"


class _Crashed(Exception):
    """Raised inside an attempt at the crash point: the job dies there."""


class _Job:
    """One attempt's worth of machinery: the operator, the sink, the pending transaction."""

    def __init__(self, log: SourceLog, config: RunConfig, sink: SqlSink, guarantee: Guarantee, commit_every: int,
                 consumer: str, number: int, crash: CrashPoint | None, crash_offset: int | None) -> None:
        self.log, self.config, self.sink = log, config, sink
        self.guarantee, self.every, self.consumer = guarantee, commit_every, consumer
        self.number, self.crash, self.crash_offset = number, crash, crash_offset
        self.writes: list[Write] = []
        self.pending: list[Write] = []
        self.commits: list[int] = []

    def _maybe_crash(self, offset: int, phase: CrashPhase) -> None:
        if self.crash is not None and offset == self.crash_offset and self.crash.phase is phase:
            raise _Crashed

    def _write_record(self, offset: int, emissions: Sequence[tuple[int, Emission, bool]]) -> None:
        """Write one record's emissions; under exactly-once inside the batch's open transaction."""
        own_tx = self.guarantee is not Guarantee.EXACTLY_ONCE
        if not emissions:
            return
        if own_tx:
            self.sink.begin()
        event_id = self.log.events[offset].event_id
        for seq, e, end in emissions:
            self.sink.write(e, seq)
            self.pending.append(
                Write(self.number, offset, event_id, seq, e.kind, StoredRow.of(e.row), end, durable=False))
        if own_tx:
            self.sink.commit()
            self._settle(durable=True)

    def _settle(self, durable: bool) -> None:
        for w in self.pending:
            self.writes.append(Write(w.attempt, w.offset, w.event_id, w.emission_seq, w.kind, w.row,
                                     w.end_of_input, durable))
        self.pending.clear()

    def _commit(self, offset: int) -> None:
        if self.guarantee is Guarantee.EXACTLY_ONCE:
            self.sink.commit_offset(self.consumer, offset)
            self.sink.commit()
            self._settle(durable=True)
        else:
            self.sink.begin()
            self.sink.commit_offset(self.consumer, offset)
            self.sink.commit()
        self.commits.append(offset)

    def run(self, start: int) -> Attempt:
        n = len(self.log)
        op = make_operator(self.config)
        for ev in self.log.events[:start]:
            op.process(ev)  # restore state: recompute the committed prefix, write nothing
        if start == n:
            op.finish()  # the end of input was read with the last record, already done
        done = len(op.emissions)
        crashed = False
        try:
            for offset in range(start, n):
                position = offset - start
                batch_start = position % self.every == 0
                commit_due = (position + 1) % self.every == 0 or offset == n - 1
                if batch_start and self.guarantee is Guarantee.EXACTLY_ONCE:
                    self.sink.begin()
                if batch_start and self.guarantee is Guarantee.AT_MOST_ONCE:
                    self._commit(min(offset + self.every, n))
                op.process(self.log.events[offset])
                last = offset == n - 1
                if last:
                    op.finish()
                emitted = [(seq, e, e.on_arrival is None) for seq, e in enumerate(op.emissions[done:], start=done)]
                done = len(op.emissions)
                self._maybe_crash(offset, CrashPhase.BEFORE_WRITE)
                if self.guarantee is Guarantee.AT_MOST_ONCE:
                    self._maybe_crash(offset, CrashPhase.AFTER_COMMIT)
                self._write_record(offset, emitted)
                self._maybe_crash(offset, CrashPhase.AFTER_WRITE)
                if commit_due and self.guarantee is not Guarantee.AT_MOST_ONCE:
                    self._commit(offset + 1)
                if self.guarantee is not Guarantee.AT_MOST_ONCE:
                    self._maybe_crash(offset, CrashPhase.AFTER_COMMIT)
        except _Crashed:
            crashed = True
            self.sink.rollback()
            self._settle(durable=False)
        return Attempt(
            number=self.number,
            start_offset=start,
            recomputed=start,
            writes=tuple(self.writes),
            commits=tuple(self.commits),
            crash=self.crash if crashed else None,
            committed_offset=self.sink.committed_offset(self.consumer),
        )


def deliver(events: Sequence[Event], config: RunConfig, sink: SqlSink, guarantee: Guarantee | str,
            crash: CrashPoint | str | None = None, commit_every: int = 1,
            consumer: str = DEFAULT_CONSUMER) -> DeliveryOutcome:
    """Run the job into ``sink`` under ``guarantee``, crash once at ``crash``, restart, and report.

    ``sink`` should be fresh (its committed offset 0, its tables empty): the first
    attempt starts at the sink's committed offset.  ``commit_every`` is the number of
    records per offset commit (and per transaction under exactly-once).
    """
    guarantee = Guarantee.parse(guarantee)
    if isinstance(crash, str):
        crash = CrashPoint.parse(crash)
    if not isinstance(commit_every, int) or commit_every < 1:
        raise DeliveryError(f"commit_every must be a whole number of records, at least 1 (got {commit_every!r})")
    log = SourceLog(tuple(events))
    crash_offset = log.offset_of(crash.event_id) if crash is not None else None

    attempts: list[Attempt] = []
    start = sink.committed_offset(consumer)
    first = _Job(log, config, sink, guarantee, commit_every, consumer, 1, crash, crash_offset).run(start)
    attempts.append(first)
    if first.crash is not None:
        restart = first.committed_offset
        attempts.append(_Job(log, config, sink, guarantee, commit_every, consumer, 2, None, None).run(restart))

    reference = run_engine(log.events, config)
    expected = tuple(
        Expected(seq, e.on_arrival if e.on_arrival is not None else len(log) - 1,
                 log.events[e.on_arrival if e.on_arrival is not None else len(log) - 1].event_id,
                 e.kind, StoredRow.of(e.row))
        for seq, e in enumerate(reference.emissions)
    ) if log.events else ()
    durable = [w for a in attempts for w in a.durable_writes]
    seen: set[int] = set()
    duplicates = []
    for w in durable:
        if w.emission_seq in seen:
            duplicates.append(w)
        seen.add(w.emission_seq)
    losses = tuple(x for x in expected if x.emission_seq not in seen)
    outcome_rows = sink.rows(SinkMode.UPSERT)
    append_rows = sink.rows(SinkMode.APPEND)
    crash_free_rows = tuple(StoredRow.of(r) for r in reference.final_rows())
    crash_free_append = tuple(sorted(x.row for x in expected if x.kind is not EmissionKind.RETRACT))
    partial = DeliveryOutcome(
        guarantee=guarantee, crash=crash, commit_every=commit_every, sink=sink.describe(), table=sink.table_label,
        attempts=tuple(attempts), rows=outcome_rows, append_rows=append_rows, changelog=sink.changelog(),
        committed_offset=sink.committed_offset(consumer), crash_free_rows=crash_free_rows,
        crash_free_append_rows=crash_free_append, expected=expected, duplicates=tuple(duplicates), losses=losses,
        explanation=(),
    )
    return replace(partial, explanation=explain(partial, log))


def explain(outcome: DeliveryOutcome, log: SourceLog) -> tuple[str, ...]:
    """The outcome in plain words: each attempt's writes, commits and crash, then the comparison."""
    g = outcome.guarantee
    lines = [
        f"Delivery {g.value}: {g.describe()}. Offsets are committed every {outcome.commit_every} "
        f"record{'s' if outcome.commit_every != 1 else ''}; the sink is {outcome.sink}."
    ]
    for a in outcome.attempts:
        if a.number == 1:
            head = f"Attempt 1 reads from offset {a.start_offset}"
        elif a.start_offset == 0:
            head = (
                f"Restart: nothing was committed (the committed offset is 0), so attempt {a.number} starts with empty "
                "window state and replays the log from offset 0"
            )
        else:
            head = (
                f"Restart: the committed offset is {a.start_offset}, so attempt {a.number} restores the window state "
                f"by recomputing {log.span(0, a.start_offset)} without writing (the engine is deterministic, so this "
                f"is the state a checkpoint at offset {a.start_offset} holds) and replays from offset {a.start_offset}"
            )
        by_event: dict[str, list[Write]] = {}
        for w in a.writes:
            by_event.setdefault(w.event_id, []).append(w)
        parts = []
        for event_id, ws in by_event.items():
            tag = " (with the end-of-input firing)" if any(w.end_of_input for w in ws) else ""
            state = "" if all(w.durable for w in ws) else " (rolled back by the crash)"
            parts.append(f"on {event_id}{tag} it writes {_rows(ws)}{state}")
        body = "; ".join(parts) if parts else "it writes nothing"
        commits = ", ".join(str(c) for c in a.commits) or "none"
        line = f"{head}: {body}; offsets committed: {commits}."
        if a.crash is not None:
            offset = log.offset_of(a.crash.event_id)
            every = outcome.commit_every
            # The commit that covers the record closes its batch (batches count from the attempt's start).
            covering = min(a.start_offset + ((offset - a.start_offset) // every + 1) * every, len(log))
            line += (f" It crashes {_crash_words(g, a.crash, offset, covering)}; the committed offset is "
                     f"{a.committed_offset}.")
        lines.append(line)
    if outcome.duplicates:
        lines.append(
            f"Written twice: {_rows(outcome.duplicates)} ({len(outcome.duplicates)} duplicate write"
            f"{'s' if len(outcome.duplicates) != 1 else ''}): the append table has {len(outcome.append_rows)} rows "
            f"where a crash-free run has {len(outcome.crash_free_append_rows)}; the upsert table absorbs them "
            "(ON CONFLICT overwrites the same key with the same value)."
        )
    else:
        lines.append("No emission was written twice.")
    if outcome.losses:
        lost = ", ".join(
            f"{'retract ' if x.kind is EmissionKind.RETRACT else ''}{x.row.describe()} of {x.event_id} "
            f"(offset {x.offset})" for x in outcome.losses)
        lines.append(f"Lost: {lost}: the offset was committed before the write, so no attempt wrote it again.")
    else:
        lines.append("No emission was lost.")
    rows = ", ".join(r.describe() for r in outcome.rows) or "no rows"
    if outcome.matches_crash_free:
        lines.append(f"Upsert table {outcome.table}: {rows}; the same rows as a crash-free run.")
    else:
        free = ", ".join(r.describe() for r in outcome.crash_free_rows) or "no rows"
        lines.append(f"Upsert table {outcome.table}: {rows}; a crash-free run gives {free}.")
    return tuple(lines)


def _crash_words(g: Guarantee, crash: CrashPoint, offset: int, covering: int) -> str:
    event = f"{crash.event_id} (offset {offset})"
    emissions = f"the emissions of {event}"
    at_most_once_commit = g is Guarantee.AT_MOST_ONCE and crash.phase is CrashPhase.AFTER_COMMIT
    if crash.phase is CrashPhase.BEFORE_WRITE or at_most_once_commit:
        extra = " (its offset is already committed)" if g is Guarantee.AT_MOST_ONCE else ""
        return f"before writing {emissions}{extra}"
    if crash.phase is CrashPhase.AFTER_WRITE:
        if g is Guarantee.AT_MOST_ONCE:
            return f"after writing {emissions} (its offset was committed before the write)"
        if g is Guarantee.EXACTLY_ONCE:
            return (f"after writing {emissions} inside the open transaction and before committing offset "
                    f"{covering} with them: the database rolls the transaction back")
        return f"after writing {emissions} and before committing offset {covering}"
    return f"after processing {event} and committing the offsets due by then"


__all__ = [
    "CRASH_FORMS",
    "Attempt",
    "CrashPhase",
    "CrashPoint",
    "DeliveryError",
    "DeliveryOutcome",
    "Expected",
    "Guarantee",
    "SourceLog",
    "Write",
    "deliver",
    "explain",
]

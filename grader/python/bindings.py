"""Each function of the exercise bound to its engine answer, its checks and its words.

A :class:`Binding` says how to call the student's function, what the engine says it
should return, how to read what it returned (types first: :class:`TypeProblem`), how to
describe inputs and values in the sheet's notation, how to shrink a failing input, and
the mistaken models that reproduce known mistakes.  It is the one place that binds a
function to its engine call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from grader.python.exercise import Params
from grader.python.inputs import (
    EPOCH,
    AssignInput,
    LateInput,
    StreamInput,
    Table,
    WritesInput,
    dec_arg,
    dt_arg,
    event_arg,
    minutes,
    window_start_of,
)
from grader.quoting import cut, quote
from grader.sandbox import Opaque
from reference.config import LatePolicy, RunConfig
from reference.engine import run as run_engine
from reference.events import Event
from reference.profiles import Profile
from reference.results import LateOutcome
from reference.timestamps import MINUTE, MS, SECOND, Ticks, format_duration, format_time, to_datetime
from reference.windows import Tumbling


def _ticks(value: Any) -> Ticks | None:
    """Ticks of a naive ``datetime`` (what a submission must return), else None."""
    if type(value) is datetime and value.tzinfo is None:
        delta = value - EPOCH
        return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds // 1000
    return None


# A returned table or rows are the student's values: each part is cut (cut()), never spelled in full as
# row_text() spells the engine's rows (a Decimal of exponent 10**6 would be a million digits).
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


def type_of(value: Any) -> str:
    if isinstance(value, Opaque):
        return value.type_name
    return type(value).__name__


def shown(value: Any) -> str:
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
        return MODELS[(self.name, name)](self, inp)


class AssignWindow(Binding):
    name = "assign_window"

    def args(self, inp: AssignInput) -> tuple:
        return (to_datetime(inp.time), minutes(inp.size))

    def encoded(self, inp: AssignInput) -> list:
        return [dt_arg(inp.time), minutes(inp.size)]

    def expected(self, inp: AssignInput) -> Ticks:
        return window_start_of(inp.time, inp.size)

    def normalize(self, value: Any) -> Ticks:
        ticks = _ticks(value)
        if ticks is None:
            if isinstance(value, datetime):
                raise TypeProblem(f"returned an aware datetime {value}; the inputs are naive, return a naive one")
            raise TypeProblem(f"returned {shown(value)} ({type_of(value)}); expected a datetime.datetime")
        return ticks

    def describe_input(self, inp: AssignInput) -> str:
        return f"assign_window({format_time(inp.time)}, {minutes(inp.size)})"

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
        return (to_datetime(inp.time), to_datetime(inp.watermark), minutes(inp.size), minutes(inp.lateness))

    def encoded(self, inp: LateInput) -> list:
        return [dt_arg(inp.time), dt_arg(inp.watermark), minutes(inp.size), minutes(inp.lateness)]

    def expected(self, inp: LateInput) -> bool:
        end = window_start_of(inp.time, inp.size) + inp.size
        # The student's watermark is M - B; the engine's (Flink) is M - B - 1 ms.
        return self.profile.is_droppable(end, inp.lateness, self.profile.watermark(inp.watermark, 0))

    def normalize(self, value: Any) -> bool:
        if type(value) is not bool:
            raise TypeProblem(f"returned {shown(value)} ({type_of(value)}); expected True or False")
        return value

    def describe_input(self, inp: LateInput) -> str:
        return (f"is_late(event_time {format_time(inp.time)}, watermark {format_time(inp.watermark)}, "
                f"size {minutes(inp.size)}, allowed lateness {minutes(inp.lateness)})")

    def describe_value(self, value: bool) -> str:
        return str(value)

    def explain(self, inp: LateInput, expected: bool, given: Any) -> str:
        start = window_start_of(inp.time, inp.size)
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
        return ([event_arg(ev) for ev in inp.events], minutes(p.size), minutes(p.delay), minutes(p.lateness))

    def encoded(self, inp: StreamInput) -> list:
        p = inp.params
        events = [{"event_id": ev.event_id, "user_id": ev.user_id, "event_time": dt_arg(ev.event_time),
                   "amount": dec_arg(ev.amount)} for ev in inp.events]
        return [events, minutes(p.size), minutes(p.delay), minutes(p.lateness)]

    def config(self, params: Params) -> RunConfig:
        return RunConfig(windows=Tumbling(params.size), watermark_delay=params.delay,
                         allowed_lateness=params.lateness, late_policy=LatePolicy.UPDATE, profile=self.profile,
                         track_events=False)

    def expected(self, inp: StreamInput) -> Table:
        result = run_engine(inp.events, self.config(inp.params))
        return {(r.window_start, r.user_id): r.sum_amount for r in result.final_rows()}

    def normalize(self, value: Any) -> Table:
        if not isinstance(value, list | tuple):
            raise TypeProblem(f"returned {shown(value)} ({type_of(value)}); expected a list of rows "
                              '{"window_start": datetime, "user_id": str, "sum_amount": Decimal}')
        rows: Table = {}
        for i, row in enumerate(value):
            if not isinstance(row, dict):
                raise TypeProblem(f"row {i} is {shown(row)} ({type_of(row)}); expected a dict with "
                                  "window_start, user_id and sum_amount")
            missing = [k for k in ("window_start", "user_id", "sum_amount") if k not in row]
            if missing:
                raise TypeProblem(f"row {i} {shown(row)} has no {', '.join(missing)}")
            start = _ticks(row["window_start"])
            if start is None:
                raise TypeProblem(f"row {i}: window_start {shown(row['window_start'])} "
                                  f"({type_of(row['window_start'])}) is not a naive datetime.datetime")
            user = row["user_id"]
            if not isinstance(user, str):
                raise TypeProblem(f"row {i}: user_id {shown(user)} ({type_of(user)}) is not a str")
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
            if not any(ev.user_id == user and window_start_of(ev.event_time, inp.params.size) == start
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
        return [{}, [{"window_start": dt_arg(w.window_start), "user_id": w.user_id, "sum_amount": dec_arg(w.sum_amount)}
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
            raise TypeProblem(f"returned {shown(value)} ({type_of(value)}) in place of the table's states")
        tables = []
        for step, snapshot in enumerate(value):
            if not isinstance(snapshot, dict):
                raise TypeProblem(f"after write {step + 1} the table is {shown(snapshot)} ({type_of(snapshot)}); "
                                  "expected a dict keyed by (window_start, user_id)")
            table: Table = {}
            for key, stored in snapshot.items():
                if not (isinstance(key, tuple) and len(key) == 2 and _ticks(key[0]) is not None
                        and isinstance(key[1], str)):
                    raise TypeProblem(f"after write {step + 1} the table has the key {shown(key)}; expected "
                                      "(window_start, user_id), a (datetime, str) tuple")
                amount = stored.get("sum_amount") if isinstance(stored, dict) else stored
                if not (type(amount) is Decimal and amount.is_finite()):  # checked, and quoted, only when odd
                    amount = _amount(amount, f"table[{shown(key)}]")
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
        raise TypeProblem(f"{where} is {shown(value)} ({type_of(value)}); expected a Decimal{hint}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise TypeProblem(f"{where} is {shown(value)}, which is not a number; expected a finite Decimal")
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
    first = window_start_of(min(ev.event_time for ev in events), size)
    delta = first - window_start_of(start, size)
    if delta == 0 or delta % size:
        return events
    return tuple(replace(ev, event_time=ev.event_time - delta) for ev in events)


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
    return window_start_of(t - MS, size)


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


MODELS: dict[tuple[str, str], Callable[[Binding, Any], Any]] = {
    ("assign_window", "inclusive_end"): lambda b, inp: _inclusive_start(inp.time, inp.size),
    ("is_late", "inclusive_end"): lambda b, inp: _drops_at_expiry(
        inp.watermark, _inclusive_start(inp.time, inp.size) + inp.size, inp.lateness),
    ("is_late", "admitted_at_expiry"): lambda b, inp: _drops_past_expiry(
        inp.watermark, window_start_of(inp.time, inp.size) + inp.size, inp.lateness),
    ("window_aggregate", "canonical"): lambda b, inp: _model_rows(inp, window_start_of, _drops_at_expiry),
    ("window_aggregate", "inclusive_end"): lambda b, inp: _model_rows(inp, _inclusive_start, _drops_at_expiry),
    ("window_aggregate", "admitted_at_expiry"): lambda b, inp: _model_rows(inp, window_start_of, _drops_past_expiry),
    ("window_aggregate", "event_time_order"): lambda b, inp: _model_rows(
        inp, window_start_of, _drops_at_expiry, event_time_order=True),
    ("upsert", "accumulating"): _accumulating,
}


def bindings(profile: Profile) -> dict[str, Binding]:
    return {b.name: b for b in (AssignWindow(profile), IsLate(profile), WindowAggregate(profile), Upsert(profile))}

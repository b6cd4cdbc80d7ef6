"""Values and derivations in words: rows, times, events, windows, the profile's rules.

A derivation names the events, windows and watermarks behind an answer in the sheet's
notation (``e3 (A, 10:04, 2)``, ``[10:00, 10:05)``), so a student can check it by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from grader.exercises.vocabulary import ADMIT_ALL
from grader.solutions.job import Job, lateness_of, run_config
from reference.events import Event, decimal_text
from reference.profiles import Profile
from reference.results import Emission, EmissionKind, Row, Run
from reference.serialize import decimal_json
from reference.timestamps import MINUTE, Ticks, format_duration, format_time, parse_time
from reference.windows import Tumbling, Window


def row_value(row: Row) -> dict[str, Any]:
    return {"window_start": format_time(row.window_start), "user_id": row.user_id,
            "sum_amount": decimal_json(row.sum_amount)}


def row_text(row: Row) -> str:
    return row.describe()


def rows_text(rows: Iterable[Row]) -> str:
    rows = list(rows)
    return ", ".join(row_text(r) for r in rows) if rows else "no rows"


def number(value: Fraction | int) -> int | float:
    """A JSON number: exact when integral, else 6 significant digits (the tolerance covers it)."""
    value = Fraction(value)
    if value.denominator == 1:
        return int(value)
    return float(f"{float(value):.6g}")


def minutes(ticks: Ticks) -> int | float:
    return number(Fraction(ticks, MINUTE))


def on_grid(m: Ticks, lo: Ticks, step: Ticks) -> Ticks:
    """The first of ``lo, lo + step, lo + 2 step, ...`` at or after ``m``: where a boundary
    found in integer ms lands on the data's time granularity.  Exact because every
    question asked of it is monotone in the max event time."""
    return lo if m <= lo else lo + -(-(m - lo) // step) * step


def describe_event(job: Job, event_id: str) -> str:
    """An event in the sheet's notation, from the context (never a model's moved copy)."""
    try:
        return job.context.event(event_id).describe()
    except KeyError:
        return event_id


def window_at(job: Job, start_text: str) -> Window:
    start = parse_time(start_text)
    window = Tumbling(job.settings.window_size).assign(start)[0]
    if window.start != start:
        raise ValueError(f"{start_text} is not the start of a {format_duration(job.settings.window_size)} window")
    return window


def rules_text(p: Profile) -> str:
    return f"{p.name}: {p.watermark_rule()}; a window {p.fire_rule()}; an event is {p.drop_rule()}"


def late_lines(job: Job, run: Run, only: Iterable[str] | None = None) -> list[str]:
    wanted = None if only is None else set(only)
    lines = []
    for late in run.late:
        if wanted is not None and late.event.event_id not in wanted:
            continue
        verb = {"dropped": "is dropped", "admitted": "is admitted", "side_output": "goes to the side output"}
        lines.append(
            f"{describe_event(job, late.event.event_id)} arrives late at watermark {format_time(late.watermark)} and "
            f"{verb[late.outcome.value]}: {late.reason}."
        )
    return lines


def boundary_lines(job: Job, events: Sequence[Event], windows: Iterable[Window]) -> list[str]:
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


def config_line(job: Job, events: Sequence[Event]) -> str:
    s = job.settings
    ids = [e.event_id for e in events]
    span = f"{ids[0]}..{ids[-1]}" if len(ids) > 2 else ", ".join(ids)
    order = "sorted by event time" if s.order == "event_time" else "in arrival order"
    lateness = lateness_of(s, events)
    text = (
        f"Engine run over {span} {order}: tumbling {format_duration(s.window_size)}, watermark delay "
        f"{format_duration(s.watermark_delay)}, allowed lateness {format_duration(lateness)}"
    )
    if s.allowed_lateness == ADMIT_ALL:
        text += " (enough to admit every event)"
    policy = run_config(s, events).late_policy.value
    return text + f", late policy {policy}, profile {s.profile.name} ({rules_text(s.profile)})."


def final_emission(run: Run, window: Window, key: str) -> Emission | None:
    found = [e for e in run.emissions_for(window, key) if e.kind is not EmissionKind.RETRACT]
    return found[-1] if found else None


def contributions(job: Job, run: Run, window: Window, key: str) -> str:
    emission = final_emission(run, window, key)
    if emission is None:
        return ""
    parts = [f"{eid} ({decimal_text(job.context.event(eid).amount)})" for eid in emission.event_ids
             if eid in job.context.event_ids]
    return " + ".join(parts)

"""A student's sheet: the events and parameters they work on, as JSON data or Markdown.

Never an answer: only the context, the prompts and the points.
"""

from __future__ import annotations

from typing import Any

from grader.exercises.model import ExerciseSet
from grader.variants.generate import Variant, event_record, parameters_record, scale_record
from grader.variants.symbols import short_number
from reference.events import decimal_text
from reference.timestamps import MINUTE, format_time
from reference.windows import Window


def sheet_document(variant: Variant) -> dict[str, Any]:
    """A student's sheet as JSON-ready data: seed, events, parameters, scale, prompts; never answers."""
    s = variant.exercise_set
    ctx = s.context
    return {
        "exercise_set": s.id,
        "title": s.title,
        "student_id": variant.student_id,
        "seed": variant.seed,
        "reissue": variant.reissue,
        "events": [event_record(e) | ({"late": True} if e.event_id == variant.late_event_id else {})
                   for e in ctx.events],
        "late_event": {"event_id": variant.late_event_id, "arrives_after": variant.late_after},
        **_sheet_rest(s),
    }


def shared_sheet_document(s: ExerciseSet, student_id: str | None = None) -> dict[str, Any]:
    """The set's own data context in the shape of :func:`sheet_document` (``seed`` is ``None``)."""
    ctx = s.context
    return {
        "exercise_set": s.id,
        "title": s.title,
        "student_id": student_id,
        "seed": None,
        "reissue": 0,
        "events": [event_record(e) for e in ctx.events],
        **_sheet_rest(s),
    }


def _sheet_rest(s: ExerciseSet) -> dict[str, Any]:
    """What a student's sheet and the shared sheet hold alike after the events."""
    ctx = s.context
    return {
        "parameters": parameters_record(ctx),
        "scale": scale_record(ctx.scale),
        "sink": {"table": ctx.sink.table, "columns": [{"name": n, "type": t} for n, t in ctx.sink.columns],
                 "primary_key": list(ctx.sink.primary_key)},
        "exercises": [{"id": ex.id, "title": ex.title, "points": ex.points, "prompt": ex.prompt}
                      for ex in s.exercises],
    }


def sheet_markdown(variant: Variant) -> str:
    """A student's sheet in the notation of the printed one (events table, data context, prompts)."""
    s = variant.exercise_set
    ctx = s.context
    late = ctx.event(variant.late_event_id)
    on_time = sorted((e for e in ctx.events if e.event_id != late.event_id), key=lambda e: e.event_time)
    size = ctx.window_size
    start = late.event_time - late.event_time % size
    lines = [
        f"# {s.title}",
        "",
        f"Variant for student `{variant.student_id}` (seed {variant.seed}"
        + (f", re-issue {variant.reissue}" if variant.reissue else "") + ").",
        "",
        "## Data Context",
        "",
        "### Event stream: clicks",
        "",
        "**Schema:** `(event_id, user_id, event_time, amount)`",
        "",
        "**Sample events (ordered by event_time):**",
        "",
        "| event_id | user_id | event_time | amount |",
        "|----------|---------|------------|--------|",
    ]
    for e in (*on_time, late):
        label = f"{e.event_id} (late)" if e is late else e.event_id
        lines.append(f"| {label} | {e.user_id} | {format_time(e.event_time)} | {decimal_text(e.amount)} |")
    lines += [
        "",
        "In the sheet's notation: " + ", ".join(e.describe() for e in ctx.events) + " (arrival order).",
        "",
        f"**Note:** {late.event_id} arrives late (processing_time after {variant.late_after}); event_time "
        f"{format_time(late.event_time)} belongs to window {Window(start, start + size)}.",
        "",
        f"**Sink table (window aggregates):** `{ctx.sink.table}("
        + ", ".join(f"{n} {t}" for n, t in ctx.sink.columns)
        + f", PRIMARY KEY ({', '.join(ctx.sink.primary_key)}))`",
        "",
        f"**Scale (for exercises):** {short_number(ctx.scale.events_per_day)} events/day; "
        f"{short_number(ctx.scale.users)} distinct users; tumbling windows {ctx.window_size // MINUTE} min; "
        f"watermark delay {ctx.watermark_delay // MINUTE} min; allowed lateness {ctx.allowed_lateness // MINUTE} min "
        f"(where an exercise allows lateness); one window buffer {ctx.scale.bytes_per_window} bytes; "
        f"profile {ctx.profile.name}.",
    ]
    for i, ex in enumerate(s.exercises, start=1):
        lines += ["", f"## Exercise {i} ({ex.id}, {ex.points:g} points): {ex.title}", "", ex.prompt]
    return "\n".join(lines) + "\n"

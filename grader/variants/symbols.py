"""What a variant's templates may say (``${late_event}``, ``${window_1}``...), and filling them in.

Every symbol is computed from the candidate and its engine runs, never typed in; the
declaration is checked against :data:`SYMBOLS`, so a template cannot name a symbol that
does not exist.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from grader.variants.constraints import Draft, Probe
from reference.events import decimal_text
from reference.results import EmissionKind, LateOutcome
from reference.timestamps import MINUTE, format_time

#: The ``${name}`` placeholders of the templates in ``variation.yaml``, and what each holds.
SYMBOLS: Mapping[str, str] = {
    "on_time": "the on-time clicks as a range, 'e1 to e6'",
    "on_time_ids": "(list) the on-time click ids, for solution arguments",
    "late": "the late click in the sheet's notation, 'e7 (A, 10:01, 1)'",
    "late_id": "the late click's id",
    "late_user": "the late click's user",
    "late_time": "the late click's event time",
    "late_amount": "the late click's amount",
    "late_after": "the id of the click the late one arrives after",
    "late_watermark": "the watermark (the profile's own value) when the late click arrives",
    "late_outcome_text": "what becomes of the late click with the allowed lateness, in words",
    "late_sum_before": "the late user's sum in W1 without the late click",
    "late_sum_after": "the late user's sum in W1 with it",
    "late_row_before": "the late user's W1 row without the late click, '(10:00, A, 7)'",
    "boundary": "the click at the end of W2 in the sheet's notation",
    "boundary_user": "that click's user",
    "w1": "the first window, '[10:00, 10:05)'",
    "w1_start": "its start", "w1_end": "its end",
    "w2": "the second window", "w2_start": "its start",
    "w1_rows": "W1's on-time sink rows, '(10:00, A, 7) and (10:00, B, 3)'",
    "w2_rows": "W2's sink rows",
    "w1_events": "W1's on-time clicks in the sheet's notation",
    "w2_events": "W2's clicks in the sheet's notation",
    "late_writes": "what the sink receives when the late click arrives with the allowed lateness, in words",
    "w1_fire_time": "the smallest max event time that fires W1 (end + delay)",
    "w1_fired_by": "the click that fires W1 in the stream, in the sheet's notation",
    "latency_time": "the event time of the last on-time click in W1 (Exercise 8)",
    "size_min": "window size in minutes", "delay_min": "watermark delay in minutes",
    "lateness_min": "allowed lateness in minutes",
    "events_per_day": "scale: clicks per day, '100K'", "users": "scale: users, '5K'",
    "users_count": "scale: users, '5000'", "bytes_per_window": "scale: bytes of one window buffer",
}


def short_number(n: int) -> str:
    if n >= 1000 and n % 100 == 0:
        k = n / 1000
        return f"{k:g}K"
    return str(n)


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def symbols_of(d: Draft, p: Probe, late_arrival: str) -> dict[str, Any]:
    rows_w1 = [r for r in p.on_time.final_rows() if r.window_start == d.w1.start]
    row_text = {r.user_id: r.describe() for r in rows_w1}
    before = next((r.sum_amount for r in rows_w1 if r.user_id == d.late.user_id), Decimal(0))
    fired = p.dropping.first_emission(d.w1)
    fired_by = next((e.describe() for e in d.events if fired and e.event_id == fired.cause), "")
    late_info = next(x for x in p.late.late if x.event.event_id == d.late.event_id)
    lateness_min = d.allowed_lateness // MINUTE
    if late_info.outcome is LateOutcome.ADMITTED:
        outcome = (f"that is before the expiry of {d.w1} with {lateness_min} minutes of lateness, so it is "
                   f"admitted and a late firing corrects {d.late.user_id}'s row")
    else:
        outcome = (f"that is exactly the expiry of {d.w1} with {lateness_min} minutes of lateness, and "
                   f"{p.late.config.profile.name} drops at equality: {lateness_min} minutes is not quite enough")
    in_w1 = [e for e in d.on_time if d.w1.contains(e.event_time)]
    rows_w2 = [r for r in p.on_time.final_rows() if r.window_start == d.w2.start]
    caused = [e for e in p.late.emissions if e.on_arrival == d.late_arrival]
    writes = ", ".join(f"{'retract' if e.kind is EmissionKind.RETRACT else 'emit'} "
                       f"{e.row.describe()}" for e in caused)
    return {
        "on_time": f"{d.on_time[0].event_id} to {d.on_time[-1].event_id}",
        "on_time_ids": [e.event_id for e in d.on_time],
        "late": d.late.describe(),
        "late_id": d.late.event_id,
        "late_user": d.late.user_id,
        "late_time": format_time(d.late.event_time),
        "late_amount": decimal_text(d.late.amount),
        "late_after": d.on_time[d.late_after].event_id,
        "late_watermark": format_time(late_info.watermark),
        "late_outcome_text": outcome,
        "late_sum_before": decimal_text(before),
        "late_sum_after": decimal_text(before + d.late.amount),
        "late_row_before": row_text.get(d.late.user_id, ""),
        "boundary": d.boundary.describe(),
        "boundary_user": d.boundary.user_id,
        "w1": str(d.w1), "w1_start": format_time(d.w1.start), "w1_end": format_time(d.w1.end),
        "w2": str(d.w2), "w2_start": format_time(d.w2.start),
        "w1_rows": _join([row_text[k] for k in sorted(row_text)]),
        "w2_rows": _join([r.describe() for r in sorted(rows_w2, key=lambda r: r.user_id)]),
        "w1_events": ", ".join(e.describe() for e in in_w1),
        "w2_events": ", ".join(e.describe() for e in d.on_time if d.w2.contains(e.event_time)),
        "late_writes": writes or f"nothing: {d.late.event_id} is dropped at the expiry",
        "w1_fire_time": format_time(d.w1.end + d.watermark_delay),
        "w1_fired_by": fired_by,
        "latency_time": format_time(in_w1[-1].event_time),
        "size_min": str(d.window_size // MINUTE),
        "delay_min": str(d.watermark_delay // MINUTE),
        "lateness_min": str(lateness_min),
        "events_per_day": short_number(d.scale.events_per_day),
        "users": short_number(d.scale.users),
        "users_count": str(d.scale.users),
        "bytes_per_window": str(d.scale.bytes_per_window),
    }


def render(value: Any, symbols: Mapping[str, Any]) -> Any:
    """Fill ``${name}`` templates; a string that is exactly one list symbol becomes the list."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("${") and stripped.endswith("}") and isinstance(symbols.get(stripped[2:-1]), list):
            return list(symbols[stripped[2:-1]])
        return string.Template(value).substitute({k: v for k, v in symbols.items() if isinstance(v, str)})
    if isinstance(value, Mapping):
        return {k: render(v, symbols) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, symbols) for v in value]
    return value

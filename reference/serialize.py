"""JSON-ready views of a run (plain dicts and strings), for the CLI and the web edge.

Times are written as the sheet writes them (``10:05``, ``10:04:59.999``), amounts as
strings of the exact ``Decimal`` so nothing is rounded through a float, and infinite
watermarks as ``"-inf"`` / ``"+inf"``.
"""

from __future__ import annotations

from decimal import Decimal

from reference.events import decimal_text
from reference.results import Emission, LateEvent, Row, Run
from reference.timestamps import format_duration, format_time


def decimal_json(value: Decimal) -> int | float | str:
    """A JSON number when it carries the exact value (``7``, ``0.3``), else the exact string."""
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else decimal_text(value)


def row_dict(row: Row) -> dict[str, str]:
    return {
        "window_start": format_time(row.window_start),
        "window_end": format_time(row.window_end),
        "user_id": row.user_id,
        "sum_amount": decimal_json(row.sum_amount),
    }


def emission_dict(e: Emission, events_by_index: dict[int, str] | None = None) -> dict[str, object]:
    return {
        "window_start": format_time(e.window.start),
        "window_end": format_time(e.window.end),
        "user_id": e.key,
        "sum_amount": decimal_json(e.value),
        "kind": e.kind.value,
        "timing": e.timing.value,
        "on_arrival": e.cause if e.on_arrival is not None else "end_of_input",
        "arrival_index": e.on_arrival,
        "watermark": format_time(e.watermark),
        "events": list(e.event_ids),
    }


def late_dict(x: LateEvent) -> dict[str, object]:
    return {
        "event_id": x.event.event_id,
        "event": x.event.describe(),
        "arrival_index": x.arrival,
        "window_start": format_time(x.window.start),
        "window_end": format_time(x.window.end),
        "watermark": format_time(x.watermark),
        "outcome": x.outcome.value,
        "reason": x.reason,
    }


def run_dict(run: Run) -> dict[str, object]:
    """The ``simulate --format json`` document."""
    cfg = run.config
    late_ids = list(dict.fromkeys(x.event.event_id for x in run.late))
    return {
        "config": {
            "windows": cfg.windows.describe(),
            "watermark_delay": format_duration(cfg.watermark_delay),
            "allowed_lateness": format_duration(cfg.allowed_lateness),
            "late_policy": cfg.late_policy.value,
            "profile": cfg.profile.name,
            "rules": [cfg.profile.watermark_rule(), cfg.profile.fire_rule(), cfg.profile.drop_rule()],
            "watermark_every": cfg.watermark_every,
            "state_model": cfg.state_model.describe(),
        },
        "events": [
            {"arrival_index": i, "event_id": e.event_id, "user_id": e.user_id,
             "event_time": format_time(e.event_time), "amount": decimal_json(e.amount)}
            for i, e in enumerate(run.events)
        ],
        "emissions": [emission_dict(e) for e in run.emissions],
        "late": late_ids,
        "dropped": list(dict.fromkeys(x.event.event_id for x in run.dropped)),
        "side_output": list(dict.fromkeys(x.event.event_id for x in run.side_output)),
        "late_events": [late_dict(x) for x in run.late],
        "watermarks": [
            {"arrival_index": w.arrival, "event_id": w.event_id,
             "max_event_time": format_time(w.max_event_time), "watermark": format_time(w.watermark)}
            for w in run.watermarks
        ],
        "state": [
            {"arrival_index": s.arrival, "windows_held": s.windows_held, "keys": s.keys,
             "max_windows_per_key": s.max_windows_per_key, "bytes": s.bytes}
            for s in run.state
        ],
        "final_rows": [row_dict(r) for r in run.final_rows()],
        "max_windows_per_key": run.max_windows_per_key,
        "peak_state_bytes": run.peak_state_bytes,
    }

"""The readable, arrival-by-arrival trace of an engine run (``simulate --format text``).

Formatting lives at the edge: the engine returns data (:class:`reference.Run`), this
module turns it into lines for a terminal.
"""

from __future__ import annotations

from collections import defaultdict

from reference.events import decimal_text
from reference.results import Emission, EmissionKind, LateOutcome, Run
from reference.timestamps import format_time


def _emission_groups(emissions: list[Emission] | tuple[Emission, ...]) -> list[str]:
    """``fired [10:00, 10:05): A=7, B=3`` lines, one per window and kind of firing."""
    groups: dict[tuple, list[Emission]] = defaultdict(list)
    for e in emissions:
        groups[(e.window, e.timing)].append(e)
    lines = []
    for (window, timing), items in groups.items():
        parts = []
        retracted = False
        for e in items:
            if e.kind is EmissionKind.RETRACT:
                parts.append(f"retract {e.key}={decimal_text(e.value)}")
                retracted = True
            elif e.kind is EmissionKind.UPDATE:
                parts.append(f"update {e.key}={decimal_text(e.value)}")
            else:
                parts.append(f"{'emit ' if retracted else ''}{e.key}={decimal_text(e.value)}")
        verb = {"on_time": "fired", "late": "late firing", "end_of_input": "fired at end of input"}[timing.value]
        lines.append(f"{verb} {window}: {', '.join(parts)}")
    return lines


def format_trace(run: Run) -> str:
    """The whole trace: configuration, one block per arrival, end of input, final rows."""
    cfg = run.config
    p = cfg.profile
    out = [
        f"run: {cfg.describe()}",
        f"rules ({p.name}): {p.watermark_rule()}; {p.fire_rule()}; {p.drop_rule()}",
        "",
        f"{'#':>3}  {'arrival':<20} {'max time':<13} {'watermark after':<16} what happened",
    ]
    by_arrival: dict[int | None, list[Emission]] = defaultdict(list)
    for e in run.emissions:
        by_arrival[e.on_arrival].append(e)
    late_by_arrival = defaultdict(list)
    for x in run.late:
        late_by_arrival[x.arrival].append(x)
    pad = " " * (3 + 2 + 21 + 14 + 17)
    windows = cfg.windows
    for step, ev in zip(run.watermarks, run.events, strict=True):
        i = step.arrival
        notes = []
        lates = late_by_arrival.get(i, [])
        for x in lates:
            label = {
                LateOutcome.DROPPED: "DROPPED",
                LateOutcome.SIDE_OUTPUT: "SIDE OUTPUT",
                LateOutcome.ADMITTED: "LATE, admitted",
            }[x.outcome]
            notes.append(f"{label}: {x.reason}")
        if not lates and hasattr(windows, "assign") and not cfg.is_merging:
            notes.append("-> " + ", ".join(str(w) for w in windows.assign(ev.event_time)))
        elif not lates:
            notes.append("-> session")
        notes.extend(_emission_groups(by_arrival.get(i, [])))
        first, *rest = notes
        out.append(
            f"{i + 1:>3}  {ev.describe():<20} {format_time(step.max_event_time):<13} "
            f"{format_time(step.watermark):<16} {first}"
        )
        out.extend(pad + line for line in rest)
    tail = _emission_groups(by_arrival.get(None, []))
    out.append(f"{'':>3}  {'end of input':<20} {'':<13} {'+inf':<16} {tail[0] if tail else 'nothing left open'}")
    out.extend(pad + line for line in tail[1:])
    out.append("")
    out.append("final rows of the upsert sink (window_start, user_id, sum_amount):")
    rows = run.final_rows()
    out.extend(f"  {r.describe()}" for r in rows)
    if not rows:
        out.append("  (none)")
    late = ", ".join(dict.fromkeys(x.event.event_id for x in run.late)) or "none"
    dropped = ", ".join(dict.fromkeys(x.event.event_id for x in run.dropped)) or "none"
    out.append("")
    out.append(
        f"late: {late}; dropped: {dropped}; max windows per key: {run.max_windows_per_key}; "
        f"peak state: {run.peak_state_bytes} bytes ({cfg.state_model.describe()})"
    )
    return "\n".join(out)

"""Queries about load and state: events per window, windows held per key, state bytes.
"""

from __future__ import annotations

from decimal import Decimal

from grader.exercises.vocabulary import ADMIT_ALL
from grader.solutions.derivations import number, on_grid, rules_text
from grader.solutions.job import Answer, Job, engine_run, prepared_events, run_config
from reference.analysis import Figure, earliest_release, events_per_key_per_window, events_per_window, state_bytes
from reference.config import StateModel
from reference.events import Event
from reference.timestamps import format_duration, format_time
from reference.windows import Tumbling, Window

#: A dense stream (Exercise 9) never has more arrivals than this; a finer granularity is coarsened.
_DENSE_MAX_EVENTS = 20_000


def solve_events_per_window(job: Job) -> Answer:
    """:func:`reference.analysis.events_per_window` (or per key) at the context's scale."""
    scale, size = job.context.scale, job.settings.window_size
    per = job.args["per"]
    if per == "window":
        figure = events_per_window(scale.events_per_day, size)
    elif per == "user":
        figure = events_per_key_per_window(scale.events_per_day, scale.users, size)
    else:
        raise ValueError(f"per must be window or user, not {per!r}")
    return Answer(number(figure.value), _figure_lines(figure))


def _figure_lines(figure: Figure) -> tuple[str, ...]:
    """A formula's derivation: the computation with its numbers, then what it assumes."""
    return (figure.formula[:1].upper() + figure.formula[1:] + ".",
            "Assuming " + "; ".join(figure.assumptions) + ".")


def _dense_windows(job: Job) -> tuple[int, list[str]]:
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
    run = engine_run(prepared_events(events, s), run_config(s, events))
    most = run.max_windows_per_key
    lines = [
        f"Dense stream for one user: one event every {format_duration(step)} from {format_time(base)} to "
        f"{format_time(events[-1].event_time)}; engine run with tumbling {format_duration(size)}, delay "
        f"{format_duration(delay)}, allowed lateness {format_duration(lateness)} under {rules_text(p)}.",
        f"Run.max_windows_per_key = {most}.",
    ]
    at = next(i for i, sample in enumerate(run.state) if sample.max_windows_per_key == most)
    mark = run.watermarks[at]
    held = [Window(w, w + size) for w in range(base, mark.max_event_time + 1, size)
            if not p.is_droppable(w + size, lateness, mark.watermark)]
    if most > 1:
        oldest = held[0]
        release = on_grid(earliest_release(oldest.end, delay, lateness, p), mark.max_event_time, step)
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


def solve_windows_per_key(job: Job) -> Answer:
    most, lines = _dense_windows(job)
    return Answer(most, tuple(lines))


def solve_state_bytes(job: Job) -> Answer:
    """:func:`reference.analysis.state_bytes` for the windows a key was measured to hold."""
    scale = job.context.scale
    most, lines = _dense_windows(job)
    figure = state_bytes(scale.users, most, StateModel(bytes_per_window=scale.bytes_per_window))
    return Answer(figure.value, (*lines, *_figure_lines(figure)))

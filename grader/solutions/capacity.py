"""Queries about load and state: events per window, windows held per key, state bytes.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from grader.exercises.vocabulary import ADMIT_ALL
from grader.solutions.derivations import number, rules_text
from grader.solutions.firing import earliest
from grader.solutions.job import Answer, Job, engine_run, prepared_events, run_config
from reference.events import Event
from reference.timestamps import DAY, MINUTE, format_duration, format_time
from reference.windows import Tumbling, Window

#: A dense stream (Exercise 9) never has more arrivals than this; a finer granularity is coarsened.
_DENSE_MAX_EVENTS = 20_000


def solve_events_per_window(job: Job) -> Answer:
    scale, size = job.context.scale, job.settings.window_size
    per = job.args["per"]
    if per not in ("window", "user"):
        raise ValueError(f"per must be window or user, not {per!r}")
    windows_per_day = Fraction(DAY, size)
    per_window = Fraction(scale.events_per_day) / windows_per_day
    lines = [
        f"A day holds 24 h / {format_duration(size)} = {number(windows_per_day)} tumbling windows; spread uniformly, "
        f"{scale.events_per_day} events/day / {number(windows_per_day)} = {number(per_window)} events per window "
        f"({number(Fraction(scale.events_per_day) / (DAY // MINUTE))} events/min)."
    ]
    value = per_window
    if per == "user":
        value = per_window / scale.users
        lines.append(f"Per user: {number(per_window)} / {scale.users} users = {number(value)} events per window.")
    return Answer(number(value), tuple(lines))


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
        release = earliest(lambda m: p.is_droppable(oldest.end, lateness, p.watermark(m, delay, lateness)),
                            mark.max_event_time, step)
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
    scale = job.context.scale
    most, lines = _dense_windows(job)
    total = scale.users * most * scale.bytes_per_window
    lines.append(
        f"All users at their peak at once (worst case): {scale.users} users × {most} window buffers × "
        f"{scale.bytes_per_window} bytes = {total} bytes ({number(Fraction(total, 1000))} KB), sums only."
    )
    return Answer(total, tuple(lines))

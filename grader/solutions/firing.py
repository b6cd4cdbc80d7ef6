"""Queries about when a window fires: the closing watermark and the minimum result latency.

Each is found on the engine's own predicates (the earliest watermark that fires, the
earliest arrival that produces it), so the answer follows the profile's boundary rule.
"""

from __future__ import annotations

from decimal import Decimal

from grader.solutions.derivations import describe_event, minutes, on_grid, rules_text, window_at
from grader.solutions.job import Answer, Job, JobSettings, engine_run, lateness_of, run_config, run_of
from reference.analysis import earliest_trigger
from reference.events import Event, decimal_text
from reference.results import Run
from reference.timestamps import NEG_INF, Bound, Ticks, format_duration, format_time, parse_time
from reference.windows import Window


def _earliest_firing(s: JobSettings, window: Window, lateness: Ticks, lo: Ticks, step: Ticks) -> Ticks:
    """Smallest max event time M (on the granularity grid, >= lo) at which ``window`` fires:
    :func:`reference.analysis.earliest_trigger`, the one search on the profile's predicates."""
    m = earliest_trigger(window.end, s.watermark_delay, lateness, s.profile)
    return on_grid(m, -(-lo // step) * step, step)


def previous_watermark(run: Run, arrival: int) -> Bound:
    return run.watermarks[arrival - 1].watermark if arrival > 0 else NEG_INF


def solve_close_watermark(job: Job) -> Answer:
    s, ctx = job.settings, job.context
    p = s.profile
    window = window_at(job, job.args["window_start"])
    lateness = lateness_of(s, ctx.events)
    m = _earliest_firing(s, window, lateness, window.start, ctx.time_granularity)
    raw = p.watermark(m, s.watermark_delay, lateness)
    conventional = raw + p.watermark_minus
    convention = job.args["convention"]
    values = {"watermark": conventional, "raw": raw, "max_event_time": m}
    if convention not in values:
        raise ValueError(f"convention must be one of {', '.join(values)}, not {convention!r}")
    lines = [
        f"{window} is half-open; under {rules_text(p)} (delay B = {format_duration(s.watermark_delay)}).",
        f"The smallest max event time that fires it is M = {format_time(m)} (time granularity "
        f"{format_duration(ctx.time_granularity)}): the watermark is then {format_time(raw)}"
        + (
            f", Flink's raw value (end - 1 ms, {p.watermark_minus} ms below M - B); in the 'watermark >= end' "
            f"convention of SEMANTICS.md (watermark = M - B) that is {format_time(conventional)}"
            if p.watermark_minus
            else ""
        )
        + (", the window end." if conventional == window.end else "."),
    ]
    run = run_of(job, ctx.events)
    emission = run.first_emission(window)
    if emission is not None and emission.on_arrival is not None:
        arrival = run.events[emission.on_arrival]
        fired = ", ".join(f"{e.key}={decimal_text(e.value)}" for e in run.emissions
                          if e.window == window and e.on_arrival == emission.on_arrival)
        lines.append(
            f"In the data context's stream, {describe_event(job, arrival.event_id)} is the first arrival with "
            f"M >= {format_time(m)}: it moves the watermark from "
            f"{format_time(previous_watermark(run, emission.on_arrival))} to {format_time(emission.watermark)} "
            f"and {window} fires ({fired})."
        )
    elif emission is not None:
        lines.append(f"In the data context's stream no arrival reaches M = {format_time(m)}: "
                     f"{window} fires at end of input.")
    lines.append(
        f"close_watermark = {format_time(values[convention])}"
        + {"watermark": " (watermark >= end convention)", "raw": " (the profile's raw watermark)",
           "max_event_time": " (the max event time, not the watermark)"}[convention]
        + "."
    )
    return Answer(format_time(values[convention]), tuple(lines))


def solve_min_latency(job: Job) -> Answer:
    s, ctx = job.settings, job.context
    p = s.profile
    window = window_at(job, job.args["window_start"])
    t = parse_time(job.args["event_time"])
    if not window.contains(t):
        raise ValueError(f"event time {format_time(t)} is not in {window}")
    lateness = lateness_of(s, ctx.events)
    step = ctx.time_granularity
    m = _earliest_firing(s, window, lateness, t, step)
    origins = {"event": t, "window_end": window.end, "window_start": window.start}
    measure_from = job.args["measure_from"]
    if measure_from not in origins:
        raise ValueError(f"measure_from must be one of {', '.join(origins)}, not {measure_from!r}")
    latency = m - origins[measure_from]
    _confirm_firing(job, window, t, m, step)
    raw = p.watermark(m, s.watermark_delay, lateness)
    lines = [
        f"Under {p.name} a window {p.fire_rule()} ({p.watermark_rule()}, B = {format_duration(s.watermark_delay)}): "
        f"the smallest max event time that fires {window} is M = {format_time(m)} (watermark {format_time(raw)}).",
        "Processing time >= event time, and the arrival carrying that max event time comes as early as "
        f"possible, at processing time {format_time(m)} (SEMANTICS.md, Latency and state).",
        f"Latency from event time {format_time(t)}: {format_time(m)} - {format_time(t)} = {format_duration(m - t)} "
        f"({format_duration(window.end - t)} to the window end {format_time(window.end)}, plus "
        f"{format_duration(m - window.end)} until the watermark reaches it).",
        f"Checked with the engine: an event at {format_time(t)} followed by one at {format_time(m)} fires {window} on "
        f"the second arrival; with {format_time(m - step)} instead it fires only at end of input.",
    ]
    if measure_from != "event":
        origin = f"{measure_from.replace('_', ' ')} {format_time(origins[measure_from])}"
        lines.append(f"Measured from the {origin} instead: {format_duration(latency)}.")
    return Answer(minutes(latency), tuple(lines))


def _confirm_firing(job: Job, window: Window, t: Ticks, m: Ticks, step: Ticks) -> None:
    """Run the engine on two arrivals to check the predicate search against the operator."""
    key = job.context.events[0].user_id

    def fires_on_second(at: Ticks) -> bool:
        events = (Event("probe", key, t, Decimal(1)), Event("trigger", key, at, Decimal(0)))
        run = engine_run(events, run_config(job.settings, job.context.events))
        first = run.first_emission(window)
        return first is not None and first.cause == "trigger"

    if not fires_on_second(m) or (m - step >= t and fires_on_second(m - step)):
        raise ValueError(f"the engine and the profile's predicates disagree on when {window} fires")

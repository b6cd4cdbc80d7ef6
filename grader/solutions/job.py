"""The job of one query: its engine settings (context, part config, mistake model) and runs.

Engine runs are cached per events and configuration, so the parts and mistakes of a set
that ask the same question run the engine once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from grader.errors import GraderError
from grader.exercises.model import Context, Part
from grader.exercises.vocabulary import ADMIT_ALL, CONFIG_KEYS
from reference.config import LatePolicy, RunConfig
from reference.engine import run as run_engine
from reference.events import Event
from reference.profiles import Profile, get_profile
from reference.results import Run
from reference.timestamps import MS, Ticks, parse_duration
from reference.windows import Tumbling


class SolutionError(GraderError):
    """A canonical answer that cannot be computed: the message names the set, exercise and part."""


@dataclass(frozen=True)
class JobSettings:
    """The engine settings of one query, after context, part config and mistake model."""

    window_size: Ticks
    watermark_delay: Ticks
    allowed_lateness: Ticks | str
    late_policy: LatePolicy
    profile: Profile
    watermark_every: int = 1
    order: str = "arrival"
    windows: str = "half_open"


@dataclass(frozen=True)
class Job:
    context: Context
    part: Part
    args: Mapping[str, Any]
    settings: JobSettings


@dataclass(frozen=True)
class Answer:
    value: Any
    derivation: tuple[str, ...]


def job_settings(context: Context, *overrides: Mapping[str, Any]) -> JobSettings:
    values: dict[str, Any] = {
        "window_size": context.window_size,
        "watermark_delay": context.watermark_delay,
        "allowed_lateness": context.allowed_lateness,
        "late_policy": LatePolicy.UPDATE,
        "profile": context.profile,
    }
    for layer in overrides:
        for key, value in layer.items():
            if key not in CONFIG_KEYS:
                continue
            if key in ("window_size", "watermark_delay"):
                value = parse_duration(value)
            elif key == "allowed_lateness":
                value = ADMIT_ALL if value == ADMIT_ALL else parse_duration(value)
            elif key == "late_policy":
                value = LatePolicy.parse(str(value))
            elif key == "profile":
                value = get_profile(str(value))
            values[key] = value
    return JobSettings(**values)


def job_events(job: Job, selector: Any) -> tuple[Event, ...]:
    """The selected events of the context, always in the context's arrival order."""
    if selector == "all":
        return job.context.events
    wanted = {selector} if isinstance(selector, str) else set(selector)
    return tuple(e for e in job.context.events if e.event_id in wanted)


def processing_times(events: Sequence[Event]) -> tuple[Ticks, ...]:
    """Each arrival's processing time: its own ``processing_time`` when the data gives one,
    else the largest event time seen up to and including it.

    The approximation assumes what SEMANTICS.md assumes for latency: an event is processed
    no earlier than it happens, and an in-order event as soon as it happens.  So an event
    that arrives out of order (the sheet's e7, event time 10:01, after e6 at 10:10) is
    processed at the latest time seen when it arrives: 10:10.
    """
    out = []
    latest: Ticks | None = None
    for e in events:
        latest = e.event_time if latest is None else max(latest, e.event_time)
        out.append(e.processing_time if e.processing_time is not None else latest)
    return tuple(out)


def late_arrivals(events: Sequence[Event]) -> tuple[Event, ...]:
    """The events that arrive after an event with a later event time (the sheet's e7)."""
    out = []
    latest: Ticks | None = None
    for e in events:
        if latest is not None and e.event_time < latest:
            out.append(e)
        latest = e.event_time if latest is None else max(latest, e.event_time)
    return tuple(out)


def prepared_events(events: Sequence[Event], s: JobSettings) -> tuple[Event, ...]:
    """Apply the mistaken stream models (``windows: processing_time``, ``order: event_time``,
    ``windows: inclusive_end``)."""
    out = list(events)
    if s.windows == "processing_time":
        # Windows assigned by processing time (a mistaken model): each event is timed by
        # its arrival (processing_times), so a late event joins the window it arrives in.
        out = [replace(e, event_time=t) for e, t in zip(out, processing_times(out), strict=True)]
    if s.order == "event_time":
        out.sort(key=lambda e: e.event_time)
    if s.windows == "inclusive_end":
        # Windows read as closed [start, end]: an event exactly at the end of a window
        # that is already open stays in it instead of opening the next window.  Modelled
        # by moving that event 1 ms earlier (which also moves the watermark by 1 ms).
        size = s.window_size
        opened: set[Ticks] = set()
        moved = []
        for e in out:
            start = e.event_time - e.event_time % size
            if e.event_time == start and start - size in opened:
                e = replace(e, event_time=e.event_time - MS)
                start -= size
            opened.add(start)
            moved.append(e)
        out = moved
    return tuple(out)


def lateness_of(s: JobSettings, events: Sequence[Event]) -> Ticks:
    """The allowed lateness in ms; ``admit_all`` is more than the span of the events' times."""
    if s.allowed_lateness != ADMIT_ALL:
        return s.allowed_lateness
    times = [e.event_time for e in events] or [0]
    return max(times) - min(times) + s.window_size


def run_config(s: JobSettings, events: Sequence[Event]) -> RunConfig:
    return RunConfig(
        windows=Tumbling(s.window_size),
        watermark_delay=s.watermark_delay,
        allowed_lateness=lateness_of(s, events),
        late_policy=s.late_policy,
        profile=s.profile,
        watermark_every=s.watermark_every,
    )


@lru_cache(maxsize=512)
def engine_run(events: tuple[Event, ...], config: RunConfig) -> Run:
    """One engine run; runs are frozen values, so identical runs are shared."""
    return run_engine(events, config)


def run_of(job: Job, events: Sequence[Event]) -> Run:
    ready = prepared_events(events, job.settings)
    return engine_run(ready, run_config(job.settings, ready))

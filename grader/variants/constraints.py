"""A drawn candidate variant, the engine runs that judge it, and the named constraints.

A constraint is a named predicate over a candidate (:class:`Draft`) and its runs
(:class:`Probe`: on-time events, the late event dropped and admitted, under the set's
profile and under the boundary profile); ``variation.yaml`` lists the ones that keep
the exercises meaningful, and a candidate that fails one is drawn again.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from grader.exercises.model import Scale
from reference.config import LatePolicy, RunConfig
from reference.engine import run as run_engine
from reference.events import Event
from reference.profiles import Profile, get_profile
from reference.results import EmissionKind, LateOutcome, Run, Timing
from reference.timestamps import Ticks
from reference.windows import Tumbling, Window

#: The profile a late click is compared with: it admits at exactly end + allowed lateness.
BOUNDARY_PROFILE = "beam-python"


@dataclass(frozen=True)
class Draft:
    """A candidate context before its constraints are checked."""

    on_time: tuple[Event, ...]
    late: Event
    late_after: int  # index into on_time: the late click arrives right after this one
    window_size: Ticks
    watermark_delay: Ticks
    allowed_lateness: Ticks
    w1: Window
    scale: Scale

    @property
    def events(self) -> tuple[Event, ...]:
        """All clicks in arrival order."""
        return (*self.on_time[: self.late_after + 1], self.late, *self.on_time[self.late_after + 1:])

    @property
    def w2(self) -> Window:
        return Window(self.w1.end, self.w1.end + self.window_size)

    @property
    def boundary(self) -> Event:
        return self.on_time[-1]

    @property
    def late_arrival(self) -> int:
        return self.late_after + 1


@dataclass(frozen=True)
class Probe:
    """The engine runs every constraint reads (the variant's profile unless named)."""

    on_time: Run  # on-time clicks only, no allowed lateness, policy update
    dropping: Run  # every click in arrival order, no allowed lateness, policy drop
    late: Run  # every click, the allowed lateness, policy retract
    late_boundary: Run  # as `late`, under BOUNDARY_PROFILE


def probe_draft(d: Draft, profile: Profile) -> Probe:
    def config(lateness: Ticks, policy: LatePolicy, p: Profile = profile) -> RunConfig:
        return RunConfig(windows=Tumbling(d.window_size), watermark_delay=d.watermark_delay,
                         allowed_lateness=lateness, late_policy=policy, profile=p)

    return Probe(
        on_time=run_engine(d.on_time, config(0, LatePolicy.UPDATE)),
        dropping=run_engine(d.events, config(0, LatePolicy.DROP)),
        late=run_engine(d.events, config(d.allowed_lateness, LatePolicy.RETRACT)),
        late_boundary=run_engine(d.events, config(d.allowed_lateness, LatePolicy.RETRACT,
                                                  get_profile(BOUNDARY_PROFILE))),
    )


def _windows_with_rows(run: Run) -> dict[Window, set[str]]:
    found: dict[Window, set[str]] = {}
    for e in run.emissions:
        if e.kind is not EmissionKind.RETRACT:
            found.setdefault(e.window, set()).update(e.event_ids)
    return found


def _c_distinct_event_times(d: Draft, p: Probe, late_arrival: str) -> bool:
    return len({e.event_time for e in d.events}) == len(d.events)


def _c_on_time_order(d: Draft, p: Probe, late_arrival: str) -> bool:
    times = [e.event_time for e in d.on_time]
    return all(a < b for a, b in itertools.pairwise(times))


def _c_two_windows_and_boundary(d: Draft, p: Probe, late_arrival: str) -> bool:
    windows = _windows_with_rows(p.on_time)
    w3 = Window(d.w2.end, d.w2.end + d.window_size)
    return (set(windows) == {d.w1, d.w2, w3} and windows[w3] == {d.boundary.event_id}
            and d.boundary.event_time == d.w2.end)


def _c_boundary_user_in_second_window(d: Draft, p: Probe, late_arrival: str) -> bool:
    return bool(p.on_time.emissions_for(d.w2, d.boundary.user_id))


def _c_two_users_in_first_window(d: Draft, p: Probe, late_arrival: str) -> bool:
    keys = {e.key for e in p.on_time.emissions_for(d.w1)}
    return len(keys) >= 2 and d.late.user_id in keys


def _c_key_with_two_live_windows(d: Draft, p: Probe, late_arrival: str) -> bool:
    return p.on_time.max_windows_per_key >= 2


def _c_first_window_fires_on_time(d: Draft, p: Probe, late_arrival: str) -> bool:
    first = p.dropping.first_emission(d.w1)
    return (first is not None and first.timing is Timing.ON_TIME and first.on_arrival is not None
            and first.on_arrival < d.late_arrival and first.cause != d.late.event_id)


def _late_outcome(run: Run, d: Draft) -> LateOutcome | None:
    return next((x.outcome for x in run.late if x.event.event_id == d.late.event_id), None)


def _c_late_dropped_without_lateness(d: Draft, p: Probe, late_arrival: str) -> bool:
    return _late_outcome(p.dropping, d) is LateOutcome.DROPPED


def _corrects_row(run: Run, d: Draft) -> bool:
    caused = [e for e in run.emissions if e.on_arrival == d.late_arrival and e.window == d.w1
              and e.key == d.late.user_id]
    return ({e.kind for e in caused} >= {EmissionKind.RETRACT}
            and any(e.kind is not EmissionKind.RETRACT for e in caused))


def _c_late_event_outcome(d: Draft, p: Probe, late_arrival: str) -> bool:
    main, other = _late_outcome(p.late, d), _late_outcome(p.late_boundary, d)
    if late_arrival == "at_expiry":
        return main is LateOutcome.DROPPED and other is LateOutcome.ADMITTED
    return (main is LateOutcome.ADMITTED and other is LateOutcome.ADMITTED
            and _corrects_row(p.late, d) and _corrects_row(p.late_boundary, d))


#: Every constraint a variation may name, checked on the engine runs of a candidate.
CONSTRAINTS: Mapping[str, Callable[[Draft, Probe, str], bool]] = {
    "distinct_event_times": _c_distinct_event_times,
    "on_time_in_event_time_order": _c_on_time_order,
    "two_windows_and_boundary": _c_two_windows_and_boundary,
    "boundary_user_in_second_window": _c_boundary_user_in_second_window,
    "two_users_in_first_window": _c_two_users_in_first_window,
    "key_with_two_live_windows": _c_key_with_two_live_windows,
    "first_window_fires_on_time": _c_first_window_fires_on_time,
    "late_event_dropped_without_lateness": _c_late_dropped_without_lateness,
    "late_event_outcome": _c_late_event_outcome,
}

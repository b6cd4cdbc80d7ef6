"""Windows with the events placed in each: an event in the wrong window is named with its time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader.compare.base import Comparator, CompareContext, Comparison
from grader.normalize import (
    EventById,
    NormalizeError,
    normalize_event_ref,
    normalize_window,
    user_id_case_note,
    user_id_in_data,
    user_ids_by_case,
    window_size_problem,
)
from grader.quoting import show_value
from grader.results import Finding
from reference.timestamps import Ticks


@dataclass(frozen=True)
class Placement:
    """One event (by id when it could be resolved, else as written) placed in a window."""

    index: tuple[int, int]
    window_start: Ticks
    event_id: str | None
    written: str
    #: Set when the student's user id was read in the data's case (``a`` as ``A``).
    note: str | None = None


@dataclass(frozen=True)
class WindowsEventsValue:
    """The placed events, the windows given (by position and start) and what could not be read.

    ``unplaced`` names the events listed under a window whose label could not be read: the
    student did place them, somewhere, so they are not reported missing.
    """

    placements: tuple[Placement, ...]
    windows: tuple[tuple[int, Ticks], ...]
    bad: tuple[NormalizeError, ...] = ()
    unplaced: frozenset[str] = frozenset()


class WindowsEventsComparator(Comparator):
    """Windows (by their start), each with the events in it; events by id or by (user, amount).

    Score: events placed right / (events expected + events given that are misplaced,
    unknown, repeated or unreadable, counted once each).
    """

    kind = "windows_events"

    def __init__(self, spec: Mapping[str, Any], context: CompareContext) -> None:
        super().__init__(spec, context)
        self.window_field = str(spec["window_field"])
        self.events_field = str(spec["events_field"])
        self.identity = tuple(spec["event_identity"])

    def normalize(self, value: Any) -> WindowsEventsValue:
        if not isinstance(value, list | tuple):
            raise NormalizeError("expected a list of windows, each with a window_start and its events")
        placements, windows, bad = [], [], []
        unplaced: set[str] = set()
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                bad.append(NormalizeError(f"expected a window object, got {show_value(item)}", (i,)))
                continue
            try:
                start = self._window_start(item.get(self.window_field))
            except NormalizeError as exc:
                bad.append(exc.at(i, self.window_field))
                unplaced.update(self._listed(item.get(self.events_field)))
                continue
            windows.append((i, start))
            events = item.get(self.events_field)
            if events is None:
                events = []
            if not isinstance(events, list | tuple):
                bad.append(NormalizeError(f"expected a list of events, got {show_value(events)}",
                                          (i, self.events_field)))
                continue
            for j, ref in enumerate(events):
                try:
                    placements.append(self._placement((i, j), start, ref))
                except NormalizeError as exc:
                    bad.append(exc.at(i, self.events_field, j))
        return WindowsEventsValue(tuple(placements), tuple(windows), tuple(bad), frozenset(unplaced))

    def _window_start(self, value: Any) -> Ticks:
        """A window's start; a window written whole (``[10:05, 10:10)``, ``10:05-10:10``) must span the window size."""
        window = normalize_window(value)
        problem = window_size_problem(window, self.context.window_size, value)
        if problem is not None:
            raise problem
        return window.start_ms

    def _listed(self, events: Any) -> set[str]:
        """The ids of the events listed under a window whose label is unreadable (those that can be read)."""
        found: set[str] = set()
        for ref in events if isinstance(events, list | tuple) else ():
            try:
                found.add(self._placement((0, 0), None, ref).event_id or "")
            except NormalizeError:
                continue
        found.discard("")
        return found

    def _placement(self, index: tuple[int, int], start: Ticks | None, ref: Any) -> Placement:
        event = normalize_event_ref(ref, event_ids=self.context.event_ids)
        if isinstance(event, EventById):
            if "event_id" not in self.identity:
                raise NormalizeError("name the event by its user and amount here")
            return Placement(index, start or 0, event.event_id, event.event_id)
        if "user_id+amount" not in self.identity:
            raise NormalizeError("name the event by its id here")
        user_id = user_id_in_data(event.user_id, user_ids_by_case(e.user_id for e in self.context.events))
        note = user_id_case_note(event.user_id, user_id) if user_id != event.user_id else None
        candidates = [e for e in self.context.events if e.user_id == user_id and e.amount == event.amount]
        if len(candidates) > 1 and start is not None:
            inside = [e for e in candidates if self.context.window(start).contains(e.event_time)]
            candidates = inside or candidates[:1]
        found = candidates[0].event_id if candidates else None
        return Placement(index, start or 0, found, event.describe(), note if found else None)

    def shows(self, mistaken: WindowsEventsValue, expected: WindowsEventsValue, given: WindowsEventsValue) -> bool:
        """Every event the mistake places differently (or adds, or leaves out) is placed as the mistake has it."""
        def where(value: WindowsEventsValue) -> dict[str | None, Ticks]:
            return {p.event_id: p.window_start for p in value.placements if p.event_id is not None}

        wrong, right, got = where(mistaken), where(expected), where(given)
        differing = [e for e in dict.fromkeys([*wrong, *right]) if wrong.get(e) != right.get(e)]
        return bool(differing) and all(got.get(e) == wrong.get(e) for e in differing)

    def describe_event(self, event_id: str) -> str:
        event = self.context.event(event_id)
        return event.describe() if event is not None else event_id

    def compare(self, expected: WindowsEventsValue, given: WindowsEventsValue, *, path: str,
                show_expected: bool = True) -> Comparison:
        home = {p.event_id: p.window_start for p in expected.placements}
        findings: list[Finding] = []
        seen: set[str] = set()
        noted: set[str] = set()
        right = wrong = 0
        for p in given.placements:
            where = f"{path}[{p.index[0]}].{self.events_field}[{p.index[1]}]"
            window = self.context.window(p.window_start)
            if p.note is not None and p.note not in noted:
                noted.add(p.note)
                findings.append(Finding("user_id_case", where, p.note))
            if p.event_id is None:
                wrong += 1
                findings.append(Finding("unknown_event", where, f"{p.written} in {window} is none of the events"))
            elif p.event_id in seen:
                wrong += 1
                findings.append(Finding("duplicate_event", where,
                                        f"{self.describe_event(p.event_id)} is given more than once"))
            elif p.event_id not in home:
                seen.add(p.event_id)
                wrong += 1
                findings.append(Finding("extra_event", where,
                                        f"{self.describe_event(p.event_id)} in {window} is not part of this answer"))
            elif home[p.event_id] != p.window_start:
                seen.add(p.event_id)  # an expected event in the wrong window: counted once, in len(home)
                message = f"{self.describe_event(p.event_id)} is not in {window}"
                if show_expected:
                    message += f"; it belongs to {self.context.window(home[p.event_id])}"
                findings.append(Finding("misplaced_event", where, message))
            else:
                seen.add(p.event_id)
                right += 1
        for event_id, start in home.items():
            if event_id not in seen and event_id not in given.unplaced:
                message = f"{self.describe_event(event_id)} is missing"
                if show_expected:
                    message += f"; it belongs to {self.context.window(start)}"
                findings.append(Finding("missing_event", path, message))
        given_windows = {s for _, s in given.windows}
        # A window whose label could not be read may be the one that looks missing: its
        # unreadable label is reported instead.
        unlabelled = any(self.window_field in problem.loc for problem in given.bad)
        for start in dict.fromkeys(home.values()):
            if start not in given_windows and show_expected and not unlabelled:
                findings.append(Finding("missing_window", path, f"window {self.context.window(start)} is missing"))
        for problem in given.bad:
            wrong += 1
            findings.append(Finding("unreadable_event", path + problem.path, problem.describe(path)))
        total = len(home) + wrong
        fraction = 1.0 if total == 0 else right / total
        return Comparison(fraction, tuple(findings))

"""Diagnosis: recognising a known mistake in a wrong answer, and saying which event shows it.

Each exercise lists well-known mistakes (``mistakes`` in its YAML).  A runnable mistake
has a ``model``: the engine settings or query arguments the mistake amounts to
(``windows: inclusive_end``, ``watermark_delay: 0m``, ``sink: append``...);
:func:`grader.solutions.solve_part` re-runs the engine under it and gives the answer the
mistake produces.  Other mistakes give a literal wrong answer (``given``).  A student's
answer that is the same as a mistake's answer (after normalisation, by the part's own
comparator) is diagnosed with the mistake's code, and its feedback template is filled in
with the concrete event, window and watermark that tell the two answers apart.

All of that is worked out once per exercise set, part and mistake (:func:`known_mistakes`)
and kept in the grading plan; grading a submission only compares normal forms.

Feedback never leaks a value the exercise set hides: with ``show_expected`` off the
expected values in a template are masked (:data:`HIDDEN`).
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from grader.compare.base import Comparator
from grader.compare.choices import ChoiceSetValue, Unknown
from grader.compare.placements import WindowsEventsValue
from grader.compare.rows import RowsValue
from grader.exercises.model import Exercise, ExerciseSet, Mistake, Part
from grader.exercises.vocabulary import ADMIT_ALL
from grader.frozen import thaw
from grader.normalize import NormalizeError
from grader.solutions.job import SolutionError, late_arrivals, processing_times
from grader.solutions.solve import solve_part
from reference.analysis import earliest_trigger
from reference.events import Event, decimal_text
from reference.profiles import Profile, get_profile
from reference.timestamps import NEG_INF, Bound, Ticks, format_time, parse_duration, parse_time
from reference.windows import Window

log = logging.getLogger(__name__)

#: What a masked expected value reads as in feedback when the exercise set hides expected values.
HIDDEN = "(hidden)"
#: Feedback for a recognised mistake where expected values are hidden.  The exercise's own
#: template is not used then: its words, not only its placeholders, may give the answer
#: away ("the sink receives nothing").  The event is data the sheet gives; which window it
#: belongs to is left unsaid.
HIDDEN_TEMPLATE = "This answer matches a known mistake ({code}); look again at {event}."
HIDDEN_TEMPLATE_NO_EVENT = "This answer matches a known mistake ({code})."
#: Placeholders whose values reveal the expected answer.
EXPECTED_PLACEHOLDERS = frozenset({"expected", "expected_window"})
#: Placeholders about the scene event's arrival: a template using them is about the late
#: arrival, so a scene that names no event takes the one event that arrives out of order.
ARRIVAL_PLACEHOLDERS = ("{arrival_window}", "{arrives_after}")


@dataclass(frozen=True)
class KnownMistake:
    """A mistake of one part, ready to be recognised: its answer in normal form and its feedback.

    ``feedback`` is the template filled in; ``feedback_hidden`` the same with the expected
    values masked, for sets that hide them.
    """

    code: str
    credit: float
    answer: Any
    feedback: str
    feedback_hidden: str
    description: str

    def message(self, show_expected: bool) -> str:
        return self.feedback if show_expected else self.feedback_hidden


@dataclass(frozen=True)
class Scene:
    """Where a mistaken answer and the canonical one part: the values of the template's placeholders."""

    expected: str
    given: str
    event: Event | None = None
    window: Window | None = None
    expected_window: Window | None = None


def known_mistakes(exercise_set: ExerciseSet, exercise: Exercise, part: Part, comparator: Comparator,
                   expected: Any) -> tuple[KnownMistake, ...]:
    """Every mistake of ``part`` whose answer can be told apart from the canonical ``expected`` (normal form).

    Runs the engine once per runnable mistake (through the solutions cache).  A mistake
    whose answer cannot be computed or read is left out and logged: it is a data problem,
    not the student's.
    """
    out = []
    for mistake in exercise.mistakes_for(part.id):
        answer = _mistake_answer(exercise_set, exercise, part, comparator, mistake)
        if answer is None:
            continue
        if comparator.same(expected, answer):
            log.warning("%s %s.%s: mistake %s gives the canonical answer; it cannot be recognised",
                        exercise_set.id, exercise.id, part.id, mistake.code)
            continue
        scene = scene_for(exercise_set, part, comparator, expected, answer)
        if scene.event is None and any(p in mistake.feedback for p in ARRIVAL_PLACEHOLDERS):
            late = late_arrivals(exercise_set.context.events)
            if len(late) == 1:
                scene = replace(scene, event=late[0],
                                expected_window=scene.expected_window or comparator.context.window_of(
                                    late[0].event_time))
        out.append(KnownMistake(
            code=mistake.code,
            credit=mistake.credit,
            answer=answer,
            feedback=render(mistake.feedback, exercise_set, part, scene, show_expected=True),
            feedback_hidden=render(HIDDEN_TEMPLATE if scene.event is not None else HIDDEN_TEMPLATE_NO_EVENT,
                                   exercise_set, part, scene, show_expected=False).replace("{code}", mistake.code),
            description=" ".join(mistake.description.split()),
        ))
    return tuple(out)


def _mistake_answer(exercise_set: ExerciseSet, exercise: Exercise, part: Part, comparator: Comparator,
                    mistake: Mistake) -> Any:
    try:
        if mistake.runnable:
            value = solve_part(exercise_set, exercise.id, part.id, model=mistake.model).value
        else:
            value = thaw(mistake.given)
        return comparator.normalize(value)
    except (SolutionError, NormalizeError, KeyError, ValueError) as exc:
        log.warning("%s %s.%s: mistake %s cannot be prepared: %s", exercise_set.id, exercise.id, part.id,
                    mistake.code, exc)
        return None


def matching(mistakes: tuple[KnownMistake, ...], comparator: Comparator, given: Any) -> list[KnownMistake]:
    """The known mistakes whose answer is the same as ``given`` (a normal form)."""
    return [m for m in mistakes if comparator.same(m.answer, given)]


def showing(mistakes: tuple[KnownMistake, ...], comparator: Comparator, expected: Any,
            given: Any) -> list[KnownMistake]:
    """The known mistakes ``given`` repeats where they depart from ``expected``, even among other errors.

    A superset of :func:`matching`: rows or placed events the mistake gets wrong are
    wrong the same way in ``given``, whatever else ``given`` gets wrong.  Such a partial
    match is diagnosed but earns no mistake credit.
    """
    return [m for m in mistakes if comparator.shows(m.answer, expected, given)]


# -- the scene: which event and window tell the answers apart ------------------------------------------------


def scene_for(exercise_set: ExerciseSet, part: Part, comparator: Comparator, expected: Any, given: Any) -> Scene:
    """The concrete event, window and values where ``given`` departs from ``expected`` (both normal forms)."""
    context = comparator.context
    if isinstance(expected, RowsValue) and isinstance(given, RowsValue):
        scene = _rows_scene(comparator, expected, given)
    elif isinstance(expected, WindowsEventsValue) and isinstance(given, WindowsEventsValue):
        scene = _windows_scene(comparator, expected, given)
    elif isinstance(expected, Decimal) and isinstance(given, Decimal):
        scene = _sum_scene(part, comparator, expected, given)
    else:
        scene = Scene(value_text(expected), value_text(given))
    event = scene.event or _named_event(part, context.events)
    window = scene.window or _asked_window(part, comparator) or (
        context.window_of(event.event_time) if event is not None else
        context.window_of(context.events[0].event_time) if context.events else None)
    expected_window = scene.expected_window or (context.window_of(event.event_time) if event is not None else None)
    return Scene(scene.expected, scene.given, event, window, expected_window)


def _rows_scene(comparator: Comparator, expected: RowsValue, given: RowsValue) -> Scene:
    key_of = comparator.key  # type: ignore[attr-defined]
    want = {key_of(r): r for _, r in expected.rows}
    got = {key_of(r): r for _, r in given.rows}
    differing = [k for k in dict.fromkeys([*want, *got]) if want.get(k) != got.get(k)]
    if not differing:
        return Scene(value_text(expected), value_text(given))
    key = differing[0]
    target, row = want.get(key), got.get(key)
    context = comparator.context
    some = target or row
    window = context.window(some.window_start_ms)
    if target is not None and row is not None:
        diff = row.sum_amount - target.sum_amount
        near = [e for e in context.events
                if e.user_id == some.user_id and e.amount == abs(diff)
                and window.start - context.window_size <= e.event_time <= window.end]
        return Scene(decimal_text(target.sum_amount), decimal_text(row.sum_amount),
                     near[0] if len(near) == 1 else None, window)
    return Scene(value_text(expected), value_text(given), None, window)


def _sum_scene(part: Part, comparator: Comparator, expected: Decimal, given: Decimal) -> Scene:
    """A key's sum in a window (the query names both): the event whose amount is the difference, if one is."""
    window = _asked_window(part, comparator)
    user = part.solution.args.get("user_id")
    event = None
    if window is not None and isinstance(user, str):
        near = [e for e in comparator.context.events
                if e.amount == abs(given - expected) and window.contains(e.event_time) and e.user_id == user]
        event = near[0] if len(near) == 1 else None
    return Scene(decimal_text(expected), decimal_text(given), event, window)


def _windows_scene(comparator: Comparator, expected: WindowsEventsValue, given: WindowsEventsValue) -> Scene:
    context = comparator.context
    home = {p.event_id: p.window_start for p in expected.placements}
    there = {p.event_id: p.window_start for p in given.placements if p.event_id is not None}
    for event_id in dict.fromkeys([*there, *home]):
        if home.get(event_id) != there.get(event_id):
            event = context.event(event_id) if event_id else None
            window = context.window(there[event_id]) if event_id in there else None
            expected_window = context.window(home[event_id]) if event_id in home else None
            return Scene(value_text(expected), value_text(given), event, window, expected_window)
    return Scene(value_text(expected), value_text(given))


def _named_event(part: Part, events: tuple[Event, ...]) -> Event | None:
    """The event a part's query is about (``event: e7``), if it names one."""
    name = part.solution.args.get("event")
    return next((e for e in events if e.event_id == name), None) if isinstance(name, str) else None


def _asked_window(part: Part, comparator: Comparator) -> Window | None:
    """The window a part's query asks about (``window_start: "10:00"``), if it names one."""
    start = part.solution.args.get("window_start")
    if not isinstance(start, str):
        return None
    try:
        return comparator.context.window(parse_time(start))
    except ValueError:
        return None


# -- filling in a template ------------------------------------------------------------------------------------


def render(template: str, exercise_set: ExerciseSet, part: Part, scene: Scene, *, show_expected: bool) -> str:
    """A feedback template with its placeholders filled in; unknown placeholders are left as written."""
    profile, delay, lateness = _engine_settings(exercise_set, part)
    watermark, late = _watermark(exercise_set, scene, profile, delay, lateness)
    fire = f"{profile.watermark_rule()}; a window {profile.fire_rule()}"
    rule = f"an event is {profile.drop_rule()}" if late else fire
    arrival_window, arrives_after = _arrival(exercise_set, scene.event)
    values = {
        "event_id": scene.event.event_id if scene.event is not None else "the event",
        "event_time": format_time(scene.event.event_time) if scene.event is not None else "its event time",
        "arrival_window": str(arrival_window) if arrival_window is not None else "the window of its arrival",
        "arrives_after": arrives_after or "the events before it",
        "expected": scene.expected,
        "given": scene.given,
        "event": scene.event.describe() if scene.event is not None else "the event",
        "window": str(scene.window) if scene.window is not None else "the window",
        "expected_window": str(scene.expected_window) if scene.expected_window is not None else "the next window",
        "watermark": format_time(watermark) if watermark is not None else "the watermark",
        "profile": profile.name,
        "rule": rule,
    }
    if not show_expected:
        for name in EXPECTED_PLACEHOLDERS:
            values[name] = HIDDEN
    text = " ".join(template.split())
    out = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is None:
            continue
        if name in values and not spec and not conversion:
            out.append(values[name])
        else:
            out.append("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
    return "".join(out)


def _arrival(exercise_set: ExerciseSet, event: Event | None) -> tuple[Window | None, str | None]:
    """The window of ``event``'s processing time (its arrival), and the arrival before it that
    set that time (``e6 at 10:10``); ``None`` for an event not in the stream."""
    events = exercise_set.context.events
    if event is None or event not in events:
        return None, None
    at = events.index(event)
    size = exercise_set.context.window_size
    t = processing_times(events)[at]
    window = Window(t - t % size, t - t % size + size)
    before = events[:at]
    if not before:
        return window, None
    latest = max(before, key=lambda e: e.event_time)
    return window, f"{latest.event_id} at {format_time(latest.event_time)}"


def _engine_settings(exercise_set: ExerciseSet, part: Part) -> tuple[Profile, Ticks, Ticks]:
    """The profile, watermark delay and allowed lateness the part's canonical answer is computed under."""
    context = exercise_set.context
    config = part.solution.config
    profile = get_profile(str(config["profile"])) if "profile" in config else context.profile
    delay = parse_duration(config["watermark_delay"]) if "watermark_delay" in config else context.watermark_delay
    lateness = config.get("allowed_lateness", context.allowed_lateness)
    if lateness == ADMIT_ALL:
        lateness = 0
    elif not isinstance(lateness, int):
        lateness = parse_duration(lateness)
    return profile, delay, lateness


def _watermark(exercise_set: ExerciseSet, scene: Scene, profile: Profile, delay: Ticks,
               lateness: Ticks) -> tuple[Bound | None, bool]:
    """The watermark the template talks about, and whether the scene's event is late.

    For an event that arrives after its window has fired: the watermark it is judged
    at.  Otherwise: the watermark at which the scene's window fires.
    """
    events = exercise_set.context.events
    if scene.event is not None and scene.event in events:
        before = events[: events.index(scene.event)]
        max_seen = max((e.event_time for e in before), default=NEG_INF)
        mark = profile.watermark(max_seen, delay, lateness)
        size = exercise_set.context.window_size
        home_end = scene.event.event_time - scene.event.event_time % size + size
        if mark != NEG_INF and profile.is_late(home_end, mark):
            return mark, True
    if scene.window is None:
        return None, False
    trigger = earliest_trigger(scene.window.end, delay, lateness, profile)
    return profile.watermark(trigger, delay, lateness), False


def value_text(value: Any) -> str:
    """A normal form in the sheet's notation: ``(10:00, A, 7)``, ``10:05``, ``at-least-once``, ``3``."""
    if isinstance(value, RowsValue):
        return ", ".join(r.describe() for _, r in value.rows) if value.rows else "no rows"
    if isinstance(value, WindowsEventsValue):
        groups: dict[Ticks, list[str]] = {}
        for p in value.placements:
            groups.setdefault(p.window_start, []).append(p.event_id or p.written)
        return "; ".join(f"{format_time(s)}: {', '.join(ids)}" for s, ids in groups.items()) or "no windows"
    if isinstance(value, ChoiceSetValue):
        return ", ".join(value.known) or "none"
    if isinstance(value, Unknown):
        return value.text
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return format_time(value)  # times are the only plain ints in normal forms
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


__all__ = ["EXPECTED_PLACEHOLDERS", "HIDDEN", "HIDDEN_TEMPLATE", "KnownMistake", "Scene", "known_mistakes", "matching",
           "render", "scene_for", "showing", "value_text"]

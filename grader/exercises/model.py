"""The values a loaded exercise set is made of: context, exercises, parts, mistakes, errata.

Frozen dataclasses over frozen data (:mod:`grader.frozen`): nothing a grading does can
change a set.  A set's ``fingerprint`` (a hash of its files) is what caches key on.
Canonical answers are not here: :mod:`grader.solutions` computes them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.exercises.fields import field_schema
from grader.frozen import thaw
from reference.events import Event
from reference.profiles import Profile
from reference.timestamps import Ticks

TOTAL_POINTS = 100


class ErratumGrading(enum.StrEnum):
    """How an answer that repeats an erroneous published value is graded."""

    PARTIAL = "partial"
    FULL = "full"
    NONE = "none"


@dataclass(frozen=True)
class Scale:
    """The back-of-envelope scale of the sheet (Exercises 8 and 9)."""

    events_per_day: int
    users: int
    bytes_per_window: int


@dataclass(frozen=True)
class Sink:
    """The sink table: name, ``(column, type)`` pairs and the primary key columns."""

    table: str
    columns: tuple[tuple[str, str], ...]
    primary_key: tuple[str, ...]


class AttemptPolicy(enum.StrEnum):
    """Which of a student's attempts at an assignment counts (:mod:`grader.attempts`)."""

    #: Each exercise's best score across attempts (PrairieLearn's rule): resubmitting never costs points.
    BEST_PER_EXERCISE = "best_per_exercise"
    #: The attempt with the highest total.
    BEST_TOTAL = "best_total"
    #: The last attempt, even a worse one.
    LATEST = "latest"


class Visibility(enum.StrEnum):
    """When a student sees a part's expected value (and the feedback that would reveal it).

    Whatever the setting, a part the student left unanswered shows nothing of its answer
    unless the setting is ``always``: a blank submission must not be an answer key.
    :func:`grader.visibility.expected_visible` is the one place that applies these.
    """

    #: Never shown.
    NEVER = "never"
    #: Shown for the parts the student answered (the default: a practice sheet).
    AFTER_ATTEMPT = "after_attempt"
    #: Shown once the set's ``settings.due`` has passed, and then for answered parts only.
    AFTER_DUE = "after_due"
    #: Shown for every part, answered or not (a worked example, a solution handout).
    ALWAYS = "always"


@dataclass(frozen=True, init=False)
class Settings:
    """Set-level grading settings: the profile answers use, when students see expected
    values (``settings.visibility``, with ``settings.due`` for ``after_due``; a part may
    override the visibility), and which attempt counts (``settings.attempts``; the default
    never punishes resubmitting).

    ``due`` is timezone-aware (UTC when the file gives a date alone: the end of that day).
    The old spelling ``show_expected=True/False`` is still accepted, as
    ``after_attempt``/``never``, and still readable as a property.
    """

    profile: str
    visibility: Visibility
    due: datetime | None
    attempts: AttemptPolicy

    def __init__(self, profile: str, visibility: Visibility | str | None = None, due: datetime | None = None,
                 attempts: AttemptPolicy | str = AttemptPolicy.BEST_PER_EXERCISE, *,
                 show_expected: bool | None = None) -> None:
        if visibility is None:
            visibility = Visibility.NEVER if show_expected is False else Visibility.AFTER_ATTEMPT
        elif show_expected is not None and show_expected != (Visibility(visibility) is not Visibility.NEVER):
            raise ValueError(f"show_expected={show_expected} contradicts visibility {Visibility(visibility).value!r}")
        if due is not None and due.utcoffset() is None:
            raise ValueError("a due date needs a UTC offset")
        object.__setattr__(self, "profile", profile)
        object.__setattr__(self, "visibility", Visibility(visibility))
        object.__setattr__(self, "due", due)
        object.__setattr__(self, "attempts", AttemptPolicy(attempts))

    @property
    def show_expected(self) -> bool:
        """Whether students ever see expected values by default (anything but ``never``)."""
        return self.visibility is not Visibility.NEVER


@dataclass(frozen=True)
class Context:
    """The data context every exercise of a set shares.

    ``events`` are in arrival order, as written in ``context.yaml``.  Durations are
    integer milliseconds.  ``time_granularity`` is the unit of the events' timestamps
    (1 ms unless the context says otherwise).
    """

    id: str
    title: str
    events: tuple[Event, ...]
    window_size: Ticks
    watermark_delay: Ticks
    allowed_lateness: Ticks
    profile: Profile
    time_granularity: Ticks
    scale: Scale
    sink: Sink

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(e.event_id for e in self.events)

    def event(self, event_id: str) -> Event:
        for e in self.events:
            if e.event_id == event_id:
                return e
        raise KeyError(event_id)


@dataclass(frozen=True)
class SolutionSpec:
    """Which query of :mod:`grader.solutions` computes a part, with which arguments.

    ``config`` holds engine settings that differ from the context's parameters for this
    part (e.g. ``allowed_lateness: 0m``).  Both mappings are frozen.
    """

    query: str
    args: Mapping[str, Any]
    config: Mapping[str, Any]


@dataclass(frozen=True)
class Part:
    """One graded part: the answer field it reads, its points, comparison and solution.

    ``compare`` is the comparison spec as data (``kind`` plus that kind's settings, see
    ``exercise.schema.json``).  ``model_answer`` is set for text parts.  ``visibility``
    overrides the set's ``settings.visibility`` for this part (``None``: the set's).
    """

    id: str
    field: str
    points: float
    compare: Mapping[str, Any]
    solution: SolutionSpec
    model_answer: str | tuple[str, ...] | None = None
    visibility: Visibility | None = None

    @property
    def compare_kind(self) -> str:
        return self.compare["kind"]

    @property
    def is_list_field(self) -> bool:
        """True for a ``[*]`` field: its canonical value is a list, one item per entry."""
        return "[*]" in self.field


@dataclass(frozen=True)
class Mistake:
    """A well-known mistake, recognisable in an answer.

    ``model`` (runnable) overrides engine settings and query arguments:
    ``grader.solutions.solve_part(..., model=mistake.model)`` gives the answer the
    mistake produces.  ``given`` is instead a literal wrong answer, for parts no engine
    run describes.  ``feedback`` is a template with ``{placeholders}``; ``credit`` is the
    fraction of the part's points an answer matching the mistake still earns.  ``title`` is
    the mistake's name in a few words for a student ("The window's end counted in"); it is
    optional, so a set written before it existed still loads, and :attr:`heading` falls
    back to the description's first clause: a page never has to show ``code``.
    """

    code: str
    description: str
    parts: tuple[str, ...]
    feedback: str
    model: Mapping[str, Any] | None = None
    given: Any = None
    credit: float = 0.0
    title: str | None = None

    @property
    def runnable(self) -> bool:
        return self.model is not None

    @property
    def heading(self) -> str:
        """The title, or the description up to its first colon or full stop (never the code)."""
        if self.title:
            return self.title
        first = re.split(r"(?<=[^.]{12})[:.]\s", " ".join(self.description.split()), maxsplit=1)[0].rstrip(".")
        return first[:1].upper() + first[1:] if first else self.code.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Erratum:
    """A part where the sheet's published value disagrees with the engine, and why."""

    part: str
    reason: str
    grading: ErratumGrading
    credit: float
    mistake: str | None = None


@dataclass(frozen=True)
class Published:
    """The sheet's own solution: its text, copied exactly, and its values in answer shape."""

    text: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    prompt: str
    points: float
    parts: tuple[Part, ...]
    answer_schema: Mapping[str, Any]
    mistakes: tuple[Mistake, ...]
    published: Published
    errata: tuple[Erratum, ...]
    source: str

    def part(self, part_id: str) -> Part:
        for p in self.parts:
            if p.id == part_id:
                return p
        raise KeyError(f"{self.id} has no part {part_id!r}")

    def erratum_for(self, part_id: str) -> Erratum | None:
        return next((e for e in self.errata if e.part == part_id), None)

    def visibility_of(self, part_id: str, settings: Settings) -> Visibility:
        """The visibility of a part's expected value: the part's own, else the set's."""
        return self.part(part_id).visibility or settings.visibility

    def mistakes_for(self, part_id: str) -> tuple[Mistake, ...]:
        return tuple(m for m in self.mistakes if part_id in m.parts)

    def answer_json_schema(self) -> dict[str, Any]:
        """The answer object's JSON Schema as plain data, ready for jsonschema."""
        return thaw(self.answer_schema)

    def field_json_schema(self, part_id: str) -> dict[str, Any]:
        """The JSON Schema of one part's value (a list of items for a ``[*]`` field)."""
        schema = field_schema(self.answer_schema, self.part(part_id).field)
        if schema is None:  # ruled out when the set was loaded
            raise KeyError(part_id)
        return schema


@dataclass(frozen=True)
class ExerciseSet:
    """A loaded, validated exercise set.

    ``fingerprint`` is a hash of all of the set's data (context and exercises): two sets
    with the same fingerprint have the same canonical answers, which is what
    :mod:`grader.solutions` caches on.
    """

    id: str
    title: str
    path: Path
    context: Context
    settings: Settings
    exercises: tuple[Exercise, ...]
    fingerprint: str

    def exercise(self, exercise_id: str) -> Exercise:
        for ex in self.exercises:
            if ex.id == exercise_id:
                return ex
        raise KeyError(f"exercise set {self.id} has no exercise {exercise_id!r}")

    @property
    def exercise_ids(self) -> tuple[str, ...]:
        return tuple(ex.id for ex in self.exercises)

    @property
    def key(self) -> SetKey:
        """The set as a cache key (its fingerprint)."""
        return SetKey(self.fingerprint, self)

    @property
    def total_points(self) -> float:
        return sum(ex.points for ex in self.exercises)


@dataclass(frozen=True)
class SetKey:
    """An exercise set as a cache key: equal and hashed by its fingerprint only (a set holds
    frozen mappings, which do not hash).  The solver, the grading plans and the variants
    key their caches on it."""

    fingerprint: str
    exercise_set: ExerciseSet = field(compare=False, hash=False)

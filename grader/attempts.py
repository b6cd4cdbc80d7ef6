"""Which attempt counts: assignments, the attempt policy, and a student's standing.

A set's JSON/YAML sheet and its Python exercise are two **assignments**: a student's
``answers.json`` never replaces their ``solution.py``, or the reverse.  Which assignment a
submission belongs to is a fact of the file (its format), so it is read off the file
name, the same way in batch and in the service.

Of a student's attempts at one assignment, the **policy** (the set's
``settings.attempts``; ``streamgrade batch --policy`` overrides it) decides what counts:

- ``best_per_exercise`` (the default, PrairieLearn's rule): each exercise's best score
  across attempts; resubmitting can never lower a grade;
- ``best_total``: the attempt with the highest total;
- ``latest``: the last attempt, even when it is worse.

For the Python assignment the "exercises" are its functions.  A tie goes to the later
attempt.  A submission that could not be read at all was never graded and counts under no
policy (the standing's warnings name it); a student with nothing else stands at 0.  Every
counted score names the attempt it comes from (``Counted.ref``), so the history can mark
which attempt counts for which exercise.  Pure functions of values: the
batch and the service hand in :class:`Attempt` values built from their records.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grader.exercises.model import AttemptPolicy, ExerciseSet
from grader.python.exercise import python_exercise_of
from grader.results import GradeResult, Status
from grader.submissions.read import SubmissionFormat, format_for_name


class Assignment(enum.StrEnum):
    """What a submission is an attempt at: the set's sheet (JSON/YAML) or its Python exercise."""

    SHEET = "sheet"
    PYTHON = "python"

    @property
    def title(self) -> str:
        """How summaries and reports name the assignment."""
        return "Sheet (JSON/YAML answers)" if self is Assignment.SHEET else "Python exercise"


def assignment_for(filename: str | None) -> Assignment:
    """The assignment a submission's file name says (``.py``: Python; anything else: the sheet)."""
    return Assignment.PYTHON if format_for_name(filename or "") is SubmissionFormat.PYTHON else Assignment.SHEET


#: Spellings the ``--policy`` flag accepts besides the values; ``best`` is the old name of ``best_total``.
POLICY_SPELLINGS: Mapping[str, AttemptPolicy] = {
    **{p.value: p for p in AttemptPolicy},
    "best": AttemptPolicy.BEST_TOTAL,
    "best-total": AttemptPolicy.BEST_TOTAL,
    "best-per-exercise": AttemptPolicy.BEST_PER_EXERCISE,
}


def parse_policy(text: str | AttemptPolicy) -> AttemptPolicy:
    """The policy a flag or setting names (``ValueError`` listing the choices otherwise)."""
    if isinstance(text, AttemptPolicy):
        return text
    found = POLICY_SPELLINGS.get(str(text).strip().lower())
    if found is None:
        raise ValueError(f"unknown attempt policy {text!r}; choose one of {', '.join(p.value for p in AttemptPolicy)}")
    return found


@dataclass(frozen=True)
class Item:
    """One gradebook cell of an attempt: an exercise of the sheet, or a function of the Python exercise."""

    id: str
    score: float
    max_score: float
    status: Status


@dataclass(frozen=True)
class Attempt:
    """One submission as a gradebook counts it.

    ``ref`` names it (the service's submission id, the batch's source path); ``order``
    sorts a student's attempts (submission time, then ``ref``).
    """

    ref: str
    order: tuple[Any, ...]
    student_id: str
    exercise_set: str
    assignment: Assignment
    items: tuple[Item, ...]
    score: float
    max_score: float
    readable: bool = True
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, result: GradeResult, *, ref: str, order: tuple[Any, ...], assignment: Assignment,
           student_id: str | None = None, warnings: Sequence[str] = ()) -> Attempt:
        """The attempt a result is; the Python assignment's items are its functions (the parts)."""
        if assignment is Assignment.PYTHON:
            items = tuple(Item(p.id, float(p.score), float(p.max_score), p.status)
                          for e in result.exercises for p in e.parts)
        else:
            items = tuple(Item(e.id, float(e.score), float(e.max_score), e.status) for e in result.exercises)
        return cls(ref, order, student_id or result.student_id or "", result.exercise_set, assignment, items,
                   float(result.score), float(result.max_score), result.readable, tuple(warnings))

    @classmethod
    def of_document(cls, document: Mapping[str, Any], *, ref: str, order: tuple[Any, ...], assignment: Assignment,
                    student_id: str | None = None, warnings: Sequence[str] = ()) -> Attempt:
        """The attempt a result-format dict is (a stored result, settlements applied).

        Read straight off the dict (ids, scores, statuses), without rebuilding the whole
        result: the service reads every attempt of a class for its gradebook."""
        exercises = [e for e in document.get("exercises") or () if isinstance(e, Mapping)]
        if assignment is Assignment.PYTHON:
            rows = [p for e in exercises for p in e.get("parts") or () if isinstance(p, Mapping)]
        else:
            rows = exercises
        items = tuple(Item(str(r.get("id")), float(r.get("score") or 0), float(r.get("max_score") or 0),
                           Status(r.get("status", Status.INCORRECT))) for r in rows)
        readable = not (document.get("errors") and not exercises)
        return cls(ref, order, student_id or document.get("student_id") or "", str(document.get("exercise_set", "")),
                   assignment, items, float(document.get("score") or 0), float(document.get("max_score") or 0),
                   readable, tuple(warnings))


@dataclass(frozen=True)
class Counted:
    """An item's score as it counts, and the attempt it comes from (``ref``; ``None``: no attempt has it)."""

    id: str
    score: float
    max_score: float
    ref: str | None
    status: Status | None = None


@dataclass(frozen=True)
class Standing:
    """A student's grade on one assignment of one set under a policy."""

    student_id: str
    exercise_set: str
    assignment: Assignment
    policy: AttemptPolicy
    items: tuple[Counted, ...]
    score: float
    max_score: float
    #: Every attempt's ref, oldest first.
    attempts: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    #: The ``order`` of the latest attempt (the service's ``(received_at, id)``).
    last: tuple[Any, ...] = ()

    def item(self, item_id: str) -> Counted | None:
        return self._by_id.get(item_id)

    @functools.cached_property
    def _by_id(self) -> dict[str, Counted]:
        # A gradebook row looks up every column: a dict, built once per standing.
        return {c.id: c for c in self.items}

    @property
    def counted_refs(self) -> tuple[str, ...]:
        """The attempts some counted score comes from, oldest first."""
        used = {c.ref for c in self.items if c.ref is not None}
        return tuple(r for r in self.attempts if r in used)

    def counts_for(self, ref: str) -> tuple[str, ...]:
        """The items whose counted score comes from attempt ``ref``."""
        return tuple(c.id for c in self.items if c.ref == ref)

    @property
    def needs_review(self) -> int:
        """Counted items still waiting for an instructor."""
        return sum(1 for c in self.items if c.status is Status.NEEDS_REVIEW)


def standing(attempts: Sequence[Attempt], policy: AttemptPolicy | str) -> Standing:
    """The standing of one student on one assignment from their ``attempts`` (one student, set, assignment)."""
    if not attempts:
        raise ValueError("a standing needs at least one attempt")
    policy = parse_policy(policy)
    every = sorted(attempts, key=lambda a: a.order)
    first = every[0]
    refs = tuple(a.ref for a in every)
    warnings = tuple(dict.fromkeys([*(w for a in every for w in a.warnings),
                                    *(f"{a.ref}: could not be read; not counted" for a in every if not a.readable)]))
    # A submission that could not be read was never graded: it is no attempt at the exercises.
    ordered = [a for a in every if a.readable]
    if not ordered:
        return Standing(first.student_id, first.exercise_set, first.assignment, policy, (), 0.0,
                        max(a.max_score for a in every), refs, warnings, every[-1].order)
    if policy is AttemptPolicy.BEST_PER_EXERCISE:
        best: dict[str, tuple[Item, str]] = {}
        for attempt in ordered:  # later attempts win ties
            for item in attempt.items:
                held = best.get(item.id)
                if held is None or item.score >= held[0].score:
                    best[item.id] = (item, attempt.ref)
        items = tuple(Counted(i.id, i.score, i.max_score, ref, i.status) for i, ref in best.values())
        score = sum(c.score for c in items)
        max_score = max(a.max_score for a in ordered)
    else:
        if policy is AttemptPolicy.LATEST:
            chosen = ordered[-1]
        else:  # best_total
            chosen = ordered[0]
            for attempt in ordered[1:]:
                if attempt.score >= chosen.score:
                    chosen = attempt
        items = tuple(Counted(i.id, i.score, i.max_score, chosen.ref, i.status) for i in chosen.items)
        score = chosen.score
        max_score = chosen.max_score
    return Standing(first.student_id, first.exercise_set, first.assignment, policy, items, score, max_score, refs,
                    warnings, every[-1].order)


def standings(attempts: Iterable[Attempt], policy: AttemptPolicy | str) -> list[Standing]:
    """One standing per (student, set, assignment), sorted by student, set, then sheet before Python."""
    groups: dict[tuple[str, str, Assignment], list[Attempt]] = {}
    for attempt in attempts:
        if attempt.student_id:
            groups.setdefault((attempt.student_id, attempt.exercise_set, attempt.assignment), []).append(attempt)
    order = list(Assignment)
    keys = sorted(groups, key=lambda k: (k[0], k[1], order.index(k[2])))
    return [standing(groups[key], policy) for key in keys]


@dataclass(frozen=True)
class Layout:
    """The gradebook's columns for a set: the sheet's exercises and the Python functions, with their points."""

    sheet: tuple[tuple[str, float], ...]
    python: tuple[tuple[str, float], ...] = ()

    def max_of(self, assignment: Assignment) -> float:
        return sum(points for _, points in (self.python if assignment is Assignment.PYTHON else self.sheet))


def layout_of(exercise_set: ExerciseSet) -> Layout:
    """The columns of ``exercise_set``'s gradebook (its Python exercise's functions when it has one)."""
    python = python_exercise_of(exercise_set)
    return Layout(tuple((e.id, float(e.points)) for e in exercise_set.exercises),
                  tuple((f.name, float(f.points)) for f in python.functions) if python is not None else ())


def policy_of(exercise_set: ExerciseSet, override: str | AttemptPolicy | None = None) -> AttemptPolicy:
    """The policy a set's gradebook uses: ``override`` (a flag), else the set's ``settings.attempts``."""
    return parse_policy(override) if override is not None else exercise_set.settings.attempts


__all__ = [
    "POLICY_SPELLINGS",
    "Assignment",
    "Attempt",
    "Counted",
    "Item",
    "Layout",
    "Standing",
    "assignment_for",
    "layout_of",
    "parse_policy",
    "policy_of",
    "standing",
    "standings",
]

"""Answers computed on another student's variant, found after a batch (issue 7, item 5).

With per-student variants, copying a neighbour's rows gives answers that fit the
neighbour's data and not one's own.  After a batch, every readable JSON/YAML submission
that did not score full marks is compared (:class:`grader.variants.VariantMatcher`, the
grader's own comparators on the parts whose answer depends on the data) with the variant
of every student in the batch; a submission whose answers fit exactly one *other*
student's variant is flagged.  A flag is evidence for an instructor to look at, not a
verdict: the summary says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from grader.batch.collect import Entry, collect
from grader.batch.state import Record, RecordStatus
from grader.errors import SubmissionUnreadable
from grader.exercises.model import ExerciseSet
from grader.submissions.read import read_submission_bytes


@dataclass(frozen=True)
class CopyFlag:
    """``student``'s submission ``source`` fits ``matches``'s variant, not their own."""

    student: str
    source: str
    matches: str

    def describe(self) -> str:
        return f"{self.source}: {self.student}'s answers fit {self.matches}'s variant, not {self.student}'s own"


def find_copies(source: str, records: Iterable[Record], base: ExerciseSet) -> list[CopyFlag]:
    """Flag the batch's submissions whose answers fit another student's variant (variants must be on)."""
    from grader.batch.copies import VariantMatcher
    from grader.variants.policy import policy_for

    graded = [r for r in records if r.status is RecordStatus.GRADED and r.result is not None]
    students = sorted({r.result["student_id"] for r in graded if r.result.get("student_id")})
    if len(students) < 2:
        return []
    policy = policy_for(base, override=True)
    matcher = VariantMatcher({sid: policy.set_for(sid) for sid in students})
    collection = collect(source)
    try:
        entries: dict[str, Entry] = {e.source: e for e in collection.entries}
        flags = []
        for record in graded:
            student = record.result.get("student_id")
            entry = entries.get(record.source)
            if (not student or entry is None or PurePath(record.source).suffix.lower() == ".py"
                    or record.result.get("score") == record.result.get("max_score")):
                continue
            try:
                answers = read_submission_bytes(entry.read(), record.source).answers
            except SubmissionUnreadable:
                continue
            matched = matcher.match(answers)
            if matched is not None and matched != student:
                flags.append(CopyFlag(student, record.source, matched))
        return sorted(flags, key=lambda f: (f.student, f.source))
    finally:
        collection.close()


def render_copies(flags: list[CopyFlag]) -> str:
    """The summary's section on copied answers (empty when nothing was flagged)."""
    if not flags:
        return "possible copies: none (no answers fit another student's variant)\n"
    lines = [f"possible copies: {len(flags)} submission(s) fit another student's variant "
             "(evidence to review, not a verdict)"]
    lines += [f"  {f.describe()}" for f in flags]
    return "\n".join(lines) + "\n"


Scorer = Callable[[Mapping[str, Any], ExerciseSet], float]


def grade_fraction(answers: Mapping[str, Any], exercise_set: ExerciseSet) -> float:
    """The fraction of the points ``answers`` earn on ``exercise_set``, by :func:`grader.grading.grade_answers`."""
    from grader.grading import grade_answers

    result = grade_answers(answers, exercise_set)
    return result.score / result.max_score if result.max_score else 0.0


class VariantMatcher:
    """Which student's variant a submission's answers fit, over a fixed set of candidates.

    Built once per batch (it solves every candidate once); :meth:`match` then compares a
    submission with every candidate's canonical values with the grader's own comparators
    (:func:`grader.compare.comparator_for`, the same normalisation and equality as
    grading), on the *data parts* only: the non-text parts whose canonical value differs
    between candidates.  Parts that every variant answers alike (the three delivery
    guarantees, the sink's key) and free text prove nothing about whose data was used.
    """

    def __init__(self, candidates: Mapping[str, ExerciseSet]) -> None:
        from grader.compare.base import CompareContext
        from grader.compare.kinds import comparator_for
        from grader.solutions.solve import solve

        self._plans: dict[str, list[tuple[str, Any, Any, Any]]] = {}
        values: dict[tuple[str, str], set[str]] = {}
        solved = {sid: (s, solve(s)) for sid, s in candidates.items()}
        for s, canonical in solved.values():
            for exercise in s.exercises:
                for part in exercise.parts:
                    if part.compare_kind != "text":
                        key = json.dumps(canonical[exercise.id][part.id].value, sort_keys=True, default=str)
                        values.setdefault((exercise.id, part.id), set()).add(key)
        self.data_parts = tuple(sorted(k for k, v in values.items() if len(v) > 1))
        for sid, (s, canonical) in solved.items():
            plan = []
            for ex_id, part_id in self.data_parts:
                part = s.exercise(ex_id).part(part_id)
                comparator = comparator_for(part.compare, CompareContext(s.context.events, s.context.window_size))
                plan.append((ex_id, part.field, comparator, comparator.normalize(canonical[ex_id][part_id].value)))
            self._plans[sid] = plan

    def scores(self, answers: Mapping[str, Any]) -> dict[str, float]:
        """For each candidate, the fraction of the data parts where ``answers`` equal its canonical values."""
        from grader.exercises.fields import read_field
        from grader.normalize import NormalizeError

        if not self.data_parts or not isinstance(answers, Mapping):
            return {sid: 0.0 for sid in self._plans}
        out = {}
        for sid, plan in self._plans.items():
            hits = 0
            for ex_id, path, comparator, expected in plan:
                answer = answers.get(ex_id)
                value, present = read_field(answer, path) if answer is not None else (None, False)
                if not present or comparator.is_blank(value):
                    continue
                try:
                    hits += comparator.same(expected, comparator.normalize(value))
                except (NormalizeError, TypeError, ValueError):
                    continue
            out[sid] = hits / len(plan)
        return out

    def match(self, answers: Mapping[str, Any], threshold: float = 0.8) -> str | None:
        """The one candidate whose data ``answers`` fit best, if it reaches ``threshold``; else ``None``."""
        return _best(self.scores(answers), threshold)


def _best(scores: Mapping[str, float], threshold: float) -> str | None:
    if not scores:
        return None
    best = max(scores.values())
    winners = [sid for sid, value in scores.items() if value == best]
    if best < threshold or len(winners) != 1:
        return None
    return winners[0]


def find_matching_variant(answers: Mapping[str, Any], candidates: Mapping[str, ExerciseSet], *,
                          score: Scorer | None = None, threshold: float = 0.8) -> str | None:
    """The student id whose variant ``answers`` fit, or ``None``.

    By default a :class:`VariantMatcher` compares the answers with each candidate's
    canonical values on the data parts; ``score`` replaces that with any scorer
    ``(answers, exercise_set) -> fraction`` (e.g. :func:`grade_fraction`, whole-set
    grading).  The best candidate is returned when it reaches ``threshold`` and no other
    scores the same (answers that fit several variants equally prove nothing).  For the
    batch summary: pass every student's set, the submitter's own included; a result
    other than the submitter means the answers were computed on someone else's data.
    To check many submissions, build one :class:`VariantMatcher` and call ``match``.
    """
    if score is None:
        return VariantMatcher(candidates).match(answers, threshold)
    return _best({sid: score(answers, s) for sid, s in candidates.items()}, threshold)

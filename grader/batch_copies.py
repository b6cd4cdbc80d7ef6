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

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from grader.batch import Entry, Record, RecordStatus, collect
from grader.errors import SubmissionUnreadable
from grader.exercises.model import ExerciseSet
from grader.submissions import read_submission_bytes


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
    from grader.variants import VariantMatcher, exercise_set_for

    graded = [r for r in records if r.status is RecordStatus.GRADED and r.result is not None]
    students = sorted({r.result["student_id"] for r in graded if r.result.get("student_id")})
    if len(students) < 2:
        return []
    matcher = VariantMatcher({sid: exercise_set_for(sid, base, enabled=True) for sid in students})
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

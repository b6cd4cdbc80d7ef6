"""What a batch tells an instructor, per assignment and in percent: means, distributions, mistakes.

A set's sheet and its Python exercise are separate assignments (:mod:`grader.attempts`):
averaging a 2/10 Python score with 100-point sheets means nothing, so each gets its own
statistics and histogram, in percent of its points.  The statistics are over the
standings the gradebook keeps (one per student and assignment under the policy), so a
student who uploaded ten times counts once.  :func:`summarize` computes them as data
(:class:`BatchSummary`), :func:`render_summary` makes text of them and
:func:`write_histogram` draws each assignment's histogram as a PNG or as SVG, chosen by the
file's suffix (:mod:`grader.reports.histogram` draws them with matplotlib).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.attempts import Assignment, Attempt, Counted, Standing, parse_policy, standings
from grader.exercises.model import AttemptPolicy
from grader.reports.histogram import histogram_png, histogram_svg
from grader.reports.text import clean
from grader.results import GradeResult, Status, round_score

#: Number of bins of the total-score histogram (10 % of the maximum each; the last includes full marks).
BINS = 10
#: How many diagnoses and finding codes the summary lists.
TOP = 8


@dataclass(frozen=True)
class ExerciseStats:
    """One exercise (or Python function) over the class: mean score and how statuses and scores are spread."""

    id: str
    max_score: float
    mean: float
    median: float
    statuses: dict[str, int]
    #: Students per quarter of the exercise's points: [0, 25 %), [25, 50 %), [50, 75 %), [75, 100 %].
    quarters: tuple[int, int, int, int]


@dataclass(frozen=True)
class AssignmentSummary:
    """One assignment (the sheet, or the Python exercise) over the class, in percent of its points.

    Counts of diagnoses and findings are students, from the attempt that counts for each exercise.
    """

    assignment: Assignment
    students: int
    mean: float | None
    median: float | None
    minimum: float | None
    maximum: float | None
    #: The assignment's points (the percentages are of these).
    max_score: float
    #: Students per 10 % of the points; full marks fall in the last bin.
    histogram: tuple[int, ...]
    exercises: tuple[ExerciseStats, ...]
    diagnoses: tuple[tuple[str, int, tuple[str, ...]], ...] = ()
    findings: tuple[tuple[str, int], ...] = ()
    #: (code, students) of the schema problems in the submissions that count, most common first.
    problems: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment.value, "students": self.students,
            "percent": {"mean": _num(self.mean), "median": _num(self.median), "min": _num(self.minimum),
                        "max": _num(self.maximum)},
            "max_score": _num(self.max_score),
            "histogram": list(self.histogram),
            "exercises": [{"id": e.id, "max_score": _num(e.max_score), "mean": _num(e.mean),
                           "median": _num(e.median), "statuses": e.statuses, "quarters": list(e.quarters)}
                          for e in self.exercises],
            "diagnoses": [{"code": c, "students": n, "exercises": list(ex)} for c, n, ex in self.diagnoses],
            "findings": [{"code": c, "students": n} for c, n in self.findings],
            "problems": [{"code": c, "students": n} for c, n in self.problems],
        }


@dataclass(frozen=True)
class BatchSummary:
    """The class at a glance: what was graded, and one :class:`AssignmentSummary` per assignment."""

    policy: AttemptPolicy
    students: int
    submissions: int
    unreadable: int
    failed: int
    skipped_known: int
    assignments: tuple[AssignmentSummary, ...]
    failures: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    #: Files whose ``student_id`` disagrees with their path, and other identity notes.
    warnings: tuple[str, ...] = ()
    #: Students left out of the gradebook, with why (two paths claiming one student).
    errors: tuple[str, ...] = ()

    def assignment(self, which: Assignment) -> AssignmentSummary | None:
        return next((a for a in self.assignments if a.assignment is which), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.value, "students": self.students, "submissions": self.submissions,
            "unreadable": self.unreadable, "failed": self.failed, "skipped_known": self.skipped_known,
            "assignments": [a.to_dict() for a in self.assignments],
            "failures": list(self.failures), "notes": list(self.notes), "warnings": list(self.warnings),
            "errors": list(self.errors),
        }


def _num(value: float | None) -> float | None:
    return None if value is None else round_score(value)


def histogram_bins(scores: Iterable[float], max_score: float, bins: int = BINS) -> tuple[int, ...]:
    """Counts of ``scores`` in ``bins`` equal ranges of ``[0, max_score]``; full marks fall in the last bin."""
    counts = [0] * bins
    for score in scores:
        fraction = score / max_score if max_score else 0.0
        counts[min(bins - 1, max(0, int(fraction * bins + 1e-9)))] += 1
    return tuple(counts)


def summarize(attempts: Sequence[Attempt], results: Mapping[str, GradeResult], *,
              policy: AttemptPolicy | str = AttemptPolicy.BEST_PER_EXERCISE, submissions: int | None = None,
              failed: Sequence[str] = (), skipped_known: int = 0, notes: Sequence[str] = (),
              errors: Sequence[str] = (), left_out: Iterable[str] = (),
              kept: Sequence[Standing] | None = None) -> BatchSummary:
    """The summary of a batch: its ``attempts`` (every graded submission) and their ``results`` by ref.

    One standing per student and assignment is kept under ``policy``; the statistics are
    over those, so a student who uploaded ten times counts once.  ``failed`` lists the
    submissions the grader could not grade (their messages); ``left_out`` names students
    kept out of the gradebook (see ``errors``); ``kept``: the standings, when the caller has
    worked them out already (the gradebook needs them too).
    """
    policy = parse_policy(policy)
    dropped = set(left_out)
    if kept is None:
        kept = standings(attempts, policy)
    kept = [s for s in kept if s.student_id not in dropped]
    summaries = tuple(_assignment_summary(which, [s for s in kept if s.assignment is which], results)
                      for which in Assignment if any(s.assignment is which for s in kept))
    warnings = tuple(dict.fromkeys(w for a in attempts for w in a.warnings))
    return BatchSummary(
        policy=policy,
        students=len({s.student_id for s in kept}),
        submissions=len(attempts) + len(failed) if submissions is None else submissions,
        unreadable=sum(1 for a in attempts if not a.readable),
        failed=len(failed),
        skipped_known=skipped_known,
        assignments=summaries,
        failures=tuple(failed),
        notes=tuple(notes),
        warnings=warnings,
        errors=tuple(errors),
    )


def _assignment_summary(which: Assignment, kept: Sequence[Standing],
                        results: Mapping[str, GradeResult]) -> AssignmentSummary:
    max_score = max((s.max_score for s in kept), default=0.0)
    percents = [100 * s.score / s.max_score if s.max_score else 0.0 for s in kept]
    per_item: dict[str, list[Counted]] = {}
    diagnosis_students: Counter[str] = Counter()
    diagnosis_exercises: dict[str, set[str]] = {}
    finding_students: Counter[str] = Counter()
    problem_students: Counter[str] = Counter()
    for s in kept:
        codes: set[str] = set()
        findings: set[str] = set()
        problems: set[str] = set()
        for counted in s.items:
            per_item.setdefault(counted.id, []).append(counted)
            result = results.get(counted.ref) if counted.ref is not None else None
            if result is None:
                continue
            for code, exercise_id, finding_codes in _item_codes(which, result, counted.id):
                findings.update(finding_codes)
                if code:
                    codes.add(code)
                    diagnosis_exercises.setdefault(code, set()).add(exercise_id)
        for ref in s.counted_refs:
            if ref in results:
                problems.update(p.code for p in results[ref].problems)
        diagnosis_students.update(codes)
        finding_students.update(findings)
        problem_students.update(problems)
    stats = []
    for item_id in (sorted(per_item, key=_natural) if which is Assignment.SHEET else per_item):
        items = per_item[item_id]
        scores = [c.score for c in items]
        top = max(c.max_score for c in items)
        statuses = Counter(c.status.value for c in items if c.status is not None)
        quarters = [0, 0, 0, 0]
        for score in scores:
            quarters[min(3, int(4 * score / top + 1e-9)) if top else 0] += 1
        stats.append(ExerciseStats(item_id, top, statistics.fmean(scores), statistics.median(scores),
                                   {s.value: statuses[s.value] for s in Status if statuses[s.value]},
                                   (quarters[0], quarters[1], quarters[2], quarters[3])))
    return AssignmentSummary(
        assignment=which,
        students=len(kept),
        mean=statistics.fmean(percents) if percents else None,
        median=statistics.median(percents) if percents else None,
        minimum=min(percents, default=None),
        maximum=max(percents, default=None),
        max_score=max_score,
        histogram=histogram_bins(percents, 100),
        exercises=tuple(stats),
        diagnoses=tuple((code, n, tuple(sorted(diagnosis_exercises[code], key=_natural)))
                        for code, n in sorted(diagnosis_students.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]),
        findings=tuple(sorted(finding_students.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]),
        problems=tuple(sorted(problem_students.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]),
    )


def _item_codes(which: Assignment, result: GradeResult,
                item_id: str) -> Iterable[tuple[str | None, str, tuple[str, ...]]]:
    """(diagnosis code or ``None``, exercise id, finding codes) of one counted item of ``result``."""
    if which is Assignment.PYTHON:
        for exercise in result.exercises:
            for part in exercise.parts:
                if part.id == item_id:
                    codes = tuple(f.code for f in part.findings)
                    mistakes = [c for c in codes if c in exercise.diagnosis]
                    yield from ((code, item_id, codes) for code in mistakes)
                    if not mistakes:
                        yield None, item_id, codes
        return
    exercise = result.exercise(item_id)
    if exercise is None:
        return
    codes = tuple(f.code for p in exercise.parts for f in p.findings)
    yield None, item_id, codes
    for code in exercise.diagnosis:
        yield code, item_id, ()


def _natural(text: str) -> list[Any]:
    import re

    return [(0, int(c), "") if c.isdigit() else (1, 0, c) for c in re.split(r"(\d+)", text) if c]


def bin_labels(max_score: float, bins: int = BINS) -> list[str]:
    """``0-10``, ``10-20``, ..., ``90-100`` for a maximum of 100 (the last bin includes the maximum)."""
    step = max_score / bins if max_score else 0
    return [f"{round_score(i * step)}-{round_score((i + 1) * step)}" for i in range(bins)]


def render_summary(summary: BatchSummary, *, histogram_paths: Mapping[Assignment, str] | None = None,
                   gradebook: str | None = None, bar_width: int = 30) -> str:
    """The summary as text for a terminal (plain: no colour, every code escaped)."""
    lines = []
    head = (f"Graded {summary.submissions} submission{'s' if summary.submissions != 1 else ''} "
            f"({summary.unreadable} unreadable, {summary.failed} failed"
            f"{f', {summary.skipped_known} already graded and skipped' if summary.skipped_known else ''}): "
            f"{summary.students} student{'s' if summary.students != 1 else ''}")
    lines.append(head + (f" in {clean(gradebook)}" if gradebook else ""))
    lines.append(f"Which attempt counts: {summary.policy.value}")
    for part in summary.assignments:
        lines += _assignment_lines(part, (histogram_paths or {}).get(part.assignment), bar_width)
    if summary.errors:
        lines.append("")
        lines.append("Left out of the gradebook (fix the files, or use --id-from path)")
        lines.extend(f"  {clean(item)}" for item in summary.errors)
    if summary.warnings:
        lines.append("")
        lines.append("Warnings (the path decides who a file belongs to)")
        lines.extend(f"  {clean(item)}" for item in summary.warnings[:50])
        if len(summary.warnings) > 50:
            lines.append(f"  ... and {len(summary.warnings) - 50} more (see the gradebook's warnings column)")
    if summary.failures:
        lines.append("")
        lines.append("Not graded (an error in the grader; run the batch again to retry them)")
        lines.extend(f"  {clean(item)}" for item in summary.failures)
    if summary.notes:
        lines.append("")
        lines.append("Skipped")
        lines.extend(f"  {clean(item)}" for item in summary.notes)
    return "\n".join(lines) + "\n"


def _assignment_lines(part: AssignmentSummary, histogram_path: str | None, bar_width: int) -> list[str]:
    lines = ["", f"{part.assignment.title}: {part.students} student{'s' if part.students != 1 else ''}, "
                 f"{round_score(part.max_score)} points"]
    if part.mean is not None:
        lines.append(f"  Total: mean {part.mean:.1f}%, median {part.median or 0:.1f}%, "
                     f"min {part.minimum or 0:.1f}%, max {part.maximum or 0:.1f}%")
        lines.append("  Total scores, % of the points" + (f" (histogram: {clean(histogram_path)})"
                                                         if histogram_path else ""))
        labels = bin_labels(100)
        width = max(len(label) for label in labels)
        peak = max(part.histogram) or 1
        for label, count in zip(labels, part.histogram, strict=True):
            bar = "#" * (bar_width * count // peak) if count else ""
            lines.append(f"    {label:>{width}}  {bar:<{bar_width}} {count}")
    if part.exercises:
        what = "function" if part.assignment is Assignment.PYTHON else "exercise"
        lines.append(f"  Per {what} (mean; students per quarter of the points; statuses)")
        id_width = max(len(clean(e.id)) for e in part.exercises)
        for e in part.exercises:
            share = f"{100 * e.mean / e.max_score:.0f}%" if e.max_score else "-"
            mean = f"{round_score(e.mean)}/{round_score(e.max_score)}"
            quarters = "/".join(str(q) for q in e.quarters)
            statuses = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in e.statuses.items())
            lines.append(f"    {clean(e.id):<{id_width}}  {mean:>9} {share:>5}  [{quarters}]  {statuses}")
    if part.diagnoses:
        lines.append("  Most common diagnoses (students)")
        width = max(len(clean(c)) for c, _, _ in part.diagnoses)
        for code, count, exercises in part.diagnoses:
            lines.append(f"    {clean(code):<{width}}  {count:>5}  ({clean(', '.join(exercises))})")
    lines += _counted("  Most common findings (students)", part.findings)
    lines += _counted("  Most common problems with the submissions' shape (students)", part.problems)
    return lines


def _counted(title: str, counts: Sequence[tuple[str, int]]) -> list[str]:
    """A titled table of codes and how many students each concerns (nothing when empty)."""
    if not counts:
        return []
    width = max(len(clean(code)) for code, _ in counts)
    indent = " " * (len(title) - len(title.lstrip()) + 2)
    return [title, *(f"{indent}{clean(code):<{width}}  {count:>5}" for code, count in counts)]


def histogram_paths(summary: BatchSummary, path: str | Path) -> dict[Assignment, Path]:
    """Where each assignment's histogram goes: the sheet's at ``path``, the Python exercise's beside it
    (``book.histogram.png`` -> ``book.histogram.python.png``)."""
    target = Path(path)
    out = {}
    for part in summary.assignments:
        if part.assignment is Assignment.SHEET:
            out[part.assignment] = target
        else:
            out[part.assignment] = target.with_name(f"{target.stem}.{part.assignment.value}{target.suffix}")
    return out


def write_histogram(summary: BatchSummary, path: str | Path) -> dict[Assignment, Path]:
    """Draw each assignment's histogram of total scores in percent (:func:`histogram_paths`):
    SVG for a ``.svg`` name, PNG otherwise."""
    paths = histogram_paths(summary, path)
    for part in summary.assignments:
        target = paths[part.assignment]
        target.parent.mkdir(parents=True, exist_ok=True)
        plural = "s" if part.students != 1 else ""
        title = f"{part.assignment.title}: total scores of {part.students} student{plural}"
        if target.suffix.lower() == ".svg":
            target.write_text(histogram_svg(part.histogram, max_score=part.max_score, title=title), encoding="utf-8")
        else:
            target.write_bytes(histogram_png(part.histogram, max_score=part.max_score, title=title))
    return paths

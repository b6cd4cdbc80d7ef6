"""What the instructor's desk shows, computed from the store: the gradebook, statistics, diagnoses.

The gradebook CSV and the desk's table come from one function (:func:`gradebook`), the same
one the API's ``gradebook.csv`` answers with, so a download from the page and from the API
are the same file.  Statistics are over each student's counted score (the set's attempt
policy), in percent of the assignment; diagnoses are counted over the current result of
every graded submission (a mistake made twice by one student counts twice: it is how
often the class made it).
"""

from __future__ import annotations

import base64
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grader.attempts import Assignment, Standing, layout_of
from grader.batch.summary import histogram_bins
from grader.reports.gradebook import gradebook_rows, render_gradebook
from grader.reports.histogram import histogram_svg
from grader.results import round_score
from grader.web.context import Services
from grader.web.records import Role
from grader.web.service import current_result

#: Submissions read per page when counting diagnoses (never a whole class's results at once).
PAGE = 200


@dataclass(frozen=True)
class Gradebook:
    """The gradebook of a set as the CSV has it: ``columns`` and one dict per student."""

    exercise_set: str
    policy: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    csv: str


@dataclass(frozen=True)
class ItemStats:
    """One exercise (or the whole assignment): how many scored, mean and median in points."""

    item: str
    title: str
    max_score: float
    count: int
    mean: float | None
    median: float | None


@dataclass(frozen=True)
class AssignmentStats:
    """An assignment's statistics, its histogram (inline SVG) and its most common diagnoses."""

    assignment: str
    total: ItemStats
    items: tuple[ItemStats, ...]
    #: The histogram as an ``<img>`` data URI: an inline SVG's style attributes would be refused
    #: by the page's CSP (no inline styles) and draw black, and an image cannot run scripts.
    histogram_uri: str
    diagnoses: tuple[tuple[str, str, int], ...]   # (exercise id, the mistake's title, count)


def gradebook(svc: Services, set_id: str) -> Gradebook:
    """The set's gradebook under its attempt policy (:class:`NotFound` for an unknown set)."""
    exercise_set = svc.catalogue.exercise_set(set_id)
    students = [e.student_id for e in svc.store.roster() if e.role is Role.STUDENT]
    book = svc.submissions.standings(set_id)
    # The columns this gradebook had before attempts were counted, kept for the scripts that read
    # them: the student's latest graded submission, and the sheet's maximum under its old name.
    extra: dict[str, dict[str, object]] = {}
    for s in book:
        cells = extra.setdefault(s.student_id, {"submission_id": "", "submitted_at": "", "max_score": ""})
        if s.last and (not cells["submission_id"] or s.last[1] > cells["submission_id"]):
            cells["submitted_at"], cells["submission_id"] = s.last
        if s.assignment is Assignment.SHEET:
            cells["max_score"] = round_score(s.max_score)
    layout = layout_of(exercise_set)
    columns, rows = gradebook_rows(book, layout, roster=students, exercise_set=set_id, extra=extra)
    text = render_gradebook(book, layout, roster=students, exercise_set=set_id, extra=extra)
    return Gradebook(set_id, svc.submissions.policy(set_id).value, tuple(columns), tuple(dict(r) for r in rows), text)


def sort_rows(rows: Sequence[dict[str, Any]], column: str, descending: bool) -> list[dict[str, Any]]:
    """Rows sorted by a column, numbers as numbers, blanks last whichever the order."""
    def key(row: dict[str, Any]) -> tuple[int, float, str]:
        value = row.get(column, "")
        if value in ("", None):
            return (1, 0.0, "")
        try:
            number = float(value)
        except (TypeError, ValueError):
            return (0, 0.0, str(value).lower())
        return (0, -number if descending else number, "")

    filled = [r for r in rows if r.get(column, "") not in ("", None)]
    blank = [r for r in rows if r.get(column, "") in ("", None)]
    ordered = sorted(filled, key=key)
    if descending and filled and not _numeric(filled, column):
        ordered.reverse()
    return ordered + blank


def _numeric(rows: Sequence[dict[str, Any]], column: str) -> bool:
    try:
        for r in rows:
            float(r[column])
    except (TypeError, ValueError):
        return False
    return True


def assignment_stats(svc: Services, set_id: str) -> list[AssignmentStats]:
    """Per assignment of the set: statistics per exercise and in all, histogram, common diagnoses."""
    exercise_set = svc.catalogue.exercise_set(set_id)
    titles = {ex.id: ex.title for ex in exercise_set.exercises}
    by_assignment: dict[Assignment, list[Standing]] = {}
    for s in svc.submissions.standings(set_id):
        by_assignment.setdefault(s.assignment, []).append(s)
    diagnoses = _diagnoses(svc, set_id)
    found = []
    for assignment in (Assignment.SHEET, Assignment.PYTHON):
        kept = by_assignment.get(assignment, [])
        if not kept:
            continue
        max_score = kept[0].max_score
        totals = [s.score for s in kept]
        total = _stats("total", "All exercises", max_score, totals)
        items = []
        for counted in kept[0].items:
            scores = [c.score for s in kept if (c := s.item(counted.id)) is not None and c.ref is not None]
            items.append(_stats(counted.id, titles.get(counted.id, counted.id), counted.max_score, scores))
        percents = [100 * t / max_score if max_score else 0 for t in totals]
        label = "Sheet" if assignment is Assignment.SHEET else "Python exercise"
        svg = histogram_svg(histogram_bins(percents, 100), max_score=max_score,
                            title=f"{set_id} {label.lower()}: {len(kept)} student{'s' if len(kept) != 1 else ''}")
        codes = tuple(d for d in diagnoses if (d[0] in titles) == (assignment is Assignment.SHEET))
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
        found.append(AssignmentStats(label, total, tuple(items), uri, codes[:10]))
    return found


def _stats(item: str, title: str, max_score: float, scores: Sequence[float]) -> ItemStats:
    if not scores:
        return ItemStats(item, title, max_score, 0, None, None)
    return ItemStats(item, title, max_score, len(scores), round_score(statistics.fmean(scores)),
                     round_score(statistics.median(scores)))


def _diagnoses(svc: Services, set_id: str) -> list[tuple[str, str, int]]:
    """``(exercise or function, title, count)`` of the mistakes found, most common first."""
    exercise_set = svc.catalogue.exercise_set(set_id)
    headings = {(ex.id, m.code): m.heading for ex in exercise_set.exercises for m in ex.mistakes}
    counts: Counter[tuple[str, str]] = Counter()
    after = 0
    while subs := svc.store.graded(set_id, after=after, limit=PAGE):
        regrades = svc.store.latest_regrades([s.id for s in subs])
        settlements = svc.store.settlements([s.id for s in subs])
        for sub in subs:
            result = current_result(sub, regrades.get(sub.id), settlements.get(sub.id, []))
            for ex in result.get("exercises", []):
                for code in ex.get("diagnosis") or ():
                    counts[(str(ex.get("id")), str(code))] += 1
        after = subs[-1].id
    return [(ex_id, headings.get((ex_id, code), code.replace("_", " ").capitalize()), n)
            for (ex_id, code), n in counts.most_common()]


__all__ = ["AssignmentStats", "Gradebook", "ItemStats", "assignment_stats", "gradebook", "sort_rows"]

"""The gradebook: one CSV row per student of a set, from each one's latest graded submission.

Columns: ``student_id``, ``submission_id``, ``submitted_at``, one column per exercise
(its current score, settlements included), ``total``, ``max_score`` and
``needs_review`` (answers still waiting for an instructor).  Students on the roster with
no graded submission get a row with empty scores, so a missing submission is visible.
Cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) are
prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from grader.reports.gradebook import spreadsheet_cell


def gradebook_csv(exercise_ids: Sequence[str], rows: Iterable[tuple[int, str, str, dict[str, Any]]],
                  roster_students: Iterable[str] = ()) -> str:
    """CSV text from ``(submission_id, student_id, submitted_at, current result)`` rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", "submission_id", "submitted_at", *exercise_ids, "total", "max_score",
                     "needs_review"])
    lines: list[tuple[str, list[Any]]] = []
    for submission_id, student_id, submitted_at, result in rows:
        exercises = result.get("exercises", [])
        scores = {e.get("id"): e.get("score") for e in exercises}
        waiting = sum(1 for e in exercises if e.get("status") == "needs_review")
        lines.append((student_id, [submission_id, submitted_at, *(scores.get(ex) for ex in exercise_ids),
                                   result.get("score"), result.get("max_score"), waiting]))
    seen = {student_id for student_id, _ in lines}
    lines.extend((s, [None] * (len(exercise_ids) + 5)) for s in set(roster_students) - seen)
    for student_id, cells in sorted(lines, key=lambda line: line[0]):
        writer.writerow([spreadsheet_cell(student_id), *(spreadsheet_cell(c) for c in cells)])
    return out.getvalue()

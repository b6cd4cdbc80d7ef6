"""The gradebook CSV: one row per student (and exercise set), both assignments side by side.

The batch and the service write the same columns:

``student_id``, ``exercise_set``, ``total``, ``max`` (the sheet), one column per sheet
exercise, then, when the set has a Python exercise, ``python_total``, ``python_max`` and
one ``python.<function>`` column per function; ``overall``, ``overall_max`` and
``overall_percent`` (the two assignments' points together); ``policy`` (which attempt
counts, :mod:`grader.attempts`), ``sheet_attempts``, ``python_attempts``,
``counted_attempts`` (the attempts a counted score comes from), ``needs_review`` and
``warnings`` (e.g. a ``student_id`` in a file that disagrees with its folder).

A cell is empty when the student has no attempt that has the item.  Students on the
roster with no attempt get a row of empty scores, so a missing submission is visible.

Written with the :mod:`csv` module; text cells a spreadsheet would run as a formula
(starting ``=``, ``+``, ``-``, ``@``, tab or CR) are prefixed with ``'``: student ids
come from submissions.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from grader.attempts import Assignment, Layout, Standing
from grader.results import round_score
from grader.sorting import natural_key

FIXED_COLUMNS = ("student_id", "exercise_set", "total", "max")
TAIL_COLUMNS = ("overall", "overall_max", "overall_percent", "policy", "sheet_attempts", "python_attempts",
                "counted_attempts", "needs_review", "warnings")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def python_column(function: str) -> str:
    """The gradebook column of a Python function (prefixed: a function may share a sheet exercise's id)."""
    return f"python.{function}"


def columns_for(layout: Layout) -> list[str]:
    """The gradebook's header row for ``layout``."""
    python = ["python_total", "python_max", *(python_column(f) for f, _ in layout.python)] if layout.python else []
    return [*FIXED_COLUMNS, *(e for e, _ in layout.sheet), *python, *TAIL_COLUMNS]


def layout_seen(standings: Iterable[Standing]) -> Layout:
    """A layout from the items the standings hold (when the exercise set is not at hand)."""
    sheet: dict[str, float] = {}
    python: dict[str, float] = {}
    for s in standings:
        target = python if s.assignment is Assignment.PYTHON else sheet
        for c in s.items:
            target[c.id] = max(target.get(c.id, 0.0), c.max_score)
    return Layout(tuple(sorted(sheet.items(), key=lambda kv: natural_key(kv[0]))), tuple(python.items()))


def gradebook_rows(standings: Iterable[Standing], layout: Layout | None = None, *,
                   roster: Iterable[str] = (), exercise_set: str = "",
                   extra: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows (dicts) of the gradebook: one row per (student, set), sorted by student.

    ``extra`` adds columns of the caller's own per student (the service's ``submission_id``,
    ``submitted_at`` and ``max_score`` of its gradebook before attempts were counted), after
    the others; a student it does not name has them empty."""
    standings = list(standings)
    layout = layout if layout is not None else layout_seen(standings)
    by_student: dict[tuple[str, str], dict[Assignment, Standing]] = {}
    for s in standings:
        by_student.setdefault((s.student_id, s.exercise_set), {})[s.assignment] = s
    for student in roster:
        if not any(k[0] == student for k in by_student):
            by_student[(student, exercise_set)] = {}
    rows = [_row(student, set_id, found, layout) for (student, set_id), found in sorted(by_student.items())]
    columns = columns_for(layout)
    if extra:
        added = list(dict.fromkeys(k for cells in extra.values() for k in cells if k not in columns))
        columns += added
        for row in rows:
            cells = extra.get(row["student_id"], {})
            row.update({k: cells.get(k, "") for k in added})
    return columns, rows


def _row(student: str, set_id: str, found: dict[Assignment, Standing], layout: Layout) -> dict[str, Any]:
    sheet, python = found.get(Assignment.SHEET), found.get(Assignment.PYTHON)
    any_standing = sheet or python
    row: dict[str, Any] = {"student_id": student, "exercise_set": set_id}
    row["total"] = round_score(sheet.score) if sheet else ""
    row["max"] = round_score(sheet.max_score if sheet else layout.max_of(Assignment.SHEET))
    for exercise_id, _ in layout.sheet:
        counted = sheet.item(exercise_id) if sheet else None
        row[exercise_id] = round_score(counted.score) if counted else ""
    if layout.python:
        row["python_total"] = round_score(python.score) if python else ""
        row["python_max"] = round_score(python.max_score if python else layout.max_of(Assignment.PYTHON))
        for function, _ in layout.python:
            counted = python.item(function) if python else None
            row[python_column(function)] = round_score(counted.score) if counted else ""
    overall_max = (sheet.max_score if sheet else layout.max_of(Assignment.SHEET)) + \
        (python.max_score if python else layout.max_of(Assignment.PYTHON))
    overall = (sheet.score if sheet else 0.0) + (python.score if python else 0.0)
    row["overall"] = round_score(overall) if any_standing else ""
    row["overall_max"] = round_score(overall_max)
    row["overall_percent"] = round_score(100 * overall / overall_max) if any_standing and overall_max else ""
    row["policy"] = any_standing.policy.value if any_standing else ""
    row["sheet_attempts"] = len(sheet.attempts) if sheet else 0
    row["python_attempts"] = len(python.attempts) if python else 0
    row["counted_attempts"] = "; ".join([*(sheet.counted_refs if sheet else ()), *(python.counted_refs if python
                                                                                   else ())])
    row["needs_review"] = (sheet.needs_review if sheet else 0) + (python.needs_review if python else 0)
    row["warnings"] = "; ".join(dict.fromkeys([*(sheet.warnings if sheet else ()),
                                               *(python.warnings if python else ())]))
    return row


def render_gradebook(standings: Iterable[Standing], layout: Layout | None = None, *,
                     roster: Sequence[str] = (), exercise_set: str = "",
                     extra: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The gradebook as CSV text (header row first, ``\\r\\n`` line ends as the csv module writes)."""
    columns, rows = gradebook_rows(standings, layout, roster=roster, exercise_set=exercise_set, extra=extra)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: spreadsheet_cell(value) for key, value in row.items()})
    return out.getvalue()


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula (``=``, ``+``, ``-``, ``@`` first get a ``'``)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value

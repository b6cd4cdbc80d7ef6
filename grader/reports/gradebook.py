"""The gradebook CSV over many results: one row per student (and exercise set).

Columns: ``student_id``, ``exercise_set``, ``total``, ``max``, then one column per
exercise with its score.  When a student has several results, ``policy`` picks one:
``latest`` (the last in the order given, the default) or ``best`` (the highest total; the
later one on a tie).  An unreadable submission is a result too (score 0), so under
``latest`` a student's last upload counts even when it could not be read.  Results with
no student id cannot be placed in a gradebook and are left out.

Written with the :mod:`csv` module; text cells a spreadsheet would run as a formula
(starting ``=``, ``+``, ``-``, ``@``, tab or CR) are prefixed with ``'``: student ids
come from submissions.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterable, Sequence
from typing import Any

from grader.results import GradeResult, round_score
from grader.sorting import natural_key

FIXED_COLUMNS = ("student_id", "exercise_set", "total", "max")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Policy(enum.StrEnum):
    LATEST = "latest"
    BEST = "best"


def select_results(results: Iterable[GradeResult], policy: Policy | str = Policy.LATEST) -> list[GradeResult]:
    """One result per (student id, exercise set) under ``policy``, sorted by student id then set."""
    policy = Policy(policy)
    chosen: dict[tuple[str, str], GradeResult] = {}
    for result in results:
        if not result.student_id:
            continue
        key = (result.student_id, result.exercise_set)
        current = chosen.get(key)
        if current is None or policy is Policy.LATEST or result.score >= current.score:
            chosen[key] = result
    return [chosen[key] for key in sorted(chosen)]


def gradebook_rows(results: Iterable[GradeResult], *, policy: Policy | str = Policy.LATEST,
                   exercise_ids: Sequence[str] | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and the rows (dicts) of the gradebook.

    ``exercise_ids`` fixes the exercise columns; by default they are every exercise id
    seen in any result (chosen or not), in natural order (``ex2`` before ``ex10``).  A cell is empty when the chosen
    result has no such exercise.
    """
    results = list(results)
    chosen = select_results(results, policy)
    if exercise_ids is None:
        seen = dict.fromkeys(e.id for r in results for e in r.exercises)
        exercise_ids = sorted(seen, key=natural_key)
    columns = [*FIXED_COLUMNS, *exercise_ids]
    rows = []
    for result in chosen:
        scores = {e.id: round_score(e.score) for e in result.exercises}
        row: dict[str, Any] = {"student_id": result.student_id, "exercise_set": result.exercise_set,
                               "total": round_score(result.score), "max": round_score(result.max_score)}
        row.update({ex: scores.get(ex, "") for ex in exercise_ids})
        rows.append(row)
    return columns, rows


def render_gradebook(results: Iterable[GradeResult], *, policy: Policy | str = Policy.LATEST,
                     exercise_ids: Sequence[str] | None = None) -> str:
    """The gradebook as CSV text (header row first, ``\\r\\n`` line ends as the csv module writes)."""
    columns, rows = gradebook_rows(results, policy=policy, exercise_ids=exercise_ids)
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

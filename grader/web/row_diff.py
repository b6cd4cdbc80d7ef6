"""A row-valued answer beside the expected rows, each row marked right, wrong, missing or extra.

Rows are read and matched as grading reads and matches them: the part's own comparator
from the set's grading plan (:func:`grader.scoring.plan_for`) normalises both sides, so
``"10:00"``, ``"10:00:00"`` and ``"10h00"`` are the same window and rows match on the
part's ``key_fields`` with its ``value_fields`` compared under its tolerance.  Only the
``expected`` the result document carries is used: visibility already decided whether a
student may see it, so a diff can never show a hidden value.

Each row's mark is a sentence ("wrong: expected sum_amount 1"), never a colour alone.
Kinds: ``rows`` and ``row`` (sink rows), ``windows_events`` (events placed in windows).
Anything else, or a value that cannot be read at all, has no diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.compare.base import Comparator, quoted_text
from grader.compare.placements import WindowsEventsComparator, WindowsEventsValue
from grader.compare.rows import RowsComparator, RowsValue
from grader.exercises.model import ExerciseSet
from grader.normalize import NormalizeError, RowValue
from grader.scoring import plan_for
from reference.timestamps import format_time

#: A row's field and the attribute of :class:`grader.normalize.RowValue` holding it.
_ROW_ATTRIBUTES = {"window_start": "window_start_ms", "user_id": "user_id", "sum_amount": "sum_amount"}


@dataclass(frozen=True)
class DiffRow:
    """One line of a diff: its cells, its state (``right``, ``wrong``, ``missing``, ``extra``,
    ``unread``, ``ignored``) and the words that say it."""

    cells: tuple[str, ...]
    state: str
    label: str


@dataclass(frozen=True)
class RowDiff:
    columns: tuple[str, ...]
    rows: tuple[DiffRow, ...]

    @property
    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self.rows:
            found[row.state] = found.get(row.state, 0) + 1
        return found


def part_comparator(exercise_set: ExerciseSet, exercise_id: str, part_id: str) -> Comparator | None:
    """The comparator grading uses for one part (``None`` when the set has no such part)."""
    for plan in plan_for(exercise_set).exercises:
        if plan.exercise.id == exercise_id:
            return next((p.comparator for p in plan.parts if p.part.id == part_id), None)
    return None


def row_diff(exercise_set: ExerciseSet, exercise_id: str, part_id: str, given: Any, expected: Any) -> RowDiff | None:
    """The diff of a row-valued part's ``given`` against ``expected`` (both as the document has them)."""
    comparator = part_comparator(exercise_set, exercise_id, part_id)
    if not isinstance(comparator, RowsComparator | WindowsEventsComparator):
        return None
    try:
        want = comparator.normalize(expected)
        got = comparator.normalize(given if given is not None else [])
    except NormalizeError:
        return None
    if isinstance(comparator, RowsComparator):
        return _rows_diff(comparator, want, got)
    return _placements_diff(comparator, want, got)


def _cell(name: str, row: RowValue) -> str:
    value = getattr(row, _ROW_ATTRIBUTES[name])
    return format_time(value) if name == "window_start" else quoted_text(value)


def _rows_diff(comparator: RowsComparator, want: RowsValue, got: RowsValue) -> RowDiff:
    fields = (*comparator.key_fields, *comparator.value_fields)
    expected = {comparator.key(r): r for _, r in want.rows}
    asked = comparator.context.asked_windows if "window_start" in comparator.key_fields else None
    seen: set[tuple[Any, ...]] = set()
    rows: list[DiffRow] = []
    for _, row in got.rows:
        cells = tuple(_cell(f, row) for f in fields)
        key = comparator.key(row)
        if asked is not None and row.window_start_ms not in asked:
            rows.append(DiffRow(cells, "ignored", "not asked: a window this part does not ask about, ignored"))
            continue
        target = expected.get(key)
        if key in seen:
            rows.append(DiffRow(cells, "extra", "extra: this key is given again"))
            continue
        seen.add(key)
        if target is None:
            rows.append(DiffRow(cells, "extra", "extra: not expected"))
            continue
        wrong = [f for f in comparator.value_fields
                 if not comparator.tolerance.accepts(getattr(target, _ROW_ATTRIBUTES[f]),
                                                     getattr(row, _ROW_ATTRIBUTES[f]))]
        if wrong:
            rows.append(DiffRow(cells, "wrong", "wrong: expected "
                                + ", ".join(f"{f} {_cell(f, target)}" for f in wrong)))
        else:
            rows.append(DiffRow(cells, "right", "right"))
    for problem in got.bad:
        rows.append(DiffRow(("",) * (len(fields) - 1) + (problem.message,), "unread",
                            "could not be read: " + problem.message))
    for key, target in expected.items():
        if key not in seen:
            rows.append(DiffRow(tuple(_cell(f, target) for f in fields), "missing", "missing: expected this row"))
    return RowDiff(fields, tuple(rows))


def _placements_diff(comparator: WindowsEventsComparator, want: WindowsEventsValue,
                     got: WindowsEventsValue) -> RowDiff:
    home = {p.event_id: p.window_start for p in want.placements}
    window = comparator.context.window
    rows: list[DiffRow] = []
    seen: set[str] = set()
    for p in got.placements:
        where = str(window(p.window_start))
        if p.event_id is None:
            rows.append(DiffRow((p.written, where), "extra", "extra: none of the events"))
            continue
        cells = (comparator.describe_event(p.event_id), where)
        if p.event_id in seen:
            rows.append(DiffRow(cells, "extra", "extra: this event is given again"))
        elif p.event_id not in home:
            rows.append(DiffRow(cells, "extra", "extra: not part of this answer"))
        elif home[p.event_id] != p.window_start:
            rows.append(DiffRow(cells, "wrong", f"wrong: expected in {window(home[p.event_id])}"))
        else:
            rows.append(DiffRow(cells, "right", "right"))
        seen.add(p.event_id)
    for problem in got.bad:
        rows.append(DiffRow(("", problem.message), "unread", "could not be read: " + problem.message))
    for event_id, start in home.items():
        if event_id not in seen and event_id not in got.unplaced:
            rows.append(DiffRow((comparator.describe_event(event_id), str(window(start))), "missing",
                                f"missing: expected in {window(start)}"))
    return RowDiff(("event", "window"), tuple(rows))

"""Sink rows compared as a set keyed by (window_start, user_id): missing, extra and wrong rows.

The scoring rules, stated once (README "Grading" says the same to students):

- A part scores ``keys right / (keys expected + surplus)``; an empty list is an answer
  ("no rows"), and a part that expects none and gets none is right.
- A row whose value cannot be read scores like a wrong value: it earns nothing for its
  key and costs no more than a wrong value would.  When its window and user can be
  read, it stands for that key; when they cannot, it takes the place of an expected row
  that is missing, and only counts as surplus when no expected row is missing.
- Two (or more) different values for one key earn nothing for that key, whatever their
  order: the feedback says "two rows for window [10:00, 10:05), user A: 7 and 8".  The
  key counts once (a key not expected is one surplus row, however many values it has).
  The same row given again is a surplus row (a keyed sink holds one).
- A key not expected, in a window the part asks about, is one surplus row.
- Rows of windows the part does not ask about (:attr:`CompareContext.asked_windows`:
  the windows its question names, e.g. a true row of a later window in ex6) are ignored
  with a note (``row_not_asked``), never a penalty.  A part whose question names no
  windows (the records of one arrival, one key's row) asks about every window.

Feedback is bounded per part by the scoring (:mod:`grader.scoring`), not here: every
finding is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from grader.compare.base import Comparator, CompareContext, Comparison, plural_s, quoted_text
from grader.compare.quantities import Tolerance
from grader.normalize import (
    NormalizeError,
    RowValue,
    is_blank,
    normalize_row,
    normalize_user_id,
    normalize_window,
    user_id_in_data,
    user_ids_by_case,
)
from grader.results import Finding
from reference.events import decimal_text
from reference.timestamps import Ticks


@dataclass(frozen=True)
class RowsValue:
    """Rows in normal form; ``bad`` holds the items that could not be read, with where and why.

    ``bad_keys`` says, for each item of ``bad``, the window start and user it names when
    those two could be read (``None`` otherwise): such a row stands for its key.
    """

    rows: tuple[tuple[int, RowValue], ...]
    bad: tuple[NormalizeError, ...] = ()
    bad_keys: tuple[tuple[Ticks, str] | None, ...] = ()


_ROW_GETTERS = {
    "window_start": lambda r: r.window_start_ms,
    "user_id": lambda r: r.user_id,
    "sum_amount": lambda r: r.sum_amount,
}
#: How many rows one key was given, in words (beyond these, digits).
_COUNT_WORDS = {2: "two", 3: "three", 4: "four"}
#: What an unreadable value reads as among a key's values.
_UNREADABLE = "an unreadable value"


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class RowsComparator(Comparator):
    """Sink rows as a set: rows match on ``key_fields``, then ``value_fields`` are compared.

    Score: keys right / (keys expected + surplus rows), under the rules of the module
    docstring (unreadable like wrong, two values for a key earn nothing, rows of windows
    not asked are ignored).  An empty list is an answer ("no rows").
    """

    kind = "rows"

    def __init__(self, spec: Mapping[str, Any], context: CompareContext) -> None:
        super().__init__(spec, context)
        self.key_fields = tuple(spec["key_fields"])
        self.value_fields = tuple(spec["value_fields"])
        unknown = [f for f in (*self.key_fields, *self.value_fields) if f not in _ROW_GETTERS]
        if unknown:
            raise ValueError(f"rows comparison: unknown row fields {', '.join(unknown)}")
        self.tolerance = Tolerance.of(spec.get("tolerance"))
        self.user_ids = user_ids_by_case(e.user_id for e in context.events)  # "a" read as "A", with a note

    def normalize(self, value: Any) -> RowsValue:
        if not isinstance(value, list | tuple):
            raise NormalizeError('expected a list of rows {"window_start", "user_id", "sum_amount"}')
        rows, bad, bad_keys = [], [], []
        for i, item in enumerate(value):
            try:
                rows.append((i, normalize_row(item, user_ids=self.user_ids, window_size=self.context.window_size)))
            except NormalizeError as exc:
                bad.append(exc.at(i))
                bad_keys.append(self._readable_key(item))
        return RowsValue(tuple(rows), tuple(bad), tuple(bad_keys))

    def _readable_key(self, item: Any) -> tuple[Ticks, str] | None:
        """The window start and user of a row whose other values cannot be read, if those two can."""
        if isinstance(item, Mapping):
            start, user = item.get("window_start"), item.get("user_id")
        elif isinstance(item, list | tuple) and len(item) == 3:
            start, user = item[0], item[1]
        else:
            return None
        try:
            return normalize_window(start).start_ms, user_id_in_data(normalize_user_id(user), self.user_ids)
        except NormalizeError:
            return None

    def key(self, row: RowValue) -> tuple[Any, ...]:
        return tuple(_ROW_GETTERS[f](row) for f in self.key_fields)

    def _values(self, rows: RowsValue) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        return {self.key(r): tuple(_ROW_GETTERS[f](r) for f in self.value_fields) for _, r in rows.rows}

    def shows(self, mistaken: RowsValue, expected: RowsValue, given: RowsValue) -> bool:
        """Every key where the mistake's rows differ from the expected ones is given as the mistake has it.

        A key given with two different values shows nothing (whatever their order).
        """
        wrong, right, got = self._values(mistaken), self._values(expected), self._values(given)
        values: dict[tuple[Any, ...], set[tuple[Any, ...]]] = {}
        for _, r in given.rows:
            values.setdefault(self.key(r), set()).add(tuple(_ROW_GETTERS[f](r) for f in self.value_fields))
        differing = [k for k in dict.fromkeys([*wrong, *right]) if wrong.get(k) != right.get(k)]
        return bool(differing) and all(
            (k in got) == (k in wrong) and (k not in got or (len(values[k]) == 1 and self._close(wrong[k], got[k])))
            for k in differing)

    def _close(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
        return all(self.tolerance.accepts(x, y) for x, y in zip(a, b, strict=True))

    def describe_key(self, row: RowValue) -> str:
        parts = []
        for name in self.key_fields:
            value = _ROW_GETTERS[name](row)
            if name == "window_start":
                parts.append(f"window {self.context.window(value)}")
            elif name == "user_id":
                parts.append(f"user {value}")
            else:
                parts.append(f"{name} {value}")
        return ", ".join(parts)

    def compare(self, expected: RowsValue, given: RowsValue, *, path: str, show_expected: bool = True) -> Comparison:
        findings: list[Finding] = []
        wanted = {self.key(r): r for _, r in expected.rows}
        asked = self.context.asked_windows if "window_start" in self.key_fields else None
        # Each asked key with what was given for it: (index, row), or (index, None) for an
        # unreadable row that names the key.
        given_for: dict[tuple[Any, ...], list[tuple[int, RowValue | None]]] = {}
        for index, row in given.rows:
            if row.case_note and all(f.message != row.case_note for f in findings):
                findings.append(Finding("user_id_case", f"{path}[{index}].user_id", row.case_note))
            if asked is not None and row.window_start_ms not in asked:
                findings.append(Finding("row_not_asked", f"{path}[{index}]", self._not_asked_message(row, asked)))
                continue
            given_for.setdefault(self.key(row), []).append((index, row))
        unkeyed = 0
        for problem, named in zip(given.bad, given.bad_keys or (None,) * len(given.bad), strict=True):
            findings.append(Finding("unreadable_row", path + problem.path, problem.describe(path)))
            key = self._key_of(named) if named is not None else None
            if key is None:
                unkeyed += 1
            elif asked is None or named[0] in asked:
                index = problem.loc[0] if problem.loc and isinstance(problem.loc[0], int) else -1
                given_for.setdefault(key, []).append((index, None))
        right = surplus = 0
        for key, items in given_for.items():
            first_index, first = items[0]
            values = list(dict.fromkeys(self._value_of(row) for _, row in items))
            target = wanted.get(key)
            if len(values) > 1 or first is None:
                if target is None:
                    surplus += 1
                if len(values) > 1:
                    findings.append(Finding("conflicting_rows", f"{path}[{items[1][0]}]",
                                            self._conflict_message(key, items, values)))
                continue  # an unreadable value alone has its unreadable_row finding
            if target is None:
                surplus += len(items)
                findings.append(Finding("extra_row", f"{path}[{first_index}]",
                                        f"{self.describe_key(first)}: row {first.describe()} is not expected"))
                continue
            for index, _ in items[1:]:
                surplus += 1
                findings.append(Finding("duplicate_row", f"{path}[{index}]",
                                        f"{self.describe_key(first)}: the row is given twice (rows {first_index} and "
                                        f"{index}); a sink keyed by ({', '.join(self.key_fields)}) holds one"))
            where = f"{path}[{first_index}]"
            wrong = [f for f in self.value_fields
                     if not self.tolerance.accepts(_ROW_GETTERS[f](target), _ROW_GETTERS[f](first))]
            if not wrong:
                right += 1
                continue
            for name in wrong:
                findings.append(Finding("wrong_value", f"{where}.{name}",
                                        self._wrong_message(target, first, name, show_expected)))
        missing = [row for key, row in wanted.items() if key not in given_for]
        if show_expected:
            findings.extend(Finding("missing_row", path, f"{self.describe_key(row)}: missing row, expected "
                                                         f"{row.describe()}") for row in missing)
        elif missing:  # which window and key would give part of the answer away
            findings.append(Finding("missing_row", path, f"{len(missing)} expected row{plural_s(len(missing))} "
                                                         f"{'are' if len(missing) != 1 else 'is'} missing"))
        # A row that cannot be read at all is most likely one of the missing rows, written
        # wrong: it takes a missing row's place, and only beyond those is it surplus.
        surplus += max(0, unkeyed - len(missing))
        total = len(wanted) + surplus
        fraction = 1.0 if total == 0 else right / total
        return Comparison(fraction, tuple(findings))

    def _key_of(self, named: tuple[Ticks, str]) -> tuple[Any, ...] | None:
        """The comparator's key of an unreadable row that names its window and user (else ``None``)."""
        parts = {"window_start": named[0], "user_id": named[1]}
        if any(f not in parts for f in self.key_fields):
            return None
        return tuple(parts[f] for f in self.key_fields)

    def _value_of(self, row: RowValue | None) -> tuple[Any, ...] | None:
        return None if row is None else tuple(_ROW_GETTERS[f](row) for f in self.value_fields)

    def _conflict_message(self, key: tuple[Any, ...], items: list[tuple[int, RowValue | None]],
                          values: list[tuple[Any, ...] | None]) -> str:
        named = next(row for _, row in items if row is not None)
        shown = [_UNREADABLE if v is None else "/".join(quoted_text(x) for x in v) for v in values]
        count = _COUNT_WORDS.get(len(items), str(len(items)))
        return (f"{count} rows for {self.describe_key(named)}: {_and_list(shown)}; a sink keyed by "
                f"({', '.join(self.key_fields)}) holds one value per key, so this key earns nothing")

    def _not_asked_message(self, row: RowValue, asked: frozenset[Ticks]) -> str:
        windows = _and_list([str(self.context.window(s)) for s in sorted(asked)]) if asked else "no window"
        return (f"{self.describe_key(row)}: row {row.describe()} is for a window this part does not ask about "
                f"(it asks about {windows}); ignored, no points lost")

    def _wrong_message(self, target: RowValue, row: RowValue, name: str, show_expected: bool) -> str:
        want, got = _ROW_GETTERS[name](target), _ROW_GETTERS[name](row)
        if not show_expected:
            return f"{self.describe_key(row)}: {name} {quoted_text(got)} is wrong"
        message = f"{self.describe_key(row)}: expected {name} {quoted_text(want)}, got {quoted_text(got)}"
        if self.tolerance.stated:
            message += f" ({self.tolerance.stated})"
        hint = self._difference_hint(target, row, want, got) if name == "sum_amount" else None
        return f"{message}. {hint}" if hint else message + "."

    def _difference_hint(self, target: RowValue, row: RowValue, want: Any, got: Any) -> str | None:
        """Name the event whose amount is the difference, near the row's window (e6 at the window end...)."""
        if not isinstance(want, Decimal) or not isinstance(got, Decimal):
            return None
        diff = got - want
        window = self.context.window(target.window_start_ms)
        near = [e for e in self.context.events
                if e.user_id == target.user_id and e.amount == abs(diff)
                and window.start - self.context.window_size <= e.event_time <= window.end]
        if len(near) != 1:
            return None
        event = near[0]
        home = self.context.window_of(event.event_time)
        lead = f"The difference, {decimal_text(abs(diff))}, is the amount of {event.describe()}"
        if diff > 0 and home != window:
            return f"{lead}, which belongs to {home}, not {window}."
        if diff > 0:
            return f"{lead}: is it counted here by mistake?"
        if home == window:
            return f"{lead}, which belongs to {window}."
        return None


class RowComparator(RowsComparator):
    """One sink row (or none: ``null``/``{}`` where the expected answer is no row)."""

    kind = "row"

    def is_blank(self, value: Any) -> bool:
        return is_blank(value)

    def normalize(self, value: Any) -> RowsValue:
        if value is None or (isinstance(value, Mapping) and not value):
            return RowsValue(())
        if isinstance(value, list | tuple) and len(value) != 3:
            return super().normalize(value)
        try:
            return RowsValue(((0, normalize_row(value, user_ids=self.user_ids, window_size=self.context.window_size)),))
        except NormalizeError as exc:
            raise exc from None

    def compare(self, expected: RowsValue, given: RowsValue, *, path: str, show_expected: bool = True) -> Comparison:
        result = super().compare(expected, given, path=path, show_expected=show_expected)
        # A single row: its path is the field itself, not an item of a list.
        findings = tuple(Finding(f.code, f.path.replace(f"{path}[0]", path, 1), f.message) for f in result.findings)
        return Comparison(result.fraction, findings)

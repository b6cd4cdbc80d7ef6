"""Sink rows compared as a set keyed by (window_start, user_id): missing, extra and wrong rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from grader.compare.base import Comparator, CompareContext, Comparison, plural_s, quoted_text
from grader.compare.quantities import Tolerance
from grader.normalize import NormalizeError, RowValue, is_blank, normalize_row, user_ids_by_case
from grader.results import Finding
from reference.events import decimal_text


@dataclass(frozen=True)
class RowsValue:
    """Rows in normal form; ``bad`` holds the items that could not be read, with where and why."""

    rows: tuple[tuple[int, RowValue], ...]
    bad: tuple[NormalizeError, ...] = ()


_ROW_GETTERS = {
    "window_start": lambda r: r.window_start_ms,
    "user_id": lambda r: r.user_id,
    "sum_amount": lambda r: r.sum_amount,
}


class RowsComparator(Comparator):
    """Sink rows as a set: rows match on ``key_fields``, then ``value_fields`` are compared.

    Score: rows right / (rows expected + rows given that match no expected key + rows
    given twice + rows that could not be read).  An empty list is an answer ("no rows").
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
        rows, bad = [], []
        for i, item in enumerate(value):
            try:
                rows.append((i, normalize_row(item, user_ids=self.user_ids)))
            except NormalizeError as exc:
                bad.append(exc.at(i))
        return RowsValue(tuple(rows), tuple(bad))

    def key(self, row: RowValue) -> tuple[Any, ...]:
        return tuple(_ROW_GETTERS[f](row) for f in self.key_fields)

    def _values(self, rows: RowsValue) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        return {self.key(r): tuple(_ROW_GETTERS[f](r) for f in self.value_fields) for _, r in rows.rows}

    def shows(self, mistaken: RowsValue, expected: RowsValue, given: RowsValue) -> bool:
        """Every key where the mistake's rows differ from the expected ones is given as the mistake has it."""
        wrong, right, got = self._values(mistaken), self._values(expected), self._values(given)
        differing = [k for k in dict.fromkeys([*wrong, *right]) if wrong.get(k) != right.get(k)]
        return bool(differing) and all(
            (k in got) == (k in wrong) and (k not in got or self._close(wrong[k], got[k])) for k in differing)

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
        seen: dict[tuple[Any, ...], int] = {}
        right = surplus = 0  # surplus: rows given that are no expected key, or a key again
        for index, row in given.rows:
            where = f"{path}[{index}]"
            if row.case_note and all(f.message != row.case_note for f in findings):
                findings.append(Finding("user_id_case", f"{where}.user_id", row.case_note))
            key = self.key(row)
            if key in seen:
                surplus += 1
                findings.append(Finding("duplicate_row", where,
                                        f"{self.describe_key(row)}: the row is given twice (rows {seen[key]} and "
                                        f"{index}); a sink keyed by ({', '.join(self.key_fields)}) holds one"))
                continue
            seen[key] = index
            target = wanted.get(key)
            if target is None:
                surplus += 1
                findings.append(Finding("extra_row", where,
                                        f"{self.describe_key(row)}: row {row.describe()} is not expected"))
                continue
            wrong = [f for f in self.value_fields
                     if not self.tolerance.accepts(_ROW_GETTERS[f](target), _ROW_GETTERS[f](row))]
            if not wrong:
                right += 1
                continue
            for name in wrong:
                findings.append(Finding("wrong_value", f"{where}.{name}",
                                        self._wrong_message(target, row, name, show_expected)))
        missing = [row for key, row in wanted.items() if key not in seen]
        if show_expected:
            findings.extend(Finding("missing_row", path, f"{self.describe_key(row)}: missing row, expected "
                                                         f"{row.describe()}") for row in missing)
        elif missing:  # which window and key would give part of the answer away
            findings.append(Finding("missing_row", path, f"{len(missing)} expected row{plural_s(len(missing))} "
                                                         f"{'are' if len(missing) != 1 else 'is'} missing"))
        for problem in given.bad:
            findings.append(Finding("unreadable_row", path + problem.path, problem.describe(path)))
        total = len(wanted) + surplus + len(given.bad)
        fraction = 1.0 if total == 0 else right / total
        return Comparison(fraction, tuple(findings))

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
            return RowsValue(((0, normalize_row(value, user_ids=self.user_ids)),))
        except NormalizeError as exc:
            raise exc from None

    def compare(self, expected: RowsValue, given: RowsValue, *, path: str, show_expected: bool = True) -> Comparison:
        result = super().compare(expected, given, path=path, show_expected=show_expected)
        # A single row: its path is the field itself, not an item of a list.
        findings = tuple(Finding(f.code, f.path.replace(f"{path}[0]", path, 1), f.message) for f in result.findings)
        return Comparison(result.fraction, findings)

"""Comparing a given answer with the expected one: one comparator per kind of answer.

Every part of an exercise declares how it is compared (``compare.kind`` in its YAML):
``rows`` and ``row`` (sink rows as a set), ``number`` (a quantity within a tolerance, in
a unit), ``time``, ``choice`` and ``choice_set`` (with synonyms), ``windows_events``
(windows with the events in them) and ``text`` (free text against a concept rubric).
The same comparator serves every exercise; what differs lives in the exercise data.

A comparator works in two steps.  :meth:`Comparator.normalize` reads a value written in
any accepted spelling (SUBMISSION_FORMAT.md) into one exact normal form, raising
:class:`~grader.normalize.NormalizeError` only when nothing of it can be read; items of a
list that cannot be read are kept as problems, so the rest still earns credit.
:meth:`Comparator.compare` then scores a normal form against the expected one: a
fraction in ``[0, 1]`` and :class:`~grader.results.Finding` values that name the window,
the key and the event where the answer went wrong.  With ``show_expected`` false the
findings say *what* is wrong, never what the right value is.

Canonical values (from :mod:`grader.solutions`) go through the same ``normalize``, so a
comparison is always between two normal forms; the grader does that once per exercise
set, not per submission.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any

from grader.normalize import (
    ABBREVIATIONS,
    UNITS,
    Dimension,
    EventById,
    NormalizeError,
    RowValue,
    choice_key,
    is_blank,
    normalize_event_ref,
    normalize_quantity,
    normalize_row,
    normalize_time,
    normalize_window_start,
    parse_quantity,
    show_value,
)
from grader.results import Finding
from reference.events import Event
from reference.serialize import decimal_json, decimal_text
from reference.timestamps import Ticks, format_time
from reference.windows import Window

#: Longest text the concept rubric reads; the rest of a longer answer is ignored.
MAX_RUBRIC_TEXT = 20_000
#: Longest text read as a choice (normalize.MAX_TEXT); a longer one is no choice.
MAX_CHOICE_TEXT = 200


@dataclass(frozen=True)
class CompareContext:  # not slotted: cached_property needs the instance __dict__
    """What comparators need to know about the data: the events (to name them) and the window size."""

    events: tuple[Event, ...]
    window_size: Ticks

    @cached_property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(e.event_id for e in self.events)

    def event(self, event_id: str) -> Event | None:
        return next((e for e in self.events if e.event_id == event_id), None)

    def window(self, start: Ticks) -> Window:
        return Window(start, start + self.window_size)

    def window_of(self, t: Ticks) -> Window:
        return self.window(t - t % self.window_size)


@dataclass(frozen=True)
class Comparison:
    """The outcome of one comparison: ``fraction`` of the part's points, and why.

    ``needs_review`` is set when a rubric cannot decide (free text with too few of the
    concepts it looks for): the fraction is then provisional.
    """

    fraction: float
    findings: tuple[Finding, ...] = ()
    needs_review: bool = False

    @property
    def exact(self) -> bool:
        return self.fraction >= 1 and not self.needs_review


class Comparator:
    """Base of the comparators: ``normalize`` a value, ``compare`` two normal forms."""

    kind = ""

    def __init__(self, spec: Mapping[str, Any], context: CompareContext) -> None:
        self.spec = spec
        self.context = context

    def is_blank(self, value: Any) -> bool:
        """True when the value counts as not answered."""
        return is_blank(value)

    def normalize(self, value: Any) -> Any:  # pragma: no cover - every kind overrides it
        raise NotImplementedError

    def compare(self, expected: Any, given: Any, *, path: str, show_expected: bool = True) -> Comparison:
        raise NotImplementedError  # pragma: no cover

    def same(self, expected: Any, given: Any) -> bool:
        """True when ``given`` is the same answer as ``expected`` (used to recognise mistakes)."""
        return self.compare(expected, given, path="", show_expected=True).exact

    def shows(self, mistaken: Any, expected: Any, given: Any) -> bool:
        """True when ``given`` repeats what sets ``mistaken`` apart from ``expected``, whatever else it gets wrong.

        For a whole value that is :meth:`same`; kinds made of items (rows, placed
        events) look only at the items where the mistake departs from the expected answer.
        """
        return self.same(mistaken, given)


# -- rows -------------------------------------------------------------------------------------------------


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

    def normalize(self, value: Any) -> RowsValue:
        if not isinstance(value, list | tuple):
            raise NormalizeError('expected a list of rows {"window_start", "user_id", "sum_amount"}')
        rows, bad = [], []
        for i, item in enumerate(value):
            try:
                rows.append((i, normalize_row(item)))
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
            findings.append(Finding("missing_row", path, f"{len(missing)} expected row{_s(len(missing))} "
                                                         f"{'are' if len(missing) != 1 else 'is'} missing"))
        for problem in given.bad:
            findings.append(Finding("unreadable_row", path + problem.path, problem.describe(path)))
        total = len(wanted) + surplus + len(given.bad)
        fraction = 1.0 if total == 0 else right / total
        return Comparison(fraction, tuple(findings))

    def _wrong_message(self, target: RowValue, row: RowValue, name: str, show_expected: bool) -> str:
        want, got = _ROW_GETTERS[name](target), _ROW_GETTERS[name](row)
        if not show_expected:
            return f"{self.describe_key(row)}: {name} {_text(got)} is wrong"
        message = f"{self.describe_key(row)}: expected {name} {_text(want)}, got {_text(got)}"
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
            return RowsValue(((0, normalize_row(value)),))
        except NormalizeError as exc:
            raise exc from None

    def compare(self, expected: RowsValue, given: RowsValue, *, path: str, show_expected: bool = True) -> Comparison:
        result = super().compare(expected, given, path=path, show_expected=show_expected)
        # A single row: its path is the field itself, not an item of a list.
        findings = tuple(Finding(f.code, f.path.replace(f"{path}[0]", path, 1), f.message) for f in result.findings)
        return Comparison(result.fraction, findings)


# -- numbers and times -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    """``absolute`` (in the compared unit) or ``relative`` (a fraction of the expected value)."""

    absolute: Decimal | None = None
    relative: Decimal | None = None

    @classmethod
    def of(cls, spec: Mapping[str, Any] | None) -> Tolerance:
        if not spec:
            return cls()
        if "relative" in spec:
            return cls(relative=Decimal(str(spec["relative"])))
        return cls(absolute=Decimal(str(spec.get("absolute", 0))))

    def width(self, expected: Decimal) -> Decimal:
        if self.relative is not None:
            return abs(expected) * self.relative
        return self.absolute or Decimal(0)

    def accepts(self, expected: Any, given: Any) -> bool:
        if isinstance(expected, Decimal) and isinstance(given, Decimal):
            return abs(given - expected) <= self.width(expected)
        return expected == given

    @property
    def stated(self) -> str:
        """The tolerance in words, empty when it is exact."""
        if self.relative:
            return f"within ±{decimal_text(self.relative * 100)} %"
        if self.absolute:
            return f"within ±{decimal_text(self.absolute)}"
        return ""


class NumberComparator(Comparator):
    """A number within a tolerance, in ``unit``; quantities with a unit are converted exactly."""

    kind = "number"

    def __init__(self, spec: Mapping[str, Any], context: CompareContext) -> None:
        super().__init__(spec, context)
        self.unit = str(spec["unit"])
        self.tolerance = Tolerance.of(spec["tolerance"])
        table: dict[str, Fraction] = {}
        self.dimension = Dimension.COUNT
        for dimension, units in UNITS.items():
            if units.get(self.unit.lower()) == 1:
                # A standard unit (minutes, bytes): every standard spelling of its dimension is accepted too.
                self.dimension = dimension
                table.update(units)
        table[self.unit.lower()] = Fraction(1)
        for name, factor in (spec.get("accepted_units") or {}).items():
            table[str(name).lower()] = Fraction(str(factor))
        self.units = table

    def normalize(self, value: Any) -> Decimal:
        quantity = parse_quantity(value)
        factor = self.units.get((quantity.unit or self.unit).lower())
        if factor is None:  # an unknown unit: normalize_quantity words the refusal
            return normalize_quantity(value, self.dimension, default_unit=self.unit, units=self.units)
        if factor == 1:
            return quantity.magnitude
        return normalize_quantity(value, self.dimension, default_unit=self.unit, units=self.units)

    def compare(self, expected: Decimal, given: Decimal, *, path: str, show_expected: bool = True) -> Comparison:
        if self.tolerance.accepts(expected, given):
            return Comparison(1.0)
        stated = self.tolerance.stated or "exactly"
        if show_expected:
            message = f"expected {decimal_text(expected)} {self.unit} ({stated}), got {decimal_text(given)} {self.unit}"
        else:
            message = f"{decimal_text(given)} {self.unit} is not the expected value ({stated})"
        return Comparison(0.0, (Finding("wrong_number", path, message),))


class TimeComparator(Comparator):
    """A timestamp, exact after normalisation (``10:05``, ``10:05:00``, ISO)."""

    kind = "time"

    def normalize(self, value: Any) -> Ticks:
        return normalize_time(value)

    def compare(self, expected: Ticks, given: Ticks, *, path: str, show_expected: bool = True) -> Comparison:
        if expected == given:
            return Comparison(1.0)
        message = (f"expected {format_time(expected)}, got {format_time(given)}" if show_expected
                   else f"{format_time(given)} is not the expected time")
        return Comparison(0.0, (Finding("wrong_time", path, message),))


# -- choices -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unknown:
    """A spelling that names none of the choices, kept as written."""

    text: str


class ChoiceComparator(Comparator):
    """One of ``choices``; case, spaces, hyphens, underscores and the listed synonyms are ignored."""

    kind = "choice"

    def __init__(self, spec: Mapping[str, Any], context: CompareContext) -> None:
        super().__init__(spec, context)
        self.choices = {str(k): tuple(str(s) for s in v) for k, v in spec["choices"].items()}
        # The spelling index is built once (normalize_choice would rebuild it for every
        # value), with the same rules: synonyms, then the usual abbreviations.
        self.index: dict[str, str] = {}
        for canonical, synonyms in self.choices.items():
            for spelling in (canonical, *synonyms):
                self.index[choice_key(spelling)] = canonical
        by_key = {choice_key(c): c for c in self.choices}
        for abbreviation, target in ABBREVIATIONS.items():
            if target in by_key and abbreviation not in self.index:
                self.index[abbreviation] = by_key[target]

    def read_choice(self, value: Any) -> str | Unknown:
        if not isinstance(value, str):
            raise NormalizeError(f"expected one of {', '.join(self.choices)}, got {show_value(value)}")
        found = self.index.get(choice_key(value[:MAX_CHOICE_TEXT]))
        return found if found is not None else Unknown(value.strip()[:80])

    def normalize(self, value: Any) -> str | Unknown:
        return self.read_choice(value)

    def compare(self, expected: Any, given: Any, *, path: str, show_expected: bool = True) -> Comparison:
        if isinstance(given, str) and given == expected:
            return Comparison(1.0)
        if isinstance(given, Unknown):
            message = f"{show_value(given.text)} is not one of {', '.join(self.choices)}"
            return Comparison(0.0, (Finding("unknown_choice", path, message),))
        message = f"expected {expected}, got {given}" if show_expected else f"{given} is not the right choice"
        return Comparison(0.0, (Finding("wrong_choice", path, message),))


@dataclass(frozen=True)
class ChoiceSetValue:
    """Choices in the order given (duplicates kept); unreadable items in ``bad``."""

    items: tuple[tuple[int, str | Unknown], ...]
    bad: tuple[NormalizeError, ...] = ()

    @property
    def known(self) -> list[str]:
        return [c for _, c in self.items if isinstance(c, str)]


class ChoiceSetComparator(ChoiceComparator):
    """An unordered set of choices.

    Without ``pick``: exactly the expected set; score = |given ∩ expected| / |given ∪
    expected| (unknown and repeated items count in the union).  With ``pick: n``: any n
    distinct members of the expected set; score = distinct right items (at most n) / n,
    less one item for each wrong one beyond n.
    """

    kind = "choice_set"

    def is_blank(self, value: Any) -> bool:
        if isinstance(value, list | tuple):
            return all(is_blank(v) for v in value)
        return is_blank(value)

    def normalize(self, value: Any) -> ChoiceSetValue:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise NormalizeError(f"expected a list of choices, got {show_value(value)}")
        items, bad = [], []
        for i, item in enumerate(value):
            if is_blank(item):
                continue
            try:
                items.append((i, self.read_choice(item)))
            except NormalizeError as exc:
                bad.append(exc.at(i))
        return ChoiceSetValue(tuple(items), tuple(bad))

    def compare(self, expected: Any, given: Any, *, path: str, show_expected: bool = True) -> Comparison:
        wanted = list(dict.fromkeys(expected.known if isinstance(expected, ChoiceSetValue) else expected))
        pick = self.spec.get("pick")
        findings: list[Finding] = []
        counted: set[str] = set()
        wrong = 0
        for index, choice in given.items:
            where = f"{path}[{index}]"
            if isinstance(choice, Unknown):
                wrong += 1
                findings.append(Finding("unknown_choice", where,
                                        f"{show_value(choice.text)} is not one of {', '.join(self.choices)}"))
            elif choice in counted:
                wrong += 1
                findings.append(Finding("duplicate_choice", where, f"{choice} is given twice (synonyms count once)"))
            elif choice not in wanted:
                wrong += 1
                findings.append(Finding("wrong_choice", where, f"{choice} is not right here"))
            else:
                counted.add(choice)
        for problem in given.bad:
            wrong += 1
            findings.append(Finding("unreadable_choice", path + problem.path, problem.describe(path)))
        if pick:
            right = min(len(counted), pick)
            surplus = max(0, len(counted) - pick)
            fraction = max(0, right - max(0, wrong - surplus)) / pick
            if len(counted) < pick:
                findings.append(Finding("too_few_choices", path,
                                        f"{pick} different choices are asked for, {len(counted)} given right"))
        else:
            union = len(set(wanted) | counted) + wrong
            fraction = len(counted) / union if union else 1.0
            missing = [c for c in wanted if c not in counted]
            if missing:
                message = (f"missing: {', '.join(missing)}" if show_expected
                           else f"{len(missing)} expected choice{'s are' if len(missing) != 1 else ' is'} missing")
                findings.append(Finding("missing_choice", path, message))
        return Comparison(fraction, tuple(findings))


# -- windows with their events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """One event (by id when it could be resolved, else as written) placed in a window."""

    index: tuple[int, int]
    window_start: Ticks
    event_id: str | None
    written: str


@dataclass(frozen=True)
class WindowsEventsValue:
    placements: tuple[Placement, ...]
    windows: tuple[tuple[int, Ticks], ...]
    bad: tuple[NormalizeError, ...] = ()


class WindowsEventsComparator(Comparator):
    """Windows (by their start), each with the events in it; events by id or by (user, amount).

    Score: events placed right / (events expected + events given that are misplaced,
    unknown, repeated or unreadable, counted once each).
    """

    kind = "windows_events"

    def __init__(self, spec: Mapping[str, Any], context: CompareContext) -> None:
        super().__init__(spec, context)
        self.window_field = str(spec["window_field"])
        self.events_field = str(spec["events_field"])
        self.identity = tuple(spec["event_identity"])

    def normalize(self, value: Any) -> WindowsEventsValue:
        if not isinstance(value, list | tuple):
            raise NormalizeError("expected a list of windows, each with a window_start and its events")
        placements, windows, bad = [], [], []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                bad.append(NormalizeError(f"expected a window object, got {show_value(item)}", (i,)))
                continue
            try:
                start = normalize_window_start(item.get(self.window_field))
            except NormalizeError as exc:
                bad.append(exc.at(i, self.window_field))
                continue
            windows.append((i, start))
            events = item.get(self.events_field)
            if events is None:
                events = []
            if not isinstance(events, list | tuple):
                bad.append(NormalizeError(f"expected a list of events, got {show_value(events)}",
                                          (i, self.events_field)))
                continue
            for j, ref in enumerate(events):
                try:
                    placements.append(self._placement((i, j), start, ref))
                except NormalizeError as exc:
                    bad.append(exc.at(i, self.events_field, j))
        return WindowsEventsValue(tuple(placements), tuple(windows), tuple(bad))

    def _placement(self, index: tuple[int, int], start: Ticks, ref: Any) -> Placement:
        event = normalize_event_ref(ref, event_ids=self.context.event_ids)
        if isinstance(event, EventById):
            if "event_id" not in self.identity:
                raise NormalizeError("name the event by its user and amount here")
            return Placement(index, start, event.event_id, event.event_id)
        if "user_id+amount" not in self.identity:
            raise NormalizeError("name the event by its id here")
        candidates = [e for e in self.context.events if e.user_id == event.user_id and e.amount == event.amount]
        if len(candidates) > 1:
            inside = [e for e in candidates if self.context.window(start).contains(e.event_time)]
            candidates = inside or candidates[:1]
        found = candidates[0].event_id if candidates else None
        return Placement(index, start, found, event.describe())

    def shows(self, mistaken: WindowsEventsValue, expected: WindowsEventsValue, given: WindowsEventsValue) -> bool:
        """Every event the mistake places differently (or adds, or leaves out) is placed as the mistake has it."""
        def where(value: WindowsEventsValue) -> dict[str | None, Ticks]:
            return {p.event_id: p.window_start for p in value.placements if p.event_id is not None}

        wrong, right, got = where(mistaken), where(expected), where(given)
        differing = [e for e in dict.fromkeys([*wrong, *right]) if wrong.get(e) != right.get(e)]
        return bool(differing) and all(got.get(e) == wrong.get(e) for e in differing)

    def describe_event(self, event_id: str) -> str:
        event = self.context.event(event_id)
        return event.describe() if event is not None else event_id

    def compare(self, expected: WindowsEventsValue, given: WindowsEventsValue, *, path: str,
                show_expected: bool = True) -> Comparison:
        home = {p.event_id: p.window_start for p in expected.placements}
        findings: list[Finding] = []
        seen: set[str] = set()
        right = wrong = 0
        for p in given.placements:
            where = f"{path}[{p.index[0]}].{self.events_field}[{p.index[1]}]"
            window = self.context.window(p.window_start)
            if p.event_id is None:
                wrong += 1
                findings.append(Finding("unknown_event", where, f"{p.written} in {window} is none of the events"))
            elif p.event_id in seen:
                wrong += 1
                findings.append(Finding("duplicate_event", where,
                                        f"{self.describe_event(p.event_id)} is given more than once"))
            elif p.event_id not in home:
                seen.add(p.event_id)
                wrong += 1
                findings.append(Finding("extra_event", where,
                                        f"{self.describe_event(p.event_id)} in {window} is not part of this answer"))
            elif home[p.event_id] != p.window_start:
                seen.add(p.event_id)  # an expected event in the wrong window: counted once, in len(home)
                message = f"{self.describe_event(p.event_id)} is not in {window}"
                if show_expected:
                    message += f"; it belongs to {self.context.window(home[p.event_id])}"
                findings.append(Finding("misplaced_event", where, message))
            else:
                seen.add(p.event_id)
                right += 1
        for event_id, start in home.items():
            if event_id not in seen:
                message = f"{self.describe_event(event_id)} is missing"
                if show_expected:
                    message += f"; it belongs to {self.context.window(start)}"
                findings.append(Finding("missing_event", path, message))
        given_windows = {s for _, s in given.windows}
        for start in dict.fromkeys(home.values()):
            if start not in given_windows and show_expected:
                findings.append(Finding("missing_window", path, f"window {self.context.window(start)} is missing"))
        for problem in given.bad:
            wrong += 1
            findings.append(Finding("unreadable_event", path + problem.path, problem.describe(path)))
        total = len(home) + wrong
        fraction = 1.0 if total == 0 else right / total
        return Comparison(fraction, tuple(findings))


# -- free text ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Concept:
    """One concept of a rubric: its alternatives as ``(hint, pattern)``, and its phrases (folded).

    ``hint`` is a lower-case literal every match of the pattern contains (or ``None``): a
    cheap substring test that skips the regex search for almost every alternative.
    """

    id: str
    description: str
    weight: float
    alternatives: tuple[tuple[str | None, re.Pattern[str]], ...] = ()
    phrases: tuple[str, ...] = ()

    def present(self, text: str, lowered: str | None, folded: str) -> bool:
        """``lowered`` is the text in lower case when it is ASCII (then hints apply exactly), else ``None``."""
        for hint, pattern in self.alternatives:
            if (hint is None or lowered is None or hint in lowered) and pattern.search(text):
                return True
        return any(p in folded for p in self.phrases)


@dataclass(frozen=True)
class TextsValue:
    """Free text; a ``[*]`` field gives one text per item."""

    texts: tuple[str, ...] = field(default=())


class TextComparator(Comparator):
    """Free text against the concept rubric of the exercise data.

    A concept is present when one of its keywords occurs as a whole word, one of its
    phrases occurs (case and runs of whitespace ignored) or one of its regexes matches
    (case-insensitive).  Score = weight present / total weight.  Fewer than
    ``min_concepts`` present: ``needs_review`` (the rubric cannot decide; an instructor
    will).  For a list field the rubric scores each item; the best ``n`` items count,
    ``n`` being the number of model answers.
    """

    kind = "text"

    def __init__(self, spec: Mapping[str, Any], context: CompareContext, items: int = 1) -> None:
        super().__init__(spec, context)
        self.min_concepts = int(spec["min_concepts"])
        self.items = max(1, items)
        self.concepts = tuple(
            Concept(id=c["id"], description=c["description"], weight=float(c["weight"]),
                    alternatives=_concept_alternatives(c.get("keywords", ()), c.get("regexes", ())),
                    phrases=tuple(" ".join(p.casefold().split()) for p in c.get("phrases", ())))
            for c in spec["concepts"]
        )
        self.uses_phrases = any(c.phrases for c in self.concepts)
        self.total_weight = sum(c.weight for c in self.concepts) or 1.0

    def is_blank(self, value: Any) -> bool:
        if isinstance(value, list | tuple):
            return all(is_blank(v) for v in value)
        return is_blank(value)

    def normalize(self, value: Any) -> TextsValue:
        values = value if isinstance(value, list | tuple) else [value]
        texts = []
        for i, item in enumerate(values):
            if item is None:
                texts.append("")
            elif isinstance(item, str):
                texts.append(item[:MAX_RUBRIC_TEXT])
            else:
                raise NormalizeError(f"expected text, got {show_value(item)}", (i,) if values is value else ())
        return TextsValue(tuple(texts))

    def concepts_in(self, text: str) -> list[Concept]:
        folded = " ".join(text.casefold().split()) if self.uses_phrases else ""
        lowered = text.lower() if text.isascii() else None
        return [c for c in self.concepts if c.present(text, lowered, folded)]

    def compare(self, expected: Any, given: TextsValue, *, path: str, show_expected: bool = True) -> Comparison:
        scored = []
        for i, text in enumerate(given.texts):
            where = f"{path}[{i}]" if len(given.texts) > 1 or self.items > 1 else path
            found = self.concepts_in(text) if text.strip() else []
            weight = sum(c.weight for c in found) / self.total_weight
            scored.append((weight, found, where, text))
        best = sorted(scored, key=lambda s: -s[0])[: self.items]
        findings: list[Finding] = []
        review = False
        for _weight, found, where, text in best:
            if not text.strip():
                findings.append(Finding("no_text", where, "no text given"))
                continue
            absent = [c for c in self.concepts if c not in found]
            if len(found) < self.min_concepts:
                review = True
                findings.append(Finding("needs_review", where,
                                        f"the rubric found {len(found)} of the {self.min_concepts} concepts it needs "
                                        "to decide; an instructor will review this answer"))
            if absent and show_expected:
                findings.append(Finding("missing_concept", where,
                                        "not mentioned: " + "; ".join(c.description for c in absent)))
            elif absent:  # the rubric's concepts would give the model answer away
                findings.append(Finding("missing_concept", where,
                                        f"{len(absent)} of the {len(self.concepts)} points the rubric looks for "
                                        f"{'are' if len(absent) != 1 else 'is'} not mentioned"))
        if len(given.texts) < self.items:
            findings.append(Finding("too_few_texts", path, f"{self.items} explanations are asked for, "
                                                           f"{len(given.texts)} given"))
        fraction = sum(w for w, *_ in best) / self.items
        return Comparison(min(1.0, fraction), tuple(findings), review)

    def same(self, expected: Any, given: Any) -> bool:
        return False  # free text is never recognised as a literal mistake


_META = set("\\.^$*+?{}[]|()")
_QUANTIFIERS = set("?*{")


def literal_hint(pattern: str) -> str | None:
    """A lower-case ASCII literal that every match of ``pattern`` contains, or ``None`` if unsure.

    The literal run at the start of the pattern after word-boundary assertions (``\\b``,
    ``(?<!\\w)``); a character made optional by a quantifier is left out.  Patterns with
    alternation or inline flags at top level give ``None``.
    """
    rest = pattern
    for prefix in ("(?<!\\w)", "\\b"):
        while rest.startswith(prefix):
            rest = rest[len(prefix):]
    if "|" in pattern or pattern.startswith("(?"):
        return None
    run = []
    i = 0
    while i < len(rest):
        char = rest[i]
        if char == "\\" and i + 1 < len(rest) and not rest[i + 1].isalnum():
            char, step = rest[i + 1], 2
        elif char in _META:
            break
        else:
            step = 1
        if i + step < len(rest) and rest[i + step] in _QUANTIFIERS:
            break
        run.append(char)
        i += step
    hint = "".join(run).lower()
    return hint if hint and hint.isascii() else None


def _concept_alternatives(keywords: Iterable[str], regexes: Iterable[str]) -> tuple[tuple[str | None, re.Pattern[str]],
                                                                                       ...]:
    """Each keyword (as a whole word) and regex, case-insensitive, with its literal hint."""
    out: list[tuple[str | None, re.Pattern[str]]] = []
    for keyword in keywords:
        hint = keyword.lower()
        out.append((hint if hint.isascii() else None, re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)))
    for regex in regexes:
        out.append((literal_hint(regex), re.compile(regex, re.IGNORECASE)))
    return tuple(out)


# -- choosing a comparator ------------------------------------------------------------------------------------

COMPARATORS: Mapping[str, type[Comparator]] = {
    c.kind: c
    for c in (RowsComparator, RowComparator, NumberComparator, TimeComparator, ChoiceComparator,
              ChoiceSetComparator, WindowsEventsComparator, TextComparator)
}


def comparator_for(spec: Mapping[str, Any], context: CompareContext, *, items: int = 1) -> Comparator:
    """The comparator of a part's ``compare`` spec; ``items`` is the number of model answers of a text list."""
    kind = spec["kind"]
    if kind not in COMPARATORS:
        raise ValueError(f"unknown comparison kind {kind!r} (known: {', '.join(COMPARATORS)})")
    if kind == "text":
        return TextComparator(spec, context, items)
    return COMPARATORS[kind](spec, context)


# -- spelling values in messages ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def display(value: Any) -> Any:
    """A normal form as plain JSON-ready data (for ``expected`` and for diagnosis templates)."""
    if isinstance(value, RowsValue):
        return [{"window_start": format_time(r.window_start_ms), "user_id": r.user_id,
                 "sum_amount": decimal_json(r.sum_amount)} for _, r in value.rows]
    if isinstance(value, Decimal):
        return decimal_json(value)
    if isinstance(value, ChoiceSetValue):
        return value.known
    if isinstance(value, Unknown):
        return value.text
    return value

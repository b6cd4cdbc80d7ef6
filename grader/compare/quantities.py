"""Numbers within a tolerance and in a unit, and times of day.

The tolerance and unit are stated to the student in the feedback (PrairieLearn's
``pl-number-input`` does the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from grader.compare.base import Comparator, CompareContext, Comparison
from grader.normalize import normalize_time
from grader.results import Finding
from grader.units import UNITS, Dimension, normalize_quantity, parse_quantity
from reference.events import decimal_text
from reference.timestamps import Ticks, format_time


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

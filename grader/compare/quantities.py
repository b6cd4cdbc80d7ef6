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
            slack = getattr(given, "resolution", 0) + getattr(expected, "resolution", 0)
            return abs(given - expected) <= self.width(expected) + slack
        return expected == given

    @property
    def stated(self) -> str:
        """The tolerance in words, empty when it is exact."""
        if self.relative:
            return f"within ±{decimal_text(self.relative * 100)} %"
        if self.absolute:
            return f"within ±{decimal_text(self.absolute)}"
        return ""


#: The most a written value's rounding may widen a comparison, as a share of the value: a
#: value given to three significant digits or more ("0.0333 h"), never a coarse one ("0.1 h").
MAX_RESOLUTION_SHARE = Decimal("0.01")


class Measured(Decimal):
    """A value converted from a coarser unit than the field's, with the rounding its digits allow.

    ``0.0333 h`` is 1.998 min, but a student who writes four decimals of an hour means
    anything from 0.03325 h to 0.03335 h: ``resolution`` is that half unit of the last
    written digit, in the field's unit (0.003 min), and comparisons widen by it.
    """

    resolution: Decimal

    def __new__(cls, value: Decimal, resolution: Decimal) -> Measured:
        made = super().__new__(cls, value)
        made.resolution = resolution
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (Measured, (Decimal(self), self.resolution))


def measured(magnitude: Decimal, factor: Fraction, value: Decimal) -> Decimal:
    """``value`` (``magnitude`` times ``factor``), as :class:`Measured` when its digits are fine
    enough for their rounding to count (see :data:`MAX_RESOLUTION_SHARE`), else as it is."""
    exponent = magnitude.as_tuple().exponent
    if factor <= 1 or not value or not isinstance(exponent, int):
        return value
    resolution = Decimal(5).scaleb(exponent - 1) * Decimal(factor.numerator) / Decimal(factor.denominator)
    if resolution > abs(value) * MAX_RESOLUTION_SHARE:
        return value
    return Measured(value, resolution)


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
        converted = normalize_quantity(value, self.dimension, default_unit=self.unit, units=self.units)
        return measured(quantity.magnitude, factor, converted)

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

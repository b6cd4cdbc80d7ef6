"""Quantities with units: dimensions, the unit tables, and reading ``3 min`` or ``80 KB``.

A quantity is an exact :class:`~fractions.Fraction` in its dimension's base unit, so
``180 s`` and ``3 min`` compare equal; the tables say which spellings each unit has.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from grader.normalize import NormalizeError, as_text, normalize_number, plain_number, shown_working
from grader.quoting import show_value


class Dimension(enum.StrEnum):
    """What a quantity measures, and so its base unit: minutes, bytes or events."""

    DURATION = "duration"
    SIZE = "size"
    COUNT = "count"

    @property
    def base_unit(self) -> str:
        return {"duration": "min", "size": "bytes", "count": "events"}[self.value]

    @property
    def expected(self) -> str:
        return {"duration": "a duration", "size": "a size in bytes", "count": "a number of events"}[self.value]

    @property
    def seen_as(self) -> str:
        return {"duration": "a duration", "size": "bytes", "count": "a count of events"}[self.value]


def _units(*groups: tuple[Iterable[str], Fraction | int]) -> dict[str, Fraction]:
    return {name: Fraction(factor) for names, factor in groups for name in names}


#: Unit spellings (compared in lower case) -> factor to the dimension's base unit.
UNITS: Mapping[Dimension, Mapping[str, Fraction]] = {
    Dimension.DURATION: _units(
        (("ms", "msec", "msecs", "millisecond", "milliseconds"), Fraction(1, 60_000)),
        (("s", "sec", "secs", "second", "seconds"), Fraction(1, 60)),
        (("m", "min", "mins", "minute", "minutes"), 1),
        (("h", "hr", "hrs", "hour", "hours"), 60),
        (("d", "day", "days"), 24 * 60),
    ),
    # Sizes: KB = 1000 bytes, KiB = 1024 (SI and IEC prefixes, as the contract says).  In
    # lower case "kb" and "kB" are the same spelling; bits are spelled out when meant.
    Dimension.SIZE: _units(
        (("b", "byte", "bytes"), 1),
        (("bit", "bits"), Fraction(1, 8)),
        (("kb", "kilobyte", "kilobytes"), 1000),
        (("kib", "kibibyte", "kibibytes"), 1024),
        (("mb", "megabyte", "megabytes"), 1000**2),
        (("mib", "mebibyte", "mebibytes"), 1024**2),
        (("gb", "gigabyte", "gigabytes"), 1000**3),
        (("gib", "gibibyte", "gibibytes"), 1024**3),
    ),
    Dimension.COUNT: _units((("event", "events", "click", "clicks", "record", "records"), 1)),
}


@dataclass(frozen=True)
class Quantity:
    """A number as written with its unit (``None`` when no unit was written)."""

    magnitude: Decimal
    unit: str | None


_QUANTITY = re.compile(
    r"^(?P<number>[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>[^\d\s.,+-][^\d]*?)?\.?$")


#: Characters of a worked answer (``= 347.2``, ``(100000 / 288)``, ``≈``): the unit cannot hold them.
_WORKING = re.compile(r"[()=≈~≃≥]")
#: ``100 000 events``: a number with thousands separated by spaces, then the rest.
_SPACED_NUMBER = re.compile(r"^(?P<number>[-+]?\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?:\.\d+)?)(?P<rest>\D*)$")
#: Number words, for the small counts and durations an answer spells out ("two minutes").
NUMBER_WORDS: Mapping[str, int] = {word: n for n, word in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"))}
_WORDED = re.compile(r"^(?P<word>[A-Za-z]+)(?:[\s-]+(?P<unit>[^\d]+?))?\.?$")


def parse_quantity(value: Any) -> Quantity:
    """Split ``"3 min"`` into ``Quantity(Decimal(3), "min")``; a number alone has no unit.

    The common forms are tried first; then a worked answer (``"100000 / 288 = 347.2"``,
    ``"347.2 events (100000 / 288)"``), an estimate (``"≈ 347"``, ``"≥ 2 min"``, ``"about 3
    min"``), thousands separated by spaces (``"100 000 events"``) and number words (``"two
    minutes"``).  Spaces around ``/`` in a unit are dropped (``events / window``).
    """
    if not isinstance(value, str):
        return Quantity(normalize_number(value), None)
    text = as_text(value, "a quantity", 'write it like "3 min" or "40000 bytes"')
    match = _QUANTITY.match(text)
    if match is not None and not (match["unit"] and _WORKING.search(match["unit"])):
        number, unit = match["number"], match["unit"]
    else:
        number, unit = _worked_quantity(text, value)
    try:
        magnitude = normalize_number(number) if isinstance(number, str) else Decimal(number)
    except NormalizeError as exc:
        raise NormalizeError(f"{show_value(value)}: {exc.message}") from None
    return Quantity(magnitude, re.sub(r"\s*/\s*", "/", " ".join(unit.split())) if unit else None)


def _worked_quantity(text: str, value: Any) -> tuple[str | int, str | None]:
    """The number and unit of the lenient forms of :func:`parse_quantity`, or the refusal."""
    rest = shown_working(text)
    spaced = _SPACED_NUMBER.match(rest)
    if spaced:
        rest = (plain_number(spaced["number"]) or "") + spaced["rest"]
    match = _QUANTITY.match(rest)
    if match is not None and not (match["unit"] and _WORKING.search(match["unit"])):
        return match["number"], match["unit"]
    worded = _WORDED.match(rest)
    if worded and worded["word"].lower() in NUMBER_WORDS:
        return NUMBER_WORDS[worded["word"].lower()], worded["unit"]
    raise NormalizeError(f"expected a number with an optional unit, like \"3 min\", got {show_value(value)}")


def normalize_quantity(value: Any, dimension: Dimension | str, *, default_unit: str | None = None,
                       units: Mapping[str, Fraction | Decimal | int | str] | None = None) -> Decimal:
    """A quantity in the base unit of ``dimension`` (minutes, bytes or events), exactly.

    A number without a unit is in ``default_unit`` (the base unit unless given).  ``units``
    replaces the dimension's table of spellings -> factors (factors may be written as text,
    ``"1/60"``, as in the exercise data).  A unit of another dimension is refused naming it:
    ``"40 KB": expected a duration, got bytes ("KB")``.
    """
    dimension = Dimension(dimension)
    table = _unit_table(units) if units is not None else UNITS[dimension]
    quantity = parse_quantity(value)
    unit = quantity.unit if quantity.unit is not None else (default_unit or dimension.base_unit)
    factor = table.get(unit.lower())
    if factor is None:
        factor = _base_table(dimension, table, unit)
    if factor is None:
        for other, other_table in UNITS.items():
            if other is not dimension and unit.lower() in other_table:
                raise NormalizeError(f"{show_value(value)}: expected {dimension.expected}, got {other.seen_as} "
                                     f"({show_value(unit)})")
        known = ", ".join(dict.fromkeys(list(table)[:12]))
        raise NormalizeError(f"{show_value(value)}: unknown unit {show_value(unit)}; use one of {known}")
    return _decimal(Fraction(quantity.magnitude) * factor)


def _base_table(dimension: Dimension, table: Mapping[str, Fraction], unit: str) -> Fraction | None:
    # An override table may omit the base unit's own spelling; it always means factor 1.
    return Fraction(1) if unit.lower() == dimension.base_unit and unit.lower() not in table else None


def _unit_table(units: Mapping[str, Fraction | Decimal | int | str]) -> dict[str, Fraction]:
    table: dict[str, Fraction] = {}
    for name, factor in units.items():
        try:
            table[str(name).lower()] = Fraction(str(factor)) if isinstance(factor, str) else Fraction(factor)
        except (ValueError, ZeroDivisionError, TypeError) as exc:
            raise ValueError(f"unit {name!r}: bad factor {factor!r}: {exc}") from None  # the caller's data
    return table


def _decimal(value: Fraction) -> Decimal:
    """A Fraction as a Decimal: exact when it terminates, else to 50 significant digits."""
    with localcontext() as ctx:
        ctx.prec = 50
        return Decimal(value.numerator) / Decimal(value.denominator)

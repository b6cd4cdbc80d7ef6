"""The comparison kinds an exercise part may declare (``compare.kind``), and their comparators.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from grader.compare.base import Comparator, CompareContext
from grader.compare.choices import ChoiceComparator, ChoiceSetComparator, ChoiceSetValue, Unknown
from grader.compare.placements import WindowsEventsComparator
from grader.compare.quantities import NumberComparator, TimeComparator
from grader.compare.rows import RowComparator, RowsComparator, RowsValue
from grader.compare.text import TextComparator
from reference.serialize import decimal_json
from reference.timestamps import format_time

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

"""The comparator's contract: normalize a value, compare two normal forms, say what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from grader.normalize import is_blank
from grader.results import Finding
from reference.events import Event, decimal_text
from reference.timestamps import Ticks
from reference.windows import Window


@dataclass(frozen=True)
class CompareContext:  # not slotted: cached_property needs the instance __dict__
    """What comparators need to know about the data: the events (to name them) and the window size.

    ``asked_windows`` holds the starts of the windows a part asks about, when its question
    names them (``window_starts`` of ``final_rows``); ``None`` means every window is asked
    (rows written on an arrival, a key's row): a row of any window is then judged.
    """

    events: tuple[Event, ...]
    window_size: Ticks
    asked_windows: frozenset[Ticks] | None = None

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


def quoted_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


def plural_s(count: int) -> str:
    return "" if count == 1 else "s"

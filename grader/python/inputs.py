"""The inputs of one call of a student's function, and their form in the sandbox's codec.

A :class:`Case` is one call with its canonical answer, which never leaves the grader:
only the encoded arguments are sent to the sandbox.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from grader.python.exercise import Params
from reference.events import Event
from reference.results import row_text
from reference.timestamps import MINUTE, Ticks, to_datetime
from reference.windows import Tumbling

EPOCH = datetime(1970, 1, 1)


Table = dict[tuple[Ticks, str], Decimal]


@dataclass(frozen=True)
class AssignInput:
    time: Ticks
    size: Ticks


@dataclass(frozen=True)
class LateInput:
    time: Ticks
    watermark: Ticks  # the sheet's convention: M - B
    size: Ticks
    lateness: Ticks


@dataclass(frozen=True)
class StreamInput:
    events: tuple[Event, ...]
    params: Params


@dataclass(frozen=True)
class SinkRow:
    window_start: Ticks
    user_id: str
    sum_amount: Decimal

    def describe(self) -> str:
        return row_text(self.window_start, self.user_id, self.sum_amount)


@dataclass(frozen=True)
class WritesInput:
    writes: tuple[SinkRow, ...]


@dataclass(frozen=True)
class Case:
    """One call of one function with its canonical answer (never sent to the sandbox)."""

    id: str
    function: str
    input: Any
    expected: Any
    visible: bool = False
    encoded: Any = field(default=None, compare=False, repr=False)


def minutes(ticks: Ticks) -> int:
    return ticks // MINUTE


def window_start_of(t: Ticks, size: Ticks) -> Ticks:
    return Tumbling(size).assign(t)[0].start


def event_arg(ev: Event) -> dict[str, Any]:
    return {"event_id": ev.event_id, "user_id": ev.user_id, "event_time": to_datetime(ev.event_time),
            "amount": ev.amount}


@functools.lru_cache(maxsize=1 << 16)
def _iso(t: Ticks) -> str:
    return to_datetime(t).isoformat()


def dt_arg(t: Ticks) -> dict[str, str]:
    """A time in the sandbox codec's form (what ``encode(to_datetime(t))`` gives, faster)."""
    return {"$dt": _iso(t)}


def dec_arg(amount: Decimal) -> dict[str, str]:
    return {"$dec": str(amount)}

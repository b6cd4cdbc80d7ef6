"""What a run returns: emissions, late and dropped events, watermarks and state over time.

Results are data.  Formatting for a terminal or JSON happens at the edge
(:mod:`reference.serialize`, the CLI), never here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from reference.config import RunConfig
from reference.events import Event, decimal_text
from reference.timestamps import Bound, Ticks, format_time
from reference.windows import Window


class EmissionKind(enum.StrEnum):
    """A changelog record: a new row, a new value for a row, or the withdrawal of a row."""

    INSERT = "insert"
    UPDATE = "update"
    RETRACT = "retract"


class Timing(enum.StrEnum):
    """Why a window emitted: the watermark passed its end, a late event, or end of input."""

    ON_TIME = "on_time"
    LATE = "late"
    END_OF_INPUT = "end_of_input"


class LateOutcome(enum.StrEnum):
    ADMITTED = "admitted"
    DROPPED = "dropped"
    SIDE_OUTPUT = "side_output"


@dataclass(frozen=True, slots=True)
class Emission:
    """One record the window operator sends downstream.

    ``on_arrival`` is the 0-based arrival index whose processing caused it (``None`` at
    end of input), ``cause`` that event's id, and ``watermark`` the watermark then.
    ``event_ids`` are the events aggregated into ``value`` (empty for a retraction's old
    value when events are not tracked).
    """

    window: Window
    key: str
    value: Decimal
    kind: EmissionKind
    timing: Timing
    on_arrival: int | None
    cause: str | None
    watermark: Bound
    event_ids: tuple[str, ...] = ()

    @property
    def row(self) -> Row:
        return Row(self.window.start, self.window.end, self.key, self.value)


@dataclass(frozen=True, slots=True, order=True)
class Row:
    """A row of the sink table ``window_agg(window_start, user_id, sum_amount)``."""

    window_start: Ticks
    window_end: Ticks
    user_id: str
    sum_amount: Decimal

    @property
    def key(self) -> tuple[Ticks, str]:
        return (self.window_start, self.user_id)

    def describe(self) -> str:
        """The sheet's notation: ``(10:00, A, 7)``."""
        return row_text(self.window_start, self.user_id, self.sum_amount)


def row_text(window_start: Ticks, user_id: str, sum_amount: Decimal) -> str:
    """A sink row in the sheet's notation, ``(10:00, A, 7)``: the one spelling of a row."""
    return f"({format_time(window_start)}, {user_id}, {decimal_text(sum_amount)})"


@dataclass(frozen=True, slots=True)
class LateEvent:
    """An event that arrived after one of its windows had fired, and what became of it."""

    event: Event
    arrival: int
    window: Window
    watermark: Bound
    outcome: LateOutcome
    reason: str


@dataclass(frozen=True, slots=True)
class WatermarkStep:
    """The watermark after an arrival (and the max event time it was derived from)."""

    arrival: int
    event_id: str
    max_event_time: Bound
    watermark: Bound


@dataclass(frozen=True, slots=True)
class StateSample:
    """Windows held after an arrival: in all, by the arriving key, and the most by any key."""

    arrival: int
    windows_held: int
    keys: int
    max_windows_per_key: int
    bytes: int


@dataclass(frozen=True)
class Run:
    """Everything a run of the engine produced, for any later question about it."""

    config: RunConfig
    events: tuple[Event, ...]
    emissions: tuple[Emission, ...]
    late: tuple[LateEvent, ...]
    watermarks: tuple[WatermarkStep, ...]
    state: tuple[StateSample, ...]
    max_windows_per_key: int
    peak_state_bytes: int

    @property
    def dropped(self) -> tuple[LateEvent, ...]:
        return tuple(x for x in self.late if x.outcome is LateOutcome.DROPPED)

    @property
    def side_output(self) -> tuple[LateEvent, ...]:
        return tuple(x for x in self.late if x.outcome is LateOutcome.SIDE_OUTPUT)

    def final_rows(self) -> tuple[Row, ...]:
        """The upsert sink's rows after applying every emission in order."""
        return apply_changelog(self.emissions)

    def emissions_for(self, window: Window, key: str | None = None) -> tuple[Emission, ...]:
        return tuple(e for e in self.emissions if e.window == window and (key is None or e.key == key))

    def first_emission(self, window: Window) -> Emission | None:
        return next((e for e in self.emissions if e.window == window), None)

    def event(self, event_id: str) -> Event | None:
        return next((e for e in self.events if e.event_id == event_id), None)


def apply_changelog(emissions: tuple[Emission, ...] | list[Emission]) -> tuple[Row, ...]:
    """Upsert semantics: insert/update set the row for (window_start, key); retract deletes it."""
    table: dict[tuple[Ticks, str], Row] = {}
    for e in emissions:
        k = (e.window.start, e.key)
        if e.kind is EmissionKind.RETRACT:
            table.pop(k, None)
        else:
            table[k] = e.row
    return tuple(sorted(table.values()))

"""Windows and window assigners.

A window is the half-open interval ``[start, end)``: an event at ``t == end`` belongs to
the NEXT tumbling window.  Following Beam's ``window.py``, windows are small immutable
values and each assigner is an object with one method, ``assign``.  ``max_timestamp``
(``end - 1 ms``) is the last instant inside the window, which Flink and Beam fire on.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.timestamps import MS, Ticks, format_duration, format_time


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """The half-open event-time interval ``[start, end)``."""

    start: Ticks
    end: Ticks

    @property
    def max_timestamp(self) -> Ticks:
        return self.end - MS

    def contains(self, t: Ticks) -> bool:
        return self.start <= t < self.end

    def __str__(self) -> str:
        return f"[{format_time(self.start)}, {format_time(self.end)})"


@dataclass(frozen=True, slots=True)
class Tumbling:
    """Fixed, non-overlapping windows of ``size``, aligned to the epoch plus ``offset``."""

    size: Ticks
    offset: Ticks = 0

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError("window size must be positive")

    def start_of(self, t: Ticks) -> Ticks:
        # floor(t / s) * s with Python's floor modulo, so negative times align too.
        return t - (t - self.offset) % self.size

    def assign(self, t: Ticks) -> tuple[Window, ...]:
        start = t - (t - self.offset) % self.size
        return (Window(start, start + self.size),)

    def describe(self) -> str:
        return f"tumbling {format_duration(self.size)}"


@dataclass(frozen=True, slots=True)
class Sliding:
    """Windows of ``size`` starting every ``slide``; an event lands in ``size/slide`` of them."""

    size: Ticks
    slide: Ticks
    offset: Ticks = 0

    def __post_init__(self) -> None:
        if self.size <= 0 or self.slide <= 0:
            raise ValueError("window size and slide must be positive")

    def assign(self, t: Ticks) -> tuple[Window, ...]:
        last_start = t - (t - self.offset) % self.slide
        windows = []
        start = last_start
        while start > t - self.size:
            windows.append(Window(start, start + self.size))
            start -= self.slide
        windows.reverse()
        return tuple(windows)

    def describe(self) -> str:
        return f"sliding {format_duration(self.size)} every {format_duration(self.slide)}"


@dataclass(frozen=True, slots=True)
class Sessions:
    """Gap-based windows per key: an event opens ``[t, t + gap)`` and overlapping ones merge.

    Two sessions merge when they overlap or touch (``[0, 5)`` and ``[5, 10)``), as Flink's
    ``TimeWindow.intersects``: ``this.start <= other.end && this.end >= other.start``.
    """

    gap: Ticks

    def __post_init__(self) -> None:
        if self.gap <= 0:
            raise ValueError("session gap must be positive")

    def assign(self, t: Ticks) -> tuple[Window, ...]:
        return (Window(t, t + self.gap),)

    @staticmethod
    def intersects(a: Window, b: Window) -> bool:
        return a.start <= b.end and a.end >= b.start

    def describe(self) -> str:
        return f"sessions with gap {format_duration(self.gap)}"


WindowAssigner = Tumbling | Sliding | Sessions

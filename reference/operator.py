"""The window operator: per-key window state, watermark, firing, lateness, end of input.

One arrival is processed in the order a real operator does it (Flink's
``TimestampsAndWatermarksOperator`` forwards the element before the watermark it
causes): the event is judged against the watermark left by the *previous* arrivals,
added to its window(s), and only then does its event time advance the watermark, which
fires every window whose end it reaches and expires every window past its allowed
lateness.  All boundary decisions are the profile's predicates.

Invariant that keeps the hot path short: after every arrival, every window whose fire
time is at or below the watermark has fired.  So a window state that exists and has
not fired is on time, with no comparison needed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from decimal import Decimal

from reference.config import LatePolicy, RunConfig
from reference.events import Event
from reference.results import Emission, EmissionKind, LateEvent, LateOutcome, Timing
from reference.timestamps import NEG_INF, POS_INF, Bound, Ticks, format_duration, format_time
from reference.windows import Sliding, Tumbling, Window

_ZERO = Decimal(0)


class WindowState:
    """Runtime state of one window: an accumulator per key, and whether it has fired.

    Each accumulator is a list ``[sum, count, emitted_value_or_None, event_ids_or_None]``.
    """

    __slots__ = ("accs", "fired", "window")

    def __init__(self, window: Window) -> None:
        self.window = window
        self.accs: dict[str, list] = {}
        self.fired = False


class WindowOperator:
    """An incremental event-time window aggregation (sum of ``amount`` per user).

    Feed arrivals with :meth:`process`, then call :meth:`finish`.  Emissions and late
    events accumulate in ``emissions`` and ``late``; a streaming caller may drain them
    (the lists are plain lists), which keeps memory bounded by live windows.
    """

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.profile = config.profile
        self.emissions: list[Emission] = []
        self.late: list[LateEvent] = []
        self.max_event_time: Bound = NEG_INF
        self.watermark: Bound = NEG_INF
        self.arrivals = 0
        self._lateness = config.allowed_lateness
        self._policy = config.late_policy
        self._track = config.track_events
        # watermark = M - lag (profile's formula folded into one constant)
        self._wm_lag = self.profile.watermark(0, config.watermark_delay, config.allowed_lateness) * -1
        self._every = config.watermark_every
        w = config.windows
        if isinstance(w, Tumbling | Sliding):
            self._size = w.size
            self._offset = w.offset
            self._slide = w.slide if isinstance(w, Sliding) else None
        # Fixed-size windows are keyed by start; session windows by the Window itself.
        self._states: dict = {}
        self._fire_heap: list[tuple[Ticks, Ticks]] = []  # (fire time, window start)
        self._cleanup_heap: list[tuple[Ticks, Ticks]] = []  # (expiry, window start), fired windows
        self._held_per_key: dict[str, int] = {}
        self._keys_holding: dict[int, int] = {}  # n -> number of keys holding n windows
        self.windows_held = 0
        self.max_windows_per_key_now = 0
        self.max_windows_per_key = 0
        self.peak_windows_held = 0

    # -- windows -----------------------------------------------------------------------

    def _starts(self, t: Ticks) -> Iterable[Ticks]:
        if self._slide is None:
            return (t - (t - self._offset) % self._size,)
        slide, size = self._slide, self._size
        last = t - (t - self._offset) % slide
        # every start s = last - k * slide with s > t - size, i.e. t inside [s, s + size)
        first = last - ((size - (t - last) - 1) // slide) * slide
        return range(first, last + 1, slide)

    # -- arrivals ----------------------------------------------------------------------

    def process(self, ev: Event) -> None:
        """Process one arrival: judge it, aggregate it, then advance the watermark.

        Written for speed, since it runs once per event: tumbling windows skip the
        iterator of starts, and ``_advance`` is entered only when the new watermark
        reaches the head of a heap (for fixed-size windows no heap entry is ever stale,
        so nothing else would happen there).
        """
        i = self.arrivals
        self.arrivals = i + 1
        t = ev.event_time
        states = self._states
        if self._slide is None:
            start = t - (t - self._offset) % self._size
            st = states.get(start)
            if st is not None and not st.fired:
                # On time (the invariant above); the common case, kept short.
                acc = st.accs.get(ev.user_id)
                if acc is None:
                    acc = self._new_acc(st, ev.user_id)
                acc[0] += ev.amount
                acc[1] += 1
                if self._track:
                    acc[3].append(ev.event_id)
            else:
                self._add_slow(ev, i, start, st)
        else:
            for start in self._starts(t):
                st = states.get(start)
                if st is not None and not st.fired:
                    acc = st.accs.get(ev.user_id)
                    if acc is None:
                        acc = self._new_acc(st, ev.user_id)
                    acc[0] += ev.amount
                    acc[1] += 1
                    if self._track:
                        acc[3].append(ev.event_id)
                else:
                    self._add_slow(ev, i, start, st)
        if t > self.max_event_time:
            self.max_event_time = t
        elif self._every == 1:
            return  # the max did not move, so neither does a per-record watermark
        if self._every == 1 or (i + 1) % self._every == 0:
            new = self.max_event_time - self._wm_lag
            if new > self.watermark:
                self.watermark = new
                # Heads are the earliest fire time and expiry: nothing is due before them.
                fire, cleanup = self._fire_heap, self._cleanup_heap
                if (fire and fire[0][0] <= new) or (cleanup and cleanup[0][0] <= new):
                    self._advance(i, ev.event_id)

    def _new_acc(self, st: WindowState, key: str) -> list:
        acc = [_ZERO, 0, None, [] if self._track else None]
        st.accs[key] = acc
        held = self._held_per_key
        n = held.get(key, 0) + 1
        held[key] = n
        hist = self._keys_holding
        if n > 1:
            hist[n - 1] -= 1
        hist[n] = hist.get(n, 0) + 1
        if n > self.max_windows_per_key_now:
            self.max_windows_per_key_now = n
            if n > self.max_windows_per_key:
                self.max_windows_per_key = n
        total = self.windows_held + 1
        self.windows_held = total
        if total > self.peak_windows_held:
            self.peak_windows_held = total
        return acc

    def _release_acc(self, key: str) -> None:
        n = self._held_per_key[key]
        hist = self._keys_holding
        hist[n] -= 1
        if n > 1:
            self._held_per_key[key] = n - 1
            hist[n - 1] += 1
        else:
            del self._held_per_key[key]
        while self.max_windows_per_key_now and not hist.get(self.max_windows_per_key_now):
            self.max_windows_per_key_now -= 1
        self.windows_held -= 1

    def _add_slow(self, ev: Event, i: int, start: Ticks, st: WindowState | None) -> None:
        """An event for a window that has fired or has no state yet."""
        profile, wm = self.profile, self.watermark
        window = st.window if st is not None else Window(start, start + self._size)
        if profile.is_droppable(window.end, self._lateness, wm):
            outcome = LateOutcome.SIDE_OUTPUT if self._policy is LatePolicy.SIDE_OUTPUT else LateOutcome.DROPPED
            self.late.append(LateEvent(ev, i, window, wm, outcome, self._expired_reason(window, wm)))
            return
        late = profile.is_late(window.end, wm)
        if late and self._policy is LatePolicy.DROP:
            reason = (
                f"window {window} fired at watermark {format_time(profile.fire_time(window.end))} "
                f"({profile.fire_rule()}); the watermark is {format_time(wm)} and the late policy is drop"
            )
            self.late.append(LateEvent(ev, i, window, wm, LateOutcome.DROPPED, reason))
            return
        if st is None:
            st = WindowState(window)
            self._states[start] = st
            if late:
                st.fired = True
                heapq.heappush(self._cleanup_heap, (profile.expiry(window.end, self._lateness), start))
            else:
                heapq.heappush(self._fire_heap, (profile.fire_time(window.end), start))
        acc = st.accs.get(ev.user_id)
        if acc is None:
            acc = self._new_acc(st, ev.user_id)
        acc[0] += ev.amount
        acc[1] += 1
        if self._track:
            acc[3].append(ev.event_id)
        if late:
            reason = (
                f"window {window} had fired ({profile.fire_rule()}; watermark {format_time(wm)}) but keeps its "
                f"state for the allowed lateness {format_duration(self._lateness)} ({profile.drop_rule()}, "
                f"expiry {format_time(profile.expiry(window.end, self._lateness))}): late firing"
            )
            self.late.append(LateEvent(ev, i, window, wm, LateOutcome.ADMITTED, reason))
            self._emit(st.window, ev.user_id, acc, Timing.LATE, i, ev.event_id)

    def _expired_reason(self, window: Window, wm: Bound) -> str:
        p = self.profile
        return (
            f"window {window} expired: {p.drop_rule()}, with allowed lateness "
            f"{format_duration(self._lateness)} the expiry is {format_time(p.expiry(window.end, self._lateness))} "
            f"and the watermark is {format_time(wm)}"
        )

    # -- emitting ----------------------------------------------------------------------

    def _emit(self, window: Window, key: str, acc: list, timing: Timing, i: int | None, cause: str | None) -> None:
        ids = tuple(acc[3]) if acc[3] is not None else ()
        wm = self.watermark
        previous = acc[2]
        out = self.emissions
        if previous is None:
            out.append(Emission(window, key, acc[0], EmissionKind.INSERT, timing, i, cause, wm, ids))
        elif self._policy is LatePolicy.RETRACT:
            out.append(Emission(window, key, previous, EmissionKind.RETRACT, timing, i, cause, wm, ()))
            out.append(Emission(window, key, acc[0], EmissionKind.INSERT, timing, i, cause, wm, ids))
        else:
            out.append(Emission(window, key, acc[0], EmissionKind.UPDATE, timing, i, cause, wm, ids))
        acc[2] = acc[0]

    def _fire(self, st: WindowState, timing: Timing, i: int | None, cause: str | None) -> None:
        st.fired = True
        for key in sorted(st.accs):
            self._emit(st.window, key, st.accs[key], timing, i, cause)

    def _purge(self, slot) -> None:
        st = self._states.pop(slot)
        for key in st.accs:
            self._release_acc(key)

    def _advance(self, i: int | None, cause: str | None) -> None:
        """Fire every window the watermark has reached, then expire what is past lateness.

        Heap entries can be stale where session windows merged away; they are skipped.
        """
        wm, profile, lateness = self.watermark, self.profile, self._lateness
        fire_heap, cleanup_heap, states = self._fire_heap, self._cleanup_heap, self._states
        while fire_heap and fire_heap[0][0] <= wm:
            _, slot = heapq.heappop(fire_heap)
            st = states.get(slot)
            if st is None or st.fired:
                continue
            self._fire(st, Timing.ON_TIME, i, cause)
            heapq.heappush(cleanup_heap, (profile.expiry(st.window.end, lateness), slot))
        while cleanup_heap:
            _, slot = cleanup_heap[0]
            st = states.get(slot)
            if st is not None and not profile.is_droppable(st.window.end, lateness, wm):
                break
            heapq.heappop(cleanup_heap)
            if st is not None and st.fired:
                self._purge(slot)

    def finish(self) -> None:
        """End of input: the watermark jumps to plus infinity; every open window fires."""
        self.watermark = POS_INF
        pending = sorted(
            (st for st in self._states.values() if not st.fired), key=lambda st: (st.window.end, st.window.start)
        )
        for st in pending:
            self._fire(st, Timing.END_OF_INPUT, None, None)
        self._fire_heap.clear()
        self._cleanup_heap.clear()
        for slot in list(self._states):
            self._purge(slot)

    def state_bytes(self) -> int:
        model = self.config.state_model
        return self.windows_held * model.bytes_per_window + len(self._held_per_key) * model.bytes_per_key

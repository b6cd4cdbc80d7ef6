"""Session windows: gap-based, per key, merging.

An event at ``t`` opens ``[t, t + gap)``; every held session of the same key that
overlaps or touches it merges into one (Flink's ``MergingWindowSet``).  Lateness is
judged on the merged window, as Flink's ``WindowOperator`` does after
``mergingWindows.addWindow``: ``if (isWindowLate(actualWindow)) { ... continue; }``.

A merged session can start earlier than a row the sink already holds.  Under the
``retract`` policy the sessions merged away are retracted; under ``update`` a row is
only updated where the merged session keeps its start, so an upsert sink keyed by
``window_start`` can keep a stale row: that is what a real job does too.
"""

from __future__ import annotations

import heapq

from reference.config import LatePolicy, RunConfig
from reference.events import Event
from reference.operator import WindowOperator, WindowState
from reference.results import Emission, EmissionKind, LateEvent, LateOutcome, Timing
from reference.timestamps import format_time
from reference.windows import Sessions, Window


class SessionOperator(WindowOperator):
    """The window operator for merging session windows."""

    def __init__(self, config: RunConfig) -> None:
        if not isinstance(config.windows, Sessions):
            raise TypeError("SessionOperator needs session windows")
        super().__init__(config)
        self._gap = config.windows.gap
        self._sessions: dict[str, list[Window]] = {}

    def process(self, ev: Event) -> None:
        i = self.arrivals
        self.arrivals = i + 1
        t, key = ev.event_time, ev.user_id
        profile, wm = self.profile, self.watermark
        proto = Window(t, t + self._gap)
        held = self._sessions.setdefault(key, [])
        merging = [w for w in held if Sessions.intersects(w, proto)]
        merged = Window(min([proto.start, *(w.start for w in merging)]), max([proto.end, *(w.end for w in merging)]))

        if profile.is_droppable(merged.end, self._lateness, wm):
            outcome = LateOutcome.SIDE_OUTPUT if self._policy is LatePolicy.SIDE_OUTPUT else LateOutcome.DROPPED
            self.late.append(LateEvent(ev, i, merged, wm, outcome, self._expired_reason(merged, wm)))
        else:
            late = profile.is_late(merged.end, wm)
            if late and self._policy is LatePolicy.DROP:
                reason = f"session {merged} had fired (watermark {format_time(wm)}) and the late policy is drop"
                self.late.append(LateEvent(ev, i, merged, wm, LateOutcome.DROPPED, reason))
            else:
                self._merge_into(ev, i, key, held, merging, merged, late)
        if not held:
            del self._sessions[key]
        if t > self.max_event_time:
            self.max_event_time = t
        if (i + 1) % self._every == 0:
            new = self.max_event_time - self._wm_lag
            if new > self.watermark:
                self.watermark = new
                self._advance(i, ev.event_id)

    def _merge_into(self, ev, i, key, held, merging, merged, late) -> None:
        total, count, ids, carried = ev.amount, 1, [], None
        for w in merging:
            st = self._states[w]
            acc = st.accs.pop(key)
            self._release_acc(key)
            if not st.accs:
                del self._states[w]
            held.remove(w)
            total += acc[0]
            count += acc[1]
            if acc[3] is not None:
                ids.extend(acc[3])
            if acc[2] is None:
                continue
            if w == merged:
                carried = acc[2]
            elif self._policy is LatePolicy.RETRACT:
                self.emissions.append(
                    Emission(w, key, acc[2], EmissionKind.RETRACT, Timing.LATE, i, ev.event_id, self.watermark, ())
                )
            elif w.start == merged.start:
                carried = acc[2]
        held.append(merged)
        st = self._states.get(merged)
        if st is None:
            st = WindowState(merged)
            self._states[merged] = st
            if late:
                st.fired = True
                heapq.heappush(self._cleanup_heap, (self.profile.expiry(merged.end, self._lateness), merged))
            else:
                heapq.heappush(self._fire_heap, (self.profile.fire_time(merged.end), merged))
        acc = self._new_acc(st, key)
        acc[0], acc[1], acc[2] = total, count, carried
        if acc[3] is not None:
            acc[3].extend(sorted(ids))
            acc[3].append(ev.event_id)
        if late:
            reason = (
                f"session {merged} had fired (watermark {format_time(self.watermark)}); "
                "admitted within the allowed lateness"
            )
            self.late.append(LateEvent(ev, i, merged, self.watermark, LateOutcome.ADMITTED, reason))
            self._emit(merged, key, acc, Timing.LATE, i, ev.event_id)

    def _purge(self, slot) -> None:
        st = self._states[slot]
        for key in st.accs:
            held = self._sessions.get(key)
            if held is not None and slot in held:
                held.remove(slot)
                if not held:
                    del self._sessions[key]
        super()._purge(slot)

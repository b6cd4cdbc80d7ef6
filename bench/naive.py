"""The benchmark's baseline: the same job written the obvious way, with plain dicts.

Tumbling windows of ``size``, sum of ``amount`` per (window, user), the ``flink``
profile's rules written out by hand (SEMANTICS.md):

* watermark = max event time - delay - 1 ms, advanced after every arrival;
* a window ``[s, e)`` fires when ``watermark >= e - 1 ms``;
* an event is dropped when ``e - 1 ms + lateness <= watermark`` (state gone); otherwise,
  if its window has fired, it updates the window and the new sum is upserted at once;
* at end of input every open window fires.

Results go to an upsert sink, ``{window_start: {user_id: sum}}``.  No bookkeeping of
state size, no changelog records, no reasons: this is the floor a real engine's overhead
is measured against, and its rows must equal the engine's.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from reference.events import Event

_ZERO = Decimal(0)


def naive_job(
    events: Iterable[Event], size: int, delay: int, lateness: int = 0
) -> tuple[dict[int, dict[str, Decimal]], int]:
    """Run the job; return the sink and the number of dropped events."""
    sink: dict[int, dict[str, Decimal]] = {}
    open_windows: dict[int, dict[str, Decimal]] = {}  # not fired yet
    kept: dict[int, dict[str, Decimal]] = {}  # fired, held for the allowed lateness
    max_t = None
    wm = float("-inf")
    dropped = 0
    for ev in events:
        t = ev.event_time
        start = t - t % size
        last = start + size - 1  # the window's max timestamp
        if last + lateness <= wm:
            dropped += 1
            continue
        if last <= wm:  # late but within the lateness: late firing, upsert the new sum
            acc = kept.setdefault(start, {})
            value = acc[ev.user_id] = acc.get(ev.user_id, _ZERO) + ev.amount
            sink.setdefault(start, {})[ev.user_id] = value
        else:
            acc = open_windows.get(start)
            if acc is None:
                acc = open_windows[start] = {}
            acc[ev.user_id] = acc.get(ev.user_id, _ZERO) + ev.amount
        if max_t is None or t > max_t:
            max_t = t
            wm = t - delay - 1
            for s in [s for s in open_windows if s + size - 1 <= wm]:
                acc = open_windows.pop(s)
                sink.setdefault(s, {}).update(acc)
                if lateness:
                    kept[s] = acc
            if kept:
                for s in [s for s in kept if s + size - 1 + lateness <= wm]:
                    del kept[s]
    for s in sorted(open_windows):
        sink.setdefault(s, {}).update(open_windows[s])
    return sink, dropped

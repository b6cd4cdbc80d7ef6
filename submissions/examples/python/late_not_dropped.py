"""Week 10 Python answers with a typical mistake: a late event kept at exactly end + L.

The window's state is kept "until the watermark passes end + allowed lateness" (>), so
an event arriving when the watermark equals end + L is still counted; the sheet's e7
(A, 10:01, 1), at watermark 10:08 = 10:05 + 3 min, is kept.  is_late and
window_aggregate fail.  Expected: 4 of 10 (late_not_dropped.expect.json).
"""

from datetime import datetime, timedelta
from decimal import Decimal

MIDNIGHT = datetime(1970, 1, 1)


def assign_window(event_time, size_minutes=5):
    return event_time - (event_time - MIDNIGHT) % timedelta(minutes=size_minutes)


def is_late(event_time, watermark, size_minutes=5, allowed_lateness_minutes=0):
    end = assign_window(event_time, size_minutes) + timedelta(minutes=size_minutes)
    return watermark > end + timedelta(minutes=allowed_lateness_minutes)  # the mistake: > instead of >=


def window_aggregate(events, size_minutes=5, watermark_delay_minutes=2, allowed_lateness_minutes=0):
    delay = timedelta(minutes=watermark_delay_minutes)
    sums = {}
    max_seen = None
    for event in events:
        t = event["event_time"]
        if max_seen is None or not is_late(t, max_seen - delay, size_minutes, allowed_lateness_minutes):
            key = (assign_window(t, size_minutes), event["user_id"])
            sums[key] = sums.get(key, Decimal(0)) + event["amount"]
        max_seen = t if max_seen is None else max(max_seen, t)
    return [{"window_start": s, "user_id": u, "sum_amount": v} for (s, u), v in sums.items()]


def upsert(table, row):
    new = dict(table)
    new[(row["window_start"], row["user_id"])] = row
    return new

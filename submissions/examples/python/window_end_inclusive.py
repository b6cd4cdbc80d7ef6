"""Week 10 Python answers with a typical mistake: windows read as closed at their end.

An event exactly at 10:10 is put in [10:05, 10:10] instead of [10:10, 10:15).  The
helper is reused, so assign_window, is_late and window_aggregate all fail; upsert is
right.  Expected: 2 of 10 (window_end_inclusive.expect.json).
"""

from datetime import datetime, timedelta
from decimal import Decimal

MIDNIGHT = datetime(1970, 1, 1)


def assign_window(event_time, size_minutes=5):
    size = timedelta(minutes=size_minutes)
    offset = (event_time - MIDNIGHT) % size
    if offset == timedelta(0):
        return event_time - size  # "10:10 closes the window [10:05, 10:10]"
    return event_time - offset


def is_late(event_time, watermark, size_minutes=5, allowed_lateness_minutes=0):
    end = assign_window(event_time, size_minutes) + timedelta(minutes=size_minutes)
    return watermark >= end + timedelta(minutes=allowed_lateness_minutes)


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
    table[(row["window_start"], row["user_id"])] = row

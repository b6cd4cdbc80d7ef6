"""Week 10 Python answers: a correct solution (expected: 10 of 10, see correct.expect.json)."""

from datetime import datetime, timedelta
from decimal import Decimal

MIDNIGHT = datetime(1970, 1, 1)


def assign_window(event_time, size_minutes=5):
    """Start of the tumbling window [start, start + size) that holds event_time."""
    size = timedelta(minutes=size_minutes)
    return event_time - (event_time - MIDNIGHT) % size


def is_late(event_time, watermark, size_minutes=5, allowed_lateness_minutes=0):
    """Dropped once the watermark (M - B) has reached the window's end + allowed lateness."""
    end = assign_window(event_time, size_minutes) + timedelta(minutes=size_minutes)
    return watermark >= end + timedelta(minutes=allowed_lateness_minutes)


def window_aggregate(events, size_minutes=5, watermark_delay_minutes=2, allowed_lateness_minutes=0):
    """Per-user sums per window, in arrival order; events past the allowed lateness are dropped."""
    delay = timedelta(minutes=watermark_delay_minutes)
    sums = {}
    max_seen = None
    for event in events:
        t = event["event_time"]
        dropped = max_seen is not None and is_late(t, max_seen - delay, size_minutes, allowed_lateness_minutes)
        if not dropped:
            key = (assign_window(t, size_minutes), event["user_id"])
            sums[key] = sums.get(key, Decimal(0)) + event["amount"]
        if max_seen is None or t > max_seen:
            max_seen = t
    return [{"window_start": start, "user_id": user, "sum_amount": total} for (start, user), total in sums.items()]


def upsert(table, row):
    """One write of the sink: the row for (window_start, user_id), whatever was there."""
    table[(row["window_start"], row["user_id"])] = dict(row)

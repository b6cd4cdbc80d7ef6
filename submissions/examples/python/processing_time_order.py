"""Week 10 Python answers with a typical mistake: events sorted by event time first.

window_aggregate sorts the events by event_time before aggregating, so no event is ever
late and nothing is dropped: arrival (processing-time) order is ignored.  The other
three functions are right.  Expected: 6 of 10 (processing_time_order.expect.json).
"""

from datetime import datetime, timedelta
from decimal import Decimal

MIDNIGHT = datetime(1970, 1, 1)


def assign_window(event_time, size_minutes=5):
    return event_time - (event_time - MIDNIGHT) % timedelta(minutes=size_minutes)


def is_late(event_time, watermark, size_minutes=5, allowed_lateness_minutes=0):
    end = assign_window(event_time, size_minutes) + timedelta(minutes=size_minutes)
    return watermark >= end + timedelta(minutes=allowed_lateness_minutes)


def window_aggregate(events, size_minutes=5, watermark_delay_minutes=2, allowed_lateness_minutes=0):
    delay = timedelta(minutes=watermark_delay_minutes)
    sums = {}
    max_seen = None
    for event in sorted(events, key=lambda e: e["event_time"]):  # the mistake
        t = event["event_time"]
        if max_seen is None or not is_late(t, max_seen - delay, size_minutes, allowed_lateness_minutes):
            key = (assign_window(t, size_minutes), event["user_id"])
            sums[key] = sums.get(key, Decimal(0)) + event["amount"]
        max_seen = t if max_seen is None else max(max_seen, t)
    return [{"window_start": s, "user_id": u, "sum_amount": v} for (s, u), v in sums.items()]


def upsert(table, row):
    table[(row["window_start"], row["user_id"])] = row["sum_amount"]

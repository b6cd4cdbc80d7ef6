"""Exact event time: integer milliseconds, parsing and formatting.

Time is an ``int`` of milliseconds (Beam's ``utils/timestamp.py`` uses integer micros
for the same reason: window boundaries must compare exactly, never as floats).  A bare
clock time such as ``10:04`` is read as that time on day 0 (1970-01-01, UTC), so the
sheet's minute-granularity times and full ISO-8601 timestamps share one axis and
tumbling windows stay aligned to the epoch.

The watermark may also be minus infinity (before the first event) or plus infinity
(end of input); those two values are the floats ``NEG_INF`` / ``POS_INF``, which compare
correctly with any ``int``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

MS = 1
SECOND = 1000 * MS
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

NEG_INF = float("-inf")
POS_INF = float("inf")

Ticks = int
#: A watermark or bound that may be infinite.
Bound = int | float

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*$")
_DURATION_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(ms|msec|s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days)",
    re.I,
)
_UNIT_MS = {
    "ms": MS, "msec": MS,
    "s": SECOND, "sec": SECOND, "secs": SECOND, "second": SECOND, "seconds": SECOND,
    "m": MINUTE, "min": MINUTE, "mins": MINUTE, "minute": MINUTE, "minutes": MINUTE,
    "h": HOUR, "hr": HOUR, "hrs": HOUR, "hour": HOUR, "hours": HOUR,
    "d": DAY, "day": DAY, "days": DAY,
}


class TimeFormatError(ValueError):
    """A timestamp or duration that cannot be read; the message quotes it."""


def parse_time(value: object) -> Ticks:
    """Read an event time: ``HH:MM``, ``HH:MM:SS[.fff]``, ISO-8601, ``datetime`` or ms.

    An ``int`` is taken as milliseconds since the epoch.  ISO strings without an offset
    are UTC; with an offset (or ``Z``) they are converted to UTC.
    """
    if isinstance(value, bool):
        raise TimeFormatError(f"not a time: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return _from_datetime(value)
    if not isinstance(value, str):
        raise TimeFormatError(f"not a time: {value!r}")
    m = _CLOCK.match(value)
    if m:
        h, mi, s, frac = m.groups()
        hours, minutes, seconds = int(h), int(mi), int(s or 0)
        if hours > 23 or minutes > 59 or seconds > 59:
            raise TimeFormatError(f"not a clock time: {value!r}")
        millis = int((frac or "0").ljust(3, "0")[:3])
        return hours * HOUR + minutes * MINUTE + seconds * SECOND + millis
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise TimeFormatError(
            f"not a time: {value!r} (use HH:MM, HH:MM:SS or ISO-8601 like 2024-01-01T10:00:00)"
        ) from None
    return _from_datetime(parsed)


def _from_datetime(value: datetime) -> Ticks:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * DAY) + delta.seconds * SECOND + delta.microseconds // 1000


def to_datetime(ticks: Ticks) -> datetime:
    """The naive UTC ``datetime`` of a tick value (what Python answers exchange)."""
    return (_EPOCH + timedelta(milliseconds=ticks)).replace(tzinfo=None)


def format_time(ticks: Bound) -> str:
    """Format like the sheet: ``10:04`` on day 0, ``10:04:59.999`` when it needs it.

    Times outside day 0 are written as ISO-8601; infinities as ``-inf`` / ``+inf``.
    """
    if ticks == NEG_INF:
        return "-inf"
    if ticks == POS_INF:
        return "+inf"
    ticks = int(ticks)
    day, rem = divmod(ticks, DAY)
    hours, rem = divmod(rem, HOUR)
    minutes, rem = divmod(rem, MINUTE)
    seconds, millis = divmod(rem, SECOND)
    clock = f"{hours:02d}:{minutes:02d}"
    if seconds or millis:
        clock += f":{seconds:02d}"
    if millis:
        clock += f".{millis:03d}"
    if day == 0:
        return clock
    date = (_EPOCH + timedelta(days=day)).date().isoformat()
    return f"{date}T{clock}" if (seconds or millis) else f"{date}T{clock}:00"


def parse_duration(value: object) -> Ticks:
    """Read a duration: ``90s``, ``2m``, ``1h``, ``500ms``, ``2m30s``, ``0``; returns ms.

    A bare number is minutes, as every duration in the sheet is in minutes.
    """
    if isinstance(value, bool):
        raise TimeFormatError(f"not a duration: {value!r}")
    if isinstance(value, int):
        return value * MINUTE
    if not isinstance(value, str):
        raise TimeFormatError(f"not a duration: {value!r}")
    text = value.strip()
    if re.fullmatch(r"\d+", text):
        return int(text) * MINUTE
    total = 0.0
    pos = 0
    for m in _DURATION_PART.finditer(text):
        if text[pos:m.start()].strip():
            break
        total += float(m.group(1)) * _UNIT_MS[m.group(2).lower()]
        pos = m.end()
    else:
        if pos and not text[pos:].strip() and total == int(total):
            return int(total)
    raise TimeFormatError(f"not a duration: {value!r} (write it like 90s, 2m, 1h or 500ms)")


def format_duration(ticks: Bound) -> str:
    """Format a duration in the largest unit that keeps it exact: ``3 min``, ``90 s``."""
    if ticks in (NEG_INF, POS_INF):
        return "unbounded" if ticks == POS_INF else "-unbounded"
    ticks = int(ticks)
    for unit, size in (("h", HOUR), ("min", MINUTE), ("s", SECOND)):
        if ticks and ticks % size == 0:
            return f"{ticks // size} {unit}"
    return f"{ticks} ms" if ticks else "0 min"

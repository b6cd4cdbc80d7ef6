"""Click events: the values the engine consumes.

Arrival order is the order of the sequence given to the engine; it is never derived
from event time.  ``processing_time`` is optional: when present it is the wall-clock
time the event reached the pipeline, which latency figures use.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from reference.timestamps import DAY, HOUR, MINUTE, SECOND, Ticks, TimeFormatError, format_time, parse_time


class EventError(ValueError):
    """An event record that cannot be read; ``where`` names the record."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True, slots=True)
class Event:
    """One click: ``(event_id, user_id, event_time, amount)``, as in the sheet's schema."""

    event_id: str
    user_id: str
    event_time: Ticks
    amount: Decimal
    processing_time: Ticks | None = None

    def describe(self) -> str:
        """The sheet's own notation: ``e3 (A, 10:04, 2)``."""
        return f"{self.event_id} ({self.user_id}, {format_time(self.event_time)}, {self.amount})"


def decimal_text(value: Decimal) -> str:
    """``7`` for an integral amount, ``0.3`` otherwise: no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


def parse_amount(value: object) -> Decimal:
    """An exact ``Decimal`` from a JSON number or numeric string (floats via ``str``)."""
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not an amount: {value!r}") from None
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise ValueError(f"not an amount: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
#: ``YYYY-MM-DD`` -> days since the epoch; a stream spans few dates, so this stays small.
_DAYS: dict[str, int] = {}


def _days(text: str) -> int | None:
    days = _DAYS.get(text)
    if days is None:
        try:
            days = date.fromisoformat(text).toordinal() - _EPOCH_ORDINAL
        except ValueError:
            return None
        if len(_DAYS) >= 4096:
            _DAYS.clear()
        _DAYS[text] = days
    return days


def fast_time(value: str) -> Ticks | None:
    """The common spellings of a time, read with slices; ``None`` for anything else.

    ``HH:MM``, ``HH:MM:SS`` and ``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff][Z|+00:00]`` in ASCII
    digits and in range: the shapes event files actually use.  Every other string (spaces,
    other offsets, out-of-range fields, errors) goes to :func:`parse_time`, so the result
    is always the one ``parse_time`` gives; the regex and ``datetime`` there cost more
    than parsing the event's JSON.
    """
    n = len(value)
    if n == 5:
        if value[2] == ":" and value.isascii() and value[:2].isdigit() and value[3:].isdigit():
            h, m = int(value[:2]), int(value[3:])
            if h < 24 and m < 60:
                return h * HOUR + m * MINUTE
        return None
    if n == 8:
        if value[2] == ":" and value[5] == ":" and value.isascii() and value[:2].isdigit() and value[3:5].isdigit() \
                and value[6:].isdigit():
            h, m, s = int(value[:2]), int(value[3:5]), int(value[6:])
            if h < 24 and m < 60 and s < 60:
                return h * HOUR + m * MINUTE + s * SECOND
        return None
    if n < 19 or value[10] != "T" or value[13] != ":" or value[16] != ":" or not value.isascii():
        return None
    tail = value[19:]
    if tail.endswith("Z"):
        tail = tail[:-1]
    elif tail.endswith("+00:00"):
        tail = tail[:-6]
    if not tail:
        ms = 0
    elif (len(tail) == 4 or len(tail) == 7) and tail[0] == "." and tail[1:].isdigit():
        ms = int(tail[1:4])
    else:
        return None
    hh, mm, ss = value[11:13], value[14:16], value[17:19]
    if not (hh.isdigit() and mm.isdigit() and ss.isdigit()):
        return None
    h, m, s = int(hh), int(mm), int(ss)
    if h > 23 or m > 59 or s > 59:
        return None
    days = _days(value[:10])
    if days is None:
        return None
    return days * DAY + h * HOUR + m * MINUTE + s * SECOND + ms


def event_from_mapping(record: Mapping[str, object], where: str = "event") -> Event:
    """Build an ``Event`` from a dict with the sheet's column names.

    Also accepts ``id``/``user``/``time``/``ts`` for convenience.  ``where`` is used in
    messages (``events.jsonl line 3``).  A record with the sheet's own names, a time in a
    common spelling (:func:`fast_time`) and an integer amount is read on a fast path; the
    answer is the general path's.  User ids are interned: a stream repeats a few thousand
    keys millions of times, and every window and sink row holds one.
    """
    if type(record) is dict:
        event_id = record.get("event_id")
        user_id = record.get("user_id")
        raw_time = record.get("event_time")
        raw_amount = record.get("amount")
        if (
            type(raw_time) is str
            and type(raw_amount) is int
            and type(user_id) is str
            and event_id is not None
            and record.get("processing_time") is None
            and record.get("arrival_time") is None
        ):
            event_time = fast_time(raw_time)
            if event_time is not None:
                return Event(
                    event_id if type(event_id) is str else str(event_id),
                    sys.intern(user_id),
                    event_time,
                    Decimal(raw_amount),
                )
    return _event_from_mapping(record, where)


def _event_from_mapping(record: Mapping[str, object], where: str) -> Event:
    """The general path of :func:`event_from_mapping`: aliases, every time format, errors."""
    if not isinstance(record, Mapping):
        raise EventError(
            where, f"expected an object with event_id, user_id, event_time, amount; got {type(record).__name__}"
        )

    def pick(*names: str, required: bool = True) -> object:
        for name in names:
            if name in record and record[name] is not None:
                return record[name]
        if required:
            raise EventError(where, f"missing field {names[0]!r}")
        return None

    event_id = pick("event_id", "id")
    user_id = pick("user_id", "user", "key")
    raw_time = pick("event_time", "time", "ts", "timestamp")
    raw_amount = pick("amount", "value")
    raw_proc = pick("processing_time", "arrival_time", required=False)
    try:
        event_time = parse_time(raw_time)
        processing_time = None if raw_proc is None else parse_time(raw_proc)
    except TimeFormatError as exc:
        raise EventError(where, str(exc)) from None
    try:
        amount = parse_amount(raw_amount)
    except ValueError as exc:
        raise EventError(where, str(exc)) from None
    return Event(str(event_id), sys.intern(str(user_id)), event_time, amount, processing_time)

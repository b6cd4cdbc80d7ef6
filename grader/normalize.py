"""Normalising answers: every spelling SUBMISSION_FORMAT.md accepts, to one exact value.

Pure functions, no I/O.  Each returns the normal value or raises :class:`NormalizeError`
(a ``ValueError``) whose message a student can act on; nothing else escapes, whatever
the input (the property tests feed them garbage).

- times (:func:`normalize_time`): ``"10:00"``, ``"10:00:00"``, ``"2024-01-01T10:00:00"``
  with or without ``Z`` or an offset -> integer milliseconds (``reference.timestamps``);
  where a window start is asked (:func:`normalize_window_start`) a window written
  ``"[10:00, 10:05)"`` gives its start;
- numbers (:func:`normalize_number`): JSON numbers and numeric strings (``"7"``,
  ``"7.0"``) -> ``Decimal``; no NaN, infinity or booleans;
- quantities (:func:`normalize_quantity`): ``"3 min"``, ``"180 s"``, ``"0.05 h"``,
  ``"40 KB"``, ``"39 KiB"``, ``"40000 bytes"`` -> the base unit of the dimension asked
  for (minutes for a duration, bytes for a size), exactly; KB = 1000 bytes, KiB = 1024;
- choices (:func:`normalize_choice`): case, spaces, hyphens and underscores ignored;
  ``ALO``/``AMO``/``EO``/``EOS`` for the delivery guarantees; the caller's synonyms;
- event references (:func:`normalize_event_ref`): ``"e1"``, ``{"user_id": "B",
  "amount": 3}``, ``["B", 3]``;
- sink rows (:func:`normalize_row`): ``{"window_start", "user_id", "sum_amount"}`` with
  the spellings above, ``window_end`` optional -> a frozen :class:`RowValue`.

Clock times: the exercise data of a sheet are clock times on one day (``10:04``), so by
default a time is read as a time of day (``clock=True``): an ISO timestamp's date is
dropped and its clock time kept as written, offset or not (``2024-01-01T10:00:00+02:00``
is 10:00, the time the student wrote).  ``clock=False`` reads absolute instants exactly as
``reference.timestamps.parse_time`` does (offsets converted to UTC).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from grader.quoting import show_value
from reference.events import decimal_text
from reference.results import row_text
from reference.timestamps import (
    HOUR,
    MINUTE,
    SECOND,
    Ticks,
    TimeFormatError,
    format_duration,
    format_time,
    parse_time,
)

#: Longest text any single value is read from; longer text is refused before parsing.
MAX_TEXT = 200
#: Numbers are refused beyond 10**MAX_EXPONENT (no answer comes near; exactness stays cheap).
MAX_EXPONENT = 60


class NormalizeError(ValueError):
    """A value that is not one of the accepted spellings.

    ``message`` is for the student; ``loc`` is where inside the value it went wrong
    (``(1, "sum_amount")`` for the second row's sum), empty for the value itself.
    ``str(error)`` is ``[1].sum_amount: message``; :meth:`describe` puts a path in front.
    """

    def __init__(self, message: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc

    def at(self, *outer: str | int) -> NormalizeError:
        """The same error, located inside ``outer`` (used while descending into lists and objects)."""
        return NormalizeError(self.message, (*outer, *self.loc))

    @property
    def path(self) -> str:
        return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in self.loc)

    def describe(self, base: str = "") -> str:
        """``answers.ex6.rows[1].sum_amount: expected a number, got "seven"`` for ``base`` ``answers.ex6.rows``."""
        where = (base + self.path).lstrip(".")
        return f"{where}: {self.message}" if where else self.message

    def __str__(self) -> str:
        return self.describe()


def is_blank(value: Any) -> bool:
    """True for an answer left empty as the template leaves it: ``null`` or blank text."""
    return value is None or (isinstance(value, str) and not value.strip())


# -- times ------------------------------------------------------------------------------------------------

_CLOCK = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?$")
#: Spellings tried only once the common forms failed: ``10h05`` (French/German style) and a
#: clock time with a UTC designator, ``10:05:00.000Z`` (what ``toISOString`` leaves after the date).
_CLOCK_H = re.compile(r"^(?P<h>\d{1,2})[hH](?P<m>\d{2})$")
_CLOCK_Z = re.compile(r"^(?P<clock>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)[Zz]$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?$")
_WINDOW = re.compile(r"^[\[(]\s*(?P<start>[^,;\[\]()]+?)\s*[,;]\s*(?P<end>[^,;\[\]()]+?)\s*[\])]$")
#: A window label with a dash, ``10:05-10:10`` or ``10:05–10:10`` (en dash), clock times only
#: (a hyphen inside an ISO date would make the split ambiguous).
_WINDOW_DASH = re.compile(r"^(?P<start>\d{1,2}(?::\d{2}){1,2})\s*(?:-|–|—|to)\s*(?P<end>\d{1,2}(?::\d{2}){1,2})$")
_TIME_HINT = 'write it like "10:00", "10:00:00" or "2024-01-01T10:00:00"'


@dataclass(frozen=True)
class WindowValue:
    """A window as a student wrote it: its start, and its end when they wrote one."""

    start_ms: Ticks
    end_ms: Ticks | None = None


def normalize_time(value: Any, *, clock: bool = True) -> Ticks:
    """A time (``"10:00"``, ``"10:00:00"``, ISO-8601 with or without ``Z``/offset) in ms.

    With ``clock`` (the default) the result is the time of day as written, on day 0,
    the axis of the sheet's events; otherwise the absolute instant (see the module doc).
    Numbers are refused: a bare ``10`` could mean anything.
    """
    if isinstance(value, datetime):
        return _clock_ms(value) if clock else _parse_time(value)
    text = as_text(value, "a time", _TIME_HINT)
    if _CLOCK.match(text):
        return _parse_time(text)
    if _ISO.match(text):
        if not clock:
            return _parse_time(text)
        try:
            stamp = datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text.replace(" ", "T", 1)))
        except (ValueError, OverflowError):
            raise NormalizeError(f"{show_value(value)} is not a valid date and time; {_TIME_HINT}") from None
        return _clock_ms(stamp)
    if match := (_CLOCK_H.match(text) or _CLOCK_Z.match(text)):
        return _parse_time(match["clock"] if "clock" in match.groupdict() else f"{match['h']}:{match['m']}")
    if _WINDOW.match(text) or _WINDOW_DASH.match(text):
        raise NormalizeError(f"{show_value(value)} is a window; a single time is asked here, like \"10:00\"")
    raise NormalizeError(f"{show_value(value)} is not a time; {_TIME_HINT}")


def normalize_window(value: Any, *, clock: bool = True) -> WindowValue:
    """A window written ``"[10:00, 10:05)"`` (either bracket style), ``"10:00-10:05"`` (hyphen or
    en dash) or just its start ``"10:00"``.  The end is kept as written: whether it is the
    start plus the window size is the caller's check (it knows the size)."""
    text = as_text(value, "a window start", _TIME_HINT) if not isinstance(value, datetime) else None
    if text is not None:
        match = _WINDOW.match(text) or _WINDOW_DASH.match(text)
        if match:
            try:
                start = normalize_time(match["start"], clock=clock)
                end = normalize_time(match["end"], clock=clock)
            except NormalizeError as exc:
                raise NormalizeError(f"{show_value(value)}: {exc.message}") from None
            if end <= start:
                raise NormalizeError(f"{show_value(value)}: the window ends before it starts")
            return WindowValue(start, end)
    return WindowValue(normalize_time(value, clock=clock))


def window_size_problem(window: WindowValue, size: Ticks, written: Any) -> NormalizeError | None:
    """The problem with a window written whole (``"10:05-10:12"``) whose end is not its start
    plus the window ``size``, else ``None``: which window is meant is then not clear."""
    if window.end_ms is None or window.end_ms - window.start_ms == size:
        return None
    start = format_time(window.start_ms)
    return NormalizeError(f"{show_value(written)} is not a {format_duration(size)} window: the window starting at "
                          f"{start} is [{start}, {format_time(window.start_ms + size)}); write its start, "
                          f"like \"{start}\"")


def normalize_window_start(value: Any, *, clock: bool = True) -> Ticks:
    """A window start, written as a time or as the whole window ``"[10:00, 10:05)"``."""
    return normalize_window(value, clock=clock).start_ms


def _parse_time(value: Any) -> Ticks:
    try:
        return parse_time(value)
    except (TimeFormatError, ValueError, OverflowError):
        raise NormalizeError(f"{show_value(value)} is not a valid time; {_TIME_HINT}") from None


def _clock_ms(stamp: datetime) -> Ticks:
    return stamp.hour * HOUR + stamp.minute * MINUTE + stamp.second * SECOND + stamp.microsecond // 1000


# -- numbers ----------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
#: Thousands separated by a space (plain, no-break or thin): ``100 000``.
_THOUSANDS_SPACE = re.compile(r"^[-+]?\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?:\.\d+)?$")
#: Words that say a value is an estimate or a bound, read as the value itself: the sheet's own
#: key writes "≥ 2 min" and "≈ 347".  Never "<" or "≤": an upper bound is not the value.
APPROXIMATE = re.compile(r"^(?:≈|~|≃|≥|>=|about|approx\.?|approximately|around|roughly|circa|ca\.)\s*", re.I)
#: ``347.2 (100000 / 288)``: a value followed by its working in brackets.
_EXPLAINED = re.compile(r"^(?P<value>[^()]+?)\s*\([^()]*\)$")


def normalize_number(value: Any) -> Decimal:
    """An exact ``Decimal`` from a JSON number or a numeric string (``7``, ``"7"``, ``"7.0"``).

    ``"1,000"`` (thousands separators) is read as 1000; ``"7,5"`` is refused with a hint.
    Floats are taken by their shortest repr (``0.069`` is ``Decimal("0.069")``).
    """
    if isinstance(value, bool):
        raise NormalizeError(f"expected a number, got {show_value(value)}")
    if isinstance(value, int):
        if value.bit_length() > MAX_EXPONENT * 4:
            raise NormalizeError("the number is too large")
        return _checked(Decimal(value), value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise NormalizeError("expected a finite number (NaN and infinity are not accepted)")
        return _checked(Decimal(repr(value)), value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise NormalizeError("expected a finite number (NaN and infinity are not accepted)")
        return _checked(value, value)
    text = as_text(value, "a number", 'write it like 7 or "7.5"')
    plain = text.replace(",", "") if _THOUSANDS.match(text) else text
    if not _NUMBER.match(plain):
        plain = plain_number(text) or plain
    if not _NUMBER.match(plain):
        if re.fullmatch(r"[-+]?\d+,\d+", text):
            raise NormalizeError(f"expected a number, got {show_value(value)}; use a decimal point, like 7.5")
        raise NormalizeError(f"expected a number, got {show_value(value)}")
    try:
        number = Decimal(plain)
    except (InvalidOperation, ValueError):  # pragma: no cover - the pattern admits only valid literals
        raise NormalizeError(f"expected a number, got {show_value(value)}") from None
    return _checked(number, value)


def shown_working(text: str) -> str:
    """What is left of a worked answer once the working is set aside: the part after the last
    ``=`` (``"100000 / 288 = 347.2"`` -> ``"347.2"``), without a trailing ``(explanation)``
    and an approximation word in front (``≈``, ``~``, ``≥``, ``about``, ``approx.``).

    The sheet asks to show calculations, so these are what a student writes in a number
    field.  Only the shape is set aside; the caller still reads what is left strictly.
    """
    if "=" in text:
        text = text.rsplit("=", 1)[1].strip()
    explained = _EXPLAINED.match(text)
    if explained:
        text = explained["value"]
    return APPROXIMATE.sub("", text, count=1).strip()


def plain_number(text: str) -> str | None:
    """The plain numeral a number's text stands for, or ``None``: the forms of
    :func:`shown_working` and thousands separators (``100,000``, ``100 000``)."""
    text = shown_working(text)
    if _THOUSANDS.match(text):
        return text.replace(",", "")
    if _THOUSANDS_SPACE.match(text):
        return re.sub(r"[ \u00a0\u202f\u2009]", "", text)
    return text if _NUMBER.match(text) else None


def _checked(number: Decimal, original: Any) -> Decimal:
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise NormalizeError(f"{show_value(original)} is out of range for an answer")
    return number


# -- quantities with units ---------------------------------------------------------------------------------


# -- choices ----------------------------------------------------------------------------------------------

#: Abbreviations everyone uses for the delivery guarantees (keys and targets as choice keys).
ABBREVIATIONS: Mapping[str, str] = {
    "alo": "atleastonce",
    "amo": "atmostonce",
    "eo": "exactlyonce",
    "eos": "exactlyonce",
}


def choice_key(text: str) -> str:
    """What is compared: case folded, without spaces, hyphens, underscores and end punctuation."""
    return re.sub(r"[\s_\-]+", "", text.casefold()).strip(".,;:!?\"'`")


def normalize_choice(value: Any, choices: Iterable[str] | Mapping[str, Iterable[str]], *,
                     synonyms: Mapping[str, str] | None = None) -> str:
    """The canonical choice a student's spelling names.

    ``choices`` lists the canonical choices, or maps each to its synonyms (the shape of
    ``compare.choices`` in the exercise data); ``synonyms`` maps more spellings to
    canonical choices.  ``At least once``, ``at_least_once``, ``AT-LEAST-ONCE`` and ``ALO``
    all give ``at-least-once`` when that is a choice.  A table in which one spelling names
    two choices is the caller's bug: ``ValueError``, not :class:`NormalizeError`.
    """
    index = _choice_index(choices, synonyms)
    canonical = list(dict.fromkeys(index.values()))
    if not isinstance(value, str):
        raise NormalizeError(f"expected one of {_list(canonical)}, got {show_value(value)}")
    text = as_text(value, "a choice", f"one of {_list(canonical)}")
    found = index.get(choice_key(text))
    if found is None:
        raise NormalizeError(f"{show_value(value)} is not one of {_list(canonical)}")
    return found


def normalize_choices(values: Any, choices: Iterable[str] | Mapping[str, Iterable[str]], *,
                      synonyms: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """A list of choices, each normalised, in the order given (duplicates kept for the comparator)."""
    if not isinstance(values, list | tuple):
        raise NormalizeError(f"expected a list of choices, got {show_value(values)}")
    index = _choice_index(choices, synonyms)
    out = []
    for position, item in enumerate(values):
        try:
            out.append(normalize_choice(item, index))
        except NormalizeError as exc:
            raise exc.at(position) from None
    return tuple(out)


def _choice_index(choices: Iterable[str] | Mapping[str, Iterable[str]],
                  synonyms: Mapping[str, str] | None) -> dict[str, str]:
    if isinstance(choices, _ChoiceIndex):
        return choices
    index = _ChoiceIndex()

    def add(spelling: str, canonical: str) -> None:
        key = choice_key(spelling)
        if index.get(key, canonical) != canonical:
            raise ValueError(f"choice spelling {spelling!r} names both {index[key]!r} and {canonical!r}")
        index[key] = canonical

    if isinstance(choices, Mapping):
        for canonical, spellings in choices.items():
            add(canonical, canonical)
            for spelling in ([spellings] if isinstance(spellings, str) else spellings or ()):
                add(str(spelling), canonical)
    else:
        for canonical in choices:
            add(canonical, canonical)
    for spelling, canonical in (synonyms or {}).items():
        add(spelling, canonical)
    by_key = {choice_key(c): c for c in list(index.values())}
    for abbreviation, target in ABBREVIATIONS.items():
        if target in by_key and abbreviation not in index:
            index[abbreviation] = by_key[target]
    return index


class _ChoiceIndex(dict[str, str]):
    """A built index (spelling key -> canonical), reused across the items of a list."""


# -- events and users ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventById:
    """An event named by its id, ``"e1"``."""

    event_id: str

    def describe(self) -> str:
        return self.event_id


@dataclass(frozen=True)
class EventByValue:
    """An event named by what it holds, ``(B, 3)``: its user and amount."""

    user_id: str
    amount: Decimal

    def describe(self) -> str:
        return f"({self.user_id}, {decimal_text(self.amount)})"


EventRef = EventById | EventByValue

_EVENT_ID = re.compile(r"^(?P<id>[A-Za-z][\w-]*)\s*(?:\([^()]*\))?$")
_EVENT_PAIR = re.compile(r"^\(?\s*(?P<user>[^,()\s]+)\s*,\s*(?P<amount>[^,()\s]+)\s*\)?$")
_EVENT_HINT = 'write an event as its id "e1", as {"user_id": "B", "amount": 3} or as ["B", 3]'


def normalize_user_id(value: Any) -> str:
    """A user id as in the data (``"A"``): text, trimmed, not empty; case matters."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise NormalizeError(f"expected a user id like \"A\", got {show_value(value)}")
    text = value.strip()
    if not text:
        raise NormalizeError("the user id is empty")
    if len(text) > MAX_TEXT:
        raise NormalizeError("the user id is too long")
    return text


def user_ids_by_case(known: Iterable[str]) -> dict[str, str]:
    """Each user id of the data, by its case-folded spelling, leaving out the ids another id
    of the data differs from only by case (``A`` and ``a`` both in the data: neither is
    found by ``a``).  The table :func:`user_id_in_data` reads."""
    groups: dict[str, set[str]] = {}
    for user_id in known:
        groups.setdefault(user_id.casefold(), set()).add(user_id)
    return {folded: next(iter(ids)) for folded, ids in groups.items() if len(ids) == 1}


def user_id_in_data(user_id: str, known: Mapping[str, str] | Iterable[str]) -> str:
    """The data's spelling of ``user_id`` when the student wrote it in another case (``a``
    for ``A``) and that is unambiguous (``known`` from :func:`user_ids_by_case`, or the
    data's ids); else ``user_id`` as written.  Feedback should say so:
    :func:`user_id_case_note`."""
    table = known if isinstance(known, Mapping) else user_ids_by_case(known)
    if user_id in table.values():
        return user_id
    return table.get(user_id.casefold(), user_id)


def user_id_case_note(written: str, read: str) -> str:
    """The feedback line for a user id read in the data's case."""
    return f"user ids are case-sensitive on the sheet: {written!r} read as {read!r}"


def normalize_event_ref(value: Any, *, event_ids: Iterable[str] | None = None) -> EventRef:
    """An event of ex4: ``"e1"`` (or ``"e1 (A, 10:00, 5)"``, the sheet's notation),
    ``{"user_id": "B", "amount": 3}``, ``["B", 3]`` or ``"(B, 3)"``.

    With ``event_ids`` an id is matched case-insensitively against them and an unknown
    id is refused; without, the id is kept as written (trimmed).
    """
    if isinstance(value, Mapping):
        if "user_id" in value and "amount" in value:
            return _by_value(value["user_id"], value["amount"])
        if "event_id" in value:
            return _by_id(value["event_id"], event_ids)
        raise NormalizeError(f"an event object needs user_id and amount; {_EVENT_HINT}")
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise NormalizeError(f"expected a two-item list [user_id, amount], got {show_value(value)}")
        return _by_value(value[0], value[1])
    if isinstance(value, str):
        text = as_text(value, "an event", _EVENT_HINT)
        if _EVENT_ID.match(text):
            return _by_id(text, event_ids)
        pair = _EVENT_PAIR.match(text)
        if pair:
            return _by_value(pair["user"], pair["amount"])
    raise NormalizeError(f"{show_value(value)} is not an event; {_EVENT_HINT}")


def _by_value(user: Any, amount: Any) -> EventByValue:
    try:
        user_id = normalize_user_id(user)
    except NormalizeError as exc:
        raise exc.at("user_id") from None
    try:
        return EventByValue(user_id, normalize_number(amount))
    except NormalizeError as exc:
        raise exc.at("amount") from None


def _by_id(value: Any, event_ids: Iterable[str] | None) -> EventById:
    if not isinstance(value, str):
        raise NormalizeError(f"expected an event id like \"e1\", got {show_value(value)}")
    match = _EVENT_ID.match(value.strip()[:MAX_TEXT])
    if not match:
        raise NormalizeError(f"{show_value(value)} is not an event id; {_EVENT_HINT}")
    event_id = match["id"]
    if event_ids is None:
        return EventById(event_id)
    known = list(event_ids)
    by_folded = {e.casefold(): e for e in known}
    if event_id.casefold() not in by_folded:
        raise NormalizeError(f"{show_value(event_id)} is not one of the events {_list(known)}")
    return EventById(by_folded[event_id.casefold()])


# -- rows ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowValue:
    """One sink row ``(window_start, user_id, sum_amount)`` in exact values.

    ``window_end_ms`` is what the student wrote for the end (``window_end``, or the end of
    ``"[10:00, 10:05)"``), if anything; it takes no part in equality, so two spellings of
    one row are equal, but a comparator can use it to spot an inclusive end.
    """

    window_start_ms: Ticks
    user_id: str
    sum_amount: Decimal
    window_end_ms: Ticks | None = field(default=None, compare=False)
    #: The user id as written when it was read in the data's case (``a`` for ``A``), else ``None``.
    user_id_written: str | None = field(default=None, compare=False)

    @property
    def case_note(self) -> str | None:
        """The feedback line when the user id was read in the data's case."""
        return user_id_case_note(self.user_id_written, self.user_id) if self.user_id_written else None

    def describe(self) -> str:
        """The sheet's notation, ``(10:00, A, 7)``."""
        return row_text(self.window_start_ms, self.user_id, self.sum_amount)


ROW_FIELDS = ("window_start", "user_id", "sum_amount")
_ROW_TEXT = re.compile(r"^\(\s*(?P<start>[^,()]+?)\s*,\s*(?P<user>[^,()]+?)\s*,\s*(?P<sum>[^,()]+?)\s*\)$")


def normalize_row(value: Any, *, clock: bool = True, user_ids: Mapping[str, str] | None = None,
                  window_size: Ticks | None = None) -> RowValue:
    """A sink row: ``{"window_start": "10:00", "user_id": "A", "sum_amount": 7}`` (any spelling of
    each value; ``window_end`` optional), or ``["10:00", "A", 7]``, or ``"(10:00, A, 7)"``.

    ``user_ids`` (:func:`user_ids_by_case` of the data's users): a user id written in
    another case is read as the data's, when that is unambiguous, and the row keeps what
    was written (``user_id_written``) for the feedback to say so.  ``window_size``: a window
    written whole in ``window_start`` (``"10:05-10:10"``) must span it (:func:`window_size_problem`)."""
    end_given: Any = None
    if isinstance(value, Mapping):
        missing = [name for name in ROW_FIELDS if name not in value]
        if missing:
            raise NormalizeError("required field missing").at(missing[0])
        start_value, user_value, sum_value = (value[name] for name in ROW_FIELDS)
        end_given = value.get("window_end")
    elif isinstance(value, list | tuple) and len(value) == 3:
        start_value, user_value, sum_value = value
    elif isinstance(value, str) and (match := _ROW_TEXT.match(value.strip()[: MAX_TEXT + 2])):
        start_value, user_value, sum_value = match["start"], match["user"], match["sum"]
    else:
        raise NormalizeError(f'expected a row {{"window_start", "user_id", "sum_amount"}}, got {show_value(value)}')
    try:
        window = normalize_window(start_value, clock=clock)
    except NormalizeError as exc:
        raise exc.at("window_start") from None
    problem = window_size_problem(window, window_size, start_value) if window_size is not None else None
    if problem is not None:
        raise problem.at("window_start")
    end = window.end_ms
    if not is_blank(end_given):
        try:
            written_end = normalize_time(end_given, clock=clock)
        except NormalizeError as exc:
            raise exc.at("window_end") from None
        if written_end <= window.start_ms:
            raise NormalizeError("the window ends before it starts").at("window_end")
        if end is not None and written_end != end:
            raise NormalizeError(f"does not match the window written in window_start ({show_value(start_value)})"
                                 ).at("window_end")
        end = written_end
    try:
        user_id = normalize_user_id(user_value)
    except NormalizeError as exc:
        raise exc.at("user_id") from None
    try:
        amount = normalize_number(sum_value)
    except NormalizeError as exc:
        raise exc.at("sum_amount") from None
    read = user_id_in_data(user_id, user_ids) if user_ids is not None else user_id
    return RowValue(window.start_ms, read, amount, end, user_id if read != user_id else None)


def normalize_rows(values: Any, *, clock: bool = True) -> tuple[RowValue, ...]:
    """A list of rows (any order; duplicates kept for the comparator to report)."""
    if not isinstance(values, list | tuple):
        raise NormalizeError(f"expected a list of rows, got {show_value(values)}")
    rows = []
    for position, item in enumerate(values):
        try:
            rows.append(normalize_row(item, clock=clock))
        except NormalizeError as exc:
            raise exc.at(position) from None
    return tuple(rows)


# -- shared ---------------------------------------------------------------------------------------------------


def as_text(value: Any, what: str, hint: str) -> str:
    if not isinstance(value, str):
        raise NormalizeError(f"expected {what} as text, got {show_value(value)}; {hint}")
    text = value.strip()
    if not text:
        raise NormalizeError(f"expected {what}, got an empty text; {hint}")
    if len(text) > MAX_TEXT:
        raise NormalizeError(f"expected {what}, got a text of {len(text)} characters; {hint}")
    return text


def _list(items: Iterable[str]) -> str:
    items = list(items)
    shown = ", ".join(items[:12])
    return shown + (", ..." if len(items) > 12 else "")

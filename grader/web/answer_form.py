"""The answer form of a sheet, generated from each exercise's answer schema and parts.

A student should never have to write JSON to answer.  Every exercise's form is derived
from data the set already has, never written per exercise: the ``answer_schema`` says
which fields exist and their shape (a list of objects is a table, an object a group of
fields), and the part that reads a field says how it is graded, which picks the widget
(``text`` -> a text area, ``time`` -> a time box that takes the sheet's spellings,
``number`` -> a number box with the part's unit, ``choice`` -> radio buttons,
``choice_set`` -> check boxes, ``rows``/``windows_events`` -> a table).  A field that no
part reads falls back to its schema's shape, so an instructor's own set gets a form too.

The hints say the format and give an example that is never an answer: examples are
fixed illustrations ("10:15"), not values of the exercise.

:mod:`grader.web.form_data` turns a posted form into the submission document the API
takes (so grading has one path) and a document back into form values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from grader.exercises.model import Exercise, ExerciseSet
from grader.frozen import thaw

#: The prefix of every answer field's form name: ``a.ex6.rows.0.user_id``.
PREFIX = "a"

#: A table never has more rows than this (a posted form asking for more is cut here).
MAX_ROWS = 60


class Widget(Enum):
    """How a field is asked for."""

    TEXTAREA = "textarea"
    LINE = "line"
    TIME = "time"
    NUMBER = "number"
    RADIO = "radio"
    CHECKBOXES = "checkboxes"
    SELECT = "select"
    ITEMS = "items"      # a list of short items in one box, "e1, e2" or "(A, 5), (B, 3)"
    TABLE = "table"      # a list of objects: a row per item, a column per property
    GROUP = "group"      # an object: its properties as fields


@dataclass(frozen=True)
class FormField:
    """One field of an exercise's form.

    ``key`` is its form name (for a table column, the name without the row number:
    ``a.ex6.rows.*.user_id``); ``name`` is the answer field as the JSON names it, which is
    the label, so a student who later writes a file knows the field.
    """

    key: str
    name: str
    widget: Widget
    hint: str
    choices: tuple[str, ...] = ()
    unit: str | None = None
    members: tuple[FormField, ...] = ()   # the columns of a TABLE, the fields of a GROUP
    points: float | None = None
    #: A number box that also takes a unit after the number (``"3 min"``): a text box then,
    #: since a browser's number box would silently send nothing for it.
    accepts_units: bool = False
    #: The empty value the document carries when the field is left blank (``None``, or
    #: ``[]``/``""`` where the schema refuses ``null``).
    empty: Any = None

    def cell_key(self, row: int) -> str:
        """A table column's form name in row ``row``."""
        return self.key.replace("*", str(row), 1)

    @property
    def dom_id(self) -> str:
        """An HTML id for the field (form names hold dots, which CSS selectors would need escaped)."""
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.key)


@dataclass(frozen=True)
class ExerciseForm:
    """The form of one exercise: its prompt and its fields, in the answer schema's order."""

    exercise_id: str
    title: str
    prompt: str
    points: float
    fields: tuple[FormField, ...]


def sheet_forms(exercise_set: ExerciseSet) -> tuple[ExerciseForm, ...]:
    """The form of every exercise of ``exercise_set``."""
    return tuple(exercise_form(ex) for ex in exercise_set.exercises)


def exercise_form(exercise: Exercise) -> ExerciseForm:
    """The form of one exercise, from its answer schema and its parts."""
    schema = thaw(exercise.answer_json_schema())
    defs = schema.get("$defs", {})
    readers = _readers(exercise)
    fields = tuple(_field(f"{PREFIX}.{exercise.id}.{name}", name, name, sub, defs, readers, in_table=False)
                   for name, sub in _properties(schema, defs).items())
    return ExerciseForm(exercise.id, exercise.title, exercise.prompt, exercise.points, fields)


# -- one field ------------------------------------------------------------------------------------------

def _field(key: str, name: str, path: str, schema: Mapping[str, Any], defs: Mapping[str, Any],
           readers: Mapping[str, _Reader], *, in_table: bool) -> FormField:
    """The field at answer path ``path`` (``options[*].policy`` inside a table)."""
    resolved = _resolve(schema, defs)
    reader = readers.get(path)
    kind = reader.kind if reader is not None else None
    compare = reader.compare if reader is not None else {}
    points = reader.points if reader is not None else None
    empty = _empty_value(resolved, defs)
    item = _item_schema(resolved, defs)
    if item is not None and _properties(item, defs) and not _has_scalar(item, defs):
        columns = tuple(_field(f"{key}.*.{col}", col, f"{path}[*].{col}", sub, defs,
                               _member_readers(readers, f"{path}[*]", compare, col), in_table=True)
                        for col, sub in _properties(item, defs).items())
        return FormField(key, name, Widget.TABLE, _table_hint(kind), members=columns, points=points, empty=empty)
    if _properties(resolved, defs) and kind not in ("text", "time", "number", "choice"):
        members = tuple(_field(f"{key}.{sub_name}", sub_name, f"{path}.{sub_name}", sub, defs,
                               _member_readers(readers, path, compare, sub_name), in_table=in_table)
                        for sub_name, sub in _properties(resolved, defs).items())
        return FormField(key, name, Widget.GROUP, _group_hint(kind), members=members, points=points, empty=empty)
    if kind in ("choice", "choice_set") and compare.get("choices"):
        choices = tuple(compare["choices"])
        if item is not None:
            pick = compare.get("pick")
            hint = f"tick the {pick} that apply" if pick else "tick every one that applies"
            return FormField(key, name, Widget.CHECKBOXES, hint, choices, points=points, empty=empty)
        widget = Widget.SELECT if in_table else Widget.RADIO
        return FormField(key, name, widget, "choose one", choices, points=points, empty=empty)
    if item is not None:
        return FormField(key, name, Widget.ITEMS, _items_hint(name, item, defs), points=points, empty=empty)
    if kind == "text":
        return FormField(key, name, Widget.TEXTAREA, _text_hint(compare), points=points, empty=empty)
    if kind == "time" or _is_time(resolved, defs):
        return FormField(key, name, Widget.TIME, TIME_HINT, points=points, empty=empty)
    if kind == "number" or _is_number(resolved, defs):
        unit = compare.get("unit") or _unit_from_name(name)
        return FormField(key, name, Widget.NUMBER, _number_hint(unit, compare), unit=unit, points=points,
                         accepts_units=bool(compare.get("accepted_units")), empty=empty)
    widget = Widget.TEXTAREA if resolved.get("maxLength", 0) > 200 else Widget.LINE
    return FormField(key, name, widget, resolved.get("description") or "text, e.g. A", points=points, empty=empty)


@dataclass(frozen=True)
class _Reader:
    """What grades a field: a part's comparison kind, its settings and its points."""

    kind: str
    compare: Mapping[str, Any]
    points: float | None = None


def _readers(exercise: Exercise) -> dict[str, _Reader]:
    return {part.field: _Reader(part.compare_kind, thaw(part.compare), part.points) for part in exercise.parts}


def _member_readers(readers: Mapping[str, _Reader], path: str, compare: Mapping[str, Any],
                    member: str) -> dict[str, _Reader]:
    """What reads one member of a table row or group: a part of its own
    (``options[*].policy``), or the enclosing part when it says the member is a time or a
    value (``rows`` with ``time_fields``)."""
    own = f"{path}.{member}"
    if own in readers:
        return {own: readers[own]}
    if member in compare.get("time_fields", ()) or member == compare.get("window_field"):
        return {own: _Reader("time", {})}
    if member in compare.get("value_fields", ()):
        return {own: _Reader("number", {})}
    return {}


# -- hints ------------------------------------------------------------------------------------------

TIME_HINT = "a time as HH:MM, e.g. 10:15 (10:15:30 and 10h15 are read the same way)"


def _number_hint(unit: str | None, compare: Mapping[str, Any]) -> str:
    if unit and compare.get("accepted_units"):
        return f"a number, in {unit}, e.g. 12 or 2.5 (or with another unit after it, e.g. \"3 min\")"
    return f"a number ({unit}), e.g. 12 or 2.5" if unit else "a number, e.g. 12 or 2.5"


def _text_hint(compare: Mapping[str, Any]) -> str:
    if compare.get("prose") is False:
        return "free text: a diagram as text (PlantUML or ASCII) or a description of one"
    return "in your own words, a sentence or two"


def _table_hint(kind: str | None) -> str:
    what = "window" if kind == "windows_events" else "row"
    return f"one {what} per line; use \"Add a row\" for more, and leave a line empty to drop it"


def _group_hint(kind: str | None) -> str:
    return "one row: fill in every field" if kind == "row" else "fill in the fields below"


def _items_hint(name: str, item: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    if "event" in name:
        return "separated by commas: event ids (e.g. e1, e2) or (user_id, amount) pairs (e.g. (A, 5), (B, 3))"
    return "separated by commas, e.g. first, second"


def _unit_from_name(name: str) -> str | None:
    """``min_latency_minutes`` -> ``minutes``: a field named after its unit says it."""
    for suffix in ("minutes", "seconds", "bytes", "rows", "events", "windows"):
        if name.endswith("_" + suffix):
            return suffix
    return None


# -- schema reading --------------------------------------------------------------------------------------

def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int = 0) -> Mapping[str, Any]:
    """A schema with a local ``$ref`` followed."""
    ref = schema.get("$ref")
    if depth < 16 and isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
        return _resolve(defs[ref[8:]], defs, depth + 1)
    return schema


def _alternatives(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    resolved = _resolve(schema, defs)
    found = [_resolve(s, defs) for key in ("anyOf", "oneOf") for s in resolved.get(key, ()) if isinstance(s, Mapping)]
    return found or [resolved]


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def _properties(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of the first object alternative (``{}`` when none)."""
    for alternative in _alternatives(schema, defs):
        if ("object" in _types(alternative) or "properties" in alternative) and alternative.get("properties"):
            return dict(alternative["properties"])
    return {}


def _item_schema(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The item schema of the first array alternative, if any."""
    for alternative in _alternatives(schema, defs):
        if "array" in _types(alternative) and isinstance(alternative.get("items"), Mapping):
            return _resolve(alternative["items"], defs)
    return None


def _has_scalar(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> bool:
    """True when a string or a number is one way to write the value (ex4's events: ``"e1"``
    or ``{"user_id", "amount"}``): then it is asked for as short items, not as a table."""
    return any(_types(alt) & {"string", "number", "integer"} for alt in _alternatives(schema, defs))


def _is_time(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> bool:
    return any(":" in str(alt.get("pattern", "")) for alt in _alternatives(schema, defs))


def _is_number(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> bool:
    return any(_types(alt) & {"number", "integer"} for alt in _alternatives(schema, defs))


def _empty_value(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    """``None`` where the schema takes ``null`` (or says nothing), else ``[]`` or ``""``:
    what a field left blank is sent as, so a blank field is "not answered", never a schema error."""
    alternatives = _alternatives(schema, defs)
    if any("null" in _types(a) or None in a.get("enum", ()) or not _types(a) for a in alternatives):
        return None
    if any("array" in _types(a) for a in alternatives):
        return []
    return "" if any("string" in _types(a) for a in alternatives) else None


__all__ = ["MAX_ROWS", "PREFIX", "ExerciseForm", "FormField", "Widget", "exercise_form", "sheet_forms"]

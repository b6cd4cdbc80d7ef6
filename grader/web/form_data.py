"""A posted answer form as a submission document, and a document as form values.

The form is only another way to write the document the API takes: the page turns the
posted fields into ``{"exercise_set", "answers": {...}}`` and submits that JSON through
the same path as a pasted or uploaded file, so a form answer and the equivalent file are
graded identically (a test checks it).  Only the fields the form declares are read
(:mod:`grader.web.answer_form`), so a forged extra field changes nothing.

Values are passed on as the student wrote them, trimmed: a number box's ``"7"`` becomes
the JSON number 7 when it is one, and anything else (``"3 min"``, ``"7,5"``) stays text
for the grader to read or to explain, never dropped here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from grader.web.answer_form import MAX_ROWS, ExerciseForm, FormField, Widget

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_ITEM = re.compile(r"\(\s*([^(),]+?)\s*,\s*([^()]+?)\s*\)|([^,;\s()]+)")
#: The longest text a form field passes on (the submission's own size limit is checked after).
MAX_FIELD_CHARS = 20_000


class FormInput(Protocol):
    """What a posted form offers (werkzeug's ``MultiDict``)."""

    def get(self, key: str, default: Any = ...) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...

    def keys(self) -> Iterable[str]: ...


def submission_document(forms: Iterable[ExerciseForm], form: FormInput, *, exercise_set: str,
                        student_id: str) -> dict[str, Any]:
    """The submission a posted sheet form stands for: every exercise, blank fields empty
    (as in the blank template, so an untouched form grades as "not answered")."""
    keys = list(form.keys())
    answers = {}
    for ef in forms:
        answer = {}
        for f in ef.fields:
            value = _read(f, form, keys, f.key)
            answer[f.name] = f.empty if value is None else value
        answers[ef.exercise_id] = answer
    return {"student_id": student_id, "exercise_set": exercise_set, "answers": answers}


def _read(field: FormField, form: FormInput, keys: list[str], key: str) -> Any:
    """The value of ``field`` posted under ``key``, or ``None`` when it was left blank."""
    if field.widget is Widget.TABLE:
        rows = []
        for index in row_indices(keys, key):
            row = _members(field.members, form, keys, lambda m, i=index: member_key(m, key, i))
            if row:
                rows.append(row)
        # An empty table is "not answered" unless its "no rows" box says the answer is none.
        return rows if rows else ([] if form.get(none_key(key)) else None)
    if field.widget is Widget.GROUP:
        group = _members(field.members, form, keys, lambda m: group_key(m, field, key))
        return group or None
    if field.widget is Widget.CHECKBOXES:
        posted = set(form.getlist(key))
        return [c for c in field.choices if c in posted] or None
    text = str(form.get(key, "") or "").replace("\r\n", "\n").strip()[:MAX_FIELD_CHARS]
    if not text:
        return None
    if field.widget is Widget.NUMBER:
        return number(text)
    if field.widget is Widget.ITEMS:
        return items(text)
    return text


def _members(members: Iterable[FormField], form: FormInput, keys: list[str], key_of: Any) -> dict[str, Any]:
    """The filled members of a row or group (a blank one is left out, as a file would)."""
    found = {m.name: _read(m, form, keys, key_of(m)) for m in members}
    return {name: value for name, value in found.items() if value is not None}


def member_key(member: FormField, table_key: str, index: int) -> str:
    """A column's form name in row ``index``: the table's own key (itself maybe in a row) + ``.index.col``."""
    return f"{table_key}.{index}{member.key[member.key.rindex('.*') + 2:]}" if ".*" in member.key else member.key


def group_key(member: FormField, group: FormField, key: str) -> str:
    """A group member's form name when the group itself is posted under ``key``."""
    return key + member.key[len(group.key):]


def none_key(table_key: str) -> str:
    """The form name of a table's "no rows" box (an empty list is an answer: "nothing is retracted")."""
    return table_key + ".none"


def row_indices(keys: Iterable[str], table_key: str) -> list[int]:
    """The row numbers posted for a table, in order, at most :data:`MAX_ROWS` of them."""
    pattern = re.compile(re.escape(table_key) + r"\.(\d{1,4})\.")
    found = sorted({int(m.group(1)) for k in keys if (m := pattern.match(k))})
    return found[:MAX_ROWS]


def number(text: str) -> Any:
    """``"7"`` -> 7, ``"2.5"`` -> 2.5; anything else as written, for the grader to read or explain."""
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def items(text: str) -> list[Any]:
    """``"e1, e2"`` -> ``["e1", "e2"]``; ``"(A, 5), e2"`` -> ``[["A", 5], "e2"]``: an id, or a
    ``(user_id, amount)`` pair, the two spellings ex4's events take.  A stray parenthesis is kept
    as text, so the grader names it rather than the form dropping it."""
    found: list[Any] = []
    for user, amount, single in _ITEM.findall(text):
        found.append([user, number(amount)] if user else single)
    leftover = _ITEM.sub("", text).replace(",", "").replace(";", "").strip()
    return found + ([leftover] if leftover else [])


# -- a document as form values -------------------------------------------------------------------------

def form_values(forms: Iterable[ExerciseForm], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The form values that post ``answers`` (a submission's ``answers``): the inverse of
    :func:`submission_document` for what the form can hold.  Check boxes map to a list."""
    values: dict[str, Any] = {}
    for ef in forms:
        answer = answers.get(ef.exercise_id)
        if isinstance(answer, Mapping):
            for f in ef.fields:
                _write(f, answer.get(f.name), f.key, values)
    return values


def _write(field: FormField, value: Any, key: str, values: dict[str, Any]) -> None:
    if value is None:
        return
    if field.widget is Widget.TABLE:
        if value == []:
            values[none_key(key)] = "1"
        for index, row in enumerate(value if isinstance(value, list) else []):
            if isinstance(row, Mapping):
                for m in field.members:
                    _write(m, row.get(m.name), member_key(m, key, index), values)
    elif field.widget is Widget.GROUP:
        if isinstance(value, Mapping):
            for m in field.members:
                _write(m, value.get(m.name), group_key(m, field, key), values)
    elif field.widget is Widget.CHECKBOXES:
        values[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    elif field.widget is Widget.ITEMS:
        values[key] = ", ".join(_item_text(v) for v in value) if isinstance(value, list) else str(value)
    elif value != "":
        values[key] = _scalar_text(value)


def _item_text(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2:
        return f"({_scalar_text(value[0])}, {_scalar_text(value[1])})"
    if isinstance(value, Mapping) and "user_id" in value and "amount" in value:
        return f"({_scalar_text(value['user_id'])}, {_scalar_text(value['amount'])})"
    if isinstance(value, Mapping) and "event_id" in value:
        return _scalar_text(value["event_id"])
    return _scalar_text(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table_rows(values: Mapping[str, Any], table_key: str) -> int:
    """How many rows of a table ``values`` fill (for drawing the form with room for them)."""
    indices = row_indices(values.keys(), table_key)
    return indices[-1] + 1 if indices else 0


__all__ = ["form_values", "group_key", "items", "member_key", "none_key", "number", "row_indices",
           "submission_document", "table_rows"]

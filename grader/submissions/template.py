"""Blank submissions: what ``streamgrade template`` prints (SUBMISSION_FORMAT.md).

The JSON template is derived from the exercise set's answer schemas, never typed in:
every field of every exercise is present with an *empty* value, i.e. ``null`` where the
schema allows it, else an empty string, else an empty list.  An object field is opened
up so its own fields show (``ex11.allowed_lateness_3min.retract``) when its schema
accepts them empty; otherwise it is ``null`` itself.  Each empty value is
checked against its schema, so the blank template is itself a valid submission that
grades as "not answered" everywhere.  The Python template is the skeleton stored in the
set's ``python.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from grader.exercises.model import ExerciseSet
from grader.frozen import thaw

#: The empty values tried for a field, in order of preference.
_EMPTY_CANDIDATES: tuple[Any, ...] = (None, "", [])


def blank_submission(exercise_set: ExerciseSet) -> dict[str, Any]:
    """A blank JSON submission for ``exercise_set``: every exercise, every field, empty values."""
    return {
        "student_id": "",
        "exercise_set": exercise_set.id,
        "answers": {ex.id: blank_answer(thaw(ex.answer_schema)) for ex in exercise_set.exercises},
    }


def blank_answer(answer_schema: Mapping[str, Any]) -> Any:
    """The empty value of an answer schema (an object schema gives each property's empty value)."""
    root = dict(answer_schema)
    defs = root.get("$defs", {})
    return _blank(root, defs)


def _blank(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    validator = Draft202012Validator({"$defs": defs, **schema} if defs else dict(schema))
    properties = _object_properties(schema, defs)
    if properties is not None:
        opened = {name: _blank(sub, defs) for name, sub in properties.items()}
        # Opened up only when empty fields are allowed inside (ex7's upsert row needs all three filled).
        if validator.is_valid(opened):
            return opened
    for candidate in _EMPTY_CANDIDATES:
        if validator.is_valid(candidate):
            return candidate
    return None


def _object_properties(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The properties of the first object alternative of ``schema`` (following local refs), if any."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
        return _object_properties(defs[ref[8:]], defs)
    types = schema.get("type")
    if (types == "object" or (isinstance(types, list) and "object" in types)) and schema.get("properties"):
        return dict(schema["properties"])
    for key in ("anyOf", "oneOf"):
        for alternative in schema.get(key, ()):
            if isinstance(alternative, Mapping):
                found = _object_properties(alternative, defs)
                if found is not None:
                    return found
    return None


def python_template(exercise_set: ExerciseSet) -> str:
    """The Python skeleton of the set (its ``python.yaml``), or raise ``FileNotFoundError``."""
    from grader.python.exercise import load_python_exercise

    path = Path(exercise_set.path) / "python.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"exercise set {exercise_set.id} has no Python exercise ({path.name})")
    return load_python_exercise(path).template


__all__ = ["blank_answer", "blank_submission", "python_template"]

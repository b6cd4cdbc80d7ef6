"""What the service tells students about the exercises: prompts, points, answer schemas.

Never a canonical answer.  The public view is built from an allow-list of fields of the
loaded :class:`grader.exercise_sets.ExerciseSet` (id, title, prompt, points, the parts'
ids, fields, points and comparison kind, and the answer schema), so the published key,
errata, known mistakes, model answers, rubric concepts and solution queries stay out
even when new fields are added to the exercise data.

Sets are loaded once per process and cached: restart the service to pick up edits.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from grader.exercises.load import available_sets, load_exercise_set
from grader.exercises.model import ExerciseSet
from grader.web.errors import NotFound

TEMPLATE_NOTE = ("Blank submission: fill in the answers you have and leave the rest empty. "
                 "An exercise left empty scores 0 as not answered.")


class Catalogue:
    """The exercise sets under one folder, loaded on first use."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._sets: dict[str, ExerciseSet] = {}
        self._ids: tuple[str, ...] | None = None
        self._lock = threading.Lock()

    def set_ids(self) -> tuple[str, ...]:
        if self._ids is None:
            self._ids = available_sets(self.root)
        return self._ids

    def has_set(self, set_id: str) -> bool:
        return set_id in self.set_ids()

    def exercise_set(self, set_id: str) -> ExerciseSet:
        """The loaded set; :class:`NotFound` naming the known sets when there is no such set."""
        with self._lock:
            cached = self._sets.get(set_id)
        if cached is not None:
            return cached
        known = self.set_ids()
        if set_id not in known:
            raise NotFound(f"unknown exercise set {set_id!r}; known sets: {', '.join(known) or 'none'}")
        loaded = load_exercise_set(self.root / set_id)
        with self._lock:
            self._sets[set_id] = loaded
        return loaded

    def public_set(self, set_id: str) -> dict[str, Any]:
        """The students' view of a set (see the module docstring for what is left out)."""
        loaded = self.exercise_set(set_id)
        return {
            "id": loaded.id,
            "title": loaded.title,
            "total_points": loaded.total_points,
            "exercises": [
                {
                    "id": ex.id,
                    "title": ex.title,
                    "prompt": ex.prompt,
                    "points": ex.points,
                    "parts": [{"id": p.id, "field": p.field, "points": p.points, "kind": p.compare_kind}
                              for p in ex.parts],
                    "answer_schema": ex.answer_json_schema(),
                }
                for ex in loaded.exercises
            ],
        }

    def template(self, set_id: str) -> dict[str, Any]:
        """A blank submission for a set: every exercise and field present, every value empty."""
        loaded = self.exercise_set(set_id)
        return {
            "student_id": "",
            "exercise_set": loaded.id,
            "answers": {ex.id: blank_value(ex.answer_json_schema()) for ex in loaded.exercises},
        }


def blank_value(schema: Any, defs: dict[str, Any] | None = None) -> Any:
    """The empty value of a JSON Schema: ``""`` for text, ``[]`` for lists, ``None`` for numbers,
    and an object with every property blank for objects."""
    if not isinstance(schema, dict):
        return None
    defs = {**(defs or {}), **schema.get("$defs", {})}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
        return blank_value(defs[ref[8:]], defs)
    for key in ("anyOf", "oneOf"):
        options = [s for s in schema.get(key, ()) if isinstance(s, dict)]
        if options:
            return blank_value(options[0], defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        return {name: blank_value(sub, defs) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind == "string":
        return ""
    return None

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
from grader.submissions.template import blank_submission, python_template
from grader.web.errors import NotFound
from grader.web.python_sheet import python_summary


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
            "python": summary.to_dict() if (summary := python_summary(loaded)) is not None else None,
        }

    def template(self, set_id: str) -> dict[str, Any]:
        """A blank submission for a set: the same document ``streamgrade template`` prints
        (:func:`grader.submissions.template.blank_submission`), so the CLI and the API agree."""
        return blank_submission(self.exercise_set(set_id))

    def python_skeleton(self, set_id: str) -> str | None:
        """The set's Python skeleton (``python.yaml``'s ``template``), or ``None`` when it has none."""
        try:
            return python_template(self.exercise_set(set_id))
        except FileNotFoundError:
            return None

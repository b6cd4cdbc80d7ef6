"""What the sheet page and the exercises API say of a set's Python exercise.

The function signatures come from the skeleton students download (``python.yaml``'s
``template``), read with :mod:`ast`, so the page can never show a signature the skeleton
does not have.  Nothing here runs the skeleton.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from grader.exercises.model import ExerciseSet
from grader.python.exercise import PythonExercise, python_exercise_of


@dataclass(frozen=True)
class PythonFunction:
    """One function a Python answer may define: ``signature`` as the skeleton writes it
    (``assign_window(event_time, size_minutes=5)``) and the first line of its docstring."""

    name: str
    signature: str
    summary: str
    points: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "signature": self.signature, "summary": self.summary, "points": self.points}


@dataclass(frozen=True)
class PythonSummary:
    """A set's Python exercise as students are told it: never its tests or its answers."""

    exercise_set: str
    title: str
    points: float
    max_bytes: int
    filename: str
    streams: int
    functions: tuple[PythonFunction, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "points": self.points, "max_bytes": self.max_bytes, "filename": self.filename,
                "hidden_streams": self.streams, "functions": [f.to_dict() for f in self.functions]}


def python_summary(exercise_set: ExerciseSet) -> PythonSummary | None:
    """The set's Python exercise for the page, or ``None`` when the set has none."""
    exercise = python_exercise_of(exercise_set)
    return summary_of(exercise) if exercise is not None else None


def summary_of(exercise: PythonExercise) -> PythonSummary:
    declared = _skeleton_functions(exercise.template)
    functions = tuple(
        PythonFunction(spec.name, *declared.get(spec.name, (spec.title, "")), spec.points)
        for spec in exercise.functions
    )
    return PythonSummary(exercise.exercise_set, exercise.title, exercise.max_score, exercise.max_bytes,
                         exercise.display_name, exercise.hidden.streams, functions)


def _skeleton_functions(source: str) -> dict[str, tuple[str, str]]:
    """``{name: (signature, first paragraph of the docstring)}`` of the skeleton's top-level functions."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first_paragraph = (ast.get_docstring(node) or "").strip().split("\n\n")[0]
            found[node.name] = (f"{node.name}({ast.unparse(node.args)})", " ".join(first_paragraph.split()))
    return found


__all__ = ["PythonFunction", "PythonSummary", "python_summary", "summary_of"]

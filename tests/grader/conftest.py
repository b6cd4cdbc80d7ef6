"""Fixtures the grader tests share: the week-10 set and its canonical answers, loaded once per
module, and the set's Python exercise."""

from __future__ import annotations

import pytest

from grader.exercises.load import load_named_set
from grader.exercises.model import ExerciseSet
from grader.python.exercise import PythonExercise, load_python_exercise
from grader.solutions.solve import solve


@pytest.fixture(scope="module")
def week10() -> ExerciseSet:
    return load_named_set("week10")


@pytest.fixture(scope="module")
def solved(week10: ExerciseSet):
    return solve(week10)


@pytest.fixture(scope="session")
def exercise() -> PythonExercise:
    return load_python_exercise()

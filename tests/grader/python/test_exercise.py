"""A set's ``python.yaml`` is checked against its JSON Schema, like every other exercise file.

Before, a hand-written reader checked some keys and let others through: a string where
a number belonged became 0, a missing section became empty, ``window_sizes_minutes: [0]``
divided by zero.  Now every problem is named by file and path, all at once, and a file
in today's format (with keys of its own the schema does not name) still loads.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from grader.cli import main
from grader.errors import ExerciseDataError
from grader.exercises.load import PACKAGED_SETS, SCHEMA_DIR
from grader.python.exercise import FUNCTIONS, PYTHON_SCHEMA, STREAM_KINDS, load_python_exercise


@pytest.fixture
def folder(tmp_path) -> Path:
    """A copy of the week10 set to spoil."""
    shutil.copytree(PACKAGED_SETS / "week10", tmp_path / "week10")
    return tmp_path / "week10"


def _spoil(folder: Path, change) -> Path:
    path = folder / "python.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _problems(path: Path) -> str:
    with pytest.raises(ExerciseDataError) as caught:
        load_python_exercise(path)
    return str(caught.value)


def test_each_wrong_shape_is_named_by_its_path(folder):
    def change(data):
        data["functions"][1]["points"] = "two"
        data["hidden_tests"]["window_sizes_minutes"] = [0, 5]
        del data["shrinking"]["max_seconds"]
        data["hidden_tests"]["kinds"]["sideways"] = 3
        data["submission"] = "solution.py"

    message = _problems(_spoil(folder, change))
    assert "python.yaml: functions[1].points: 'two' is not of type 'number'" in message
    assert "hidden_tests.window_sizes_minutes[0]: 0 is less than the minimum of 1" in message
    assert "shrinking: 'max_seconds' is a required property" in message
    assert "hidden_tests.kinds: Additional properties are not allowed ('sideways' was unexpected)" in message
    assert "submission: 'solution.py' is not of type 'object'" in message


def test_schema_and_semantic_problems_are_reported_together(folder):
    def change(data):
        data["hidden_tests"]["window_sizes_minutes"] = [1, 7]
        data["hidden_tests"]["show_inputs"] = "always"
        data["hidden_tests"]["events_per_stream"] = {"min": 9, "max": 3}
        data["semantics"]["profile"] = "spark"

    message = _problems(_spoil(folder, change))
    assert "each size must divide 60" in message
    assert "show_inputs: 'always' is not one of ['never', 'counterexample']" in message
    assert "events_per_stream: min is more than max" in message
    assert "semantics.profile:" in message and "spark" in message


def test_keys_of_the_instructors_own_still_load(folder):
    def change(data):
        data["notes"] = "written for the 2026 cohort"
        data["hidden_tests"]["comment"] = "seeded per student"

    exercise = load_python_exercise(_spoil(folder, change))
    assert exercise.max_score == 10


def test_verify_names_the_problem_from_the_command_line(folder, monkeypatch, capsys):
    _spoil(folder, lambda data: data["limits"].update(call_timeout_s=-1))
    monkeypatch.setenv("STREAMGRADE_EXERCISES", str(folder.parent))
    code = main(["verify"])
    out = capsys.readouterr()
    assert code != 0
    assert "limits.call_timeout_s: -1 is less than or equal to the minimum of 0" in out.out + out.err


def test_the_schema_names_the_functions_and_stream_kinds_the_code_implements():
    schema = json.loads((SCHEMA_DIR / PYTHON_SCHEMA).read_text())
    names = schema["properties"]["functions"]["items"]["properties"]["name"]["enum"]
    assert tuple(names) == FUNCTIONS
    assert schema["properties"]["mistakes"]["items"]["properties"]["models"]["propertyNames"]["enum"] == names
    kinds = schema["properties"]["hidden_tests"]["properties"]["kinds"]["properties"]
    assert tuple(kinds) == STREAM_KINDS


def test_broken_exercise_data_lists_every_problem(tmp_path):
    import shutil

    from grader.errors import ExerciseDataError
    from grader.exercises.load import PACKAGED_SETS
    from grader.python.exercise import load_python_exercise

    DEFAULT_EXERCISE = PACKAGED_SETS / "week10" / "python.yaml"

    shutil.copy(DEFAULT_EXERCISE.with_name("context.yaml"), tmp_path / "context.yaml")
    text = DEFAULT_EXERCISE.read_text()
    text = text.replace("window_sizes_minutes: [1, 2, 5, 10, 15]", "window_sizes_minutes: [1, 7]")
    text = text.replace("models: {upsert: accumulating}", "models: {upsert: doubling}")
    text = text.replace("show_inputs: counterexample", "show_inputs: always")
    (tmp_path / "python.yaml").write_text(text)
    with pytest.raises(ExerciseDataError) as caught:
        load_python_exercise(tmp_path / "python.yaml")
    message = str(caught.value)
    assert "window_sizes_minutes: each size must divide 60" in message
    assert "no model 'doubling' for upsert" in message
    assert "show_inputs: 'always'" in message


def test_the_mistaken_models_python_yaml_may_name_are_the_ones_the_bindings_implement():
    from grader.python.bindings import MODELS
    from grader.python.exercise import MISTAKE_MODELS

    assert set(MODELS) == MISTAKE_MODELS

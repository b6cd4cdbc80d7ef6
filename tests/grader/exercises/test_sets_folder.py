"""One sets folder for every command: ``STREAMGRADE_EXERCISES`` reaches listing and grading alike.

A course keeps its own sets in a folder of its own.  Before, the variable reached the
web catalogue but not grading, so a page could list a set that grading called unknown.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from grader.cli import main
from grader.exercises.load import PACKAGED_SETS, sets_folder
from tests.paths import EXAMPLES


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    """A course folder holding week11, a copy of week10 under another name, and no week10."""
    folder = tmp_path / "course"
    shutil.copytree(PACKAGED_SETS / "week10", folder / "week11")
    context = folder / "week11" / "context.yaml"
    data = yaml.safe_load(context.read_text())
    data["id"] = "week11"
    context.write_text(yaml.safe_dump(data, sort_keys=False))
    variation = folder / "week11" / "variation.yaml"
    spec = yaml.safe_load(variation.read_text())
    spec["exercise_set"] = "week11"
    variation.write_text(yaml.safe_dump(spec, sort_keys=False))
    python = folder / "week11" / "python.yaml"
    python.write_text(python.read_text().replace("exercise_set: week10", "exercise_set: week11"))
    monkeypatch.setenv("STREAMGRADE_EXERCISES", str(folder))
    return folder


def test_the_variable_names_the_one_sets_folder(course):
    assert sets_folder() == course.resolve()
    assert sets_folder({}) == PACKAGED_SETS


def test_listing_and_grading_see_the_same_sets(course, capsys):
    assert main(["exercises", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in listed["sets"]] == ["week11"]
    answers = json.loads((EXAMPLES / "correct.json").read_text())
    answers["exercise_set"] = "week11"
    path = course.parent / "answers.json"
    path.write_text(json.dumps(answers))
    assert main(["grade", str(path), "--set", "week11", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["exercise_set"] == "week11" and result["score"] == result["max_score"] == 100


def test_a_set_outside_the_folder_is_unknown_to_every_command(course, capsys):
    assert main(["grade", str(EXAMPLES / "correct.json"), "--set", "week10"]) == 2
    assert "unknown exercise set 'week10'" in capsys.readouterr().err


def test_a_python_answer_is_graded_on_its_own_sets_python_exercise(course, tmp_path):
    from grader.exercises.load import load_set
    from grader.grading import grade_bytes
    from grader.python.exercise import python_exercise_of

    week11 = load_set("week11")
    exercise = python_exercise_of(week11)
    assert exercise is not None and exercise.exercise_set == "week11"
    (course / "week11" / "python.yaml").unlink()
    assert python_exercise_of(load_set("week11", course)) is None
    result = grade_bytes(b"def assign_window(t, size=5):\n    return t\n", "solution.py", "s1", "week11")
    assert not result.readable
    assert result.errors == ("solution.py: exercise set 'week11' has no Python exercise; send your answers as "
                             "JSON or YAML",)


def test_a_python_exercise_that_names_another_set_is_refused_with_its_path(course):
    from grader.errors import ExerciseDataError
    from grader.python.exercise import load_python_exercise

    python = course / "week11" / "python.yaml"
    python.write_text(python.read_text().replace("exercise_set: week11", "exercise_set: week10"))
    with pytest.raises(ExerciseDataError) as info:
        load_python_exercise(python)
    assert "python.yaml: exercise_set: 'week10', but the set in this folder is 'week11'" in str(info.value)

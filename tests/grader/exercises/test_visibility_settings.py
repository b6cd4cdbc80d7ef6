"""Reading a set's visibility, due date and attempt policy, in today's spelling and the old one.

Old files are a contract: ``show_expected: true`` with no ``visibility`` reads as
``after_attempt``, ``false`` as ``never``; both keys given must agree.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.errors import ExerciseDataError
from grader.exercises.load import PACKAGED_SETS, load_exercise_set
from grader.exercises.model import AttemptPolicy, Settings, Visibility


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "week10"
    shutil.copytree(PACKAGED_SETS / "week10", target)
    return target


def write_settings(folder: Path, *lines: str) -> None:
    """Replace the ``settings:`` block of the copy's context.yaml (the last block of the file) by ``lines``."""
    path = folder / "context.yaml"
    text = path.read_text(encoding="utf-8")
    head = text[: text.index("\nsettings:")]
    path.write_text(head + "\nsettings:\n" + "".join(f"  {line}\n" for line in lines), encoding="utf-8")


def set_part_visibility(folder: Path, file: str, visibility: str) -> None:
    """Give the first part of ``file`` a ``visibility:`` line, the way an instructor writes it."""
    path = folder / file
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition("\nparts:\n")
    first = rest.splitlines()[0]
    indent = " " * (len(first) - len(first.lstrip(" -")))
    path.write_text(head + sep + first + f"\n{indent}visibility: {visibility}\n" + rest.split("\n", 1)[1],
                    encoding="utf-8")


def problems_of(folder: Path) -> tuple[str, ...]:
    with pytest.raises(ExerciseDataError) as info:
        load_exercise_set(folder)
    return info.value.problems


def test_shipped_week10_reveals_after_attempt_with_no_due_and_best_per_exercise(week10):
    assert week10.settings.visibility is Visibility.AFTER_ATTEMPT
    assert week10.settings.due is None
    assert week10.settings.attempts is AttemptPolicy.BEST_PER_EXERCISE
    assert week10.settings.show_expected is True


def test_old_show_expected_true_reads_as_after_attempt(folder):
    write_settings(folder, "show_expected: true", "profile: flink")
    assert load_exercise_set(folder).settings.visibility is Visibility.AFTER_ATTEMPT


def test_old_show_expected_false_reads_as_never(folder):
    write_settings(folder, "show_expected: false", "profile: flink")
    settings = load_exercise_set(folder).settings
    assert settings.visibility is Visibility.NEVER
    assert settings.show_expected is False


def test_show_expected_and_visibility_that_disagree_are_a_load_error(folder):
    write_settings(folder, "show_expected: false", "visibility: always", "profile: flink")
    problems = problems_of(folder)
    assert any(p.startswith("context.yaml: settings.show_expected:") and "always" in p for p in problems)


def test_show_expected_true_agrees_with_a_revealing_visibility(folder):
    write_settings(folder, "show_expected: true", "visibility: always", "profile: flink")
    assert load_exercise_set(folder).settings.visibility is Visibility.ALWAYS


def test_due_with_offset_is_an_aware_instant(folder):
    write_settings(folder, "visibility: after_due", 'due: "2026-12-10T23:59:00+10:00"', "profile: flink")
    settings = load_exercise_set(folder).settings
    assert settings.visibility is Visibility.AFTER_DUE
    assert settings.due == datetime(2026, 12, 10, 23, 59, tzinfo=timezone(timedelta(hours=10)))


def test_unquoted_yaml_timestamp_due_is_read_as_written(folder):
    write_settings(folder, "visibility: after_due", "due: 2026-12-10T23:59:00Z", "profile: flink")
    assert load_exercise_set(folder).settings.due == datetime(2026, 12, 10, 23, 59, tzinfo=UTC)


def test_due_date_alone_is_the_end_of_that_day_in_utc(folder):
    write_settings(folder, "visibility: after_due", "due: 2026-12-10", "profile: flink")
    due = load_exercise_set(folder).settings.due
    assert due < datetime(2026, 12, 11, tzinfo=UTC) <= due + timedelta(microseconds=1)


def test_after_due_without_due_is_a_load_error_naming_file_and_path(folder):
    write_settings(folder, "visibility: after_due", "profile: flink")
    assert any(p.startswith("context.yaml: settings.visibility: after_due needs settings.due")
               for p in problems_of(folder))


def test_part_after_due_without_a_set_due_is_a_load_error_naming_the_part(folder):
    set_part_visibility(folder, "ex03.yaml", "after_due")
    assert any(p.startswith("ex03.yaml: parts[0].visibility: after_due needs settings.due")
               for p in problems_of(folder))


def test_due_without_an_offset_is_a_load_error(folder):
    write_settings(folder, "visibility: after_due", 'due: "2026-12-10T23:59:00"', "profile: flink")
    assert any(p.startswith("context.yaml: settings.due:") and "UTC offset" in p for p in problems_of(folder))


@pytest.mark.parametrize("due", ['"next friday"', '"2026-13-10"', '"2026-12-10T25:00:00+00:00"'])
def test_a_due_that_is_no_date_is_a_load_error(folder, due):
    write_settings(folder, "visibility: after_due", f"due: {due}", "profile: flink")
    assert any(p.startswith("context.yaml: settings.due:") for p in problems_of(folder))


def test_unknown_visibility_is_a_schema_error(folder):
    write_settings(folder, "visibility: sometimes", "profile: flink")
    assert any(p.startswith("context.yaml: settings.visibility:") for p in problems_of(folder))


def test_a_part_may_override_the_set_visibility(folder):
    set_part_visibility(folder, "ex03.yaml", "always")
    loaded = load_exercise_set(folder)
    exercise = loaded.exercise("ex3")
    first = exercise.parts[0]
    assert first.visibility is Visibility.ALWAYS
    assert exercise.visibility_of(first.id, loaded.settings) is Visibility.ALWAYS
    assert all(exercise.visibility_of(p.id, loaded.settings) is Visibility.AFTER_ATTEMPT for p in exercise.parts[1:])


@pytest.mark.parametrize("policy", list(AttemptPolicy))
def test_attempt_policy_is_read_from_settings(folder, policy):
    write_settings(folder, "visibility: after_attempt", f"attempts: {policy.value}", "profile: flink")
    assert load_exercise_set(folder).settings.attempts is policy


def test_settings_still_accept_the_old_show_expected_keyword():
    assert Settings(show_expected=False, profile="flink").visibility is Visibility.NEVER
    assert Settings(show_expected=True, profile="flink").visibility is Visibility.AFTER_ATTEMPT
    with pytest.raises(ValueError):
        Settings(profile="flink", visibility=Visibility.NEVER, show_expected=True)

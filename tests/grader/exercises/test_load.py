"""Loading and validating exercise sets: the real week 10 set, and broken copies of it.

Broken data must give one ExerciseDataError that lists every problem, each naming the
file and the JSON path (``ex06.yaml: parts[0].points: -1 is less than the minimum of 0``).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from grader.errors import ExerciseDataError
from grader.exercises.fields import field_schema
from grader.exercises.load import PACKAGED_SETS, available_sets, load_exercise_set, load_named_set
from grader.exercises.model import ErratumGrading
from reference.timestamps import MINUTE

WEEK10 = PACKAGED_SETS / "week10"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the week 10 folder that a test may break."""
    target = tmp_path / "week10"
    shutil.copytree(WEEK10, target)
    return target


def edit(path: Path, change: Callable[[dict], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def problems_of(folder: Path) -> tuple[str, ...]:
    with pytest.raises(ExerciseDataError) as info:
        load_exercise_set(folder)
    message = str(info.value)
    for problem in info.value.problems:
        assert problem in message
    return info.value.problems


# -- the real set ----------------------------------------------------------------------------


def test_week10_set_loads_with_eleven_exercises_worth_100_points(week10):
    assert week10.id == "week10"
    assert week10.exercise_ids == tuple(f"ex{i}" for i in range(1, 12))
    assert week10.total_points == 100
    for exercise in week10.exercises:
        assert sum(p.points for p in exercise.parts) == exercise.points


def test_engineering_exercises_weigh_more_than_warm_ups(week10):
    warm_up = [week10.exercise(f"ex{i}").points for i in range(1, 6)]
    engineering = [week10.exercise(f"ex{i}").points for i in range(6, 12)]
    assert min(engineering) > max(warm_up)


def test_context_keeps_arrival_order_and_parses_durations(week10):
    ctx = week10.context
    assert ctx.event_ids == ("e1", "e2", "e3", "e4", "e5", "e6", "e7")
    e7 = ctx.event("e7")
    assert (e7.user_id, e7.event_time, str(e7.amount)) == ("A", 10 * 60 * MINUTE + MINUTE, "1")
    assert (ctx.window_size, ctx.watermark_delay, ctx.allowed_lateness) == (5 * MINUTE, 2 * MINUTE, 3 * MINUTE)
    assert ctx.time_granularity == MINUTE
    assert ctx.profile.name == "flink"
    assert (ctx.scale.events_per_day, ctx.scale.users, ctx.scale.bytes_per_window) == (100_000, 5_000, 8)
    assert ctx.sink.primary_key == ("window_start", "user_id")


def test_settings_show_expected_values_under_flink(week10):
    assert week10.settings.show_expected is True
    assert week10.settings.profile == "flink"


def test_errata_are_partial_credit_and_name_a_mistake(week10):
    errata = {(ex.id, e.part): e for ex in week10.exercises for e in ex.errata}
    assert set(errata) == {
        ("ex4", "windows"), ("ex6", "rows"), ("ex8", "min_latency"), ("ex9", "active_windows_per_user"),
        ("ex9", "state_bytes"), ("ex11", "late_retract"), ("ex11", "late_emit"),
    }
    for (exercise_id, _), erratum in errata.items():
        assert erratum.grading is ErratumGrading.PARTIAL and 0 < erratum.credit < 1
        assert erratum.mistake in {m.code for m in week10.exercise(exercise_id).mistakes}


def test_published_text_is_kept_verbatim_including_markdown(week10):
    text = week10.exercise("ex4").published.text
    assert text.startswith("- **Window [10:00, 10:05):** e1 (A,5), e2 (B,3), e3 (A,2)  \n")
    assert "(10:05, B, 3)" in week10.exercise("ex6").published.text


def test_loaded_values_are_frozen(week10):
    part = week10.exercise("ex6").part("rows")
    with pytest.raises(dataclasses.FrozenInstanceError):
        part.points = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        part.compare["kind"] = "text"  # type: ignore[index]
    assert isinstance(week10.exercise("ex6").published.values["rows"], tuple)


def test_field_paths_resolve_in_answer_schema_including_list_items(week10):
    ex5 = week10.exercise("ex5")
    schema = field_schema(ex5.answer_schema, "options[*].policy")
    assert schema["type"] == "array" and schema["items"] == {"type": ["string", "null"]}
    assert field_schema(ex5.answer_schema, "options[*].nope") is None
    ex11 = week10.exercise("ex11")
    assert ex11.field_json_schema("late_retract")["$ref"] == "#/$defs/rows"


def test_available_sets_are_folders_with_a_context(tmp_path):
    assert "week10" in available_sets()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "context.yaml").write_text("id: a\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    assert available_sets(tmp_path) == ("a",)
    assert available_sets(tmp_path / "missing") == ()


def test_unknown_set_name_lists_the_known_ones():
    with pytest.raises(ExerciseDataError, match=r"unknown exercise set 'week99'; known sets: .*week10"):
        load_named_set("week99")


# -- broken copies ------------------------------------------------------------------------------


def test_negative_points_names_file_and_path(copy):
    edit(copy / "ex06.yaml", lambda d: d["parts"][0].__setitem__("points", -1))
    problems = problems_of(copy)
    assert "ex06.yaml: parts[0].points: -1 is less than the minimum of 0" in problems


def test_unknown_compare_kind_names_file_and_path(copy):
    edit(copy / "ex06.yaml", lambda d: d["parts"][0]["compare"].__setitem__("kind", "fuzzy"))
    (problem,) = problems_of(copy)
    assert problem.startswith("ex06.yaml: parts[0].compare.kind: 'fuzzy' is not one of ['rows', 'row', 'number'")


def test_parts_points_must_add_up_to_the_exercise(copy):
    edit(copy / "ex08.yaml", lambda d: d["parts"][0].__setitem__("points", 5))
    assert problems_of(copy) == ("ex08.yaml: parts: the parts' points add up to 14, but the exercise has 12 points",)


def test_set_total_must_be_100(copy):
    def more(d):
        d["points"] = 13
        d["parts"][0]["points"] = 13

    edit(copy / "ex06.yaml", more)
    (problem,) = problems_of(copy)
    assert problem.startswith("exercise set: the exercises' points add up to 101, not 100 (ex1 6, ")


def test_every_problem_of_every_file_is_reported_at_once(copy):
    edit(copy / "ex06.yaml", lambda d: d["parts"][0].__setitem__("points", -1))

    def two_errors(d):
        d["parts"][0]["compare"]["kind"] = "fuzzy"
        d["title"] = ""

    edit(copy / "ex07.yaml", two_errors)
    problems = problems_of(copy)
    assert [p.split(":")[0] for p in problems] == ["ex06.yaml", "ex07.yaml", "ex07.yaml"]
    assert "ex07.yaml: title: '' should be non-empty" in problems


def test_unknown_query_and_argument_are_named(copy):
    def break_solutions(d):
        d["parts"][0]["solution"]["query"] = "guess"
        d["parts"][2]["solution"]["args"]["bogus"] = 1

    edit(copy / "ex08.yaml", break_solutions)
    problems = problems_of(copy)
    prefix = "ex08.yaml: parts[0].solution.query: unknown query 'guess'; known queries: "
    assert any(p.startswith(prefix) for p in problems)
    assert ("ex08.yaml: parts[2].solution.args.bogus: query min_latency takes no argument 'bogus' "
            "(arguments: event_time, window_start, measure_from)") in problems


def test_event_ids_in_arguments_must_exist(copy):
    edit(copy / "ex06.yaml", lambda d: d["parts"][0]["solution"]["args"].__setitem__("events", ["e1", "e9"]))
    (problem,) = problems_of(copy)
    assert problem == ("ex06.yaml: parts[0].solution.args.events: no event 'e9' in context.yaml "
                       "(events: e1, e2, e3, e4, e5, e6, e7)")


def test_errata_and_mistakes_must_name_existing_parts(copy):
    def ghost(d):
        d["errata"][0]["part"] = "ghost"
        d["mistakes"][0]["parts"] = ["rows", "phantom"]
        d["mistakes"][0]["model"] = {"window": "inclusive_end"}

    edit(copy / "ex06.yaml", ghost)
    problems = problems_of(copy)
    assert "ex06.yaml: errata[0].part: no part 'ghost' (parts: rows)" in problems
    assert "ex06.yaml: mistakes[0].parts[1]: no part 'phantom' (parts: rows)" in problems
    prefix = "ex06.yaml: mistakes[0].model.window: neither an engine setting nor an argument"
    assert any(p.startswith(prefix) for p in problems)


def test_published_values_must_be_valid_answers(copy):
    edit(copy / "ex07.yaml", lambda d: d["published"]["values"].__setitem__("correct_sum", [8]))
    (problem,) = problems_of(copy)
    assert problem.startswith("ex07.yaml: published.values.correct_sum: [8] is not valid under any of the given "
                              "schemas")


def test_field_must_exist_in_answer_schema(copy):
    edit(copy / "ex07.yaml", lambda d: d["parts"][0].__setitem__("field", "correct_total"))
    assert problems_of(copy) == ("ex07.yaml: parts[0].field: 'correct_total' is not a field of answer_schema",)


def test_text_part_needs_a_model_answer(copy):
    edit(copy / "ex01.yaml", lambda d: d["parts"][0].pop("model_answer"))
    assert problems_of(copy) == ("ex01.yaml: parts[0]: 'model_answer' is a required property",)


def test_id_must_match_file_name_and_be_unique(copy):
    shutil.copy(copy / "ex06.yaml", copy / "ex12.yaml")
    problems = problems_of(copy)
    assert "ex12.yaml: id: 'ex6' does not match the file name (expected 'ex12')" in problems
    assert "ex12.yaml: id: 'ex6' is also the id of ex06.yaml" in problems


def test_yaml_errors_name_file_line_and_duplicate_keys(copy):
    text = (copy / "ex09.yaml").read_text(encoding="utf-8")
    (copy / "ex09.yaml").write_text(text.replace("id: ex9\n", "id: ex9\nid: ex9\n", 1), encoding="utf-8")
    (copy / "ex10.yaml").write_text("id: ex10\nparts: [\n", encoding="utf-8")
    problems = problems_of(copy)
    assert problems[0] == "ex09.yaml: line 2 column 1: duplicate key 'id'"
    assert problems[1].startswith("ex10.yaml: line 3 column 1: ")


def test_context_problems_are_named(copy):
    def break_context(d):
        d["parameters"]["watermark_delay"] = "2x"
        d["parameters"]["profile"] = "storm"
        d["sink"]["primary_key"] = ["window_start", "user"]

    edit(copy / "context.yaml", break_context)
    problems = problems_of(copy)
    assert ("context.yaml: parameters.watermark_delay: not a duration: '2x' "
            "(write it like 90s, 2m, 1h or 500ms)") in problems
    assert any(p.startswith("context.yaml: parameters.profile: unknown profile 'storm'") for p in problems)
    assert "context.yaml: sink.primary_key[1]: 'user' is not a column of window_agg" in problems


def test_context_event_without_time_is_a_schema_error(copy):
    edit(copy / "context.yaml", lambda d: d["events"][2].pop("event_time"))
    assert problems_of(copy) == ("context.yaml: events[2]: 'event_time' is a required property",)


def test_settings_profile_must_match_the_engine_profile(copy):
    edit(copy / "context.yaml", lambda d: d["settings"].__setitem__("profile", "beam-python"))
    (problem,) = problems_of(copy)
    assert problem.startswith("context.yaml: settings.profile: 'beam-python' differs from parameters.profile 'flink'")


def test_unquoted_yaml_time_is_caught(copy):
    # YAML 1.1 reads an unquoted 10:00 as the sexagesimal integer 600.
    text = (copy / "ex06.yaml").read_text(encoding="utf-8").replace('window_starts: ["10:00", "10:05"]',
                                                                      'window_starts: [10:00, "10:05"]')
    (copy / "ex06.yaml").write_text(text, encoding="utf-8")
    assert problems_of(copy) == (
        'ex06.yaml: parts[0].solution.args.window_starts[0]: 600 is not a time string (quote times in YAML: "10:00")',)

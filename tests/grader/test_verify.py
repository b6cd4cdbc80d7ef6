"""``grader.verify``: every disagreement between the published key and the engine is found and explained.

No canonical answer is written here: expected values come from ``solve()`` and the
published values from the exercise data, so the tests hold for any parameters.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from grader.exercises.fields import read_field
from grader.exercises.load import PACKAGED_SETS, load_exercise_set, load_named_set
from grader.frozen import thaw
from grader.results import ExerciseResult, GradeResult, PartResult, Status
from grader.solutions.render import answer_object
from grader.solutions.solve import solve
from grader.verify import ExampleReport, VerifyReport, report_text, verify


@pytest.fixture()
def set_copy(tmp_path: Path) -> Path:
    """A private copy of exercises/week10 that a test may edit."""
    target = tmp_path / "week10"
    shutil.copytree(PACKAGED_SETS / "week10", target)
    return target


def edit(folder: Path, file: str, change) -> None:
    path = folder / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def canonical(folder: Path | None = None):
    exercise_set = load_exercise_set(folder) if folder else load_named_set("week10")
    return exercise_set, solve(exercise_set)


def test_real_set_verifies_with_every_erratum_acknowledged():
    report = verify(["week10"], examples_dir=None)
    assert report.ok and report.exit_code == 0, report_text(report)
    exercise_set, solutions = canonical()
    in_data = {(ex.id, e.part) for ex in exercise_set.exercises for e in ex.errata}
    assert {(e.exercise, e.part) for e in report.errata} == in_data
    assert in_data, "the week 10 sheet has known errata"
    for e in report.errata:
        ex = exercise_set.exercise(e.exercise)
        assert e.acknowledged and e.reason == ex.erratum_for(e.part).reason
        assert e.engine == solutions[e.exercise][e.part].value
        assert e.published == read_field(thaw(ex.published.values), ex.part(e.part).field)[0]
        assert e.published != e.engine
        assert e.reason in e.explanation and solutions[e.exercise][e.part].derivation[0] in e.explanation
    assert not report.stale_errata


def test_planted_wrong_published_value_is_a_new_erratum_and_fails(set_copy):
    _, solutions = canonical(set_copy)
    right = solutions["ex7"]["correct_sum"].value
    wrong = right + 1
    edit(set_copy, "ex07.yaml", lambda d: d["published"]["values"].__setitem__("correct_sum", wrong))

    report = verify([set_copy], examples_dir=None)

    assert not report.ok and report.exit_code == 1
    [new] = report.new_errata
    assert (new.exercise, new.part, new.published, new.engine) == ("ex7", "correct_sum", wrong, right)
    assert not new.acknowledged and "Not acknowledged in ex07.yaml" in new.explanation
    assert any("e7" in line for line in new.derivation), "the explanation names the events"
    text = report_text(report)
    assert "ex7.correct_sum" in text and "NEW, not acknowledged" in text and "verify: FAILED" in text
    doc = report.to_dict()
    [entry] = [e for e in doc["errata"] if not e["acknowledged"]]
    assert {k: entry[k] for k in ("exercise", "part", "published", "engine")} == {
        "exercise": "ex7", "part": "correct_sum", "published": wrong, "engine": right}
    assert entry["explanation"]


def test_parameter_change_changes_errata_without_code_change(set_copy):
    """With a 4-minute delay the published latency (2 min) is still wrong, now by more: the engine says so."""
    edit(set_copy, "context.yaml", lambda d: d["parameters"].__setitem__("watermark_delay", "4m"))
    _, solutions = canonical(set_copy)
    report = verify([set_copy], examples_dir=None)
    latency = next(e for e in report.errata if (e.exercise, e.part) == ("ex8", "min_latency"))
    assert latency.engine == solutions["ex8"]["min_latency"].value
    assert latency.engine != canonical()[1]["ex8"]["min_latency"].value


def test_erratum_removed_from_the_data_becomes_new(set_copy):
    edit(set_copy, "ex08.yaml", lambda d: d.pop("errata"))
    report = verify([set_copy], examples_dir=None)
    assert report.exit_code == 1
    assert [(e.exercise, e.part) for e in report.new_errata] == [("ex8", "min_latency")]


def test_stale_erratum_fails_with_a_clear_message(set_copy):
    _, solutions = canonical(set_copy)
    edit(set_copy, "ex06.yaml",
         lambda d: d["published"]["values"].__setitem__("rows", solutions["ex6"]["rows"].value))
    report = verify([set_copy], examples_dir=None)
    assert report.exit_code == 1 and not report.new_errata
    [stale] = report.stale_errata
    assert (stale.exercise, stale.part) == ("ex6", "rows")
    assert "ex06.yaml" in stale.message and "agrees with the engine" in stale.message
    assert "STALE" in report_text(report)


def test_invalid_exercise_file_is_reported_with_file_and_path(set_copy):
    edit(set_copy, "ex03.yaml", lambda d: d["parts"][0].__setitem__("points", -1))
    report = verify([set_copy], examples_dir=None)
    assert report.exit_code == 1
    [s] = report.sets
    assert any(p.startswith("ex03.yaml: parts[0].points") for p in s.problems)
    assert "INVALID exercise data" in report_text(report)


# -- examples ------------------------------------------------------------------------------------------


def _write_example(folder: Path, name: str, submission, expect) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(submission), encoding="utf-8")
    if expect is not None:
        (folder / (path.stem + ".expect.json")).write_text(json.dumps(expect), encoding="utf-8")
    return path


def _fake_grade(score: float, failing: tuple[str, ...] = (), diagnosis: tuple[str, ...] = ()):
    """A stand-in grader: the example checks are about comparing with the expect file."""
    def grade(path, exercise_set) -> GradeResult:
        parts = tuple(PartResult(p, 0 if p in failing else 1, 1, Status.INCORRECT if p in failing else Status.CORRECT)
                      for p in ("rows", "sum"))
        ex = ExerciseResult("ex6", "t", score, 2, Status.PARTIAL, diagnosis=diagnosis, parts=parts)
        return GradeResult(None, exercise_set.id, score, 100, (ex,))
    return grade


def _check(tmp_path, expect, grade) -> ExampleReport:
    examples = tmp_path / "examples"
    _write_example(examples / "json", "x.json", {"exercise_set": "week10", "answers": {}}, expect)
    report = verify(["week10"], examples_dir=examples, grade=grade)
    [example] = report.examples
    return example


def test_example_graded_as_declared_passes(tmp_path):
    example = _check(tmp_path, {"score": 1, "failing": ["ex6.sum"], "diagnosis": ["inclusive_window_end"]},
                     _fake_grade(1, ("sum",), ("inclusive_window_end",)))
    assert example.ok and example.path == "json/x.json"


@pytest.mark.parametrize(
    ("expect", "message"),
    [({"score": 2}, "score 1, declared 2"),
     ({"score": 1, "failing": ["rows"]}, "declared failing but full marks: rows"),
     ({"score": 1, "diagnosis": []}, "diagnosis ['late_event_counted'], declared none"),
     ({"points": 1}, 'must be an object with a numeric "score"')],
)
def test_example_not_graded_as_declared_fails(tmp_path, expect, message):
    example = _check(tmp_path, expect, _fake_grade(1, ("sum",), ("late_event_counted",)))
    assert not example.ok
    assert any(message in p for p in example.problems), example.problems


def test_example_without_expect_file_fails(tmp_path):
    example = _check(tmp_path, None, _fake_grade(1))
    assert not example.ok and "no x.expect.json" in example.problems[0]


def test_failed_example_fails_the_whole_verify(tmp_path):
    examples = tmp_path / "examples"
    _write_example(examples, "x.json", {"exercise_set": "week10", "answers": {}}, {"score": 99})
    report = verify(["week10"], examples_dir=examples, grade=_fake_grade(1))
    assert isinstance(report, VerifyReport) and report.exit_code == 1
    assert "FAIL  x.json" in report_text(report)


def test_example_for_another_set_is_skipped(tmp_path):
    examples = tmp_path / "examples"
    _write_example(examples, "x.json", {"exercise_set": "week11", "answers": {}}, {"score": 1})
    assert verify(["week10"], examples_dir=examples, grade=_fake_grade(1)).examples == ()


def test_canonical_answers_as_a_json_example_get_full_marks(tmp_path):
    """Real grading: the engine's own answers, written as a submission, must score the set's total."""
    pytest.importorskip("grader.grading").__dict__.get("grade_answers") or pytest.skip("grade_answers not there yet")
    exercise_set, solutions = canonical()
    answers = {ex.id: answer_object(ex, solutions[ex.id]) for ex in exercise_set.exercises}
    examples = tmp_path / "examples"
    _write_example(examples, "engine.json", {"exercise_set": "week10", "answers": answers},
                   {"score": exercise_set.total_points, "failing": [], "diagnosis": []})
    report = verify(["week10"], examples_dir=examples)
    [example] = report.examples
    assert example.ok, example.problems

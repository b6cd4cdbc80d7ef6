"""Visibility of expected values and model answers, from the outside: the CLI and ``grade_bytes``.

A blank submission must not be an answer key: under every setting but ``always`` a part
the student left unanswered shows nothing of its answer (no ``expected``, no model answer,
no feedback that reveals it).  ``after_due`` shows answered parts once the set's due date
has passed, by the clock ``STREAMGRADE_NOW`` fixes.  The canonical values searched for
are computed by the solver, never written here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from grader.errors import UsageProblem
from grader.exercises.load import PACKAGED_SETS, load_exercise_set
from grader.exercises.model import ExerciseSet, Visibility
from grader.frozen import thaw
from grader.grading import grade_bytes
from grader.reports import render_json
from grader.reports.text import json_default
from grader.results import Withheld
from grader.solutions.solve import solve
from grader.visibility import NOW_VARIABLE, expected_visible, grading_now, withheld_because
from tests.grader.python.samples import require_sandbox
from tests.paths import EXAMPLES

BLANK = b'{"answers": {}}'
DUE = "2026-12-10T23:59:00+00:00"
BEFORE = "2026-12-01T09:00:00+00:00"
AFTER = "2026-12-11T09:00:00+00:00"
#: Answered in the partial submissions: ex3 whole, ex6 (wrong: one row short), ex1's event_time only.
ANSWERED = {("ex3", "semantics"), ("ex3", "idempotent_sink_needed_for"), ("ex6", "rows"), ("ex1", "event_time")}


# -- helpers -------------------------------------------------------------------------------------------------


def as_json(value: Any) -> Any:
    """A value as the JSON result carries it (Decimals as numbers)."""
    return json.loads(json.dumps(value, default=json_default), parse_float=Decimal)


def spellings(value: Any) -> set[str]:
    """How a canonical value could be written in a result: texts, rows in the sheet's
    notation and as JSON, numbers and choices as written."""
    if isinstance(value, list | tuple):
        return set().union(*(spellings(v) for v in value)) if value else set()
    if isinstance(value, dict):
        out = {json.dumps(as_json(value))}
        if {"window_start", "user_id", "sum_amount"} <= set(value):
            out.add(f"({value['window_start']}, {value['user_id']}, {value['sum_amount']})")
        for v in value.values():
            out |= spellings(v)
        return out
    if isinstance(value, str):
        text = " ".join(value.split())
        return {text, text[:40]} if len(text) > 40 else {text}
    return {str(value)}


def canonical(exercise_set: ExerciseSet) -> dict[tuple[str, str], Any]:
    solved = solve(exercise_set)
    return {(ex.id, p.id): solved[ex.id][p.id].value for ex in exercise_set.exercises for p in ex.parts}


def model_answers(exercise_set: ExerciseSet) -> dict[tuple[str, str], set[str]]:
    return {(ex.id, p.id): spellings(thaw(p.model_answer)) for ex in exercise_set.exercises for p in ex.parts
            if p.model_answer is not None}


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) of a JSON document, containers included."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def visible_texts(document: Any) -> list[str]:
    """The texts of a result a student reads: feedback, warnings, errors (not ids, titles or codes)."""
    skip = ("id", "title", "status", "exercise_set", "student_id", "visibility", "withheld", "policy", "due")
    return [v for p, v in walk(document) if isinstance(v, str) and p.rsplit(".", 1)[-1].split("[")[0] not in skip
            and ".findings[" not in p and ".diagnosis[" not in p]


def structure_words(exercise_set: ExerciseSet) -> str:
    """The titles, ids and fields every report prints whatever the answers: a spelling found
    in them says nothing about a leak."""
    return "\n".join([exercise_set.title] + [f"{ex.id} {ex.title} " + " ".join(f"{p.id} {p.field}" for p in ex.parts)
                                             for ex in exercise_set.exercises])


def parts(document: dict) -> dict[tuple[str, str], dict]:
    return {(ex["id"], p["id"]): p for ex in document["exercises"] for p in ex["parts"]}


def sets_copy(tmp_path: Path, settings: str | None = None, part_visibility: dict[str, str] | None = None) -> Path:
    """A sets folder holding a copy of week 10 with its ``settings:`` block replaced and
    some parts given their own ``visibility:`` (``{"ex06.yaml": "always"}``: the file's first part)."""
    root = tmp_path / "sets"
    shutil.copytree(PACKAGED_SETS / "week10", root / "week10")
    context = root / "week10" / "context.yaml"
    if settings is not None:
        text = context.read_text(encoding="utf-8")
        context.write_text(text[: text.index("\nsettings:")] + "\nsettings:\n" + settings, encoding="utf-8")
    for file, visibility in (part_visibility or {}).items():
        path = root / "week10" / file
        head, sep, rest = path.read_text(encoding="utf-8").partition("\nparts:\n")
        first, _, others = rest.partition("\n")
        indent = " " * (len(first) - len(first.lstrip(" -")))
        path.write_text(f"{head}{sep}{first}\n{indent}visibility: {visibility}\n{others}", encoding="utf-8")
    return root


def partial_submission(exercise_set: ExerciseSet) -> bytes:
    """ex3 answered in full, ex6 answered wrongly (its last row left out), ex1's first field only."""
    key = {ex.id: thaw(ex.published.values) for ex in exercise_set.exercises}
    rows = as_json(canonical(exercise_set)[("ex6", "rows")])
    answers = {"ex3": key["ex3"], "ex6": {"rows": rows[:-1]}, "ex1": {"event_time": key["ex1"]["event_time"]}}
    return json.dumps({"answers": answers}).encode()


def cli(*args: str, sets: Path | None = None, now: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STREAMGRADE_EXERCISES", NOW_VARIABLE)}
    if sets is not None:
        env["STREAMGRADE_EXERCISES"] = str(sets)
    if now is not None:
        env[NOW_VARIABLE] = now
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def graded(tmp_path: Path, raw: bytes, fmt: str = "json", **options: Any) -> str:
    path = tmp_path / "submission.json"
    path.write_bytes(raw)
    done = cli("grade", str(path), "--format", fmt, **options)
    assert done.returncode == 0, done.stderr
    return done.stdout


def document_of(text: str) -> dict:
    """A JSON result as a student's program reads it, with exact numbers."""
    return json.loads(text, parse_float=Decimal)


def grade_in(sets: Path, raw: bytes, monkeypatch: pytest.MonkeyPatch, now: str) -> dict:
    monkeypatch.setenv(NOW_VARIABLE, now)
    return document_of(render_json(grade_bytes(raw, "submission.json", sets=sets, variants=False)))


def assert_nothing_revealed_for(document: dict, exercise_set: ExerciseSet, unanswered: set[tuple[str, str]]) -> None:
    """The parts in ``unanswered`` show no expected value, no model answer and only "not answered"."""
    by_part = parts(document)
    for key in unanswered:
        part = by_part[key]
        assert "expected" not in part, key
        assert part["withheld"] in {"not_answered", "before_due", "never"}, key
        assert part["feedback"] == ["not answered"], key
    texts = "\n".join(visible_texts(document))
    for key, answers in model_answers(exercise_set).items():
        if key in unanswered:
            for text in answers:
                assert text not in texts, key


# -- the shipped settings ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def week10_values(week10) -> dict[tuple[str, str], Any]:
    return canonical(week10)


def test_blank_submission_under_shipped_settings_has_no_expected_value_anywhere(tmp_path, week10, week10_values):
    document = document_of(graded(tmp_path, BLANK))
    assert document["meta"]["visibility"] == {"policy": "after_attempt", "due": None, "revealed": True}
    found = [p for p, node in walk(document) if isinstance(node, dict) and node.get("expected") is not None]
    assert found == []
    assert not any(p.endswith(".expected") for p, _ in walk(document))
    assert len(parts(document)) == len(week10_values) == 29
    assert all(p["withheld"] == "not_answered" and p["visibility"] == "after_attempt"
               for p in parts(document).values())
    texts = "\n".join(visible_texts(document))
    assert set(visible_texts(document)) == {"not answered"}
    for key, value in week10_values.items():
        for spelled in spellings(value):
            assert spelled not in texts, key
    for key, answers in model_answers(week10).items():
        assert not any(text in json.dumps(document, ensure_ascii=False) for text in answers), key


@pytest.mark.parametrize("fmt", ["text", "gradescope", "junit"])
def test_blank_submission_reports_print_no_expected_value(tmp_path, week10, week10_values, fmt):
    output = graded(tmp_path, BLANK, fmt)
    if fmt == "gradescope":
        output = "\n".join(t["output"] for t in json.loads(output)["tests"])
    assert "expected" not in output and "Engine:" not in output
    structure = structure_words(week10)
    for key, value in week10_values.items():
        for spelled in spellings(value):
            if len(spelled) >= 8 and spelled not in structure:
                assert spelled not in output, (key, spelled)


def test_partial_submission_shows_expected_for_answered_parts_only(tmp_path, week10, week10_values):
    document = document_of(graded(tmp_path, partial_submission(week10)))
    by_part = parts(document)
    for key in ANSWERED:
        assert by_part[key]["expected"] == as_json(week10_values[key]), key
        assert "withheld" not in by_part[key]
    assert by_part[("ex6", "rows")]["status"] == "partial"  # a wrong answer: its feedback may name the value
    assert_nothing_revealed_for(document, week10, set(by_part) - ANSWERED)


def test_partial_submission_text_report_prints_expected_for_answered_wrong_parts(tmp_path, week10):
    text = graded(tmp_path, partial_submission(week10), "text")
    block = text[text.index("ex6 "):text.index("ex7 ")]
    assert "expected: [" in block
    assert text.count("expected:") == 1  # ex3 is right and ex1's answered part earns its points or not: only ex6


# -- after_due ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def after_due_sets(tmp_path_factory) -> Path:
    return sets_copy(tmp_path_factory.mktemp("after_due"), f"  visibility: after_due\n  due: \"{DUE}\"\n"
                                                           "  profile: flink\n")


def test_after_due_before_the_due_date_shows_nothing(tmp_path, after_due_sets, week10):
    document = document_of(graded(tmp_path, partial_submission(week10), sets=after_due_sets, now=BEFORE))
    assert document["meta"]["visibility"] == {"policy": "after_due", "due": DUE, "revealed": False}
    assert not any(p.endswith(".expected") for p, _ in walk(document))
    by_part = parts(document)
    assert {by_part[key]["withheld"] for key in ANSWERED} == {"before_due"}
    assert_nothing_revealed_for(document, week10, set(by_part) - ANSWERED)
    # the wrong ex6 answer is still told what is wrong, without the value it should have
    ex6 = by_part[("ex6", "rows")]
    assert ex6["status"] == "partial" and ex6["feedback"]
    missing = as_json(canonical(week10)[("ex6", "rows")])[-1]
    assert not any(spelled in " ".join(ex6["feedback"]) for spelled in spellings(missing) if len(spelled) > 5)


def test_after_due_after_the_due_date_shows_answered_parts_only(tmp_path, after_due_sets, week10, week10_values):
    document = document_of(graded(tmp_path, partial_submission(week10), sets=after_due_sets, now=AFTER))
    assert document["meta"]["visibility"]["revealed"] is True
    by_part = parts(document)
    for key in ANSWERED:
        assert by_part[key]["expected"] == as_json(week10_values[key]), key
    assert_nothing_revealed_for(document, week10, set(by_part) - ANSWERED)
    assert {p["withheld"] for k, p in by_part.items() if k not in ANSWERED} == {"not_answered"}


def test_due_date_decides_at_grading_time_not_in_a_remembered_result(after_due_sets, week10, monkeypatch):
    # One process, the same answers graded before and after the due date: results are
    # remembered by answer, and the clock must still decide.
    raw = partial_submission(week10)
    before = grade_in(after_due_sets, raw, monkeypatch, BEFORE)
    after = grade_in(after_due_sets, raw, monkeypatch, AFTER)
    again = grade_in(after_due_sets, raw, monkeypatch, BEFORE)
    key = ("ex6", "rows")
    assert "expected" not in parts(before)[key] and "expected" in parts(after)[key]
    assert "expected" not in parts(again)[key] and parts(again) == parts(before)
    assert before["score"] == after["score"]


def test_a_date_alone_is_due_at_the_end_of_that_day_utc(tmp_path, week10, monkeypatch):
    sets = sets_copy(tmp_path, "  visibility: after_due\n  due: 2026-12-10\n  profile: flink\n")
    raw = partial_submission(week10)
    late_that_day = grade_in(sets, raw, monkeypatch, "2026-12-10T23:59:59+00:00")
    next_day = grade_in(sets, raw, monkeypatch, "2026-12-11T00:00:00+00:00")
    assert "expected" not in parts(late_that_day)[("ex3", "semantics")]
    assert "expected" in parts(next_day)[("ex3", "semantics")]


# -- never, always, per-part overrides, the old spelling ------------------------------------------------------


def test_never_hides_answered_parts_and_their_revealing_feedback(tmp_path, week10, monkeypatch):
    sets = sets_copy(tmp_path, "  visibility: never\n  profile: flink\n")
    document = grade_in(sets, partial_submission(week10), monkeypatch, AFTER)
    assert document["meta"]["visibility"] == {"policy": "never", "due": None, "revealed": False}
    assert not any(p.endswith(".expected") for p, _ in walk(document))
    assert {p["withheld"] for k, p in parts(document).items() if k in ANSWERED} == {"never"}
    ex6 = parts(document)[("ex6", "rows")]
    assert not any(line.startswith("Engine:") for line in ex6["feedback"])


def test_always_shows_every_part_answered_or_not(tmp_path, week10, week10_values, monkeypatch):
    sets = sets_copy(tmp_path, "  visibility: always\n  profile: flink\n")
    document = grade_in(sets, BLANK, monkeypatch, BEFORE)
    by_part = parts(document)
    assert all("withheld" not in p for p in by_part.values())
    assert {k: p["expected"] for k, p in by_part.items()} == {k: as_json(v) for k, v in week10_values.items()}


def test_a_part_visibility_overrides_the_set(tmp_path, week10, week10_values, monkeypatch):
    # ex3's first part (semantics) always shows, ex6's rows never does, the rest follows the set.
    sets = sets_copy(tmp_path, "  visibility: after_attempt\n  profile: flink\n",
                     {"ex03.yaml": "always", "ex06.yaml": "never"})
    document = grade_in(sets, BLANK, monkeypatch, BEFORE)
    by_part = parts(document)
    assert by_part[("ex3", "semantics")]["expected"] == as_json(week10_values[("ex3", "semantics")])
    assert by_part[("ex3", "semantics")]["visibility"] == "always"
    assert "expected" not in by_part[("ex3", "idempotent_sink_needed_for")]
    answered = grade_in(sets, partial_submission(week10), monkeypatch, BEFORE)
    rows = parts(answered)[("ex6", "rows")]
    assert "expected" not in rows and rows["withheld"] == "never" and rows["visibility"] == "never"
    follows_set = parts(answered)[("ex3", "idempotent_sink_needed_for")]
    assert follows_set["expected"] == as_json(week10_values[("ex3", "idempotent_sink_needed_for")])


def test_old_show_expected_false_file_still_loads_and_hides(tmp_path, week10):
    sets = sets_copy(tmp_path, "  show_expected: false\n  profile: flink\n")
    document = document_of(graded(tmp_path, partial_submission(week10), sets=sets))
    assert document["meta"]["visibility"]["policy"] == "never"
    assert not any(p.endswith(".expected") for p, _ in walk(document))


def test_old_show_expected_true_file_reads_as_after_attempt(tmp_path, week10):
    sets = sets_copy(tmp_path, "  show_expected: true\n  profile: flink\n")
    document = document_of(graded(tmp_path, partial_submission(week10), sets=sets))
    assert document["meta"]["visibility"]["policy"] == "after_attempt"
    assert "expected" in parts(document)[("ex3", "semantics")]
    assert "expected" not in parts(document)[("ex2", "watermark")]


@pytest.mark.parametrize(("settings", "problem"), [
    ("  visibility: after_due\n  profile: flink\n", "context.yaml: settings.visibility: after_due needs settings.due"),
    ('  visibility: after_due\n  due: "10 December"\n  profile: flink\n', "context.yaml: settings.due:"),
    ('  visibility: after_due\n  due: "2026-12-10T23:59:00"\n  profile: flink\n', "has no UTC offset"),
])
def test_a_bad_due_date_is_a_clear_load_error(tmp_path, settings, problem):
    sets = sets_copy(tmp_path, settings)
    path = tmp_path / "blank.json"
    path.write_bytes(BLANK)
    done = cli("grade", str(path), "--format", "json", sets=sets)
    assert done.returncode != 0
    assert problem in done.stderr and "Traceback" not in done.stderr
    assert '"expected"' not in done.stdout


# -- Gradescope ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("settings", "want"), [
    ("  visibility: never\n", "hidden"),
    ("  visibility: after_attempt\n", "visible"),
    (f'  visibility: after_due\n  due: "{DUE}"\n', "after_due_date"),
    ("  visibility: always\n", "visible"),
])
def test_gradescope_test_visibility_follows_the_setting(tmp_path, week10, settings, want):
    sets = sets_copy(tmp_path, settings + "  profile: flink\n")
    document = document_of(graded(tmp_path, partial_submission(week10), "gradescope", sets=sets, now=BEFORE))
    assert [t["visibility"] for t in document["tests"]] == [want] * len(week10.exercises)
    shows = want == "visible"
    ex6 = next(t for t in document["tests"] if t["name"].startswith("ex6:"))
    assert ("expected: [" in ex6["output"]) is shows
    ex2 = next(t for t in document["tests"] if t["name"].startswith("ex2:"))  # unanswered
    assert ("expected:" in ex2["output"]) is (settings == "  visibility: always\n")


def test_gradescope_exercise_with_a_restricted_part_takes_the_most_restrictive(tmp_path, week10):
    sets = sets_copy(tmp_path, "  visibility: after_attempt\n  profile: flink\n",
                     {"ex03.yaml": "never", "ex06.yaml": "always"})
    document = document_of(graded(tmp_path, partial_submission(week10), "gradescope", sets=sets))
    by_id = {t["name"].split(":")[0]: t["visibility"] for t in document["tests"]}
    assert by_id["ex3"] == "hidden" and by_id["ex6"] == "visible" and by_id["ex1"] == "visible"


# -- the decision and the clock ----------------------------------------------------------------------------


NOW = datetime(2026, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize(("visibility", "answered", "due", "reason"), [
    (Visibility.NEVER, True, None, Withheld.NEVER),
    (Visibility.NEVER, False, None, Withheld.NEVER),
    (Visibility.AFTER_ATTEMPT, True, None, None),
    (Visibility.AFTER_ATTEMPT, False, None, Withheld.NOT_ANSWERED),
    (Visibility.AFTER_DUE, True, NOW + timedelta(seconds=1), Withheld.BEFORE_DUE),
    (Visibility.AFTER_DUE, False, NOW + timedelta(seconds=1), Withheld.BEFORE_DUE),
    (Visibility.AFTER_DUE, True, NOW, Withheld.BEFORE_DUE),  # due at this very instant: not passed yet
    (Visibility.AFTER_DUE, True, NOW - timedelta(seconds=1), None),
    (Visibility.AFTER_DUE, False, NOW - timedelta(seconds=1), Withheld.NOT_ANSWERED),
    (Visibility.AFTER_DUE, True, None, Withheld.BEFORE_DUE),  # no due date never reveals
    (Visibility.ALWAYS, True, None, None),
    (Visibility.ALWAYS, False, None, None),
])
def test_withheld_because_is_the_visibility_rule(visibility, answered, due, reason):
    assert withheld_because(visibility, answered=answered, now=NOW, due=due) is reason
    assert expected_visible(visibility, answered=answered, now=NOW, due=due) is (reason is None)


def test_grading_now_reads_streamgrade_now_or_the_wall_clock():
    assert grading_now({NOW_VARIABLE: "2026-12-10T23:59:00+01:00"}) == datetime(2026, 12, 10, 22, 59, tzinfo=UTC)
    assert grading_now({NOW_VARIABLE: "2026-12-10T22:59:00Z"}) == datetime(2026, 12, 10, 22, 59, tzinfo=UTC)
    before = datetime.now(UTC)
    assert before <= grading_now({}) <= datetime.now(UTC)


@pytest.mark.parametrize("text", ["tomorrow", "2026-12-10T23:59:00"])
def test_a_streamgrade_now_that_is_no_instant_is_refused_not_ignored(text):
    with pytest.raises(UsageProblem, match=NOW_VARIABLE):
        grading_now({NOW_VARIABLE: text})


def test_shipped_set_loads_with_the_settings_these_tests_assume():
    settings = load_exercise_set(PACKAGED_SETS / "week10").settings
    assert settings.visibility is Visibility.AFTER_ATTEMPT and settings.due is None


def test_a_clock_that_cannot_be_read_is_the_operators_error_not_an_internal_one(tmp_path):
    # Falling back to the wall clock could reveal answers; calling it "the grader failed on
    # your file" would blame the student.  The CLI names the setting and exits 2.
    path = tmp_path / "submission.json"
    path.write_bytes(b'{"answers": {}}')
    done = cli("grade", str(path), "--format", "json", now="next tuesday")
    assert done.returncode == 2 and done.stdout == ""
    assert f"{NOW_VARIABLE}: 'next tuesday' is not an ISO-8601 date-time" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


@pytest.mark.parametrize(("now", "shown"), [(BEFORE, False), (AFTER, True)])
def test_a_python_answer_follows_the_sets_visibility(tmp_path, after_due_sets, now, shown):
    # A defined function is an answered part: its counterexample's expected value shows
    # under after_due only once the due date has passed (and under never, never).
    require_sandbox()
    path = tmp_path / "solution.py"
    path.write_bytes((EXAMPLES / "python" / "late_not_dropped.py").read_bytes())
    done = cli("grade", str(path), "--format", "json", "--student", "s1", sets=after_due_sets, now=now)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    text = " ".join(f for ex in doc["exercises"] for p in ex["parts"] for f in p["feedback"])
    assert ("Expected " in text) is shown, text
    assert ("which is not what the engine computes" in text) is not shown
    assert doc["meta"]["visibility"] == {"policy": "after_due", "due": DUE, "revealed": shown}

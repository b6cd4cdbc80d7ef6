"""Reports of a GradeResult: text, JSON, Gradescope results.json, JUnit XML and the gradebook CSV."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from grader.attempts import Assignment, Attempt, Layout, standings
from grader.reports import FORMATS, render, render_gradebook, render_json, render_junit, render_text
from grader.reports.gradebook import gradebook_rows
from grader.reports.gradescope import SCHEMA_PATH, gradescope_results, render_gradescope
from grader.results import ExerciseResult, GradeResult, PartResult, Status, unreadable
from tests.paths import EXAMPLES

SECRET = "HIDDEN-EXPECTED-4242"
ANSI = "\x1b["


def part(pid, score, max_score, status, **kw) -> PartResult:
    return PartResult(pid, score, max_score, status, **kw)


def sample_result(student_id: str | None = "s1234567", score_ex6: float = 3) -> GradeResult:
    ex1 = ExerciseResult("ex1", "Event time and processing time", 6, 6, Status.CORRECT,
                         parts=(part("why_event_time", 6, 6, Status.CORRECT),))
    ex6 = ExerciseResult(
        "ex6", "Per-user sums in two windows", score_ex6, 4, Status.PARTIAL if score_ex6 < 4 else Status.CORRECT,
        feedback=("window [10:05, 10:10), user B: expected sum_amount 1, got 3. e6 (B, 10:10) belongs to "
                  "[10:10, 10:15): windows are half-open.",),
        diagnosis=("inclusive_window_end",),
        parts=(part("rows", score_ex6, 4, Status.PARTIAL if score_ex6 < 4 else Status.CORRECT,
                    expected=[{"window_start": "10:05", "user_id": "B", "sum_amount": Decimal("1")}],
                    given=[{"window_start": "10:05", "user_id": "B", "sum_amount": 3}]),))
    ex9 = ExerciseResult("ex9", "Window state per user", 0, 5, Status.INCORRECT,
                         parts=(part("state_bytes", 0, 3, Status.INCORRECT, expected=SECRET, given=4,
                                     feedback=("hidden test 3 failed",), show_expected=False),
                                part("active_windows_per_user", 0, 2, Status.NOT_ANSWERED)))
    ex10 = ExerciseResult("ex10", "Sink key", 0, 4, Status.NOT_ANSWERED, feedback=("not answered",))
    total = 6 + score_ex6
    return GradeResult(student_id, "week10", total, 19, (ex1, ex6, ex9, ex10),
                       warnings=("answers.ex99: unknown exercise, ignored",))


# -- text --------------------------------------------------------------------------------------------------


def test_text_report_shows_scores_statuses_feedback_diagnosis_and_total():
    text = render_text(sample_result())
    lines = text.splitlines()
    assert lines[0] == "week10: s1234567"
    ex6 = next(line for line in lines if line.startswith("ex6 "))
    assert "Per-user sums in two windows" in ex6 and "3/4" in ex6 and ex6.endswith("partial")
    feedback = next(line for line in lines if "belongs to [10:10, 10:15)" in line)
    assert feedback.startswith("      - window [10:05, 10:10)")  # indented under its exercise
    assert "      diagnosis: inclusive_window_end" in lines
    assert any(line.strip().startswith("expected: [{") for line in lines)
    assert "Total: 9/19" in lines
    assert lines[-2:] == ["Warnings:", "  - answers.ex99: unknown exercise, ignored"]
    assert text.endswith("\n")


def test_text_report_has_no_colour_unless_asked():
    assert ANSI not in render_text(sample_result())
    coloured = render_text(sample_result(), color=True)
    assert "\x1b[32mcorrect\x1b[0m" in coloured
    assert "\x1b[33mpartial\x1b[0m" in coloured


def test_text_report_escapes_control_characters_from_answers():
    ex = ExerciseResult("ex1", "t", 0, 1, Status.INCORRECT, feedback=('got "\x1b[2J\x1b]0;pwned\x07"',),
                        parts=(part("a", 0, 1, Status.INCORRECT, given="\x1b[31mred\u202e"),))
    result = GradeResult("s\x1b[1m", "week10", 0, 1, (ex,))
    for color in (False, True):
        text = render_text(result, color=color)
        assert "\x1b[2J" not in text and "\x07" not in text and "\u202e" not in text and "\x1b[31mred" not in text
        assert "\\x1b[2J" in text


def test_hidden_expected_values_are_never_printed():
    result = sample_result()
    assert SECRET not in render_text(result)
    assert SECRET not in render_json(result)
    assert SECRET not in render_gradescope(result)
    assert SECRET not in render_junit(result)


def test_unreadable_submission_report_says_so():
    result = unreadable("week10", "sub.json: line 3 column 14: Expecting ',' delimiter")
    text = render_text(result)
    assert "could not be read" in text
    assert "  - sub.json: line 3 column 14: Expecting ',' delimiter" in text.splitlines()


def test_settlement_is_shown():
    ex = ExerciseResult("ex1", "t", 0, 3, Status.NEEDS_REVIEW).settled("lecturer", 2, "good argument")
    assert "settled by lecturer at 2: good argument" in render_text(GradeResult("s", "w", 2, 3, (ex,)))


# -- json --------------------------------------------------------------------------------------------------


def test_json_report_is_the_result_format_with_exact_numbers():
    data = json.loads(render_json(sample_result()))
    assert data == json.loads(json.dumps(sample_result().to_dict(), default=str).replace('"1"', "1"))
    assert data["exercises"][1]["parts"][0]["expected"][0]["sum_amount"] == 1
    assert "expected" not in data["exercises"][2]["parts"][0]


def test_render_dispatches_every_format_and_refuses_others():
    for fmt in FORMATS:
        assert render(sample_result(), fmt)
    with pytest.raises(ValueError, match="unknown report format 'html'"):
        render(sample_result(), "html")


# -- gradescope --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gradescope_validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_gradescope_results_validate_against_the_specification_schema(gradescope_validator):
    for result in (sample_result(), sample_result(score_ex6=4), unreadable("week10", "bad"),
                   GradeResult(None, "week10", 0, 0)):
        document = json.loads(render_gradescope(result))
        assert list(gradescope_validator.iter_errors(document)) == []
    document = gradescope_results(sample_result(), visibility="after_due_date", test_visibility="after_published",
                                  execution_time=1.5)
    assert list(gradescope_validator.iter_errors(document)) == []


def test_gradescope_has_one_test_per_exercise_passed_only_at_full_marks():
    document = gradescope_results(sample_result())
    assert document["score"] == 9
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in document["tests"]] == [
        ("ex1: Event time and processing time", 6, 6, "passed"),
        ("ex6: Per-user sums in two windows", 3, 4, "failed"),
        ("ex9: Window state per user", 0, 5, "failed"),
        ("ex10: Sink key", 0, 4, "failed"),
    ]
    ex6 = document["tests"][1]
    assert "belongs to [10:10, 10:15)" in ex6["output"]
    assert ex6["tags"] == ["partial", "inclusive_window_end"]
    assert document["visibility"] == "visible" and document["stdout_visibility"] == "hidden"
    assert "answers.ex99: unknown exercise, ignored" in document["output"]


def test_gradescope_schema_refuses_what_gradescope_would_not_accept(gradescope_validator):
    good = gradescope_results(sample_result())
    bad = [
        {**good, "visibility": "public"},
        {**good, "tests": [{**good["tests"][0], "status": "partial"}]},
        {**good, "output_format": "markdown"},
        {**good, "scroe": 1},
        {"tests": [{"name": "no score"}]},
        {**good, "leaderboard": [{"name": "Time", "value": 1, "order": "up"}]},
    ]
    for document in bad:
        assert list(gradescope_validator.iter_errors(document)), document


# -- junit -------------------------------------------------------------------------------------------------


def test_junit_has_a_suite_per_submission_and_a_case_per_part():
    results = [sample_result(), sample_result("s7654321", score_ex6=4)]
    root = ET.fromstring(render_junit(results))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["s1234567 week10", "s7654321 week10"]
    cases = suites[0].findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("week10.ex1", "why_event_time"), ("week10.ex6", "rows"), ("week10.ex9", "state_bytes"),
        ("week10.ex9", "active_windows_per_user"), ("week10.ex10", "ex10")]
    failures = {c.get("name"): c.find("failure") for c in cases}
    assert failures["why_event_time"] is None
    assert failures["rows"].get("message") == "3/4 partial"
    assert "belongs to [10:10, 10:15)" in failures["rows"].text
    assert suites[0].get("tests") == "5" and suites[0].get("failures") == "4"
    assert suites[1].get("failures") == "3"
    assert root.get("tests") == "10" and root.get("failures") == "7"


def test_junit_escapes_markup_and_control_characters():
    nasty = '<b>&"</b>\x00\x1b]]>'
    ex = ExerciseResult("ex1", "t", 0, 1, Status.INCORRECT, feedback=(nasty,),
                        parts=(part("a", 0, 1, Status.INCORRECT, given=nasty, feedback=(nasty,)),))
    xml_text = render_junit(GradeResult(nasty, "week10", 0, 1, (ex,)))
    root = ET.fromstring(xml_text)
    failure = root.find("testsuite/testcase/failure")
    assert '<b>&"</b>' in failure.text
    assert "\\x00" in failure.text
    assert root.find("testsuite").get("name").startswith('<b>&"</b>')


def test_junit_of_an_unreadable_submission_is_an_error_case():
    root = ET.fromstring(render_junit(unreadable("week10", "sub.json: line 1 column 1: Expecting value")))
    error = root.find("testsuite/testcase/error")
    assert error.get("message") == "sub.json: line 1 column 1: Expecting value"
    assert root.get("errors") == "1"


@settings(max_examples=100, deadline=None)
@given(st.text(), st.text())
def test_junit_parses_whatever_the_text(feedback, given_value):
    ex = ExerciseResult("ex1", feedback, 0, 1, Status.INCORRECT, feedback=(feedback,),
                        parts=(part(feedback or "a", 0, 1, Status.INCORRECT, given=given_value),))
    ET.fromstring(render_junit(GradeResult(feedback, feedback, 0, 1, (ex,))))


# -- gradebook ---------------------------------------------------------------------------------------------


def _read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _standings(results, policy="best_per_exercise", python=()):
    """Standings of ``results`` as attempts in the order given (the sheet's), then ``python``'s."""
    attempts = [Attempt.of(r, ref=f"a{i}", order=(i,), assignment=Assignment.SHEET) for i, r in enumerate(results)]
    attempts += [Attempt.of(r, ref=f"p{i}", order=(i,), assignment=Assignment.PYTHON) for i, r in enumerate(python)]
    return standings(attempts, policy)


def _python_result(student_id, scores):
    parts = tuple(part(name, score, 2, Status.CORRECT if score == 2 else Status.INCORRECT)
                  for name, score in scores.items())
    total = sum(scores.values())
    exercise = ExerciseResult("python", "Python answers", total, 2 * len(scores), Status.PARTIAL, parts=parts)
    return GradeResult(student_id, "week10", total, 2 * len(scores), (exercise,))


def test_gradebook_has_one_row_per_student_with_per_exercise_scores():
    results = [sample_result("s2", score_ex6=1), sample_result("s1"), sample_result("s2", score_ex6=2)]
    rows = _read_csv(render_gradebook(_standings(results, "latest")))
    assert [r["student_id"] for r in rows] == ["s1", "s2"]
    assert list(rows[0])[:8] == ["student_id", "exercise_set", "total", "max", "ex1", "ex6", "ex9", "ex10"]
    assert {k: rows[1][k] for k in list(rows[1])[:8]} == {"student_id": "s2", "exercise_set": "week10", "total": "8",
                                                          "max": "19", "ex1": "6", "ex6": "2", "ex9": "0", "ex10": "0"}
    assert rows[1]["policy"] == "latest" and rows[1]["sheet_attempts"] == "2" and rows[1]["counted_attempts"] == "a2"


def test_gradebook_policies_pick_the_attempt_that_counts():
    results = [sample_result("s2", score_ex6=4), sample_result("s2", score_ex6=1)]
    assert _read_csv(render_gradebook(_standings(results, "latest")))[0]["total"] == "7"
    assert _read_csv(render_gradebook(_standings(results, "best")))[0]["total"] == "10"
    assert _read_csv(render_gradebook(_standings(results)))[0]["total"] == "10"
    # An unreadable submission was never graded: it counts under no policy, and says so.
    latest_unreadable = [sample_result("s3"), GradeResult("s3", "week10", 0, 19, errors=("unreadable",))]
    row = _read_csv(render_gradebook(_standings(latest_unreadable, "latest")))[0]
    assert row["total"] == "9" and row["ex1"] == "6" and "a1: could not be read" in row["warnings"]
    with pytest.raises(ValueError):
        _standings(results, "worst")


def test_best_per_exercise_takes_each_exercise_from_its_best_attempt():
    better_ex6 = sample_result("s4", score_ex6=4)
    worse = replace(sample_result("s4", score_ex6=1), exercises=tuple(
        replace(e, score=e.max_score) if e.id == "ex9" else e for e in sample_result("s4", score_ex6=1).exercises))
    [standing] = _standings([better_ex6, worse])
    assert standing.item("ex6").score == 4 and standing.item("ex6").ref == "a0"
    assert standing.item("ex9").score == 5 and standing.item("ex9").ref == "a1"
    assert standing.score == 6 + 4 + 5 and standing.counted_refs == ("a0", "a1")
    assert standing.counts_for("a0") == ("ex6",) and set(standing.counts_for("a1")) == {"ex1", "ex9", "ex10"}


def test_gradebook_puts_the_sheet_and_the_python_exercise_in_one_row():
    layout = Layout((("ex1", 6), ("ex6", 4), ("ex9", 5), ("ex10", 4)), (("f", 2), ("g", 2)))
    book = _standings([sample_result("s1")], python=[_python_result("s1", {"f": 2, "g": 0}),
                                                     _python_result("s1", {"f": 0, "g": 2})])
    columns, rows = gradebook_rows(book, layout, roster=["s1", "s9"], exercise_set="week10")
    assert columns[:8] == ["student_id", "exercise_set", "total", "max", "ex1", "ex6", "ex9", "ex10"]
    assert columns[8:12] == ["python_total", "python_max", "python.f", "python.g"]
    s1, s9 = rows
    assert (s1["total"], s1["python_total"], s1["python.f"], s1["python.g"]) == (9, 4, 2, 2)
    assert (s1["overall"], s1["overall_max"], s1["python_attempts"]) == (13, 23, 2)
    assert s9["student_id"] == "s9" and s9["total"] == "" and s9["python_total"] == "" and s9["overall"] == ""


def test_gradebook_skips_results_without_student():
    _, rows = gradebook_rows(_standings([sample_result(None), sample_result("s1")]))
    assert [r["student_id"] for r in rows] == ["s1"]


def test_gradebook_cells_cannot_become_spreadsheet_formulas():
    rows = _read_csv(render_gradebook(_standings([sample_result('=HYPERLINK("http://x","y")'),
                                                  sample_result("a,b\n\"c")])))
    assert {r["student_id"] for r in rows} == {"'=HYPERLINK(\"http://x\",\"y\")", "a,b\n\"c"}


def test_text_report_prints_a_parts_feedback_once():

    from grader.grading import grade_file

    example = EXAMPLES / "window_end_inclusive.json"
    result = grade_file(example)
    text = render(result, "text")
    part_items = [item for ex in result.exercises for p in ex.parts for item in p.feedback]
    assert part_items, "the example must have part feedback for this test to mean anything"
    for item in part_items:
        assert text.count(item.split("\n")[0]) == 1, item


def test_a_result_is_never_larger_than_the_bound_that_lets_it_skip_measuring():
    # bounded() measures a result only when size_bound() says it might be too large: the
    # bound must hold for every example and for hostile text (escapes, non-ASCII).
    import glob

    from grader.grading import grade_bytes
    from grader.results import PartResult, Status, replace, result_size, size_bound

    examples = [p for p in glob.glob("submissions/examples/*.json") if not p.endswith(".expect.json")]
    assert examples
    for path in examples:
        with open(path, "rb") as stream:
            result = grade_bytes(stream.read(), path)
        assert result_size(result) <= size_bound(result), path
        hostile = "\x00\u2028€😀\"\\" * 300
        exercise = result.exercises[0]
        part = PartResult("p", 0, 1, Status.INCORRECT, given=[hostile, {"k": hostile}], feedback=(hostile,))
        worse = replace(result, warnings=(hostile,), exercises=(replace(exercise, parts=(part,)),))
        assert result_size(worse) <= size_bound(worse), path


def test_a_result_over_the_limit_is_cut_to_it_with_its_scores_kept():
    from grader.grading import grade_bytes
    from grader.results import MAX_RESULT_BYTES, bounded, replace, result_size

    with open("submissions/examples/correct.json", "rb") as stream:
        result = grade_bytes(stream.read(), "correct.json")
    huge = replace(result, warnings=tuple(f"warning {i}: " + "x" * 500 for i in range(2000)))
    assert result_size(huge) > MAX_RESULT_BYTES
    cut = bounded(huge)
    assert result_size(cut) <= MAX_RESULT_BYTES
    assert cut.score == result.score and [e.score for e in cut.exercises] == [e.score for e in result.exercises]
    assert cut.warnings[-1].startswith("... and ") and len(cut.warnings) < len(huge.warnings)


def test_a_total_with_parts_awaiting_review_says_it_is_provisional():
    waiting = ExerciseResult("ex2", "Why", 0, 4, Status.NEEDS_REVIEW,
                             parts=(part("why", 0, 2, Status.NEEDS_REVIEW), part("how", 0, 2, Status.NEEDS_REVIEW)))
    result = replace(sample_result(), exercises=(*sample_result().exercises, waiting))
    assert result.to_dict()["provisional"] == "provisional: 2 parts await review"
    assert "Total: 9/19 (provisional: 2 parts await review)" in render_text(result)
    assert "provisional: 2 parts await review" in gradescope_results(result)["output"]
    settled = replace(result, exercises=(*sample_result().exercises, waiting.settled("prof", 3, "fine")))
    assert "provisional" not in settled.to_dict() and "provisional" not in render_text(settled)
    assert "provisional" not in sample_result().to_dict()

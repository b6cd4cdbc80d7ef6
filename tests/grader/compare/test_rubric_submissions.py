"""The text rubric where students meet it: whole submission files graded by ``grade_bytes``.

Each case puts the issue's own sentences into an otherwise correct submission
(``submissions/examples/correct.json``) and reads the part's score off the result.
"""

from __future__ import annotations

import copy
import json

import pytest

from grader.grading import grade_bytes
from grader.results import Status
from tests.paths import ROOT

CORRECT = json.loads((ROOT / "submissions" / "examples" / "correct.json").read_text(encoding="utf-8"))


def graded(exercise: str, field: str, text: object, *, base: dict | None = None):
    data = copy.deepcopy(base or CORRECT)
    data["answers"].setdefault(exercise, {})[field] = text
    return grade_bytes(json.dumps(data).encode(), "answers.json")


def part(result, exercise: str, part_id: str):
    return next(p for p in result.exercise(exercise).parts if p.id == part_id)


WRONG = [
    ("ex2", "watermark", "watermark", "The watermark increases and decreases freely"),
    ("ex11", "tradeoff", "tradeoff", "There is no trade-off"),
    ("ex1", "event_time", "event_time", "Event time is the time the record is processed, not when it occurred"),
    ("ex2", "window_close", "window_close", "When the processing clock reaches 10:05 the window is emitted."),
]


@pytest.mark.parametrize("exercise, field, part_id, text", WRONG, ids=[w[1] for w in WRONG])
def test_a_wrong_statement_in_the_rubrics_words_earns_at_most_a_tenth(exercise, field, part_id, text):
    result = part(graded(exercise, field, text), exercise, part_id)
    assert result.score <= 0.1 * result.max_score, (result.score, result.feedback)
    assert any("contradicts" in line for line in result.feedback), result.feedback


def test_the_feedback_names_what_contradicts_the_point():
    result = part(graded("ex11", "tradeoff", "There is no trade-off"), "ex11", "tradeoff")
    assert any(line.startswith("'There is no trade-off' contradicts") or "'no trade-off' contradicts" in line
               for line in result.feedback), result.feedback


RIGHT = [
    ("ex1", "processing_time", "processing_time", "The time at which the pipeline recieves the event."),
    ("ex2", "watermark", "watermark", "A watermrak is a threshold in event time: no older events are expected."),
    ("ex1", "event_time", "event_time", "The moment the click actually happened."),
    ("ex1", "why_event_time", "why_event_time", "So results are deterministic even when events arrive out of order."),
    ("ex8", "assumptions", "assumptions", "Traffic is uniform, about 69.4 events per minute."),
    ("ex10", "explanation", "explanation", "The primary key (window_start, user_id) makes the write an upsert."),
]


@pytest.mark.parametrize("exercise, field, part_id, text", RIGHT, ids=[r[1] + str(i) for i, r in enumerate(RIGHT)])
def test_a_terse_or_misspelt_right_answer_earns_at_least_nine_tenths(exercise, field, part_id, text):
    result = part(graded(exercise, field, text), exercise, part_id)
    assert result.score >= 0.9 * result.max_score, (result.score, result.feedback)
    assert result.status is Status.CORRECT


def test_a_keyword_bag_goes_to_review_with_zero_and_says_why():
    result = graded("ex1", "why_event_time", "deterministic, out-of-order, late, replay, reprocess, correct window")
    p = part(result, "ex1", "why_event_time")
    assert p.score == 0 and p.status is Status.NEEDS_REVIEW
    assert result.exercise("ex1").status is Status.NEEDS_REVIEW
    assert any("list of terms" in line for line in p.feedback), p.feedback
    assert result.to_dict()["provisional"] == "provisional: 1 part awaits review"


def test_only_keyword_bags_earn_no_text_points():
    bags = {
        ("ex1", "event_time"): "occurred happened record data field source producer",
        ("ex1", "processing_time"): "processing arrival clock wall system ingest",
        ("ex1", "why_event_time"): "deterministic out-of-order late replay reprocess correct",
        ("ex2", "watermark"): "event-time progress bound monotonic maximum delay threshold",
        ("ex2", "window_close"): "watermark 10:05 emit fire result end",
        ("ex8", "assumptions"): "uniform 69.4/min 288 skew processing-time arrival",
        ("ex9", "assumptions"): "watermark delay two windows 8 bytes overhead active",
        ("ex10", "explanation"): "primary key upsert overwrite window_start user_id deterministic",
        ("ex11", "tradeoff"): "state latency correctness retract upsert undercount expiry",
    }
    data = copy.deepcopy(CORRECT)
    for (exercise, field), text in bags.items():
        data["answers"][exercise][field] = text
    data["answers"]["ex5"]["options"] = [{**o, "explanation": "drop allowed-lateness retract side-output backfill"}
                                         for o in data["answers"]["ex5"]["options"]]
    result = grade_bytes(json.dumps(data).encode(), "answers.json")
    text_parts = [p for e in result.exercises for p in e.parts
                  if (e.id, p.id) in bags or (e.id, p.id) == ("ex5", "explanations")]
    assert len(text_parts) == 10
    assert sum(p.score for p in text_parts) == 0
    assert all(p.status is Status.NEEDS_REVIEW for p in text_parts if p.max_score > 0)


def test_an_over_long_answer_goes_to_review_with_zero():
    text = "The watermark is a monotonically increasing bound on event time. " * 12_000  # ~780 KB
    result = part(graded("ex2", "watermark", text), "ex2", "watermark")
    assert result.score == 0 and result.status is Status.NEEDS_REVIEW
    assert any("longer than the 2,000 characters" in line for line in result.feedback), result.feedback


def test_an_answer_the_rubric_cannot_read_is_reviewed_with_a_provisional_score():
    result = part(graded("ex1", "why_event_time", "Because the lecturer said so."), "ex1", "why_event_time")
    assert result.status is Status.NEEDS_REVIEW and result.score == 0
    assert any("provisional" in line for line in result.feedback), result.feedback


def test_naming_the_field_is_not_the_concept():
    # "processing" is a keyword of the processing_time part's concept; the part's own name is not.
    result = part(graded("ex1", "processing_time", "Processing time is a kind of time."), "ex1", "processing_time")
    assert result.score == 0


def test_repeating_the_question_earns_nothing():
    # ex2's prompt: "... at what point the tumbling window [10:00, 10:05) is closed and its result sent out ..."
    result = part(graded("ex2", "window_close", "The tumbling window is closed and its result is sent out."),
                  "ex2", "window_close")
    assert result.score == 0 and result.status is Status.INCORRECT
    assert any("repeats the question" in line for line in result.feedback), result.feedback

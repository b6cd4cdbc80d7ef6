"""The processing-time mistake in JSON answers: e7 put in the window of its arrival.

The mistaken answers are worked out here from the data context alone (each arrival's
processing time is the largest event time seen when it arrives), not from the model the
exercise declares, so a wrong model fails these tests.  Correct answers come from the
engine (``solve()``); submissions are graded from their bytes (``grade_bytes``) or by
the CLI (``streamgrade grade FILE --format json``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from grader.cli import main
from grader.results import GradeResult
from grader.solutions.job import processing_times
from grader.solutions.solve import solve_part
from reference.events import Event, decimal_text
from reference.timestamps import format_time
from reference.windows import Window
from tests.grader.answers import canonical_answers
from tests.grader.answers import graded as graded_as
from tests.paths import EXAMPLES

CODE = "processing_time_window"


def graded(answers: dict[str, Any]) -> GradeResult:
    return graded_as(answers, "s-pt")


class Arrival:
    """The late event of the data context and where processing time puts it, worked out by hand."""

    def __init__(self, week10) -> None:
        events = week10.context.events
        size = week10.context.window_size
        latest = None
        self.late: Event | None = None
        for e in events:
            if latest is not None and e.event_time < latest.event_time:
                self.late, self.after = e, latest
                break
            if latest is None or e.event_time >= latest.event_time:
                latest = e
        assert self.late is not None, "the data context has no late arrival"
        t = self.after.event_time
        self.window = Window(t - t % size, t - t % size + size)
        home = self.late.event_time - self.late.event_time % size
        self.home = Window(home, home + size)
        # The late user's sum in the arrival window when the late event is counted there.
        before = events[:events.index(self.late)]
        self.sum_there = self.late.amount + sum(
            (e.amount for e in before if e.user_id == self.late.user_id and self.window.contains(e.event_time)),
            Decimal(0))

    def row(self) -> dict[str, Any]:
        return {"window_start": format_time(self.window.start), "user_id": self.late.user_id,
                "sum_amount": int(self.sum_there)}

    def words(self) -> str:
        return (f"{self.late.event_id} (event time {format_time(self.late.event_time)}) was put in {self.window}, "
                f"the window of its arrival after {self.after.event_id} at {format_time(self.after.event_time)}: "
                "that is processing time")


@pytest.fixture(scope="module")
def arrival(week10) -> Arrival:
    return Arrival(week10)


def processing_time_ex7(week10, arrival: Arrival) -> dict[str, Any]:
    """ex7 as processing time answers it: the late event is not in its own window, and the
    "correction" is a row of the window it arrived in."""
    without = sum((e.amount for e in week10.context.events if e is not arrival.late
                   and e.user_id == arrival.late.user_id and arrival.home.contains(e.event_time)), Decimal(0))
    return {"correct_sum": int(without), "upsert": arrival.row()}


def test_arrival_processing_time_is_the_largest_event_time_seen(week10, arrival):
    times = processing_times(week10.context.events)
    at = week10.context.events.index(arrival.late)
    assert times[at] == arrival.after.event_time
    assert all(t == e.event_time for t, e in zip(times[:at], week10.context.events[:at], strict=True))


def test_the_correction_written_in_the_arrival_window_is_diagnosed_as_processing_time(week10, arrival):
    answers = canonical_answers(week10)
    answers["ex7"] = processing_time_ex7(week10, arrival)
    ex7 = graded(answers).exercise("ex7")
    assert ex7.diagnosis == (CODE,)  # not late_event_ignored: the upsert tells the two apart
    assert any(arrival.words() in line for line in ex7.feedback), ex7.feedback
    assert any(f"belongs to {arrival.home}" in line for line in ex7.feedback)


def test_the_upsert_alone_in_the_arrival_window_is_processing_time(week10, arrival):
    answers = canonical_answers(week10)
    answers["ex7"]["upsert"] = arrival.row()
    ex7 = graded(answers).exercise("ex7")
    assert ex7.diagnosis == (CODE,)


def test_leaving_e7_out_everywhere_stays_late_event_ignored(week10, arrival):
    answers = canonical_answers(week10)
    ignored = {part: solve_part(week10, "ex7", part, model={"allowed_lateness": "0m", "late_policy": "drop"}).value
               for part in ("correct_sum", "upsert")}
    answers["ex7"] = ignored
    ex7 = graded(answers).exercise("ex7")
    assert ex7.diagnosis == ("late_event_ignored",)
    assert not any("processing time" in line for line in ex7.feedback)


def test_a_sum_that_fits_both_mistakes_names_both_when_nothing_tells_them_apart(week10, arrival):
    answers = canonical_answers(week10)
    answers["ex7"] = {"correct_sum": processing_time_ex7(week10, arrival)["correct_sum"]}
    ex7 = graded(answers).exercise("ex7")
    assert set(ex7.diagnosis) == {"late_event_ignored", CODE}


def test_placing_e7_in_the_window_of_its_arrival_is_processing_time(week10, arrival):
    answers = canonical_answers(week10)
    windows = answers["ex4"]["windows"]
    there = next((w for w in windows if w["window_start"] == format_time(arrival.window.start)), None)
    if there is None:
        windows.append({"window_start": format_time(arrival.window.start), "events": [arrival.late.event_id]})
    else:
        there["events"].append(arrival.late.event_id)
    ex4 = graded(answers).exercise("ex4")
    assert ex4.diagnosis == (CODE,)
    assert any(arrival.words() in line for line in ex4.feedback), ex4.feedback


def test_placing_e7_in_its_own_window_is_still_late_event_counted(week10, arrival):
    answers = canonical_answers(week10)
    windows = answers["ex4"]["windows"]
    home = next(w for w in windows if w["window_start"] == format_time(arrival.home.start))
    home["events"].append(arrival.late.event_id)
    assert graded(answers).exercise("ex4").diagnosis == ("late_event_counted",)


def test_the_cli_diagnoses_the_example_file(capsys, week10, arrival, tmp_path):
    example = json.loads((EXAMPLES / "processing_time_window.json").read_text(encoding="utf-8"))
    # The example is the processing-time answer this module works out, not another one.
    assert example["answers"]["ex7"]["upsert"] == arrival.row()
    path = tmp_path / "pt.json"
    path.write_text(json.dumps(example), encoding="utf-8")
    code = main(["grade", "--format", "json", str(path)])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    by_id = {e["id"]: e for e in data["exercises"]}
    assert by_id["ex7"]["diagnosis"] == [CODE] and by_id["ex4"]["diagnosis"] == [CODE]
    assert by_id["ex7"]["score"] == 0
    assert any(decimal_text(arrival.sum_there) in line for line in by_id["ex7"]["feedback"])

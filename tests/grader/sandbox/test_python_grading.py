"""Grading Python answers end to end: the example submissions score what their sidecar
says, wrong functions lose exactly their part with a shrunk counterexample in the
sheet's notation, and student errors become clear messages."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from grader.errors import SandboxUnavailable
from grader.python.grade import grade_python
from grader.results import Status, round_score
from grader.sandbox import Sandbox, SandboxSettings, Tier
from grader.verify import EXAMPLE_SEED
from tests.grader.sandbox.support import CORRECT, EXAMPLES, part

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.py"))
SHEET_EVENT = re.compile(r"e\d+ \([A-D], \d\d:\d\d(:\d\d)?, [\d.]+\)")


def test_every_example_declares_its_expectation():
    names = {p.stem for p in EXAMPLE_FILES}
    assert {"correct", "window_end_inclusive", "processing_time_order", "late_not_dropped",
            "non_idempotent_upsert"} <= names
    for path in EXAMPLE_FILES:
        assert path.with_suffix(".expect.json").is_file(), f"{path.name} has no sidecar .expect.json"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_scores_what_its_sidecar_declares(path, sandbox, exercise):
    # The sidecar's score is the one `streamgrade verify` checks, on its seed: partial
    # credit makes a wrong function's points depend on the hidden tests.
    expect = json.loads(path.with_suffix(".expect.json").read_text())
    result = grade_python(path.read_bytes(), path.name, "s1234567", seed=EXAMPLE_SEED, sandbox=sandbox,
                          exercise=exercise)
    assert result.score == expect["score"], result.to_dict()
    assert result.max_score == expect["max_score"]
    parts = result.exercises[0].parts
    failing = sorted(p.id for p in parts if p.status is not Status.CORRECT)
    assert failing == sorted(expect["failing"])
    assert list(result.exercises[0].diagnosis) == expect["diagnosis"]
    for p in parts:
        if p.status is Status.CORRECT:
            assert p.score == p.max_score
            continue
        tests = result.meta["tests"][p.id]
        assert p.score < p.max_score and p.score == round_score(p.max_score * tests["credit"])
        text = " ".join(p.feedback)
        assert "Expected" in text and "returned" in text
        if p.id in ("window_aggregate",):
            shrunk = re.search(r"Smallest failing input, shrunk from .* \((\d+) to (\d+) events?\)", text)
            assert shrunk, text
            assert int(shrunk.group(2)) <= 3 < int(shrunk.group(1))
            assert SHEET_EVENT.search(text), text
        if p.id == "upsert":
            assert re.search(r"shrunk from .* \(\d+ to [12] writes?\)", text), text


def test_the_sheets_e7_is_the_counterexample_of_a_late_event_kept_at_end_plus_lateness(sandbox, exercise):
    result = grade_python((EXAMPLES / "late_not_dropped.py").read_bytes(), "late.py", None, seed=5,
                          sandbox=sandbox, exercise=exercise)
    is_late = part(result, "is_late")
    assert "is_late(event_time 10:01, watermark 10:08, size 5, allowed lateness 3). Expected True; returned False" \
        in " ".join(is_late.feedback)
    text = " ".join(part(result, "window_aggregate").feedback)
    assert "(A, 10:01, 1) arrives when the watermark is 10:08" in text and "expired at 10:08" in text


def test_grading_is_deterministic_for_a_seed_and_records_it(sandbox, exercise):
    source = (EXAMPLES / "window_end_inclusive.py").read_bytes()
    first = grade_python(source, "w.py", None, seed=77, sandbox=sandbox, exercise=exercise)
    second = grade_python(source, "w.py", None, seed=77, sandbox=sandbox, exercise=exercise)
    assert first.to_dict()["exercises"] == second.to_dict()["exercises"]
    assert first.meta["seed"] == 77 and first.meta["hidden_streams"] == exercise.hidden.streams
    assert first.meta["sandbox"]["tier"] == "strict"
    assert {"total_s", "suite_s", "sandbox_s", "shrink_s"} <= set(first.meta["timings"])
    unseeded = grade_python(CORRECT, "c.py", None, sandbox=sandbox, exercise=exercise)
    assert isinstance(unseeded.meta["seed"], int)


def test_missing_functions_score_zero_as_not_defined(grade):
    result = grade("from datetime import timedelta\n\ndef upsert(table, row):\n"
                   "    table[(row['window_start'], row['user_id'])] = row\n")
    for name in ("assign_window", "is_late", "window_aggregate"):
        p = part(result, name)
        assert p.status is Status.NOT_ANSWERED and p.score == 0 and p.feedback == (f"{name}: not defined",)
    assert part(result, "upsert").status is Status.CORRECT
    assert result.score == 2 and result.exercises[0].status is Status.PARTIAL
    empty = grade("")
    assert empty.exercises[0].status is Status.NOT_ANSWERED and empty.score == 0


def test_a_syntax_error_names_the_line(grade):
    result = grade("def assign_window(t, size_minutes=5)\n    return t\n", "mine.py")
    exercise = result.exercises[0]
    assert exercise.status is Status.INVALID and result.score == 0
    assert exercise.feedback[0].startswith("mine.py line 1: SyntaxError: expected ':'")
    assert all(p.status is Status.INVALID for p in exercise.parts)


def test_an_exception_shows_only_the_students_traceback_lines(grade):
    result = grade("def helper(e):\n    return e['amnt']\n\n"
                   "def window_aggregate(events, size_minutes=5, watermark_delay_minutes=2, "
                   "allowed_lateness_minutes=0):\n    return [helper(e) for e in events]\n", "agg.py")
    text = "\n".join(part(result, "window_aggregate").feedback)
    assert "raised KeyError: 'amnt'" in text
    assert 'File "agg.py", line 2, in helper' in text and "return e['amnt']" in text
    assert "harness" not in text and "/sandbox" not in text and "python3" not in text


def test_a_wrong_return_type_is_invalid_with_a_clear_message(grade):
    result = grade("def assign_window(event_time, size_minutes=5):\n    return event_time.strftime('%H:%M')\n"
                   "def is_late(t, w, s=5, l=0):\n    return 1\n"
                   "def window_aggregate(events, size_minutes=5, watermark_delay_minutes=2, "
                   "allowed_lateness_minutes=0):\n    return {}\n")
    aw = part(result, "assign_window")
    assert aw.status is Status.INVALID
    assert "returned '10:00' (str); expected a datetime.datetime" in " ".join(aw.feedback)
    assert "returned 1 (int); expected True or False" in " ".join(part(result, "is_late").feedback)
    assert "expected a list of rows" in " ".join(part(result, "window_aggregate").feedback)


def test_float_sums_are_refused_with_a_hint(grade):
    source = (EXAMPLES / "correct.py").read_text().replace('"sum_amount": total}', '"sum_amount": float(total)}')
    result = grade(source)
    text = " ".join(part(result, "window_aggregate").feedback)
    assert "(float); expected a Decimal: use decimal.Decimal for exact sums" in text


def test_an_upsert_that_returns_a_new_table_is_accepted(grade):
    result = grade("def upsert(table, row):\n    new = dict(table)\n"
                   "    new[(row['window_start'], row['user_id'])] = row['sum_amount']\n    return new\n")
    assert part(result, "upsert").status is Status.CORRECT


def test_hidden_inputs_are_not_shown_when_the_exercise_says_never(grade, small_exercise):
    never = dataclasses.replace(small_exercise, hidden=dataclasses.replace(small_exercise.hidden, show_inputs="never"))
    # Right on the sheet, wrong on some hidden streams: ignores allowed lateness entirely.
    source = (EXAMPLES / "correct.py").read_text().replace(
        "return watermark >= end + timedelta(minutes=allowed_lateness_minutes)",
        "return watermark >= end + timedelta(minutes=3)")
    result = grade(source, exercise=never)
    p = part(result, "is_late")
    assert p.status is Status.INCORRECT
    text = " ".join(p.feedback)
    assert "hidden inputs of this exercise are not shown" in text
    assert "is_late(event_time" not in text and p.expected is None and p.given is None
    assert "expected" not in p.to_dict()


def test_unreadable_submissions_are_errors_not_crashes(sandbox, exercise):
    not_utf8 = grade_python(b"def f():\n    return '\xff'\n", "bad.py", None, seed=1, sandbox=sandbox,
                            exercise=exercise)
    assert not not_utf8.readable and "bad.py: not UTF-8" in not_utf8.errors[0]
    too_big = grade_python(b"#" * (exercise.max_bytes + 1), "big.py", None, seed=1, sandbox=sandbox,
                           exercise=exercise)
    assert not too_big.readable and "at most 256 KiB" in too_big.errors[0]


def test_the_display_name_is_sanitised(grade):
    result = grade("def assign_window(t, s=5)\n", name="../../etc/evil name.py")
    assert result.exercises[0].feedback[0].startswith("evil_name.py line 1:")


def test_concurrent_gradings_each_get_their_own_slot(sandbox, small_exercise):
    from concurrent.futures import ThreadPoolExecutor

    def one(seed: int):
        return grade_python(CORRECT, "c.py", None, seed=seed, sandbox=sandbox, exercise=small_exercise)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(100, 112)))
    assert all(r.score == r.max_score for r in results)


def test_a_huge_int_or_an_exception_that_hangs_in_str_is_a_clear_failure(grade):
    result = grade("class Stuck(Exception):\n    def __str__(self):\n        while True:\n            pass\n"
                   "def assign_window(t, s=5):\n    return 10 ** 5000\n"
                   "def is_late(t, w, s=5, l=0):\n    raise Stuck()\n")
    assert "(int); expected a datetime.datetime" in " ".join(part(result, "assign_window").feedback)
    assert part(result, "is_late").status is Status.INCORRECT


def test_without_a_sandbox_untrusted_code_is_refused(exercise):
    box = Sandbox(SandboxSettings(bwrap="streamgrade-no-bwrap"))
    with pytest.raises(SandboxUnavailable) as caught:
        grade_python(CORRECT, "c.py", None, seed=1, sandbox=box, exercise=exercise)
    assert caught.value.exit_code == 3 and caught.value.http_status == 503
    message = caught.value.message
    assert "missing bwrap, namespaces" in message and "apt-get install -y bubblewrap" in message
    assert "STREAMGRADE_SANDBOX_TIER=weak" in message


def test_the_weak_tier_grades_and_is_recorded_on_the_result(weak_sandbox, small_exercise):
    result = grade_python(CORRECT, "c.py", None, seed=3, sandbox=weak_sandbox, exercise=small_exercise)
    assert result.score == result.max_score
    assert result.meta["sandbox"]["tier"] == Tier.WEAK.value
    assert any("WEAK sandbox tier" in w for w in result.warnings)
    leak = grade_python(b"def assign_window(t, s=5):\n    return open('/etc/passwd').read()\n", "l.py", None,
                        seed=3, sandbox=weak_sandbox, exercise=small_exercise)
    assert "PermissionError" in " ".join(part(leak, "assign_window").feedback)  # Landlock

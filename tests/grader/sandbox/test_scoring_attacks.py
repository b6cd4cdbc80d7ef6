"""Attacks on the score, not on the host: submissions that implement nothing and try to
make the grader count calls that never ran.

Everything inside the sandbox is the submission's to change, the harness included (it is
``__main__`` of the same process).  Each attack here is written as a student would write
it; each one scored 8 or 10 of 10 before the grader stopped trusting what the sandbox says
about which calls ran.  Now each scores 0, and the result says how many tests ran.
"""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from grader.python.grade import grade_python
from grader.results import Status
from grader.sandbox import Call, Sandbox, SandboxSettings
from tests.grader.sandbox.support import CORRECT, part, sandbox_processes

pytestmark = pytest.mark.slow

#: Every function of the exercise, defined so that "not defined" cannot explain a zero.
_STUBS = """
def assign_window(t, size=5):
    return None
def is_late(t, watermark, size=5, lateness=0):
    return None
def window_aggregate(events, size=5, delay=0, lateness=0):
    return None
def upsert(table, row):
    return None
"""


def _src(text: str) -> bytes:
    return textwrap.dedent(text).lstrip().encode()


def _assert_nothing_earned(result) -> None:
    assert result.readable, result.errors
    exercise = result.exercises[0]
    assert result.score == 0, result.to_dict()
    for p in exercise.parts:
        assert p.score == 0 and p.status is not Status.CORRECT, p
    assert "correct on the sheet's events and on" not in " ".join(f for p in exercise.parts for f in p.feedback)


def test_setting_the_harness_state_flag_runs_nothing_in_its_favour(grade, healthy):
    # The first call flips whatever flag makes the harness skip every later call.
    result = grade(_src('''
        import gc
        def _stop():
            harness = next(o for o in gc.get_objects() if type(o).__name__ == "Harness")
            harness.cpu_exhausted = True
            harness.halted = "cpu"
            for name in list(harness.found):
                harness.stopped[name] = "timeout"
    ''') + _STUBS.replace("    return None", "    _stop()\n    return None", 1).encode())
    _assert_nothing_earned(result)
    healthy()


def test_replacing_the_harness_code_runs_nothing_in_its_favour(grade, healthy):
    # At import the submission rewrites the harness's method that runs one call, so that
    # every call reports itself "skipped".
    result = grade(_src('''
        import sys
        harness = sys.modules["__main__"]
        harness.Harness._call = lambda self, fn, call, total: {"status": "skipped", "reason": "cpu"}
    ''') + _STUBS.encode())
    _assert_nothing_earned(result)
    assert all(p.status is Status.INCORRECT for p in result.exercises[0].parts)
    assert "ran" in " ".join(part(result, "upsert").feedback)
    healthy()


def test_raising_the_harness_limit_exception_runs_nothing_in_its_favour(grade, healthy):
    # The harness's own CPU-limit exception, raised by the first call: the harness then
    # skips every later call of every function.
    result = grade(_src('''
        import sys
        def assign_window(t, size=5):
            raise sys.modules["__main__"].CpuLimit()
        def is_late(t, watermark, size=5, lateness=0):
            raise sys.modules["__main__"].CpuLimit()
        def window_aggregate(events, size=5, delay=0, lateness=0):
            raise sys.modules["__main__"].CpuLimit()
        def upsert(table, row):
            raise sys.modules["__main__"].CpuLimit()
    '''))
    _assert_nothing_earned(result)
    for p in result.exercises[0].parts:
        assert "CPU time limit" in " ".join(p.feedback), p.feedback
    healthy()


def test_a_forged_document_of_skipped_calls_runs_nothing_in_its_favour(grade, healthy):
    # The submission reads every call id off the harness's stdin and writes a complete,
    # well-formed document saying each was skipped, then exits.
    result = grade(_src('''
        import gc, json, os
        def _forge():
            harness = next(o for o in gc.get_objects() if type(o).__name__ == "Harness")
            batch = max((o for o in gc.get_objects() if type(o) is list and o and type(o[0]) is dict
                         and "function" in o[0]), key=len)
            ids = list(harness.results) + [c["id"] for c in batch]
            read_frame = harness.run_batch.__globals__["read_frame"]
            while (more := read_frame(0)) is not None:
                ids += [c["id"] for c in more]
            names = ("assign_window", "is_late", "window_aggregate", "upsert")
            doc = {"protocol": 1, "python": "3", "import": {"ok": True},
                   "functions": {n: "function" for n in names},
                   "results": {i: {"status": "skipped", "reason": "cpu"} for i in dict.fromkeys(ids)}}
            os.write(harness.result_fd, json.dumps(doc).encode())
            os._exit(0)
        def assign_window(t, size=5):
            _forge()
        def is_late(t, watermark, size=5, lateness=0):
            _forge()
        def window_aggregate(events, size=5, delay=0, lateness=0):
            _forge()
        def upsert(table, row):
            _forge()
    '''))
    _assert_nothing_earned(result)
    assert "tests ran" in " ".join(result.exercises[0].feedback)
    healthy()


@pytest.fixture(scope="module")
def cpu_sandbox() -> Sandbox:
    """A sandbox whose CPU limit (1 s) is reached long before its wall clock."""
    box = Sandbox(SandboxSettings(cpu_s=1, wall_clock_s=8.0, budget_s=20.0, call_timeout_s=0.5,
                                  import_timeout_s=1.0))
    if box.probe().tier is None:
        pytest.skip(f"sandbox unavailable: {box.probe().refusal()}")
    return box


def test_burning_cpu_until_the_limit_runs_nothing_in_its_favour(cpu_sandbox, small_exercise):
    # Every function spins (ignoring the per-call timeout) until the process's CPU limit
    # stops it: the harness then reports every later call "skipped".
    spin = """
        while True:
            try:
                while True:
                    pass
            except BaseException as exc:
                if type(exc).__name__ == "CpuLimit":
                    raise
    """
    body = textwrap.indent(textwrap.dedent(spin).strip(), "    ")
    source = "\n".join(f"{head}\n{body}" for head in (
        "def assign_window(t, size=5):", "def is_late(t, watermark, size=5, lateness=0):",
        "def window_aggregate(events, size=5, delay=0, lateness=0):", "def upsert(table, row):")) + "\n"
    result = grade_python(source.encode(), "spin.py", "s1", seed=1, sandbox=cpu_sandbox, exercise=small_exercise)
    _assert_nothing_earned(result)
    for p in result.exercises[0].parts:
        assert "CPU time limit" in " ".join(p.feedback), p.feedback
    assert sandbox_processes(cpu_sandbox.settings) == []


def test_the_honest_part_of_a_submission_that_burns_cpu_still_earns_its_points(cpu_sandbox, small_exercise):
    # window_aggregate spins until the CPU limit; the other three are correct and earn
    # their points in a fresh process.
    honest = CORRECT.decode()
    spin = ("\ndef window_aggregate(events, size=5, delay=0, lateness=0):\n    while True:\n        try:\n"
            "            while True:\n                pass\n        except BaseException as exc:\n"
            "            if type(exc).__name__ == 'CpuLimit':\n                raise\n")
    result = grade_python((honest + spin).encode(), "mixed.py", "s1", seed=1, sandbox=cpu_sandbox,
                          exercise=small_exercise)
    aggregate = part(result, "window_aggregate")
    assert aggregate.score == 0 and "CPU time limit" in " ".join(aggregate.feedback)
    for name in ("assign_window", "is_late", "upsert"):
        assert part(result, name).status is Status.CORRECT, part(result, name)
    assert result.score == result.max_score - aggregate.max_score


def test_the_honest_part_of_a_submission_that_forges_its_document_still_earns_its_points(grade, healthy):
    # upsert forges a document (all "ok", wrong values) without exiting, so the channel
    # carries two documents: nothing on it counts, and the functions then run one per
    # process, where only upsert's own is garbled.
    honest = CORRECT.decode()
    forge = textwrap.dedent('''
        import gc as _gc, json as _json, os as _os
        def upsert(table, row):
            harness = next(o for o in _gc.get_objects() if type(o).__name__ == "Harness")
            _os.write(harness.result_fd, _json.dumps({"protocol": 1, "import": {"ok": True},
                                                     "functions": {}, "results": {}}).encode())
    ''')
    result = grade((honest + forge).encode(), "mixed.py")
    upsert = part(result, "upsert")
    assert upsert.score == 0 and "wrote to the grader's result channel" in " ".join(upsert.feedback)
    for name in ("assign_window", "is_late", "window_aggregate"):
        assert part(result, name).status is Status.CORRECT, part(result, name)
    healthy()


def test_a_signalling_nan_stored_by_upsert_is_a_wrong_value_not_a_crash(grade, healthy):
    result = grade(_src('''
        from decimal import Decimal
        def upsert(table, row):
            table[(row["window_start"], row["user_id"])] = Decimal("sNaN")
    '''))
    upsert = part(result, "upsert")
    assert upsert.score == 0 and upsert.status is Status.INVALID
    assert "sNaN" in " ".join(upsert.feedback) and "not a number" in " ".join(upsert.feedback)
    healthy()


@pytest.mark.parametrize("value", ['Decimal("NaN")', 'Decimal("-Infinity")', 'Decimal("sNaN")'])
def test_non_finite_sums_returned_by_window_aggregate_are_wrong_values(grade, value):
    result = grade(_src(f'''
        from decimal import Decimal
        def window_aggregate(events, size=5, delay=0, lateness=0):
            return [{{"window_start": e["event_time"], "user_id": e["user_id"], "sum_amount": {value}}}
                    for e in events[:1]]
    '''))
    aggregate = part(result, "window_aggregate")
    assert aggregate.score == 0 and "not a number" in " ".join(aggregate.feedback)


def test_an_uninterruptible_function_in_each_part_ends_within_one_time_budget(small_exercise):
    # Each function ignores the per-call timeout and sleeps: every sandboxed run ends on
    # the wall clock, and the grader would rerun without the function that hung.  One
    # budget bounds the whole grading, reruns and shrinking included.
    box = Sandbox(SandboxSettings(wall_clock_s=2.0, budget_s=5.0, call_timeout_s=0.3, import_timeout_s=1.0))
    if box.probe().tier is None:
        pytest.skip(f"sandbox unavailable: {box.probe().refusal()}")
    sleep = ("    import time\n    while True:\n        try:\n            time.sleep(60)\n"
             "        except BaseException:\n            pass\n")
    source = "".join(f"{head}\n{sleep}" for head in (
        "def assign_window(t, size=5):", "def is_late(t, watermark, size=5, lateness=0):",
        "def window_aggregate(events, size=5, delay=0, lateness=0):", "def upsert(table, row):"))
    exercise = dataclasses.replace(small_exercise, call_timeout_s=0.3)
    result = grade_python(source.encode(), "sleepy.py", "s1", seed=1, sandbox=box, exercise=exercise)
    assert result.score == 0
    # A bound, not a speed measurement: without the budget this took 4 runs x 2 s and more.
    assert result.meta["timings"]["total_s"] <= box.settings.budget_s + 1.0, result.meta["timings"]
    text = " ".join(f for p in result.exercises[0].parts for f in p.feedback)
    assert "time budget" in text, text
    assert sandbox_processes(box.settings) == []


def test_the_cpu_limit_reached_between_calls_still_ends_in_a_report(cpu_sandbox):
    # Most of this call's cost is freeing its 40 MB string, after it returned: the CPU
    # limit's signal often arrives in the harness's own code between calls.  It must still
    # write its document (it used to die there without one, exit status 1).
    source = b'def big(t):\n    return "x" * 40_000_000\n'
    for _ in range(4):
        run = cpu_sandbox.run(source, "big.py", [Call(f"c{i}", "big", (i,)) for i in range(400)])
        assert run.completed, (run.end, run.detail)
        statuses = {o.status for o in run.outcomes.values()}
        assert statuses <= {"too_large", "cpu", "skipped"} and "skipped" in statuses, statuses

"""Calls streamed to a started sandbox in batches, while the grader builds the rest.

The sandboxed process runs each batch as it arrives; what it returns is one document
for all of them, with exactly the ids sent, as if they had been one list: a timeout
still skips the function's later calls, a death still names the call that was running.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest

from grader.python.suite import build_suite
from grader.sandbox import Call, RunEnd, commands
from tests.grader.sandbox.support import sandbox_processes

pytestmark = pytest.mark.slow

SOURCE = textwrap.dedent("""
    import os, time
    def double(x):
        return 2 * x
    def slow(x):
        if x == 1:
            while True:
                time.sleep(0.01)
        return x
    def dies(x):
        if x == 5:
            os._exit(3)
        return x
""").encode()


def _start(sandbox, source: bytes = SOURCE):
    return sandbox.start(source, "solution.py", forbidden_imports=())


def test_batches_give_the_same_outcomes_as_one_list(sandbox):
    calls = [Call(f"c{i}", "double", (i,)) for i in range(300)]
    whole = sandbox.run(SOURCE, "solution.py", calls, forbidden_imports=())
    pending = _start(sandbox)
    pending.send(calls[:10])
    pending.send(calls[10:200])
    streamed = sandbox.finish(pending, calls)  # the calls sent, then the rest
    assert whole.completed and streamed.completed, (streamed.end, streamed.detail, streamed.stderr_tail)
    assert list(streamed.outcomes) == [c.id for c in calls]
    assert {k: (o.status, o.value) for k, o in streamed.outcomes.items()} == \
        {k: (o.status, o.value) for k, o in whole.outcomes.items()}
    assert streamed.outcomes["c299"].value == 598
    assert [s for s in streamed.started if not s.startswith("+")] == [c.id for c in calls]


def test_a_timeout_in_one_batch_skips_the_functions_calls_in_the_next(sandbox):
    pending = _start(sandbox)
    first = [Call("s0", "slow", (0,)), Call("s1", "slow", (1,))]
    pending.send(first)
    run = sandbox.finish(pending, [*first, Call("s2", "slow", (2,)), Call("d0", "double", (4,))])
    assert run.completed, (run.end, run.detail)
    assert [run.outcomes[k].status for k in ("s0", "s1", "s2", "d0")] == ["ok", "timeout", "skipped", "ok"]
    assert run.outcomes["s2"].detail["reason"] == "timeout"


def test_a_death_in_a_later_batch_names_the_call_that_was_running(sandbox):
    pending = _start(sandbox)
    first = [Call(f"a{i}", "dies", (i,)) for i in range(3)]
    second = [Call(f"b{i}", "dies", (i + 3,)) for i in range(4)]
    pending.send(first)
    pending.send(second)
    run = sandbox.finish(pending, first + second)
    assert run.end is RunEnd.EXITED and "exit status 3" in run.detail
    assert run.last_started == "b2"
    assert sandbox_processes() == []


def test_an_import_failure_with_batches_already_sent_is_reported(sandbox):
    pending = _start(sandbox, b"raise RuntimeError('at import')\n")
    calls = [Call(f"c{i}", "double", (i,)) for i in range(500)]
    pending.send(calls[:250])
    run = sandbox.finish(pending, calls)
    assert run.completed and not run.imported["ok"]
    assert "RuntimeError: at import" in run.imported["message"]


def test_ids_stay_unique_across_batches_and_finish_repeats_the_sent_calls_first(sandbox):
    pending = _start(sandbox)
    pending.send([Call("c1", "double", (1,))])
    with pytest.raises(ValueError, match="unique"):
        pending.send([Call("c1", "double", (2,))])
    pending = _start(sandbox)
    sent = [Call("c1", "double", (1,)), Call("c2", "double", (2,))]
    pending.send(sent)
    with pytest.raises(ValueError, match="already sent"):
        sandbox.finish(pending, sent[::-1])
    assert sandbox_processes() == []


def test_the_harness_runs_compiled_by_the_sandboxs_interpreter_or_as_source(sandbox, monkeypatch):
    interpreter = sandbox.probe().interpreter
    name, data = commands.harness_program(interpreter)
    assert name == "harness.pyc"
    if interpreter.version.split(".")[:2] == [str(v) for v in sys.version_info[:2]]:
        assert data[:4] == importlib.util.MAGIC_NUMBER  # what python runs as a .pyc
    monkeypatch.setattr(commands, "compiled_harness", lambda path: None)
    assert commands.harness_program(interpreter)[0] == "harness.py"
    run = sandbox.run(SOURCE, "solution.py", [Call("c1", "double", (21,))], forbidden_imports=())
    assert run.completed and run.outcomes["c1"].value == 42


def test_the_suite_is_handed_over_in_order_as_it_is_built_and_a_cached_one_at_once(exercise):
    batches: list = []
    suite = build_suite(exercise, 424242, batches.append)
    assert len(batches) > 10
    assert [c for batch in batches for c in batch] == list(suite.cases)
    assert all(c.visible for c in batches[0]) and not any(c.visible for c in batches[1])
    again: list = []
    assert build_suite(exercise, 424242, again.append) is suite
    assert again == [suite.cases]

"""Fixtures for the sandbox tests: a real sandbox (skipped, with the reason, when this
machine cannot provide one), a small exercise variant for fast attack runs, and helpers.

Tests that need the sandbox skip with the missing layer and its fix (``bwrap`` missing:
``apt-get install -y bubblewrap``); pure tests (codec, seccomp program, hidden streams)
never skip.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from grader.python.exercise import PythonExercise
from grader.python.grade import grade_python
from grader.sandbox import Sandbox, SandboxSettings, Tier
from tests.grader.sandbox.support import CORRECT, sandbox_processes


def _unavailable(box: Sandbox) -> str | None:
    if shutil.which(box.settings.bwrap) is None:
        return "bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap"
    report = box.probe()
    if report.tier is None:
        return report.refusal()
    return None


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """The strict sandbox with short limits (a hang costs seconds, not minutes)."""
    box = Sandbox(SandboxSettings(wall_clock_s=5.0, call_timeout_s=0.5, import_timeout_s=1.0))
    reason = _unavailable(box)
    if reason:
        pytest.skip(f"sandbox unavailable on this machine: {reason}")
    if box.probe().tier is not Tier.STRICT:
        pytest.skip("the strict sandbox tier is not available here")
    return box


@pytest.fixture(scope="session")
def weak_sandbox() -> Sandbox:
    """The weak tier, as an operator who opted in (bwrap hidden from it)."""
    box = Sandbox(SandboxSettings(tier=Tier.WEAK, bwrap="streamgrade-no-bwrap", wall_clock_s=5.0,
                                  call_timeout_s=0.5, import_timeout_s=1.0))
    report = box.probe()
    if report.tier is not Tier.WEAK:
        pytest.skip(f"weak sandbox tier unavailable on this machine: {report.refusal()}")
    return box


@pytest.fixture(scope="session")
def small_exercise(exercise: PythonExercise) -> PythonExercise:
    """The same exercise with 20 hidden streams and a 0.5 s call budget: attacks run fast."""
    return dataclasses.replace(exercise, hidden=dataclasses.replace(exercise.hidden, streams=20), call_timeout_s=0.5,
                               shrink_seconds=1.0)


@pytest.fixture
def grade(sandbox: Sandbox, small_exercise: PythonExercise):
    """``grade(source, name)``: grade with the small exercise and seed 1."""

    def run(source: str | bytes, name: str = "solution.py", seed: int = 1, exercise: PythonExercise | None = None):
        data = source.encode() if isinstance(source, str) else source
        return grade_python(data, name, "s0000001", seed=seed, sandbox=sandbox, exercise=exercise or small_exercise)

    return run


@pytest.fixture
def healthy(grade):
    """Asserts the grader still grades a correct submission with full marks."""

    def check() -> None:
        result = grade(CORRECT, "correct.py")
        assert result.score == result.max_score, result.to_dict()
        assert sandbox_processes() == [], "processes of the sandbox uids outlived their run"

    return check

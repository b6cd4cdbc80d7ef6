"""The grading function the service runs under test: the fake (or the real one) plus hooks.

The gunicorn under test runs :func:`tests.grader.web.apps.create_app`, whose grading function this is.
Files in ``$STREAMGRADE_TEST_HOOK_DIR`` switch behaviour on from the test process:

* ``hang``: write ``worker-<pid>.pid`` and sleep, so the test can ``kill -9`` the worker
  mid-request (after the pending row was stored, before the result);
* ``sandbox-down``: raise :class:`grader.errors.SandboxUnavailable` (HTTP 503);
* ``boom``: raise ``RuntimeError`` for a submission whose bytes hold ``BOOM`` (a bug of
  the grader's, which must not stop a regrade of the class).

``STREAMGRADE_TEST_REAL_GRADER=1`` delegates to ``grader.grading.grade_bytes``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from grader.errors import SandboxUnavailable
from grader.results import GradeResult
from tests.grader.web import fake_grading


def _version() -> str:
    """The version the service stores: the real grader's when this delegates to it."""
    if os.environ.get("STREAMGRADE_TEST_REAL_GRADER") == "1":
        from grader.grading import GRADER_VERSION as REAL_VERSION

        return REAL_VERSION
    return fake_grading.GRADER_VERSION


GRADER_VERSION = _version()


def grade_bytes(raw: bytes, filename: str | None = None, student_id: str | None = None,
                exercise_set: str = "week10", *, submission: Any = None,
                sets: Any = None, variants: bool | None = None, seed: int | None = None) -> GradeResult:
    hooks = os.environ.get("STREAMGRADE_TEST_HOOK_DIR")
    if hooks:
        folder = Path(hooks)
        if (folder / "hang").exists():
            (folder / f"worker-{os.getpid()}.pid").write_text(str(os.getpid()))
            time.sleep(120)
        if (folder / "sandbox-down").exists():
            raise SandboxUnavailable("the sandbox is unavailable (test hook)")
        if (folder / "boom").exists() and b"BOOM" in raw:
            raise RuntimeError("a bug of the grader's (test hook)")
    if os.environ.get("STREAMGRADE_TEST_REAL_GRADER") == "1":
        from grader.grading import grade_bytes as real

        return real(raw, filename, student_id, exercise_set, submission=submission, sets=sets, variants=variants,
                    seed=seed)
    return fake_grading.grade_bytes(raw, filename, student_id, exercise_set)

"""Python submissions the seed and partial-credit tests grade, each the correct example with
one bug, and the check that this machine can run them in the sandbox."""

from __future__ import annotations

import pytest

from tests.paths import EXAMPLES

CORRECT_PY = (EXAMPLES / "python" / "correct.py").read_text(encoding="utf-8")

_ADMIT = "        if not dropped:\n"


def _with_bug(before_admitting: str) -> str:
    """correct.py with ``before_admitting`` (indented code) just before window_aggregate admits an event."""
    assert CORRECT_PY.count(_ADMIT) == 1, "correct.py changed: the bug has nowhere to go"
    return CORRECT_PY.replace(_ADMIT, before_admitting + _ADMIT)


#: Right on the sheet's events (amounts 1 to 5), wrong only on a hidden stream with an
#: amount above 9.80: a few of the 200 (decimal amounts go up to 9.99).
DROPS_OUTLIERS = _with_bug('        if event["amount"] > Decimal("9.80"):\n'
                           "            dropped = True  # an outlier, the student thought\n")

#: Wrong on the sheet's own events (it keeps e7, as the published key does) and on the
#: few hidden streams where an A event numbered e7 arrives too late.
KEEPS_E7 = _with_bug('        if event["event_id"] == "e7" and event["user_id"] == "A":\n'
                     "            dropped = False  # the published key keeps e7\n")


def require_sandbox() -> None:
    """Skip, with the reason and the fix, when the default sandbox cannot run here."""
    from grader.sandbox import default_sandbox

    report = default_sandbox().probe()
    if report.tier is None:
        pytest.skip(f"sandbox unavailable on this machine: {report.refusal()}")

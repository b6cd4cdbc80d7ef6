"""When a student sees an expected value: the visibility rule and the grader's clock.

The one place that decides whether a part's expected value, its model answer and the
feedback that would reveal it are shown (:func:`withheld_because`), for JSON/YAML parts
and for Python functions alike, and the instant a submission is graded at
(:func:`grading_now`, which ``STREAMGRADE_NOW`` fixes).  The settings themselves
(``settings.visibility``, ``settings.due``, a part's ``visibility``) are read by
:mod:`grader.exercises`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from grader.errors import UsageProblem
from grader.exercises.checks import parse_instant
from grader.exercises.model import Visibility
from grader.results import Withheld

#: The environment variable that fixes the grader's clock (ISO-8601 with offset): tests, and
#: grading "as of" an instant.  Unset, grading uses the wall clock in UTC.
NOW_VARIABLE = "STREAMGRADE_NOW"


def withheld_because(visibility: Visibility, *, answered: bool, now: datetime,
                     due: datetime | None) -> Withheld | None:
    """Why a part's expected value is withheld from this grading, or ``None`` if it is shown:
    the one place that decides it (:func:`expected_visible` is its yes/no).

    ``always`` shows it, answered or not; ``never`` never does; otherwise only for a part
    the student ``answered``, and under ``after_due`` only once ``now`` is past ``due``
    (an ``after_due`` with no due date never reveals; loading a set rules that out).
    Before the due date the reason is ``before_due`` even for an unanswered part: answering
    would not show it yet.
    """
    if visibility is Visibility.ALWAYS:
        return None
    if visibility is Visibility.NEVER:
        return Withheld.NEVER
    if visibility is Visibility.AFTER_DUE and (due is None or now <= due):
        return Withheld.BEFORE_DUE
    if not answered:
        return Withheld.NOT_ANSWERED
    return None


def expected_visible(visibility: Visibility, *, answered: bool, now: datetime, due: datetime | None) -> bool:
    """Whether a student sees a part's expected value, its model answer and the feedback that reveals it."""
    return withheld_because(visibility, answered=answered, now=now, due=due) is None


def grading_now(environ: Mapping[str, str] | None = None) -> datetime:
    """The instant a submission is graded at: ``STREAMGRADE_NOW`` (ISO-8601 with an offset)
    when it is set, else the wall clock in UTC.  Take it once per submission.

    Raises :class:`~grader.errors.UsageProblem` for a ``STREAMGRADE_NOW`` that is no
    instant: a clock that cannot be read must not reveal answers by falling back."""
    text = (os.environ if environ is None else environ).get(NOW_VARIABLE, "").strip()
    if not text:
        return datetime.now(UTC)
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise UsageProblem(f"{NOW_VARIABLE}: {exc}") from None


def visibility_meta(visibility: Visibility, due: datetime | None, now: datetime) -> dict[str, Any]:
    """``meta.visibility`` of a result: the set's policy, its due date, and whether the policy
    reveals expected values (of answered parts) at ``now``.  A part's own setting is in its
    result (``visibility``, and ``withheld`` with the reason when its value is not shown)."""
    return {"policy": visibility.value, "due": due.isoformat() if due is not None else None,
            "revealed": expected_visible(visibility, answered=True, now=now, due=due)}

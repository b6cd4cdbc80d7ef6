"""One call's outcome to a verdict, and everything known about one function.

Judging is total: whatever came back over the channel is a verdict, never an exception.
``not_run`` is neither a pass nor a failure: the call has no honest outcome yet.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from grader.python.bindings import Binding, TypeProblem, shown, type_of
from grader.python.exercise import MistakeSpec
from grader.python.inputs import Case
from grader.quoting import cut
from grader.sandbox import CallOutcome


class VerdictKind(enum.StrEnum):
    """What became of one call.  ``PASS`` and ``NOT_RUN`` aside, each is a failure, and its
    value is the finding code the result and the statistics carry."""

    PASS = "pass"
    NOT_RUN = "not_run"  # no honest outcome (yet): neither a pass nor a failure
    WRONG_VALUE = "wrong_value"
    WRONG_TYPE = "wrong_type"
    RAISED = "raised"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CPU = "cpu"
    TOO_LARGE = "too_large"
    CORRUPT = "corrupt"  # the result channel was written by the submission
    KILLED = "killed"
    EXITED = "exited"
    OUTPUT_LIMIT = "output_limit"
    RESULT_LIMIT = "result_limit"
    LOST = "lost"  # an outcome of a kind the grader does not know


@dataclass(frozen=True)
class Verdict:
    """One case's result: ``kind`` is ``pass``, ``not_run``, or what went wrong.

    ``not_run`` is the only kind that is neither a pass nor a failure: the call has no
    honest outcome yet (the harness skipped it, or the process stopped before it).  It is
    rerun elsewhere or, at the end, counted against the function: never as a pass."""

    case: Case
    kind: VerdictKind
    given: Any = None
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.kind is VerdictKind.PASS

    @property
    def ran(self) -> bool:
        return self.kind is not VerdictKind.NOT_RUN


_OUTCOME_KINDS = {"raised": VerdictKind.RAISED, "timeout": VerdictKind.TIMEOUT, "memory": VerdictKind.MEMORY,
                  "cpu": VerdictKind.CPU, "too_large": VerdictKind.TOO_LARGE, "too_large_total": VerdictKind.TOO_LARGE}


_OUTCOME_WORDS = {"cpu": "used up the CPU time limit", "too_large_total": "returned more than the result may hold "
                  "in all (the values of the calls before it filled it)"}


_SKIP_REASONS = {"cpu": "an earlier call used up the CPU time limit", "timeout": "an earlier call of it timed out",
                 "too_large_total": "the values returned before it filled the result's size limit"}


def judge(binding: Binding, case: Case, outcome: CallOutcome | None) -> Verdict:
    """The verdict on one call's outcome, total: whatever came back, a verdict (a value
    the grader cannot read or compare is a wrong type, never an exception)."""
    if outcome is None:
        return Verdict(case, VerdictKind.NOT_RUN, message="no outcome came back")
    status = outcome.status
    try:
        if status == "ok":
            try:
                given = binding.normalize(outcome.value)
            except TypeProblem as exc:
                return Verdict(case, VerdictKind.WRONG_TYPE, message=str(exc))
            kind = VerdictKind.PASS if given == case.expected else VerdictKind.WRONG_VALUE
            return Verdict(case, kind, given)
        if status in ("skipped", "not_defined"):
            reason = outcome.detail.get("reason", "")
            return Verdict(case, VerdictKind.NOT_RUN, message=_SKIP_REASONS.get(reason, "the harness did not run it"))
        if status == "bad_fold_return":
            return Verdict(case, VerdictKind.WRONG_TYPE, message=(
                f"upsert returned {shown(outcome.value)} ({type_of(outcome.value)}) at write "
                f"{int(outcome.detail.get('step', 0)) + 1}; return None (changing table in place) or the table"))
        if status == "timeout":
            limit = outcome.detail.get("limit_s", "?")
            return Verdict(case, VerdictKind.TIMEOUT, message=f"did not return within {limit} s")
        if status == "memory":
            error = cut(outcome.error or "MemoryError", 300)
            return Verdict(case, VerdictKind.MEMORY, message=f"ran out of memory ({error})")
        if status == "raised":
            return Verdict(case, VerdictKind.RAISED, message=f"raised {cut(outcome.error or 'an exception', 2000)}")
        if status == "too_large":
            return Verdict(case, VerdictKind.TOO_LARGE, message=f"returned a value too large to check "
                           f"({cut(outcome.error or '', 200)})")
        return Verdict(case, _OUTCOME_KINDS.get(status, VerdictKind.LOST), message=_OUTCOME_WORDS.get(status, status))
    except Exception as exc:  # whatever came back over the channel and broke a check of ours: still theirs
        return Verdict(case, VerdictKind.WRONG_TYPE, message=f"returned a value the grader cannot read or compare "
                       f"({type(exc).__name__}: {cut(str(exc), 200)})")


@dataclass
class FunctionReport:
    """Everything known about one function after the runs (mutable while grading).

    ``asked`` are the calls the grader owns for this function; ``verdicts`` holds the
    latest verdict of each (by case id), a rerun replacing a ``not_run``.  The function
    is right only when every asked call ran and passed."""

    name: str
    defined: str = "function"
    asked: int = 0
    asked_visible: int = 0  # of which on the sheet's events
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    lost: str | None = None  # why the process died in one of its calls
    not_run_reason: str | None = None  # why some calls never ran
    sheet_failure: Verdict | None = None
    counterexample: Verdict | None = None
    shrunk_from: int | None = None
    diagnosis: list[MistakeSpec] = field(default_factory=list)

    def record(self, verdict: Verdict) -> None:
        previous = self.verdicts.get(verdict.case.id)
        if previous is None or not previous.ran:
            self.verdicts[verdict.case.id] = verdict

    @property
    def ran(self) -> list[Verdict]:
        return [v for v in self.verdicts.values() if v.kind != VerdictKind.NOT_RUN]

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts.values() if v.kind not in (VerdictKind.PASS, VerdictKind.NOT_RUN)]

    @property
    def not_run(self) -> int:
        return self.asked - len(self.ran)

    @property
    def correct(self) -> bool:
        return self.asked > 0 and self.not_run == 0 and not self.failures

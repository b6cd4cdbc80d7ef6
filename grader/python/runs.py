"""Running the suite in the sandbox, trusting nothing it says about which calls count.

The grader owns the list of calls; calls a run left unanswered run again in fresh
processes within one time budget, or count against their function.  Then each wrong
function's counterexample is shrunk and its known mistakes diagnosed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grader.python.bindings import Binding
from grader.python.credit import function_credit
from grader.python.exercise import MistakeSpec, PythonExercise
from grader.python.inputs import Case, StreamInput, WritesInput
from grader.python.judge import FunctionReport, Verdict, VerdictKind, judge
from grader.sandbox import Call, PendingRun, RunEnd, Sandbox, SandboxRun

#: At most this many sandboxed runs for the suite, per function graded (plus one): each
#: rerun follows a run that stopped early, and takes only the calls still unanswered.
RUNS_PER_FUNCTION = 2


#: A rerun is not started with less of the budget left than this (seconds).
MIN_RUN_S = 0.5


@dataclass
class Runs:
    deadline: float  # time.monotonic() at which the grading's budget ends
    runs: list[SandboxRun] = field(default_factory=list)
    import_problem: dict | None = None
    # Shrinking stopped by its time limit, not by its rounds or by finding nothing smaller:
    # the one way the same grading can show another counterexample (never another score).
    shrink_cut_short: bool = False

    @property
    def seconds(self) -> float:
        return sum(r.wall_s for r in self.runs)

    @property
    def time_left(self) -> float:
        return self.deadline - time.monotonic()


def calls_of(cases: Iterable[Case], b: Mapping[str, Binding]) -> list[Call]:
    return [Call(c.id, c.function, fold=b[c.function].fold,
                 encoded=c.encoded if c.encoded is not None else b[c.function].encoded(c.input)) for c in cases]


def run_suite(box: Sandbox, exercise: PythonExercise, source: bytes, display: str, cases: Sequence[Case],
               b: Mapping[str, Binding], reports: dict[str, FunctionReport], runs: Runs,
               started: PendingRun | None = None, sent: Sequence[Call] = ()) -> None:
    """Run every case, trusting nothing the sandbox says about which calls count.

    The grader owns the list of calls.  A call is answered only by an outcome from a run
    that completed with a well-formed document (a value, judged here, or a failure such as
    a timeout); a call the harness reports skipped, and every call of a run that stopped
    early, stays unanswered.  When a run is killed or times out, the call that was running
    fails its function.  When its document is garbled or forged, nothing in it counts and
    no call is blamed (the submission may have written it at any time): the unanswered
    calls then run one function per process, where a garbled document can only be that
    function's.  Unanswered calls of functions that can still earn points (partial
    credit counts every hidden call, so a failed function's calls run too, after the
    others') run again in fresh processes until all are answered, a round answers
    nothing new, the runs are used up or the grading's time budget ends; what is still
    unanswered counts against its function.

    ``started``: a process already started on the submission (it imported the file while
    the suite was being built); it takes the first batch.  ``sent``: the calls already
    sent to it, the first of that batch."""
    asked = [c for c in cases if c.function in reports]
    for report in reports.values():
        report.asked = sum(1 for c in asked if c.function == report.name)
        report.asked_visible = sum(1 for c in asked if c.function == report.name and c.visible)
    pending = asked
    first, isolated = True, False
    runs_left = 1 + RUNS_PER_FUNCTION * len(reports)
    while pending:
        if isolated:
            names = dict.fromkeys(c.function for c in pending)
            batches = [[c for c in pending if c.function == name] for name in names]
        else:
            batches = [pending]
        progress = False
        for batch in batches:
            if started is not None:
                calls = list(sent) + calls_of(batch[len(sent):], b)
                run, started = box.finish(started, calls), None
            elif runs_left <= 0:
                break
            elif runs.time_left < MIN_RUN_S:
                _not_run(reports, f"the time budget of the grading ({box.settings.budget_s:g} s) ran out")
                return
            else:
                run = box.run(source, display, calls_of(batch, b), forbidden_imports=exercise.forbidden_imports,
                              call_timeout_s=exercise.call_timeout_s, deadline=runs.deadline)
            runs_left -= 1
            runs.runs.append(run)
            answered = _take(run, batch, b, reports, runs, display, first=first, isolated=isolated)
            if runs.import_problem is not None:
                return
            if run.end is RunEnd.CORRUPT and not isolated:
                isolated = True  # nothing in it counts: the next round runs one function per process
                progress = True
            progress = progress or answered
            first = False
        pending = _unanswered(asked, reports)
        if not progress or runs_left <= 0:
            break
    if pending:
        _not_run(reports, "the sandboxed process kept stopping before it ran them")


def _unanswered(asked: Sequence[Case], reports: dict[str, FunctionReport]) -> list[Case]:
    """The calls worth another run: not answered yet, of a function that is defined and
    can still earn points (:func:`_can_earn`).  The calls of functions that have failed
    come last, so that a function that stops its process (a crash, a hang) cannot keep
    the others' calls from running."""
    open_functions = {name for name, r in reports.items() if r.defined == "function" and _can_earn(r)}
    out = []
    for case in asked:
        if case.function in open_functions:
            verdict = reports[case.function].verdicts.get(case.id)
            if verdict is None or not verdict.ran:
                out.append(case)
    return sorted(out, key=lambda c: bool(reports[c.function].failures))  # stable: the suite's order otherwise


#: Failures a function's process lives through at once: after only these, the rest of its
#: calls are worth running for partial credit.  After a hang, a crash, a memory or CPU
#: limit or a garbled result they are not run again (each rerun could cost a process and
#: seconds again, and a killed run's answers do not count): they stay not run, and the
#: function earns nothing, as an untested call is never a pass.
_CONTAINED = (VerdictKind.WRONG_VALUE, VerdictKind.WRONG_TYPE, VerdictKind.RAISED, VerdictKind.TOO_LARGE)


def _can_earn(report: FunctionReport) -> bool:
    """Whether a function could still earn points were every call of it answered: its
    failures so far are all :data:`_CONTAINED`, and its credit with them, over all of its
    hidden calls, is more than nothing."""
    if not report.failures:
        return True
    if any(v.kind not in _CONTAINED for v in report.failures):
        return False
    hidden_asked = report.asked - report.asked_visible
    return function_credit(sheet_correct=not any(v.case.visible for v in report.failures),
                           hidden_failed=sum(1 for v in report.failures if not v.case.visible),
                           hidden_ran=hidden_asked, all_ran=True) > 0


def _take(run: SandboxRun, batch: Sequence[Case], b: Mapping[str, Binding], reports: dict[str, FunctionReport],
          runs: Runs, display: str, *, first: bool, isolated: bool) -> bool:
    """Record what ``run`` answered; True when it answered (or failed) at least one call."""
    by_id = {c.id: c for c in batch}
    if run.completed:
        if not run.imported["ok"]:
            if first:
                runs.import_problem = dict(run.imported)
            return False
        for name, state in run.functions.items():
            if name in reports:
                reports[name].defined = state
        progress = False
        for cid, outcome in run.outcomes.items():
            case = by_id.get(cid)
            if case is None:
                continue
            report = reports[case.function]
            verdict = judge(b[case.function], case, outcome)
            if verdict.kind is not VerdictKind.NOT_RUN:
                report.verdicts[cid] = verdict  # the case was pending: no verdict of a run to replace
                progress = True
            else:
                report.verdicts.setdefault(cid, verdict)
                if report.not_run_reason is None:
                    report.not_run_reason = verdict.message
        return progress
    culprit = run.last_started
    if run.end is RunEnd.CORRUPT:
        if first and culprit is None:
            runs.import_problem = {"ok": False, "kind": "corrupt", "message": f"{display}: {run.detail}"}
            return False
        if not isolated or not batch:
            return False
        # one function alone in this process: the garbled document is its own
        case = by_id.get(culprit) or batch[0]
        reports[case.function].record(Verdict(case, VerdictKind.CORRUPT, message=f"was running when {run.detail}"))
        return True
    if culprit is None or culprit not in by_id:
        if first:
            loaded = "+loaded" in run.started
            runs.import_problem = {
                "ok": False, "kind": run.end.value,
                "message": (f"{display}: the process stopped before any function ran: {run.detail}" if loaded
                            else f"importing {display} failed: {run.detail}")}
        return False
    case = by_id[culprit]
    report = reports[case.function]
    report.lost = run.detail
    report.record(Verdict(case, _STOP_KINDS.get(run.end, VerdictKind.LOST), message=f"was running when {run.detail}"))
    return True


#: The verdict kind of the call that was running when a run stopped early.
_STOP_KINDS = {RunEnd.CORRUPT: VerdictKind.CORRUPT, RunEnd.BUDGET: VerdictKind.TIMEOUT,
               RunEnd.TIMEOUT: VerdictKind.TIMEOUT, RunEnd.KILLED: VerdictKind.KILLED,
               RunEnd.EXITED: VerdictKind.EXITED, RunEnd.OUTPUT_LIMIT: VerdictKind.OUTPUT_LIMIT,
               RunEnd.RESULT_LIMIT: VerdictKind.RESULT_LIMIT}


def _not_run(reports: dict[str, FunctionReport], reason: str) -> None:
    for report in reports.values():
        if report.not_run and report.not_run_reason is None:
            report.not_run_reason = reason


#: The failures shrinking can look for a smaller input of (a hang or a crash is not rerun).
_SHRINKABLE = (VerdictKind.WRONG_VALUE, VerdictKind.WRONG_TYPE, VerdictKind.RAISED)


def shrink(box: Sandbox, exercise: PythonExercise, source: bytes, display: str, b: Mapping[str, Binding],
            reports: dict[str, FunctionReport], runs: Runs) -> None:
    """Shrink each function's counterexample: every round's candidates in one sandboxed run.

    Shrinking only chooses what to show; no verdict of it counts for or against a function."""
    current: dict[str, Verdict] = {}
    for name, report in reports.items():
        if report.counterexample is not None \
                and report.counterexample.kind in _SHRINKABLE \
                and b[name].candidates(report.counterexample.case.input):
            current[name] = report.counterexample
    deadline = min(time.monotonic() + exercise.shrink_seconds, runs.deadline - MIN_RUN_S)
    done: set[str] = set()
    for _round in range(exercise.shrink_rounds):
        if time.monotonic() > deadline:
            runs.shrink_cut_short = True
            break
        batch: list[Case] = []
        for name, verdict in current.items():
            if name in done:
                continue
            for k, inp in enumerate(b[name].candidates(verdict.case.input)):
                batch.append(Case(f"x{_round}.{name[0]}{k}", name, inp, b[name].expected(inp), verdict.case.visible))
        if not batch:
            break
        run = box.run(source, display, calls_of(batch, b), forbidden_imports=exercise.forbidden_imports,
                      call_timeout_s=exercise.call_timeout_s, deadline=runs.deadline)
        runs.runs.append(run)
        if not run.completed or not run.imported.get("ok"):
            break
        for name, verdict in list(current.items()):
            if name in done:
                continue
            binding = b[name]
            smaller = [judge(binding, c, run.outcomes.get(c.id)) for c in batch if c.function == name]
            smaller = [v for v in smaller if v.kind == verdict.kind
                       and binding.size(v.case.input) < binding.size(verdict.case.input)]
            if smaller:
                current[name] = min(smaller, key=lambda v: binding.size(v.case.input))
            else:
                done.add(name)
        if len(done) == len(current):
            break
    for name, verdict in current.items():
        report = reports[name]
        report.shrunk_from = stream_length(report.counterexample.case.input)
        report.counterexample = verdict


def stream_length(inp: Any) -> int | None:
    if isinstance(inp, StreamInput):
        return len(inp.events)
    if isinstance(inp, WritesInput):
        return len(inp.writes)
    return None


def pick_counterexample(report: FunctionReport, binding: Binding) -> None:
    failures = report.failures
    if not failures:
        return
    visible = [v for v in failures if v.case.visible]
    if visible:
        report.sheet_failure = report.counterexample = min(visible, key=lambda v: _suite_place(v.case.id))
        return
    kinds_first = (VerdictKind.WRONG_TYPE, VerdictKind.RAISED, VerdictKind.WRONG_VALUE)
    # Ties go to the case built first (its id's number is its place in the suite), not to
    # the order the runs happened to answer in: the same grading shows the same input.
    failures.sort(key=lambda v: (kinds_first.index(v.kind) if v.kind in kinds_first else 3,
                                 binding.simplicity(v.case.input), _suite_place(v.case.id)))
    report.counterexample = failures[0]


def _suite_place(case_id: str) -> tuple[int, str]:
    """A case's place in its suite, from its id (``hw12``: the 13th case built)."""
    digits = case_id.lstrip("abcdefghijklmnopqrstuvwxyz")
    return (int(digits), case_id) if digits.isdigit() else (-1, case_id)


def diagnose(report: FunctionReport, binding: Binding, mistakes: Sequence[MistakeSpec]) -> None:
    judged = (VerdictKind.PASS, VerdictKind.WRONG_VALUE)
    checked = [v for v in report.ran if v.kind in judged]
    if not report.failures or not checked or any(v.kind not in judged for v in report.failures):
        return
    for mistake in mistakes:
        model = mistake.models.get(report.name)
        if model and all(binding.model(model, v.case.input) == v.given for v in checked):
            report.diagnosis.append(mistake)

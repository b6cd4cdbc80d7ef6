"""Grading a Python submission: the suite, the runs, and the result with its feedback.

:func:`grade_python` is the entry point; each function of ``python.yaml`` is one part,
scored by :func:`grader.python.credit.function_credit` (full points when right on the
sheet's events and on every hidden test, partial credit by the share of hidden tests
failed).  The hidden streams' seed is derived from what is graded
(:func:`grader.python.seeds.hidden_seed`), so a grading is replayable.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from grader.python.bindings import Binding, bindings
from grader.python.credit import COST_PER_FAILED_SHARE, RULE, SHEET_RULE, SHEET_WRONG_CAP, function_credit
from grader.python.exercise import FunctionSpec, PythonExercise, load_python_exercise
from grader.python.inputs import Case, StreamInput
from grader.python.judge import FunctionReport, Verdict, VerdictKind
from grader.python.runs import Runs, calls_of, diagnose, pick_counterexample, run_suite, shrink, stream_length
from grader.python.seeds import hidden_seed
from grader.python.suite import Suite, build_suite
from grader.results import (
    ExerciseResult,
    Finding,
    GradeResult,
    PartResult,
    Status,
    bounded,
    round_score,
    status_for,
    unreadable,
)
from grader.sandbox import Call, Sandbox, Tier, default_sandbox
from grader.visibility import expected_visible, grading_now, visibility_meta


def _credit(report: FunctionReport) -> float:
    """The share of its points a defined function earns (:func:`function_credit`)."""
    return function_credit(sheet_correct=not any(v.case.visible for v in report.failures),
                           hidden_failed=sum(1 for v in report.failures if not v.case.visible),
                           hidden_ran=sum(1 for v in report.ran if not v.case.visible),
                           all_ran=report.not_run == 0)


def _points(points: float, credit: float) -> float:
    """``points * credit`` as shown (two decimals); a function with a failure never shows full points."""
    score = round_score(points * credit)
    return round_score(points - 0.01) if credit < 1 and score >= points else score


def _percent(passed: int, total: int) -> str:
    """``95.5`` for 1,047 of 1,096; never ``100.0`` while one failed, nor ``0.0`` while one passed."""
    share = 100 * passed / total
    text = f"{share:.1f}"
    if text == "100.0" and passed < total:
        return "99.9"
    if text == "0.0" and passed:
        return "0.1"
    return text


def _part(report: FunctionReport, spec: FunctionSpec, binding: Binding, exercise: PythonExercise,
          suite: Suite, show_expected: bool) -> PartResult:
    path = f"{exercise.id}.{report.name}"
    if report.defined == "missing":
        return PartResult(report.name, 0, spec.points, Status.NOT_ANSWERED, feedback=(f"{report.name}: not defined",),
                          findings=(Finding("not_defined", path, "not defined"),), show_expected=False)
    if report.defined != "function":
        message = f"{report.name} is defined but is not a function ({report.defined.partition(': ')[2]})"
        return PartResult(report.name, 0, spec.points, Status.INVALID, feedback=(message,),
                          findings=(Finding("not_callable", path, message),), show_expected=False)
    hidden_failed = sum(1 for v in report.failures if not v.case.visible)
    hidden_total = sum(1 for v in report.ran if not v.case.visible)
    cx = report.counterexample
    not_run = _not_run_line(report)
    if cx is None and not_run:
        head = f"{report.name}: not credited: {not_run}"
        return PartResult(report.name, 0, spec.points, Status.INCORRECT, feedback=(head,),
                          findings=(Finding(VerdictKind.NOT_RUN, path, head),), show_expected=False)
    if cx is None:
        return PartResult(report.name, spec.points, spec.points, Status.CORRECT,
                          feedback=(f"{report.name}: correct on the sheet's events and on {hidden_total:,} hidden "
                                    "tests",), show_expected=False)
    score = _points(spec.points, _credit(report))
    hidden = f"{hidden_failed:,} of {hidden_total:,} hidden tests (generated from seed {suite.seed})"
    sheet_checked = sum(1 for v in report.ran if v.case.visible) == report.asked_visible
    if report.sheet_failure is None:
        head = (f"{report.name}: correct on the sheet's events, wrong on {hidden}" if sheet_checked
                else f"{report.name}: wrong on {hidden}")
    elif hidden_failed:
        head = f"{report.name}: wrong on the sheet's events and on {hidden}"
    elif hidden_total:
        head = f"{report.name}: wrong on the sheet's events (right on the {hidden_total:,} hidden tests)"
    else:
        head = f"{report.name}: wrong on the sheet's events"
    if not_run:
        head += f": not credited: {not_run}"
    elif hidden_total:
        rule = RULE if report.sheet_failure is None else f"{SHEET_RULE}; {RULE}"
        head += (f": passed {hidden_total - hidden_failed:,} of {hidden_total:,} hidden tests "
                 f"({_percent(hidden_total - hidden_failed, hidden_total)} %): {round_score(score)} of "
                 f"{round_score(spec.points)} points ({rule}).")
    else:
        head += f": {round_score(score)} of {round_score(spec.points)} points (no hidden test to earn credit on)."
    lines = [head]
    sheet = report.sheet_failure
    if sheet is not None and sheet is not cx:
        lines.append(_case_lines(binding, sheet, show_expected, "On the sheet's input")[0])
    show_input = cx.case.visible or exercise.hidden.show_inputs == "counterexample"
    if show_input:
        origin = "the sheet's events" if cx.case.visible else "a hidden stream"
        size_now = stream_length(cx.case.input)
        if report.shrunk_from is not None and size_now is not None and size_now < report.shrunk_from:
            unit = "event" if isinstance(cx.case.input, StreamInput) else "write"
            label = (f"Smallest failing input, shrunk from {origin} ({report.shrunk_from} to {size_now} "
                     f"{unit}{'' if size_now == 1 else 's'})")
        elif cx is sheet:
            label = "On the sheet's input"
        else:
            label = "Simplest failing input among the hidden tests"
        lines += _case_lines(binding, cx, show_expected, label, explain=True)
    else:
        detail = f" ({cx.message})" if cx.kind is not VerdictKind.WRONG_VALUE and cx.message else ""
        lines.append(f"The hidden inputs of this exercise are not shown; the first failure: "
                     f"{cx.kind.replace('_', ' ')}{detail}.")
    lines += [m.feedback for m in report.diagnosis]
    shown_expected = show_input and show_expected
    failed = Status.INVALID if cx.kind is VerdictKind.WRONG_TYPE else Status.INCORRECT
    status = Status.PARTIAL if score > 0 else failed
    findings = [Finding(cx.kind, path, head)] + [Finding(m.code, path, m.feedback) for m in report.diagnosis]
    return PartResult(
        report.name, score, spec.points, status,
        expected=binding.describe_value(cx.case.expected) if shown_expected else None,
        given=binding.describe_value(cx.given) if show_input and cx.kind is VerdictKind.WRONG_VALUE else None,
        feedback=tuple(lines), findings=tuple(findings), show_expected=shown_expected)


def _tests_meta(report: FunctionReport, imported: bool) -> dict[str, object]:
    """``meta.tests`` of one function: its counts, all and hidden, and the share of its points it earned."""
    hidden = [v for v in report.ran if not v.case.visible]
    hidden_failed = sum(1 for v in hidden if not v.passed)
    credit = _credit(report) if imported and report.defined == "function" else 0.0
    return {"asked": report.asked, "ran": len(report.ran), "failed": len(report.failures),
            "passed": len(report.ran) - len(report.failures),
            "sheet": {"asked": report.asked_visible, "ran": len(report.ran) - len(hidden),
                      "failed": len(report.failures) - hidden_failed},
            "hidden": {"asked": report.asked - report.asked_visible, "ran": len(hidden), "failed": hidden_failed,
                       "passed": len(hidden) - hidden_failed},
            "credit": round(credit, 4)}


def _not_run_line(report: FunctionReport) -> str:
    """``"180 of 312 tests ran; ..."`` when some asked calls never ran, else empty."""
    if not report.not_run:
        return ""
    reason = f" ({report.not_run_reason})" if report.not_run_reason else ""
    return (f"only {len(report.ran)} of {report.asked} tests ran; the other {report.not_run} did not{reason}. "
            "A function counts as correct only when every one of its tests runs and passes.")


def _case_lines(binding: Binding, verdict: Verdict, show_expected: bool, label: str,
                explain: bool = False) -> list[str]:
    """``label: input. Expected X; returned Y.`` and, with ``explain``, why X."""
    case = verdict.case
    text = f"{label}: {binding.describe_input(case.input)}."
    if verdict.kind is not VerdictKind.WRONG_VALUE:
        return [f"{text} It {verdict.message}."]
    given = binding.describe_value(verdict.given)
    if not show_expected:
        return [f"{text} Returned {given}, which is not what the engine computes."]
    lines = [f"{text} Expected {binding.describe_value(case.expected)}; returned {given}."]
    why = binding.explain(case.input, case.expected, verdict.given) if explain else ""
    if why:
        lines.append(why if why.endswith(".") else why + ".")
    return lines


def _safe_display_name(name: str | None, default: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", base)[:80]
    return base if base.endswith(".py") and len(base) > 3 else default


def grade_python(source: bytes, source_name: str, student_id: str | None, seed: int | None = None, *,
                 sandbox: Sandbox | None = None, exercise: PythonExercise | None = None,
                 set_fingerprint: str = "") -> GradeResult:
    """Grade a Python submission: each function of ``python.yaml`` is one part.

    Never raises for anything a student can write: syntax errors, forbidden imports,
    exceptions, hangs, memory, wrong types and attacks end as statuses and messages.
    Raises :class:`grader.errors.SandboxUnavailable` when the sandbox cannot run (no
    tier available, or it failed to start): untrusted code is never run unconfined.

    ``seed`` fixes the hidden streams; without it the seed is derived
    (:func:`~grader.python.seeds.hidden_seed`) from ``set_fingerprint`` (the fingerprint
    of the exercise set graded on; :func:`grader.grading.grade_bytes` passes it, and a
    caller that leaves it empty derives other seeds than the CLI and the service), the
    exercise's own fingerprint, ``student_id`` and the source's bytes.  ``meta.seed_from``
    says ``derived`` when the seed is the one derived here (passed or not), ``given`` when
    another was passed (a replay, or a regrade that kept a student's seed after the
    derivation changed).  Either way the grading is deterministic: the same inputs give
    the same score and feedback.  The seed is recorded in ``meta`` with the sandbox tier,
    the per-function test counts and credit, and the timings.
    """
    started = time.perf_counter()
    now = grading_now()  # read once, before anything runs: the instant expected values are shown at
    exercise = exercise or load_python_exercise()
    if len(source) > exercise.max_bytes:
        return unreadable(exercise.exercise_set, f"{source_name}: the file is {len(source)} bytes; Python answers "
                          f"may be at most {exercise.max_bytes // 1024} KiB", exercise.max_score)
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        return unreadable(exercise.exercise_set, f"{source_name}: not UTF-8 (byte {exc.start}: {exc.reason})",
                          exercise.max_score)
    box = sandbox or default_sandbox()
    report = box.require()
    # One budget of wall time for everything this submission runs (reruns and shrinking
    # included): no submission holds a worker longer, whatever it does.
    runs = Runs(deadline=time.monotonic() + box.settings.budget_s)
    derived = hidden_seed(set_fingerprint, exercise.fingerprint, student_id, source)
    seed = derived if seed is None else int(seed)
    seed_from = "derived" if seed == derived else "given"
    display = _safe_display_name(source_name, exercise.display_name)
    b = bindings(exercise.profile)
    # A defined function is an answered part: the set's visibility decides, at this instant.
    shown = expected_visible(exercise.visibility, answered=True, now=now, due=exercise.due)

    # The sandboxed process starts and imports the file while the suite is built, and
    # runs each batch of calls as soon as it is built (the cases' order is kept).
    process = box.start(source, display, forbidden_imports=exercise.forbidden_imports,
                        call_timeout_s=exercise.call_timeout_s, deadline=runs.deadline)
    reports = {f.name: FunctionReport(f.name) for f in exercise.functions}
    sent: list[Call] = []

    def stream(cases: Sequence[Case]) -> None:
        calls = calls_of([c for c in cases if c.function in reports], b)
        process.send(calls)
        sent.extend(calls)

    suite_started = time.perf_counter()
    try:
        suite = build_suite(exercise, seed, stream)
    except BaseException:
        process.cancel()
        raise
    suite_s = time.perf_counter() - suite_started
    run_suite(box, exercise, source, display, suite.cases, b, reports, runs, started=process, sent=sent)
    sandbox_s = runs.seconds
    shrink_started = time.perf_counter()
    if runs.import_problem is None:
        for name, fr in reports.items():
            pick_counterexample(fr, b[name])
        shrink(box, exercise, source, display, b, reports, runs)
        for name, fr in reports.items():
            diagnose(fr, b[name], exercise.mistakes)
    shrink_s = time.perf_counter() - shrink_started

    if runs.import_problem is not None:
        message = runs.import_problem.get("message", "the submission could not be imported")
        code = runs.import_problem.get("kind", "import_failed")
        parts = tuple(PartResult(f.name, 0, f.points, Status.INVALID, feedback=(message,),
                                 findings=(Finding(code, f"{exercise.id}.{f.name}", message),), show_expected=False)
                      for f in exercise.functions)
        exercise_result = ExerciseResult(exercise.id, exercise.title, 0, exercise.max_score, Status.INVALID,
                                         feedback=(message,), parts=parts)
    else:
        parts = tuple(_part(reports[f.name], f, b[f.name], exercise, suite, shown) for f in exercise.functions)
        score = round_score(sum(p.score for p in parts))
        if all(p.status is Status.NOT_ANSWERED for p in parts):
            status = Status.NOT_ANSWERED
        else:
            status = status_for(score, exercise.max_score)
        correct = sum(1 for p in parts if p.status is Status.CORRECT)
        partly = sum(1 for p in parts if p.status is Status.PARTIAL)
        summary = (f"{correct} of {len(parts)} functions correct{f', {partly} partly' if partly else ''}, each "
                   f"checked on the sheet's events and on {suite.streams:,} hidden generated streams (seed {seed}). "
                   f"Partial credit: {RULE}; {SHEET_RULE}.")
        asked = sum(fr.asked for fr in reports.values() if fr.defined == "function")
        ran = sum(len(fr.ran) for fr in reports.values() if fr.defined == "function")
        if ran < asked:
            summary += f" Only {ran} of the {asked} tests ran."
        diagnosis = tuple(dict.fromkeys(m.code for fr in reports.values() for m in fr.diagnosis))
        exercise_result = ExerciseResult(exercise.id, exercise.title, score, exercise.max_score, status,
                                         feedback=(summary,), diagnosis=diagnosis, parts=parts)
    warnings: tuple[str, ...] = ()
    if report.tier is Tier.WEAK:
        warnings = ("graded in the WEAK sandbox tier (no namespaces), as the operator configured",)
    warnings += tuple(f"the sandbox here does not bound {what}" for what in report.unbounded)
    meta = {
        "seed": seed,
        "seed_from": seed_from,
        "visibility": visibility_meta(exercise.visibility, exercise.due, now),
        "hidden_streams": suite.streams,
        "tests": {name: _tests_meta(fr, runs.import_problem is None) for name, fr in reports.items()},
        "partial_credit": {"rule": f"{RULE}; {SHEET_RULE}", "cost_per_failed_share": COST_PER_FAILED_SHARE,
                           "sheet_wrong_cap": SHEET_WRONG_CAP},
        "submission": {"name": display, "bytes": len(source)},
        "sandbox": {"tier": report.tier.value, "python": report.interpreter.version if report.interpreter else None,
                    "runs": len(runs.runs), "layers": [x.name for x in report.layers if x.ok],
                    "unbounded": list(report.unbounded)},
        "shrink_cut_short": runs.shrink_cut_short,
        "budget_s": box.settings.budget_s,
        "timings": {"total_s": round(time.perf_counter() - started, 4), "suite_s": round(suite_s, 4),
                    "sandbox_s": round(sandbox_s, 4), "shrink_s": round(shrink_s, 4)},
    }
    return bounded(GradeResult(student_id, exercise.exercise_set, exercise_result.score, exercise.max_score,
                               (exercise_result,), warnings, (), meta))

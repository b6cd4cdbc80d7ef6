"""Scoring: points per part, errata credit, mistake credit, and the grading plan of a set.

The *plan* of an exercise set is everything grading needs that does not depend on the
submission: for each part its comparator, the canonical answer (from
:func:`grader.solutions.solve`) in normal form, the answers of its known mistakes (engine
runs under the mistaken models, see :mod:`grader.diagnosis`), the published value where
an erratum applies, and the values other semantics profiles give.  It is built once per
exercise set fingerprint (:func:`plan_for`), so grading one submission runs no engine.

A part's fraction of its points is the comparator's, then:
- raised to a mistake's credit when the answer *is* that recognised mistake's answer; a
  mistake shown among other errors (rows or placed events) is named, without credit;
- replaced by the erratum's credit when the answer repeats the sheet's published value
  and the exercise data acknowledges that value as wrong (an erratum): the student
  learned it from the sheet, and the instructor decided what it is worth (``partial``,
  ``full`` or ``none``).  Feedback says so, and why (unless expected values are hidden).

Whether a part's expected value is shown (and with it the feedback that would reveal
it: model answers, rubric concepts, mistake messages with the expected value, "Engine:"
derivations) is :func:`grader.visibility.withheld_because`'s decision, a pure function of the part's
visibility, whether the student answered it, the grading's ``now`` and the set's due
date.  ``now`` is taken once per submission (:func:`grader.visibility.grading_now`; ``STREAMGRADE_NOW``
fixes it), never at plan time: the plan is shared across submissions and time.

Feedback is bounded: a part's feedback shows its first :data:`MAX_FINDINGS_SHOWN`
findings of the comparator, then "... and N more"; the result keeps those, the first
finding of every other code found (so every code is still there to count) and one
``more_findings`` finding that counts the rest by code.  Notes of recognised mistakes and
errata always show.

When one answer matches two known mistakes in a part (ex7's sum 7 is both "e7 left out"
and "e7 put in the window of its arrival"), the exercise's other parts decide: a mistake
the answer shows in a strict superset of the parts where another shows is the diagnosis,
and the other is dropped from those parts (:func:`_outweighed`).  Where nothing tells
them apart, both are named.

Part and exercise results are remembered by the answer's ``repr`` and the visibility
decisions that applied (grading is a pure function of both) for the plan's lifetime, so
a class that repeats answers is graded at dictionary speed; free text is scored by the
rubric every time it is new.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from grader.compare.base import Comparator, CompareContext, Comparison
from grader.compare.kinds import comparator_for
from grader.diagnosis import KnownMistake, known_mistakes, matching, showing
from grader.diagnosis import value_text as display_text
from grader.exercises.fields import json_path, read_field
from grader.exercises.model import Erratum, ErratumGrading, Exercise, ExerciseSet, Part, SetKey, Visibility
from grader.frozen import thaw
from grader.normalize import NormalizeError
from grader.results import ExerciseResult, Finding, PartResult, Problem, Severity, Status, Withheld, status_for
from grader.solutions.solve import solve
from grader.submissions.problems import validate_answers
from grader.visibility import expected_visible, grading_now, withheld_because
from reference.timestamps import Ticks, parse_duration, parse_time

NOT_ANSWERED = "not answered"
#: Results remembered per exercise, by the answer's text; longer answers are not remembered.
MEMO_SIZE = 4096
MEMO_MAX_KEY = 4096
#: The window and key a row finding starts with: ``window [10:05, 10:10), user B: ...``.
_ROW_KEY = re.compile(r"^window (\[[^)]*\), user [^:]+):")
#: A part's feedback lists at most this many of the comparator's findings, then "... and N more".
MAX_FINDINGS_SHOWN = 10


@dataclass(frozen=True)
class PartPlan:
    """What grading one part needs, fixed for the exercise set.

    ``visibility`` is the part's (its own, else the set's) and ``due`` the set's due date;
    whether a submission sees the expected value is decided at grading time from them
    (:func:`grader.visibility.withheld_because`).
    """

    exercise_id: str
    part: Part
    comparator: Comparator
    expected_value: Any
    expected: Any
    visibility: Visibility
    due: datetime | None
    profile: str
    mistakes: tuple[KnownMistake, ...] = ()
    erratum: Erratum | None = None
    published: Any = None
    other_profiles: tuple[tuple[tuple[str, ...], Any], ...] = ()
    derivation: tuple[str, ...] = ()
    memo: _Memo = field(default_factory=lambda: _Memo(MEMO_SIZE), compare=False, repr=False)


@dataclass(frozen=True)
class ExercisePlan:
    """An exercise's part plans, and a memo of results by answer (see :func:`score_exercise`)."""

    exercise: Exercise
    parts: tuple[PartPlan, ...]
    #: Some part's visibility depends on the clock (``after_due``); otherwise what is shown
    #: follows from the answer alone, which the memo key already holds.
    clocked: bool = False
    memo: _Memo = field(default_factory=lambda: _Memo(MEMO_SIZE), compare=False, repr=False)


class _Memo:
    """A small LRU map (answer text -> result); a class grades many identical answers.

    Thread-safe enough under the GIL: a lost update costs one recomputation, never a wrong result.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any:
        found = self.items.get(key)
        if found is not None:
            with suppress(KeyError):  # evicted by another thread meanwhile
                self.items.move_to_end(key)
        return found

    def put(self, key: str, value: Any) -> None:
        self.items[key] = value
        while len(self.items) > self.size:
            try:
                self.items.popitem(last=False)
            except KeyError:
                break


@dataclass(frozen=True)
class SetPlan:
    """The grading plan of one exercise set (see the module doc).

    ``fast_checks`` holds, per exercise, a compiled validator whose ``is_valid`` is a quick
    yes for the common, valid answer (``jsonschema_rs`` when it is installed); only an
    answer it rejects goes through :func:`grader.submissions.validate_answers` for
    path-precise messages.
    """

    exercise_set: ExerciseSet
    exercises: tuple[ExercisePlan, ...]
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fast_checks: Mapping[str, Any] = field(default_factory=dict)

    def problems(self, answers: Mapping[str, Any]) -> tuple[Problem, ...]:
        """Every schema problem of ``answers`` (errors and warnings), as :func:`validate_answers` gives them."""
        doubtful = {}
        for exercise_id, answer in answers.items():
            check = self.fast_checks.get(exercise_id)
            if check is None or answer is None:
                doubtful[exercise_id] = answer
                continue
            try:
                valid = check(answer)
            except Exception:  # a value the fast validator cannot take: ask the full one
                valid = False
            if not valid:
                doubtful[exercise_id] = answer
        if not doubtful:
            return ()
        try:
            return validate_answers(doubtful, self.schemas)
        except ValueError:
            # validate_answers sorts paths by their digits and int() refuses some
            # Unicode digits ("²") in field names; check each exercise alone, and the one
            # that trips it with the plain validator.
            out: list[Problem] = []
            for exercise_id, answer in doubtful.items():
                try:
                    out.extend(validate_answers({exercise_id: answer}, self.schemas))
                except ValueError:
                    out.extend(_plain_problems(exercise_id, answer, self.schemas[exercise_id]))
            return tuple(out)


def plan_for(exercise_set: ExerciseSet) -> SetPlan:
    """The grading plan of ``exercise_set``, built once per fingerprint (its data) and shared."""
    return _plan_cached(exercise_set.key)


@lru_cache(maxsize=1024)
def _plan_cached(key: SetKey) -> SetPlan:
    exercise_set = key.exercise_set
    canonical = solve(exercise_set)
    exercises = []
    for exercise in exercise_set.exercises:
        parts = tuple(_part_plan(exercise_set, exercise, part, canonical[exercise.id][part.id])
                      for part in exercise.parts)
        exercises.append(ExercisePlan(exercise, parts, clocked=any(p.visibility is Visibility.AFTER_DUE
                                                                   for p in parts)))
    schemas = {ex.id: ex.answer_json_schema() for ex in exercise_set.exercises}
    return SetPlan(exercise_set, tuple(exercises), schemas, {k: _fast_check(v) for k, v in schemas.items()})


def _plain_problems(exercise_id: str, answer: Any, schema: Mapping[str, Any]) -> list[Problem]:
    """Schema problems worded by jsonschema itself: the fallback when the friendly wording fails."""
    out = []
    for error in Draft202012Validator(schema).iter_errors(answer):
        where = json_path(error.absolute_path)
        path = f"answers.{exercise_id}" + (("" if where.startswith("[") else ".") + where if where else "")
        unexpected = error.validator in ("additionalProperties", "unevaluatedProperties")
        out.append(Problem(path, "unexpected_field" if unexpected else "invalid", error.message,
                           Severity.WARNING if unexpected else Severity.ERROR))
    return out


def _fast_check(schema: Mapping[str, Any]) -> Any:
    """A compiled ``is_valid`` for ``schema``: ``jsonschema_rs`` if installed, else a reused jsonschema validator."""
    try:
        import jsonschema_rs

        return jsonschema_rs.validator_for(schema).is_valid
    except Exception:  # not installed, or a schema it cannot compile: the reference validator
        return Draft202012Validator(schema).is_valid


def cache_clear() -> None:
    """Forget every grading plan (canonical answers in normal form, mistakes, remembered results).

    The engine's own caches are :func:`grader.solutions.cache_clear`'s; a cold start clears both.
    """
    _plan_cached.cache_clear()


def _part_plan(exercise_set: ExerciseSet, exercise: Exercise, part: Part, canonical: Any) -> PartPlan:
    context = exercise_set.context
    size = context.window_size
    if "window_size" in part.solution.config:
        size = parse_duration(part.solution.config["window_size"])
    items = len(part.model_answer) if isinstance(part.model_answer, tuple) else 1
    comparator = comparator_for(part.compare, CompareContext(context.events, size, _asked_windows(part)),
                                items=items)
    expected = comparator.normalize(canonical.value)
    erratum = exercise.erratum_for(part.id)
    published = None
    if erratum is not None:
        value, present = read_field(thaw(exercise.published.values), part.field)
        if present and not comparator.is_blank(value):
            try:
                published = comparator.normalize(value)
            except NormalizeError:
                published = None
    others: dict[str, list[str]] = {}
    if canonical.depends_on_profile and canonical.by_profile:
        for name, value in canonical.by_profile.items():
            if value != canonical.value:
                others.setdefault(_key(value), []).append(name)
    other_profiles = []
    for names in others.values():
        value = canonical.by_profile[names[0]]
        try:
            other_profiles.append((tuple(names), comparator.normalize(value)))
        except NormalizeError:
            continue
    return PartPlan(
        exercise_id=exercise.id,
        part=part,
        comparator=comparator,
        expected_value=canonical.value,
        expected=expected,
        visibility=exercise.visibility_of(part.id, exercise_set.settings),
        due=exercise_set.settings.due,
        profile=canonical.profile,
        mistakes=known_mistakes(exercise_set, exercise, part, comparator, expected),
        erratum=erratum,
        published=published,
        other_profiles=tuple(other_profiles),
        derivation=tuple(canonical.derivation) if part.compare_kind != "text" else (),
    )


def _key(value: Any) -> str:
    return repr(value)


def _asked_windows(part: Part) -> frozenset[Ticks] | None:
    """The starts of the windows a part's question names (``window_starts``), or ``None``: every window.

    Rows of other windows are not asked for: the rows comparator ignores them with a note.
    A question that names no windows (the records of one arrival, one key's row) asks
    about every window, so nothing a student gives there is ignored.
    """
    starts = part.solution.args.get("window_starts")
    if part.compare_kind not in ("rows", "row") or not isinstance(starts, list | tuple) or not starts:
        return None
    try:
        return frozenset(parse_time(str(s)) for s in starts)
    except ValueError:
        return None


# -- reading a part's field -----------------------------------------------------------------------------------


# -- scoring one part -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartOutcome:
    """A part's result plus what the exercise's result collects from it."""

    result: PartResult
    diagnosis: tuple[str, ...] = ()
    feedback: tuple[str, ...] = ()


def score_part(plan: PartPlan, answer: Any, path: str, *, now: datetime | None = None,
               rule_out: frozenset[str] = frozenset()) -> PartOutcome:
    """Grade one part of ``answer`` (the exercise's answer object); ``path`` is that object's JSON path.

    ``now`` decides an ``after_due`` visibility (default :func:`grader.visibility.grading_now`).  Remembered
    by the part's value and the visibility decision, like :func:`score_exercise`.  ``rule_out``
    names known mistakes not to diagnose here (the exercise's other parts tell them apart).
    """
    value, present = read_field(answer, plan.part.field) if answer is not None else (None, False)
    answered = present and not plan.comparator.is_blank(value)
    withheld = withheld_because(plan.visibility, answered=answered, now=now or grading_now(), due=plan.due)
    key = _memo_key(path, f"{present}\n{withheld}\n{sorted(rule_out)}", value)
    if key is None:
        return _score_part(plan, value, answered, path, withheld, rule_out)
    found = plan.memo.get(key)
    if found is None:
        found = _score_part(plan, value, answered, path, withheld, rule_out)
        plan.memo.put(key, found)
    return found


def _memo_key(path: str, context: str, value: Any) -> str | None:
    """The memo key of a value: its ``repr`` tells ``1``, ``1.0``, ``True`` and ``"1"`` apart;
    ``context`` is what else the result depends on (presence, visibility decisions)."""
    try:
        key = f"{path}\n{context}\n{value!r}"
    except (RecursionError, ValueError):  # too deep, or an int too long to print
        return None
    return key if len(key) <= MEMO_MAX_KEY else None


def _score_part(plan: PartPlan, value: Any, answered: bool, path: str, withheld: Withheld | None,
                rule_out: frozenset[str] = frozenset()) -> PartOutcome:
    part = plan.part
    where = f"{path}.{part.field.replace('[*]', '')}"
    show = withheld is None
    expected = plan.expected_value if show else None
    points = float(part.points)
    seen = {"show_expected": show, "visibility": plan.visibility.value, "withheld": withheld}
    if not answered:
        return PartOutcome(PartResult(part.id, 0.0, points, Status.NOT_ANSWERED, expected, None,
                                      (NOT_ANSWERED,), (), **seen), feedback=())
    try:
        given = plan.comparator.normalize(value)
    except NormalizeError as exc:
        message = exc.describe(where)
        finding = Finding("invalid", where, message)
        return PartOutcome(PartResult(part.id, 0.0, points, Status.INVALID, expected, value, (message,),
                                      (finding,), **seen), feedback=(message,))
    comparison = plan.comparator.compare(plan.expected, given, path=where, show_expected=show)
    fraction = comparison.fraction
    notes: list[str] = []
    codes: list[str] = []
    exact: list[KnownMistake] = []
    shown, findings = _bounded(comparison.findings, where)
    if not comparison.exact:
        # A recognised mistake's credit is a floor; an erratum's credit is the instructor's
        # decision for exactly the published value, so it replaces the comparator's share.
        candidates = tuple(m for m in plan.mistakes if m.code not in rule_out)
        exact = matching(candidates, plan.comparator, given)
        for mistake in showing(candidates, plan.comparator, plan.expected, given):
            codes.append(mistake.code)
            if mistake in exact:  # the credit is for the mistake's answer, not for other errors besides it
                fraction = max(fraction, mistake.credit)
            notes.append(mistake.message(show))
            findings.append(Finding(mistake.code, where, mistake.message(show)))
        fraction = _erratum(plan, given, fraction, notes, findings, where, show)
        if show:
            for names, other in plan.other_profiles:
                if plan.comparator.same(other, given):
                    notes.append(f"This is what {', '.join(names)} give{'s' if len(names) == 1 else ''}; this "
                                 f"exercise set is graded under {plan.profile}, whose boundary rules differ here.")
    elif show and plan.other_profiles:
        # Right under the set's profile; where engines differ at the boundary, say how.
        others = "; ".join(f"{', '.join(names)}: {display_text(other)}" for names, other in plan.other_profiles)
        notes.append(f"Graded under {plan.profile}. Other engines differ at this boundary ({others}).")
    fraction = max(0.0, min(1.0, fraction))
    status = _status(comparison, fraction)
    # A recognised mistake's feedback says what the comparator's findings say, and why; when
    # the answer has other errors besides, the comparator's findings are kept too.
    whole = bool(exact)
    messages = tuple(notes) if whole else shown + tuple(notes)
    how = _engine_lines(plan, comparison) if not codes and fraction < 1 and show else ()
    result = PartResult(part.id, fraction * points, points, status, expected, value, messages + how,
                        tuple(findings), **seen)
    return PartOutcome(result, tuple(dict.fromkeys(codes)), messages)


def _bounded(found: tuple[Finding, ...], where: str) -> tuple[tuple[str, ...], list[Finding]]:
    """The feedback lines and the findings kept of a comparator's ``found`` (see the module doc)."""
    if len(found) <= MAX_FINDINGS_SHOWN:
        return tuple(f.message for f in found), list(found)
    head, rest = found[:MAX_FINDINGS_SHOWN], found[MAX_FINDINGS_SHOWN:]
    more = f"... and {len(rest)} more"
    codes = {f.code for f in head}
    kept = list(head)
    for f in rest:
        if f.code not in codes:
            codes.add(f.code)
            kept.append(f)
    counts: dict[str, int] = {}
    for f in rest:
        counts[f.code] = counts.get(f.code, 0) + 1
    kept.append(Finding("more_findings", where,
                        f"{more}: " + ", ".join(f"{code} {n}" for code, n in sorted(counts.items()))))
    return (*(f.message for f in head), more), kept


def _engine_lines(plan: PartPlan, comparison: Comparison) -> tuple[str, ...]:
    """How the engine got the expected value, for a wrong answer no known mistake explains.

    For rows, the derivation lines of the windows and keys the findings name (``[10:05,
    10:10), user B: e4 (1) -> (10:05, B, 1).``); for other kinds, the whole derivation.
    Only part feedback carries these; the exercise's feedback stays short.
    """
    if not plan.derivation:
        return ()
    keys = [m.group(1) for f in comparison.findings if (m := _ROW_KEY.match(f.message))]
    if keys:
        lines = [line for line in plan.derivation if any(line.startswith(f"{k}:") for k in keys)]
    elif plan.part.compare_kind in ("rows", "row"):
        lines = []
    else:
        lines = list(plan.derivation)
    return tuple(f"Engine: {line}" for line in dict.fromkeys(lines))


def _erratum(plan: PartPlan, given: Any, fraction: float, notes: list[str], findings: list[Finding],
             where: str, show: bool) -> float:
    erratum = plan.erratum
    if erratum is None or plan.published is None or not plan.comparator.same(plan.published, given):
        return fraction
    credit = erratum.credit
    share = f"{round(credit * 100)} %"
    if erratum.grading is ErratumGrading.FULL:
        note = "This is the published answer key's value, which the exercise data marks as an erratum; full credit."
    elif erratum.grading is ErratumGrading.NONE:
        note = "This is the published answer key's value, which is wrong here (an erratum); no credit."
    else:
        note = (f"This is the published answer key's value, which is wrong here (an acknowledged erratum): "
                f"{share} of the points.")
    if show:  # the reason says what the right value is
        note += " " + " ".join(erratum.reason.split())
    notes.insert(0, note)
    findings.append(Finding("published_erratum", where, note))
    return credit


def _status(comparison: Comparison, fraction: float) -> Status:
    if comparison.needs_review:
        return Status.NEEDS_REVIEW
    if fraction >= 1:
        return Status.CORRECT
    if fraction <= 0:
        return Status.INCORRECT
    return Status.PARTIAL


# -- scoring one exercise -------------------------------------------------------------------------------------


def score_exercise(plan: ExercisePlan, answer: Any, path: str, *, now: datetime | None = None) -> ExerciseResult:
    """Grade one exercise's answer object (``None`` when the submission has none) at ``now``
    (default :func:`grader.visibility.grading_now`; a submission's exercises should share one).

    Results are remembered by the answer's ``repr`` (which tells ``1``, ``1.0``, ``True``
    and ``"1"`` apart) and by every visibility decision ``now`` can sway, for the plan's
    lifetime: grading is a pure function of the two.
    """
    now = now or grading_now()
    key = _memo_key(path, _decisions(plan, now), answer)
    if key is not None:
        found = plan.memo.get(key)
        if found is None:
            found = _score_exercise(plan, answer, path, now)
            plan.memo.put(key, found)
        return found
    return _score_exercise(plan, answer, path, now)


def _decisions(plan: ExercisePlan, now: datetime) -> str:
    """What the clock decides for this exercise's parts at ``now``, answered or not: the
    part of an exercise's result that is not a function of its answer (nothing, unless some
    part is ``after_due``)."""
    if not plan.clocked:
        return ""
    return "".join("1" if expected_visible(p.visibility, answered=answered, now=now, due=p.due) else "0"
                   for p in plan.parts for answered in (True, False))


def _score_exercise(plan: ExercisePlan, answer: Any, path: str, now: datetime) -> ExerciseResult:
    exercise = plan.exercise
    points = float(exercise.points)
    if answer is None or (isinstance(answer, Mapping) and not answer):
        parts = tuple(score_part(p, None, path, now=now).result for p in plan.parts)
        return ExerciseResult(exercise.id, exercise.title, 0.0, points, Status.NOT_ANSWERED, (NOT_ANSWERED,), (),
                              parts)
    if not isinstance(answer, Mapping):
        # No part of it can be read: no part was answered.
        message = f"{path}: expected an object with the fields of {exercise.id}'s answer"
        parts = []
        for p in plan.parts:
            withheld = withheld_because(p.visibility, answered=False, now=now, due=p.due)
            parts.append(PartResult(p.part.id, 0.0, float(p.part.points), Status.INVALID,
                                    p.expected_value if withheld is None else None, None, (message,),
                                    (Finding("invalid", path, message),), withheld is None, p.visibility.value,
                                    withheld))
        return ExerciseResult(exercise.id, exercise.title, 0.0, points, Status.INVALID, (message,), (), tuple(parts))
    outcomes = [score_part(p, answer, path, now=now) for p in plan.parts]
    for i, losers in _outweighed(outcomes).items():
        outcomes[i] = score_part(plan.parts[i], answer, path, now=now, rule_out=losers)
    score = sum(o.result.score for o in outcomes)
    score = max(0.0, min(points, score))
    several = len(plan.parts) > 1
    feedback: list[str] = []
    for o, p in zip(outcomes, plan.parts, strict=True):
        for message in o.feedback:
            line = f"{p.part.field.replace('[*]', '')}: {message}" if several and not message.startswith(path) \
                else message
            feedback.append(line)
    diagnosis = tuple(dict.fromkeys(code for o in outcomes for code in o.diagnosis))
    statuses = [o.result.status for o, p in zip(outcomes, plan.parts, strict=True) if p.part.points > 0]
    if any(s is Status.NEEDS_REVIEW for s in statuses):
        status = Status.NEEDS_REVIEW
    elif statuses and all(s is Status.NOT_ANSWERED for s in statuses):
        status = Status.NOT_ANSWERED
    elif statuses and all(s in (Status.INVALID, Status.NOT_ANSWERED) for s in statuses):
        status = Status.INVALID
    else:
        status = status_for(score, points)
    if status is Status.NOT_ANSWERED:
        feedback = [NOT_ANSWERED]
    return ExerciseResult(exercise.id, exercise.title, score, points, status, tuple(dict.fromkeys(feedback)),
                          diagnosis, tuple(o.result for o in outcomes))


def _outweighed(outcomes: list[PartOutcome]) -> dict[int, frozenset[str]]:
    """Per part (by position), the mistakes another diagnosis of the same part outweighs.

    A mistake ``x`` outweighs ``y`` in a part where both are diagnosed when the parts
    diagnosing ``x`` are a strict superset of those diagnosing ``y``: the other parts tell
    the two apart, and only ``x`` explains them all.
    """
    support: dict[str, set[int]] = {}
    for i, o in enumerate(outcomes):
        for code in o.diagnosis:
            support.setdefault(code, set()).add(i)
    out = {}
    for i, o in enumerate(outcomes):
        losers = frozenset(y for y in o.diagnosis
                           if any(x != y and support[x] > support[y] for x in o.diagnosis))
        if losers:
            out[i] = losers
    return out


__all__ = [
    "MAX_FINDINGS_SHOWN",
    "NOT_ANSWERED",
    "ExercisePlan",
    "PartOutcome",
    "PartPlan",
    "SetPlan",
    "cache_clear",
    "plan_for",
    "score_exercise",
    "score_part",
]

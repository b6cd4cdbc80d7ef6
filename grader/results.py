"""The result of grading one submission: frozen values in the result format.

Shape (SUBMISSION_FORMAT.md, "Result format"; more fields may be added, none renamed)::

    {student_id, exercise_set, score, max_score,
     exercises: [{id, score, max_score, status, feedback[], diagnosis[], parts: [{id, score,
                  max_score, expected, given}]}],
     warnings[], errors[]}

Statuses are an enum, never bare strings.  Results are data: text, HTML, Gradescope and
JUnit renderings live in :mod:`grader.reports`.  An instructor override is a new value
(:meth:`ExerciseResult.settled`) that records who decided and why.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, replace
from typing import Any

from grader.quoting import cut

#: The largest result document stored or sent for one submission (bytes of JSON).
MAX_RESULT_BYTES = 256 * 1024


class Status(enum.StrEnum):
    CORRECT = "correct"
    PARTIAL = "partial"
    INCORRECT = "incorrect"
    NOT_ANSWERED = "not_answered"
    INVALID = "invalid"
    NEEDS_REVIEW = "needs_review"


def status_for(score: float, max_score: float) -> Status:
    """``correct`` at full marks, ``incorrect`` at zero, ``partial`` in between."""
    if max_score and score >= max_score:
        return Status.CORRECT
    if score <= 0:
        return Status.INCORRECT
    return Status.PARTIAL


def round_score(value: float) -> float:
    """Scores are shown with at most two decimals; integral scores as integers."""
    r = round(value + 0.0, 2)
    return int(r) if r == int(r) else r


@dataclass(frozen=True)
class Finding:
    """One concrete thing wrong (or noteworthy) in an answer.

    ``code`` is stable (``missing_row``, ``wrong_sum``, ``window_end_inclusive``...): it
    is shared by comparators, feedback templates, diagnoses, tests and batch statistics.
    """

    code: str
    path: str
    message: str


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem with an answer: where (``answers.ex6.rows[1].sum_amount``), a stable
    ``code`` and a ``message`` for the student.  ``str(problem)`` is ``path: message``.

    Codes: ``wrong_type``, ``missing_field``, ``unexpected_field`` (warning),
    ``unknown_exercise`` (warning), ``not_allowed``, ``wrong_format``, ``too_few_items``,
    ``too_many_items``, ``too_short``, ``too_long``, ``out_of_range``, ``duplicate_items``,
    ``invalid``.
    """

    path: str
    code: str
    message: str
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message, "severity": self.severity.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return cls(str(data["path"]), str(data["code"]), str(data["message"]), Severity(data.get("severity", "error")))


class Withheld(enum.StrEnum):
    """Why a part's expected value (and the feedback that would reveal it) was not shown."""

    #: The part's visibility is ``never``.
    NEVER = "never"
    #: The student did not answer the part (every visibility but ``always``).
    NOT_ANSWERED = "not_answered"
    #: ``after_due`` and the set's due date has not passed.
    BEFORE_DUE = "before_due"


@dataclass(frozen=True)
class PartResult:
    """One part's result.  ``visibility`` is the part's setting (``after_attempt``...,
    ``None`` where none applies, e.g. Python tests); ``withheld`` says why the expected
    value is not shown (``None``: it is, or nothing decided it), and ``show_expected`` is
    False then."""

    id: str
    score: float
    max_score: float
    status: Status
    expected: Any = None
    given: Any = None
    feedback: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    show_expected: bool = True
    visibility: str | None = None
    withheld: Withheld | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "score": round_score(self.score),
            "max_score": round_score(self.max_score),
            "status": self.status.value,
            "given": self.given,
            "feedback": list(self.feedback),
            "findings": [f.code for f in self.findings],
        }
        if self.show_expected:
            data["expected"] = self.expected
        if self.visibility is not None:
            data["visibility"] = str(self.visibility)
        if self.withheld is not None:
            data["withheld"] = self.withheld.value
        return data


@dataclass(frozen=True)
class Settlement:
    """An instructor's decision on a ``needs_review`` answer: a new value, never a mutation."""

    by: str
    score: float
    reason: str


@dataclass(frozen=True)
class ExerciseResult:
    id: str
    title: str
    score: float
    max_score: float
    status: Status
    feedback: tuple[str, ...] = ()
    diagnosis: tuple[str, ...] = ()
    parts: tuple[PartResult, ...] = ()
    settlement: Settlement | None = None

    def settled(self, by: str, score: float, reason: str) -> ExerciseResult:
        """The result after an instructor settles it (score clamped to the maximum)."""
        score = max(0.0, min(float(score), self.max_score))
        return replace(self, score=score, status=status_for(score, self.max_score),
                       settlement=Settlement(by, score, reason))

    def to_dict(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "title": self.title,
            "score": round_score(self.score),
            "max_score": round_score(self.max_score),
            "status": self.status.value,
            "feedback": list(self.feedback),
            "diagnosis": list(self.diagnosis),
            "parts": [p.to_dict() for p in self.parts],
        }
        if self.settlement is not None:
            data["settlement"] = {"by": self.settlement.by, "score": round_score(self.settlement.score),
                                  "reason": self.settlement.reason}
        return data


@dataclass(frozen=True)
class GradeResult:
    student_id: str | None
    exercise_set: str
    score: float
    max_score: float
    exercises: tuple[ExerciseResult, ...] = ()
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    #: The schema problems behind ``errors`` and ``warnings``, structured (path, code,
    #: message, severity): the API and the statistics keep their codes.
    problems: tuple[Problem, ...] = ()

    @property
    def readable(self) -> bool:
        """False when the submission could not be read at all (then ``errors`` says why)."""
        return not (self.errors and not self.exercises)

    def exercise(self, exercise_id: str) -> ExerciseResult | None:
        return next((e for e in self.exercises if e.id == exercise_id), None)

    @property
    def awaiting_review(self) -> int:
        """Parts whose score is provisional until an instructor decides (``needs_review``, not settled)."""
        return sum(1 for e in self.exercises if e.settlement is None
                   for p in e.parts if p.status is Status.NEEDS_REVIEW)

    def to_dict(self) -> dict[str, Any]:
        return {
            "student_id": self.student_id,
            "exercise_set": self.exercise_set,
            "score": round_score(self.score),
            "max_score": round_score(self.max_score),
            "exercises": [e.to_dict() for e in self.exercises],
            "warnings": list(self.warnings),
            "errors": list(self.errors),
            **({"problems": [p.to_dict() for p in self.problems]} if self.problems else {}),
            **({"provisional": provisional_note(self.awaiting_review)} if self.awaiting_review else {}),
            **({"meta": self.meta} if self.meta else {}),
        }


def provisional_note(parts: int) -> str:
    """What a total containing answers that await review says: ``provisional: 2 parts await review``."""
    return f"provisional: {parts} part{'s' if parts != 1 else ''} await{'s' if parts == 1 else ''} review"


def unreadable(exercise_set: str, message: str, max_score: float = 100) -> GradeResult:
    """The result of a submission that cannot be read: score 0 and one error message."""
    return GradeResult(None, exercise_set, 0, max_score, errors=(message,))


def result_size(result: GradeResult) -> int:
    """Bytes of the result document as JSON."""
    return len(json.dumps(result.to_dict(), default=str, ensure_ascii=False).encode("utf-8"))


def size_bound(result: GradeResult) -> int:
    """An upper bound of :func:`result_size`, found without building the document.

    ``repr`` of plain values is computed in C, and JSON in UTF-8 takes at most six bytes
    for a character of it or of a message (four for a character outside ASCII, six for
    ``\\u0000``); each part and exercise adds a few hundred bytes of field names and
    numbers.  Costs a few percent of grading a JSON submission, where measuring the
    document exactly cost half as much as grading it."""
    text = sum(map(len, result.warnings)) + sum(map(len, result.errors)) + len(repr(result.meta))
    fields = len(result.warnings) + len(result.errors) + 1
    for exercise in result.exercises:
        text += sum(map(len, exercise.feedback)) + len(exercise.title) + sum(map(len, exercise.diagnosis))
        fields += len(exercise.feedback) + len(exercise.diagnosis) + 1
        for part in exercise.parts:
            text += sum(map(len, part.feedback)) + len(repr(part.given)) + len(repr(part.expected))
            fields += len(part.feedback) + len(part.findings) + 1
    return 6 * text + 400 * fields


def bounded(result: GradeResult, max_bytes: int = MAX_RESULT_BYTES) -> GradeResult:
    """``result`` cut down to at most ``max_bytes`` of JSON, scores untouched.

    A student's values reach a result as ``given``, in feedback and in warnings; a huge
    one must not make a huge document (a 40 MB string once made 172 MB, stored twice).
    Long texts are cut with "... (N more characters)", long lists keep their first
    items and say how many more there were, tighter and tighter until it fits."""
    if size_bound(result) <= max_bytes or result_size(result) <= max_bytes:
        return result
    for text_limit, items in ((2000, 50), (400, 20), (100, 5), (40, 2)):
        smaller = _cut_result(result, text_limit, items)
        if result_size(smaller) <= max_bytes:
            return smaller
    return _cut_result(result, 40, 1, drop_values=True)


def _cut_result(result: GradeResult, text: int, items: int, drop_values: bool = False) -> GradeResult:
    def lines(values: tuple[str, ...]) -> tuple[str, ...]:
        kept = tuple(cut(str(v), text) for v in values[:items])
        more = len(values) - len(kept)
        return kept + ((f"... and {more} more",) if more > 0 else ())

    def part(p: PartResult) -> PartResult:
        return replace(p, feedback=lines(p.feedback), findings=p.findings[:items * 4],
                       given=None if drop_values else _cut_value(p.given, text, items),
                       expected=None if drop_values else _cut_value(p.expected, text, items))

    exercises = tuple(replace(e, feedback=lines(e.feedback), diagnosis=e.diagnosis[:items * 4],
                              parts=tuple(part(p) for p in e.parts)) for e in result.exercises)
    return replace(result, exercises=exercises, warnings=lines(result.warnings), errors=lines(result.errors))


def _cut_value(value: Any, text: int, items: int, depth: int = 0) -> Any:
    """A JSON-like value with long strings cut and long containers shortened."""
    if isinstance(value, str):
        return cut(value, text)
    if depth > 8:
        return "..."
    if isinstance(value, list | tuple):
        kept = [_cut_value(v, text, items, depth + 1) for v in value[:items]]
        return kept + ([f"... ({len(value) - items} more items)"] if len(value) > items else [])
    if isinstance(value, dict):
        keys = list(value)[:items]
        kept = {cut(str(k), text): _cut_value(value[k], text, items, depth + 1) for k in keys}
        if len(value) > items:
            kept["..."] = f"{len(value) - items} more entries"
        return kept
    return value


def _withheld(value: Any) -> Withheld | None:
    try:
        return Withheld(value) if value is not None else None
    except ValueError:  # a reason this grader does not know: still withheld, as ``never`` says
        return Withheld.NEVER


def result_from_dict(data: dict[str, Any]) -> GradeResult:
    """A :class:`GradeResult` rebuilt from its result-format dict (``GradeResult.to_dict``).

    Enough for gradebooks and statistics: ids, scores, statuses, diagnoses and finding
    codes; texts that the dict leaves out come back empty.
    """
    exercises = []
    for ex in data.get("exercises", ()):
        parts = tuple(
            PartResult(p["id"], p["score"], p["max_score"], Status(p["status"]), p.get("expected"), p.get("given"),
                       tuple(p.get("feedback", ())),
                       tuple(Finding(code, f"{ex['id']}.{p['id']}", "") for code in p.get("findings", ())),
                       "expected" in p, p.get("visibility"), _withheld(p.get("withheld")))
            for p in ex.get("parts", ()))
        exercises.append(ExerciseResult(ex["id"], ex.get("title", ""), ex["score"], ex["max_score"],
                                        Status(ex["status"]), tuple(ex.get("feedback", ())),
                                        tuple(ex.get("diagnosis", ())), parts))
    return GradeResult(data.get("student_id"), data.get("exercise_set", ""), data.get("score", 0),
                       data.get("max_score", 0), tuple(exercises), tuple(data.get("warnings", ())),
                       tuple(data.get("errors", ())), dict(data.get("meta", {})),
                       tuple(Problem.from_dict(p) for p in data.get("problems", ()) if isinstance(p, dict)))

"""What the result page shows, worked out from a stored result document and its exercise set.

The template only lays out what :func:`result_view` returns; every decision is here, in
pure functions a test can call on a document without a server:

- each finding once, at its part: an exercise-level line that repeats a part's line is
  dropped, and a line several parts share (a diagnosis the Python judge writes under
  every function it shows in) is said once, at the exercise;
- a diagnosis by its human title (:attr:`grader.exercises.model.Mistake.heading`) with its
  explanation, never by its code; a code that a feedback line quotes reads as the title;
- rows marked in a diff against the expected rows (:mod:`grader.web.row_diff`), only when
  the document carries ``expected``: visibility decided what it carries, so nothing hidden
  can leak from here;
- a provisional total said so, and a settled exercise never saying it awaits review;
- a Python result per function: verdict, tests passed of those run, the counterexample
  lines in the sheet's notation, and no "your answer" for a function that is right.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grader.exercises.model import ExerciseSet
from grader.web.row_diff import RowDiff, row_diff

#: A status as the page says it.
STATUS_WORDS = {"correct": "correct", "partial": "partly correct", "incorrect": "incorrect",
                "not_answered": "not answered", "invalid": "could not be read", "needs_review": "awaits review"}
#: The feedback of an answer awaiting review says so in these words; a settled one must not.
_AWAITS_REVIEW = re.compile(r"instructor will review|provisional score", re.IGNORECASE)
#: The Python judge's counterexample lines start so (grader.python.grade).
_COUNTEREXAMPLE = re.compile(r"^(Smallest failing input|Simplest failing input|On the sheet's input|"
                             r"The hidden inputs of this exercise)")


@dataclass(frozen=True)
class Diagnosis:
    """A recognised mistake: its title and what it means (never its code)."""

    title: str
    explanation: str


@dataclass(frozen=True)
class Settlement:
    by: str
    score: Any
    reason: str


@dataclass(frozen=True)
class FunctionTests:
    """A Python function's tests: how many passed of those that ran."""

    passed: int
    ran: int


@dataclass(frozen=True)
class PartView:
    """One part (or one Python function) as the page shows it."""

    id: str
    score: Any
    max_score: Any
    status: str
    verdict: str
    given: Any
    show_given: bool
    expected: Any
    has_expected: bool
    feedback: tuple[str, ...]
    diff: RowDiff | None = None
    tests: FunctionTests | None = None
    counterexample: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExerciseView:
    id: str
    title: str
    score: Any
    max_score: Any
    status: str
    verdict: str
    feedback: tuple[str, ...]
    diagnoses: tuple[Diagnosis, ...]
    settlement: Settlement | None
    parts: tuple[PartView, ...]
    timeline_uri: str | None
    is_python: bool = False


@dataclass(frozen=True)
class ResultView:
    exercises: tuple[ExerciseView, ...]
    provisional: str | None
    is_python: bool


def result_view(document: Mapping[str, Any], exercise_set: ExerciseSet | None,
                timelines: Mapping[str, str] | None = None, titles: Mapping[str, Diagnosis] | None = None
                ) -> ResultView:
    """The page's view of ``document`` (the service's submission JSON).

    ``exercise_set`` is the set it was graded on (the student's variant), or ``None`` when
    the set is no longer served: the page then shows the document without row diffs.
    ``timelines`` maps a window exercise's id to its picture's data URI; ``titles`` adds
    diagnoses not in the set's exercises (the Python exercise's mistakes), by code.
    """
    known = dict(diagnoses_of(exercise_set) if exercise_set is not None else {})
    known.update(titles or {})
    tests = (document.get("meta") or {}).get("tests") or {}
    python = str(document.get("filename") or "").endswith(".py") or document.get("assignment") == "python"
    exercises = tuple(_exercise(ex, exercise_set, known, (timelines or {}).get(str(ex.get("id"))),
                                tests if python else None)
                      for ex in document.get("exercises") or () if isinstance(ex, Mapping))
    return ResultView(exercises, document.get("provisional") or None, python)


def diagnoses_of(exercise_set: ExerciseSet) -> dict[str, Diagnosis]:
    """Every mistake of the set as a title and its description, by ``exercise/code`` (a code's words
    may differ between exercises) and by code alone (the first exercise's)."""
    found: dict[str, Diagnosis] = {}
    for exercise in exercise_set.exercises:
        for mistake in exercise.mistakes:
            description = " ".join(mistake.description.split())
            # A set without titles is headed by its description: said once, not twice.
            explanation = "" if description.rstrip(".") == mistake.heading.rstrip(".") else description
            found[f"{exercise.id}/{mistake.code}"] = diagnosis = Diagnosis(mistake.heading, explanation)
            found.setdefault(mistake.code, diagnosis)
    return found


def humane_code(code: str) -> str:
    """The last resort for a code nothing names: its words (``window_end_inclusive`` -> ``Window end inclusive``)."""
    words = code.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else "A known mistake"


def _exercise(ex: Mapping[str, Any], exercise_set: ExerciseSet | None, known: Mapping[str, Diagnosis],
              timeline: str | None, tests: Mapping[str, Any] | None) -> ExerciseView:
    exercise_id = str(ex.get("id"))
    codes = [str(c) for c in ex.get("diagnosis") or ()]
    diagnoses = [known.get(f"{exercise_id}/{c}") or known.get(c) or Diagnosis(humane_code(c), "") for c in codes]
    names = {c: d.title for c, d in zip(codes, diagnoses, strict=True)}
    settled = _settlement(ex.get("settlement"))
    raw_parts = [p for p in ex.get("parts") or () if isinstance(p, Mapping)]
    part_lines = [[_words(line, names) for line in p.get("feedback") or ()] for p in raw_parts]
    if settled is not None:
        part_lines = [[line for line in lines if not _AWAITS_REVIEW.search(line)] for lines in part_lines]
    shared = _shared(part_lines)
    # A diagnosis's explanation is said once, with its title: the line several parts repeat
    # is the explanation of a diagnosis that brings none, and no part says it again.
    explained = {d.explanation for d in diagnoses if d.explanation}
    for i, diagnosis in enumerate(diagnoses):
        if not diagnosis.explanation:
            line = next((s for s in shared if s not in explained), "")
            explained.add(line)
            diagnoses[i] = Diagnosis(diagnosis.title, line)
    part_lines = [[line for line in lines if line not in explained] for lines in part_lines]
    at_parts = {line for lines in part_lines for line in lines}
    exercise_lines = [_words(line, names) for line in ex.get("feedback") or ()]
    if settled is not None:
        exercise_lines = [line for line in exercise_lines if not _AWAITS_REVIEW.search(line)]
    feedback = _unique([line for line in exercise_lines if line not in at_parts and line not in explained]
                       + [line for line in shared if line not in explained])
    parts = tuple(_part(p, lines, shared, exercise_set, exercise_id, settled, tests)
                  for p, lines in zip(raw_parts, part_lines, strict=True))
    status = str(ex.get("status") or "")
    return ExerciseView(exercise_id, str(ex.get("title") or ""), ex.get("score"), ex.get("max_score"), status,
                        _verdict(status, settled), tuple(feedback), tuple(diagnoses), settled, parts, timeline,
                        tests is not None)


def _part(part: Mapping[str, Any], lines: list[str], shared: Sequence[str], exercise_set: ExerciseSet | None,
          exercise_id: str, settled: Settlement | None, tests: Mapping[str, Any] | None) -> PartView:
    part_id = str(part.get("id"))
    status = str(part.get("status") or "")
    own = [line for line in lines if line not in shared]
    has_expected = "expected" in part
    given = part.get("given")
    if tests is not None:
        counts = tests.get(part_id) if isinstance(tests.get(part_id), Mapping) else {}
        ran = int(counts.get("ran") or 0)
        counterexample = tuple(line for line in own if _COUNTEREXAMPLE.match(line))
        own = [line for line in own if line not in counterexample]
        return PartView(part_id, part.get("score"), part.get("max_score"), status, _verdict(status, settled),
                        given, given is not None and status != "correct", part.get("expected"),
                        has_expected and status != "correct", tuple(own),
                        tests=FunctionTests(int(counts.get("passed") or 0), ran) if counts else None,
                        counterexample=counterexample)
    diff = None
    if has_expected and exercise_set is not None and status not in ("not_answered", "correct"):
        diff = row_diff(exercise_set, exercise_id, part_id, given, part.get("expected"))
    return PartView(part_id, part.get("score"), part.get("max_score"), status,
                    _verdict(status if settled is None or status != "needs_review" else "settled", settled),
                    given, status != "not_answered", part.get("expected"), has_expected, tuple(own), diff)


def _verdict(status: str, settled: Settlement | None) -> str:
    if settled is not None and status in ("needs_review", "settled"):
        return f"settled by {settled.by}"
    return STATUS_WORDS.get(status, status.replace("_", " "))


def _settlement(value: Any) -> Settlement | None:
    if not isinstance(value, Mapping):
        return None
    return Settlement(str(value.get("by") or "an instructor"), value.get("score"), str(value.get("reason") or ""))


def _words(line: Any, names: Mapping[str, str]) -> str:
    """A feedback line with any diagnosis code it quotes read as the mistake's title."""
    text = str(line)
    for code, title in names.items():
        if code in text:
            text = re.sub(rf"\b{re.escape(code)}\b", f"“{title}”", text)
    return text


def _shared(part_lines: Sequence[Sequence[str]]) -> list[str]:
    """The lines that two or more parts repeat word for word, in their first order."""
    counts: dict[str, int] = {}
    for lines in part_lines:
        for line in dict.fromkeys(lines):
            counts[line] = counts.get(line, 0) + 1
    return [line for line, n in counts.items() if n > 1]


def _unique(lines: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(lines))

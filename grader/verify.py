"""``streamgrade verify``: the checks CI runs on the exercise data and the published key.

For each exercise set: load it (every file validated against its JSON Schema and the
cross-file invariants), compute every canonical answer with :mod:`grader.solutions`,
grade the sheet's published key as if it were a submission, and compare part by part.
A part whose published value the grader does not accept as the engine's answer is an
*erratum*: it is listed with the published value, the engine's value and the
explanation (the erratum's reason from the data, when acknowledged, and the engine's
derivation, which names events, watermarks and windows).  Then every example submission
under ``submissions/examples/`` is graded and checked against its ``X.expect.json``.

The verdict: OK only when the data is valid, every canonical answer could be computed,
every erratum is acknowledged in the exercise data, no acknowledged erratum is stale
(the key in fact agrees with the engine: the acknowledgement would hide nothing and
wrongly grade students who repeat a correct value), and every example gets what it
declares.  So CI fails on any new disagreement.

This module is logic only: :func:`verify` returns a frozen :class:`VerifyReport`;
:func:`report_text` and :meth:`VerifyReport.to_dict` are its two renderings.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import ExerciseDataError, GraderError
from grader.exercises.fields import read_field
from grader.exercises.load import available_sets, load_exercise_set, sets_folder
from grader.exercises.model import ExerciseSet, Part
from grader.frozen import thaw
from grader.grading import grade_answers
from grader.results import GradeResult, Status, round_score
from grader.solutions.job import SolutionError
from grader.solutions.render import value_text
from grader.solutions.solve import Canonical, solve
from grader.submissions.read import SUFFIX_FORMATS

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "submissions" / "examples"
EXPECT_SUFFIX = ".expect.json"
#: Hidden streams of Python examples come from this seed, so a verify run is reproducible.
EXAMPLE_SEED = 10
_SCORE_TOLERANCE = 0.005


# -- the report --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErratumReport:
    """A part where the published key and the engine disagree.

    ``explanation`` is one paragraph: the acknowledged reason (if any), then the
    engine's derivation.  ``feedback`` is what the grader says to an answer that
    repeats the published value.
    """

    exercise_set: str
    exercise: str
    part: str
    field: str
    published: Any
    engine: Any
    explanation: str
    acknowledged: bool
    reason: str | None = None
    derivation: tuple[str, ...] = ()
    feedback: tuple[str, ...] = ()
    grading: str | None = None
    credit: float | None = None
    by_profile: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "exercise_set": self.exercise_set, "exercise": self.exercise, "part": self.part, "field": self.field,
            "published": self.published, "engine": self.engine, "explanation": self.explanation,
            "acknowledged": self.acknowledged, "reason": self.reason, "derivation": list(self.derivation),
            "feedback": list(self.feedback),
        }
        if self.acknowledged:
            data["grading"] = self.grading
            data["credit"] = self.credit
        if self.by_profile:
            data["by_profile"] = dict(self.by_profile)
        return data


@dataclass(frozen=True)
class StaleErratum:
    """An erratum acknowledged in the data for a part whose published value agrees with the engine."""

    exercise_set: str
    exercise: str
    part: str
    source: str
    published: Any
    engine: Any

    @property
    def message(self) -> str:
        return (f"{self.source}: errata names part {self.part!r}, but the published value "
                f"{value_text(self.published)} agrees with the engine ({value_text(self.engine)}); "
                "remove the stale erratum, or it will grade a correct answer as an erratum")

    def to_dict(self) -> dict[str, Any]:
        return {"exercise_set": self.exercise_set, "exercise": self.exercise, "part": self.part,
                "published": self.published, "engine": self.engine, "message": self.message}


@dataclass(frozen=True)
class ExampleReport:
    """One example submission graded and checked against its ``X.expect.json``."""

    path: str
    exercise_set: str | None
    expected: Mapping[str, Any]
    score: float | None
    max_score: float | None
    failing: tuple[str, ...]
    diagnosis: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "exercise_set": self.exercise_set, "ok": self.ok,
                "expected": dict(self.expected), "score": self.score, "max_score": self.max_score,
                "failing": list(self.failing), "diagnosis": list(self.diagnosis), "problems": list(self.problems)}


@dataclass(frozen=True)
class SetReport:
    """What was checked for one exercise set."""

    id: str
    title: str
    path: str
    exercises: int = 0
    parts: int = 0
    points: float = 0
    profile: str = ""
    problems: tuple[str, ...] = ()
    published_score: float | None = None
    published_max: float | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "path": self.path, "exercises": self.exercises,
                "parts": self.parts, "points": self.points, "profile": self.profile,
                "valid": not self.problems, "problems": list(self.problems),
                "published_key": {"score": _rounded(self.published_score), "max_score": _rounded(self.published_max)},
                "notes": list(self.notes)}


@dataclass(frozen=True)
class VerifyReport:
    sets: tuple[SetReport, ...]
    errata: tuple[ErratumReport, ...]
    stale_errata: tuple[StaleErratum, ...]
    examples: tuple[ExampleReport, ...]
    examples_dir: str

    @property
    def new_errata(self) -> tuple[ErratumReport, ...]:
        return tuple(e for e in self.errata if not e.acknowledged)

    @property
    def failed_examples(self) -> tuple[ExampleReport, ...]:
        return tuple(x for x in self.examples if not x.ok)

    @property
    def ok(self) -> bool:
        return (not any(s.problems for s in self.sets) and not self.new_errata and not self.stale_errata
                and not self.failed_examples)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "sets": [s.to_dict() for s in self.sets],
            "errata": [e.to_dict() for e in self.errata],
            "stale_errata": [s.to_dict() for s in self.stale_errata],
            "examples": [x.to_dict() for x in self.examples],
            "examples_dir": self.examples_dir,
            "summary": {"errata": len(self.errata), "acknowledged": len(self.errata) - len(self.new_errata),
                        "new": len(self.new_errata), "stale": len(self.stale_errata),
                        "examples": len(self.examples), "failed_examples": len(self.failed_examples)},
        }


# -- comparing the published key with the engine ------------------------------------------------------------


@dataclass(frozen=True)
class PartComparison:
    """The grader's verdict on one part of the published key, erratum credit left out."""

    agrees: bool
    feedback: tuple[str, ...] = ()
    status: str = ""


def published_key(exercise_set: ExerciseSet) -> dict[str, Any]:
    """The sheet's published solution as a submission's ``answers`` object."""
    return {ex.id: thaw(ex.published.values) for ex in exercise_set.exercises}


def without_errata(exercise_set: ExerciseSet) -> ExerciseSet:
    """The same set with no erratum acknowledged: grading the key against it shows every disagreement.

    Its fingerprint differs, so nothing cached for the real set (where a repeated
    erratum earns credit) is reused.
    """
    exercises = tuple(dataclasses.replace(ex, errata=()) for ex in exercise_set.exercises)
    return dataclasses.replace(exercise_set, exercises=exercises,
                               fingerprint=exercise_set.fingerprint + "+without-errata")


def compare_published(exercise_set: ExerciseSet,
                      solutions: Mapping[str, Mapping[str, Canonical]]) -> dict[tuple[str, str], PartComparison]:
    """Each part's verdict, ``{(exercise_id, part_id): PartComparison}``, from the grader's own comparison.

    The published key is graded with :func:`grader.grading.grade_answers` against the set
    with its errata removed, so a part agrees exactly when a student writing the
    published value would get full marks for it.
    """
    result = grade_answers(published_key(exercise_set), without_errata(exercise_set))
    out: dict[tuple[str, str], PartComparison] = {}
    for ex in exercise_set.exercises:
        graded = result.exercise(ex.id)
        for part in ex.parts:
            pr = next((p for p in graded.parts if p.id == part.id), None) if graded is not None else None
            if pr is None:
                out[(ex.id, part.id)] = PartComparison(False, ("the grader returned no result for this part",))
                continue
            agrees = pr.status is Status.CORRECT or (pr.max_score == 0 and pr.status is not Status.INCORRECT
                                                     and not pr.findings)
            out[(ex.id, part.id)] = PartComparison(agrees, tuple(pr.feedback), pr.status.value)
    return out


def grade_published(exercise_set: ExerciseSet) -> GradeResult:
    """The published key graded as students are graded (acknowledged errata earn their credit)."""
    return grade_answers(published_key(exercise_set), exercise_set, student_id="published-key")


# -- examples ---------------------------------------------------------------------------------------------


def example_files(examples_dir: Path) -> list[Path]:
    """Every example submission under ``examples_dir`` (recursively), sorted; expect files excluded."""
    if not examples_dir.is_dir():
        return []
    return sorted(p for p in examples_dir.rglob("*")
                  if p.is_file() and p.suffix in SUFFIX_FORMATS and not p.name.endswith(EXPECT_SUFFIX))


def grade_example(path: Path, exercise_set: ExerciseSet) -> GradeResult:
    """Grade one example as the service would: Python in the sandbox with :data:`EXAMPLE_SEED`, else answers."""
    raw = path.read_bytes()
    if path.suffix == ".py":
        from grader.python.exercise import load_python_exercise
        from grader.python.grade import grade_python

        exercise = load_python_exercise(Path(exercise_set.path) / "python.yaml")
        return grade_python(raw, path.name, None, seed=EXAMPLE_SEED, exercise=exercise)
    from grader.submissions.read import read_submission_bytes

    submission = read_submission_bytes(raw, path.name)
    return grade_answers(submission.answers, exercise_set, student_id=submission.student_id,
                         warnings=submission.warnings)


def _example_set(path: Path) -> str | None:
    """The exercise set an example is written for: its ``exercise_set`` field, or the Python exercise's set."""
    if path.suffix == ".py":
        from grader.python.exercise import load_python_exercise

        return load_python_exercise().exercise_set
    try:
        from grader.submissions.read import read_submission_bytes

        return read_submission_bytes(path.read_bytes(), path.name).exercise_set
    except GraderError:
        return None


def check_example(path: Path, root: Path, sets: Mapping[str, ExerciseSet],
                  grade: Callable[[Path, ExerciseSet], GradeResult] = grade_example) -> ExampleReport | None:
    """Grade ``path`` and compare with its expect file; ``None`` when it belongs to a set not being verified."""
    name = str(path.relative_to(root))
    expect_path = path.with_name(path.stem + EXPECT_SUFFIX)
    set_id = _example_set(path)
    if set_id is not None and set_id not in sets:
        return None
    if not expect_path.is_file():
        return ExampleReport(name, set_id, {}, None, None, (), (),
                             (f"no {expect_path.name} beside it declaring the score it must get",))
    try:
        expected = json.loads(expect_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return ExampleReport(name, set_id, {}, None, None, (), (), (f"{expect_path.name}: not JSON: {exc}",))
    if not isinstance(expected, dict) or not isinstance(expected.get("score"), int | float):
        return ExampleReport(name, set_id, {}, None, None, (), (),
                             (f"{expect_path.name}: must be an object with a numeric \"score\"",))
    if set_id is None:
        return ExampleReport(name, None, expected, None, None, (), (),
                             ("cannot tell its exercise set (no readable exercise_set field)",))
    try:
        result = grade(path, sets[set_id])
    except GraderError as exc:
        return ExampleReport(name, set_id, expected, None, None, (), (), (f"cannot be graded: {exc.message}",))
    failing = tuple(f"{ex.id}.{p.id}" for ex in result.exercises for p in ex.parts
                    if p.max_score and p.score < p.max_score)
    diagnosis = tuple(dict.fromkeys(code for ex in result.exercises for code in ex.diagnosis))
    problems = _example_problems(expected, result, failing, diagnosis)
    return ExampleReport(name, set_id, expected, result.score, result.max_score, failing, diagnosis, problems)


def _example_problems(expected: Mapping[str, Any], result: GradeResult, failing: Sequence[str],
                      diagnosis: Sequence[str]) -> tuple[str, ...]:
    problems = []
    if result.errors:
        problems.append(f"unreadable: {'; '.join(result.errors)}")
    if abs(result.score - expected["score"]) > _SCORE_TOLERANCE:
        problems.append(f"score {_num(result.score)}, declared {_num(expected['score'])}")
    if "max_score" in expected and abs(result.max_score - expected["max_score"]) > _SCORE_TOLERANCE:
        problems.append(f"max_score {_num(result.max_score)}, declared {_num(expected['max_score'])}")
    if "failing" in expected:
        declared = list(expected["failing"])
        unmatched = [d for d in declared if not any(_names(d, f) for f in failing)]
        unexpected = [f for f in failing if not any(_names(d, f) for d in declared)]
        if unmatched:
            problems.append(f"declared failing but full marks: {', '.join(unmatched)}")
        if unexpected:
            problems.append(f"not full marks but not declared failing: {', '.join(unexpected)}")
    declared_diagnosis = expected.get("diagnosis")
    if isinstance(declared_diagnosis, Mapping):
        # Per exercise: {"ex4": ["inclusive_window_end"], ...}; an exercise left out declares none.
        actual = {ex.id: set(ex.diagnosis) for ex in result.exercises if ex.diagnosis}
        for ex_id in sorted(set(actual) | set(declared_diagnosis)):
            got, want = actual.get(ex_id, set()), set(declared_diagnosis.get(ex_id) or ())
            if got != want:
                problems.append(f"{ex_id} diagnosis {sorted(got) or 'none'}, declared {sorted(want) or 'none'}")
    elif declared_diagnosis is not None and set(declared_diagnosis) != set(diagnosis):
        problems.append(f"diagnosis {sorted(diagnosis) or 'none'}, declared {sorted(declared_diagnosis) or 'none'}")
    return tuple(problems)


def _names(declared: str, failing: str) -> bool:
    """``ex6.rows`` matches itself; ``ex6`` any part of ex6; ``upsert`` the part of that name."""
    exercise, _, part = failing.partition(".")
    return declared in (failing, exercise, part)


# -- the whole run ---------------------------------------------------------------------------------------


def verify(sets: Iterable[str | Path] | None = None, *, examples_dir: Path | str | None = EXAMPLES_DIR,
           exercises_root: Path | str | None = None,
           compare: Callable[..., dict[tuple[str, str], PartComparison]] = compare_published,
           grade: Callable[[Path, ExerciseSet], GradeResult] = grade_example) -> VerifyReport:
    """Verify the named sets (names under ``exercises_root`` or folder paths; all sets when ``None``).

    ``examples_dir`` ``None`` skips the examples.  ``compare`` and ``grade`` are the
    grader's own functions; tests may pass others.
    """
    root_folder = Path(exercises_root) if exercises_root is not None else sets_folder()
    names = list(sets) if sets is not None else list(available_sets(root_folder))
    set_reports: list[SetReport] = []
    errata: list[ErratumReport] = []
    stale: list[StaleErratum] = []
    loaded: dict[str, ExerciseSet] = {}
    for name in names:
        report, exercise_set, set_errata, set_stale = _verify_set(name, root_folder, compare)
        set_reports.append(report)
        errata.extend(set_errata)
        stale.extend(set_stale)
        if exercise_set is not None:
            loaded[exercise_set.id] = exercise_set
    examples: list[ExampleReport] = []
    root = Path(examples_dir) if examples_dir is not None else None
    if root is not None and loaded:
        for path in example_files(root):
            checked = check_example(path, root, loaded, grade)
            if checked is not None:
                examples.append(checked)
    return VerifyReport(tuple(set_reports), tuple(errata), tuple(stale), tuple(examples),
                        str(root) if root is not None else "")


def _verify_set(name: str | Path, root: Path, compare: Callable[..., dict[tuple[str, str], PartComparison]]
                ) -> tuple[SetReport, ExerciseSet | None, list[ErratumReport], list[StaleErratum]]:
    folder = Path(name) if Path(name).is_dir() and str(name) not in available_sets(root) else root / str(name)
    try:
        exercise_set = load_exercise_set(folder)
    except ExerciseDataError as exc:
        return SetReport(str(name), "", str(folder), problems=exc.problems), None, [], []
    base = SetReport(exercise_set.id, exercise_set.title, str(folder), len(exercise_set.exercises),
                     sum(len(ex.parts) for ex in exercise_set.exercises), exercise_set.total_points,
                     exercise_set.context.profile.name)
    try:
        solutions = solve(exercise_set)
    except SolutionError as exc:
        return dataclasses.replace(base, problems=(exc.message,)), exercise_set, [], []
    try:
        verdicts = compare(exercise_set, solutions)
        graded = grade_published(exercise_set)
    except GraderError as exc:
        return dataclasses.replace(base, problems=(f"grading the published key: {exc.message}",)), exercise_set, [], []
    errata: list[ErratumReport] = []
    stale: list[StaleErratum] = []
    notes: list[str] = []
    for ex in exercise_set.exercises:
        published_answer = thaw(ex.published.values)
        for part in ex.parts:
            verdict = verdicts[(ex.id, part.id)]
            canonical = solutions[ex.id][part.id]
            erratum = ex.erratum_for(part.id)
            published = read_field(published_answer, part.field)[0]
            if verdict.agrees:
                if erratum is not None:
                    stale.append(StaleErratum(exercise_set.id, ex.id, part.id, ex.source, published, canonical.value))
                continue
            if part.compare_kind == "text" and erratum is None:
                # The rubric is not the engine: a published text it cannot place is worth a look, not a failure.
                notes.append(f"{ex.id}.{part.id}: the published text is graded {verdict.status or 'below full'} "
                             f"by its rubric ({' '.join(verdict.feedback)[:200]})")
                continue
            errata.append(_erratum_report(exercise_set, ex.id, part, published, canonical, verdict, erratum))
    base = dataclasses.replace(base, published_score=graded.score, published_max=graded.max_score)
    return dataclasses.replace(base, notes=tuple(notes)), exercise_set, errata, stale


def _erratum_report(exercise_set: ExerciseSet, exercise_id: str, part: Part, published: Any, canonical: Canonical,
                    verdict: PartComparison, erratum: Any) -> ErratumReport:
    reason = erratum.reason if erratum is not None else None
    engine_says = " ".join(canonical.derivation)
    if reason:
        explanation = f"{reason} Engine: {engine_says}"
    else:
        explanation = (f"Not acknowledged in {exercise_set.exercise(exercise_id).source}: add an erratum for part "
                       f"{part.id!r} with a reason, or fix the published value. Engine: {engine_says}")
    return ErratumReport(
        exercise_set=exercise_set.id, exercise=exercise_id, part=part.id, field=part.field,
        published=published, engine=canonical.value, explanation=explanation, acknowledged=erratum is not None,
        reason=reason, derivation=tuple(canonical.derivation), feedback=verdict.feedback,
        grading=erratum.grading.value if erratum is not None else None,
        credit=erratum.credit if erratum is not None else None,
        by_profile=dict(canonical.by_profile) if canonical.by_profile else None,
    )


# -- text rendering ---------------------------------------------------------------------------------------


def _rounded(value: float | None) -> float | None:
    return None if value is None else round_score(value)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _wrapped(label: str, text: str, indent: int = 4, width: int = 110) -> list[str]:
    pad = " " * indent
    lines = textwrap.wrap(text, width=width - indent - len(label), break_long_words=False,
                          break_on_hyphens=False) or [""]
    hang = pad + " " * len(label)
    return [pad + label + lines[0], *(hang + line for line in lines[1:])]


def report_text(report: VerifyReport) -> str:
    """The report for a terminal: sets, errata with both values and why, examples, verdict."""
    out: list[str] = []
    for s in report.sets:
        if s.problems:
            count = len(s.problems)
            out.append(f"{s.id}: INVALID exercise data ({count} problem{'s' if count != 1 else ''})")
            out.extend(f"  {p}" for p in s.problems)
            out.append("")
            continue
        out.append(f"{s.id}: {s.exercises} exercise files valid, {s.parts} parts, {_num(s.points)} points; "
                   f"canonical answers computed (profile {s.profile})")
        if s.published_score is not None:
            out.append(f"  published key graded as a submission: {_num(s.published_score)} / "
                       f"{_num(s.published_max)} (acknowledged errata earn their credit)")
        errata = [e for e in report.errata if e.exercise_set == s.id]
        acknowledged = sum(1 for e in errata if e.acknowledged)
        out.append(f"  errata (published key vs engine): {len(errata)}, {acknowledged} acknowledged, "
                   f"{len(errata) - acknowledged} new")
        for e in errata:
            tag = (f"acknowledged, {e.grading} credit {_num(round((e.credit or 0) * 100, 2))}%" if e.acknowledged
                   else "NEW, not acknowledged")
            out.append(f"  - {e.exercise}.{e.part} [{e.field}] ({tag})")
            out += _wrapped("published: ", value_text(e.published))
            out += _wrapped("engine:    ", value_text(e.engine))
            if e.reason:
                out += _wrapped("why:       ", e.reason)
            out += _wrapped("derived:   ", " ".join(e.derivation))
            if e.by_profile:
                others = "; ".join(f"{name}: {value_text(v)}" for name, v in e.by_profile.items() if v != e.engine)
                out += _wrapped("profiles:  ", f"depends on the profile; {others}")
        for stale in (x for x in report.stale_errata if x.exercise_set == s.id):
            out += _wrapped("STALE: ", stale.message, indent=2)
        for note in s.notes:
            out += _wrapped("note: ", note, indent=2)
        out.append("")
    if report.examples_dir:
        ok = sum(1 for x in report.examples if x.ok)
        out.append(f"examples ({report.examples_dir}): {ok} of {len(report.examples)} graded as declared")
        for x in report.examples:
            got = f"{_num(x.score)}/{_num(x.max_score)}" if x.score is not None else "not graded"
            line = f"  {'ok  ' if x.ok else 'FAIL'}  {x.path}  {got}"
            if x.diagnosis:
                line += f"  diagnosis: {', '.join(x.diagnosis)}"
            out.append(line)
            out.extend(f"        {p}" for p in x.problems)
        out.append("")
    summary = (f"{len(report.errata)} errata ({len(report.new_errata)} new), {len(report.stale_errata)} stale, "
               f"{len(report.failed_examples)} of {len(report.examples)} examples failed")
    invalid = sum(1 for s in report.sets if s.problems)
    if invalid:
        summary = f"{invalid} invalid set{'s' if invalid != 1 else ''}; " + summary
    out.append(f"verify: {'OK' if report.ok else 'FAILED'}: {summary}")
    return "\n".join(out) + "\n"


__all__ = ["EXAMPLES_DIR", "EXAMPLE_SEED", "ErratumReport", "ExampleReport", "PartComparison", "SetReport",
           "StaleErratum", "VerifyReport", "check_example", "compare_published", "example_files", "grade_example",
           "published_key", "report_text", "verify", "without_errata"]

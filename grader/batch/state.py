"""The batch's state file: one JSON line per finished submission, read back to resume.

A record keeps the slim result (scores, statuses, diagnoses, finding codes); a torn last
line is ignored.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from grader.errors import UsageProblem
from grader.results import ExerciseResult, Finding, GradeResult, PartResult, Problem, Status, result_from_dict


class RecordStatus(enum.StrEnum):
    """What happened to one submission in a batch."""

    GRADED = "graded"
    UNREADABLE = "unreadable"
    FAILED = "failed"


#: Records with these statuses are final: a rerun skips their submissions.
FINAL_STATUSES = frozenset({RecordStatus.GRADED, RecordStatus.UNREADABLE})


def submission_key(raw: bytes, exercise_set: str, student: str, id_from: str = "path") -> str:
    """The resume key: what was graded (content hash), against what, for whom the path says,
    and whether the file's own ``student_id`` was asked to decide (``id_from``): a rerun with
    the other ``--id-from`` grades again, since the student may differ."""
    key = f"{exercise_set}:{student}:{hashlib.sha256(raw).hexdigest()}"
    return key if id_from == "path" else f"{key}:{id_from}"


def slim_result(result: GradeResult, *, parts: bool = False) -> dict[str, Any]:
    """What gradebooks and statistics read of a result, compact: this is what the state file keeps.

    ``{student_id, exercise_set, score, max_score, errors (the first), exercises: [[id,
    score, max_score, status, diagnosis, finding codes(, parts)], ...], identity}``;
    exercises are rows, not objects, because a class of thousands is written, sent
    between processes and read back.  ``parts`` adds each part's ``[id, score,
    max_score, status, finding codes]``: the Python assignment's gradebook columns are its functions,
    which are the parts of its one exercise.  ``identity`` is who the path and the file
    say the student is (``meta.identity``).  The whole result (feedback, parts) goes to
    ``--results-dir``.
    """
    return {
        "student_id": result.student_id,
        "exercise_set": result.exercise_set,
        "score": float(result.score),
        "max_score": float(result.max_score),
        "errors": list(result.errors[:1]),
        "problems": sorted({p.code for p in result.problems}),
        # Status is a StrEnum: json writes it as its value.
        "exercises": [[e.id, float(e.score), float(e.max_score), e.status, e.diagnosis,
                       [f.code for p in e.parts for f in p.findings]]
                      + ([[[p.id, float(p.score), float(p.max_score), p.status, [f.code for f in p.findings]]
                            for p in e.parts]] if parts else [])
                      for e in result.exercises],
        **({"identity": dict(result.meta["identity"])} if "identity" in result.meta else {}),
    }


_STATUSES = {s.value: s for s in Status}


@functools.lru_cache(maxsize=4096)
def _finding(code: str, exercise_id: str) -> Finding:
    # Findings are frozen values: one shared object per code and exercise keeps a class's results small.
    return Finding(code, exercise_id, "")


def result_from_slim(data: dict[str, Any]) -> GradeResult:
    """A :class:`GradeResult` from :func:`slim_result`'s dict (or a full result-format dict).

    An exercise with findings comes back with one part standing for the exercise as a
    whole, which carries the finding codes; one without findings has no parts.
    """
    rows = data.get("exercises", ())
    if rows and isinstance(rows[0], dict):
        return result_from_dict(data)
    exercises = []
    for exercise_id, score, max_score, status, diagnosis, findings, *rest in rows:
        state = _STATUSES[status]
        if rest:  # the parts themselves, each with its findings
            parts = tuple(PartResult(pid, pscore, pmax, _STATUSES[pstatus],
                                     findings=tuple(_finding(code, exercise_id) for code in codes))
                          for pid, pscore, pmax, pstatus, codes in rest[0])
        else:
            parts = (PartResult(exercise_id, score, max_score, state,
                                findings=tuple(_finding(code, exercise_id) for code in findings)),) if findings else ()
        exercises.append(ExerciseResult(exercise_id, "", score, max_score, state, (), tuple(diagnosis), parts))
    problems = tuple(Problem("", code, "") for code in data.get("problems", ()))  # the codes, for statistics
    meta = {"identity": dict(data["identity"])} if isinstance(data.get("identity"), dict) else {}
    return GradeResult(data.get("student_id"), data.get("exercise_set", ""), data.get("score", 0),
                       data.get("max_score", 0), tuple(exercises), (), tuple(data.get("errors", ())), meta,
                       problems=problems)


@dataclass
class Record:
    """One line of the state file: a submission and what became of it.

    ``result`` is the slim result dict (:func:`slim_result`; :func:`result_from_slim`
    reads it); ``line`` is the record's line in the state file, made by the worker.
    """

    key: str
    source: str
    status: RecordStatus
    submitted_at: float
    result: dict[str, Any] | None
    error: str | None = None
    line: str | None = field(default=None, repr=False)

    @classmethod
    def from_line(cls, line: str) -> Record:
        """The record a state-file line holds; ``ValueError``/``KeyError``/``TypeError`` when it holds none."""
        doc = json.loads(line)
        return cls(doc["key"], doc["source"], RecordStatus(doc["status"]), float(doc["submitted_at"]),
                   doc.get("result"), doc.get("error"), line.rstrip("\n"))

    @functools.cached_property
    def grade_result(self) -> GradeResult | None:
        """The result rebuilt from the slim dict (once; the batch does it while workers still grade)."""
        return None if self.result is None else result_from_slim(self.result)


def record_line(key: str, source: str, status: RecordStatus, submitted_at: float, result: dict[str, Any] | None,
          error: str | None) -> str:
    document = {"key": key, "source": source, "status": status.value, "submitted_at": submitted_at,
                "error": error, "result": result}
    return json.dumps(document, ensure_ascii=True, default=str, separators=(",", ":"))


def read_state(path: str | os.PathLike[str]) -> list[Record]:
    """The records of a state file (a missing file has none; a torn last line is ignored)."""
    records: list[Record] = []
    try:
        stream = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return records
    except OSError as exc:
        raise UsageProblem(f"{path}: cannot read the state file: {exc.strerror or exc}") from None
    with stream:
        for number, text in enumerate(stream, start=1):
            if not text.strip():
                continue
            try:
                record = Record.from_line(text)
            except (ValueError, KeyError, TypeError):
                if text.endswith("\n"):
                    raise UsageProblem(f"{path}: line {number}: not a record of a batch state file; "
                                       "give another --state file or remove this one") from None
                continue  # a line cut short when the batch was killed: that submission is graded again
            records.append(record)
    return records

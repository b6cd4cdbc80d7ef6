"""Submitting, regrading and settling: the service's work, without HTTP.

:class:`SubmissionService` takes a submission's bytes from an authenticated student,
stores it durably, grades it with the app's grading function
(``grader.grading.grade_bytes``; ``create_app(grade=...)`` takes another), and stores
the result; it replays the stored outcome for a retried ``Idempotency-Key``.  The API
and the page both call it, so they behave the same.

The *current* result of a submission is the grader's result (or its latest regrade)
with the instructors' settlements applied on top (:func:`current_result`); the stored
results themselves are never changed.
"""

from __future__ import annotations

import copy
import json
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from grader.attempts import Attempt, Standing, assignment_for, standings
from grader.errors import SandboxUnavailable, SubmissionUnreadable
from grader.exercises.model import AttemptPolicy
from grader.results import GradeResult, provisional_note, round_score, status_for
from grader.submissions.read import Submission as ReadSubmission
from grader.submissions.read import SubmissionFormat, format_for_name, read_submission_bytes
from grader.web.catalogue import Catalogue
from grader.web.errors import BadRequest, IdempotencyKeyReused, NotFound, PayloadTooLarge, UnsupportedMediaType
from grader.web.records import NewSubmission, Regrade, SettlementRecord, Submission, SubmissionState, content_hash
from grader.web.reviews import Group, answer_key, answer_text, find_group, group_reviews
from grader.web.store import Store

GradeFunction = Callable[..., GradeResult]

log = logging.getLogger(__name__)

MAX_REASON_LENGTH = 2000
#: Graded submissions read per query when standings are worked out.
STANDINGS_PAGE = 200
MAX_KEY_LENGTH = 255
MAX_SET_LENGTH = 64


@dataclass(frozen=True)
class Upload:
    """A submission as received: its bytes, a file name whose suffix says the format, and the
    exercise set the caller named outside the file (a query or form field), if any."""

    raw: bytes
    filename: str
    exercise_set: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a submission request came to.  ``replayed`` is true when the stored outcome of an
    earlier request with the same ``Idempotency-Key`` is returned and nothing was graded."""

    submission: Submission
    replayed: bool
    #: Answers settled at once by an instructor's earlier decision on the same answer.
    settled: int = 0

    @property
    def http_status(self) -> int:
        if self.submission.state is SubmissionState.REJECTED:
            return 400
        return 200 if self.replayed else 201


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise BadRequest(f"Idempotency-Key: expected 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return key


def submission_filename(name: str | None, default: str = "submission.json") -> str:
    """The base name of an uploaded file, checked to end in a known suffix.

    A name with a NUL or another control character is refused (400): it would reach the
    store, logs and the instructor's gradebook as it is."""
    raw = name or default
    bad = next((c for c in raw if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise BadRequest(f"file name {raw[:60].encode('unicode_escape').decode('ascii')!r}: contains the control "
                         f"character U+{ord(bad):04X}; rename the file")
    base = PurePath(raw.replace("\\", "/")).name[-100:] or default
    if format_for_name(base) is None:
        raise UnsupportedMediaType(f"{base}: unsupported file type; send a .json, .yaml or .py file")
    return base


class SubmissionService:
    """Stores and grades submissions.  Thread-safe (the store is; the rest holds no state)."""

    def __init__(self, store: Store, catalogue: Catalogue, grade: GradeFunction, version: str, *,
                 max_bytes: int, default_set: str) -> None:
        self.store = store
        self.catalogue = catalogue
        self.grade = grade
        self.version = version
        self.max_bytes = max_bytes
        self.default_set = default_set

    # -- submitting ---------------------------------------------------------------------------

    def submit(self, student_id: str, upload: Upload, idempotency_key: str | None = None) -> Outcome:
        """Store, grade and store the result of one submission (see the module docstring).

        Raises :class:`PayloadTooLarge`, :class:`BadRequest` (empty),
        :class:`IdempotencyKeyReused` (same key, other bytes) and whatever the grading
        function raises for the service itself (``SandboxUnavailable``: 503); then the
        submission stays pending and a retry with the same key completes it.
        """
        if len(upload.raw) > self.max_bytes:
            raise PayloadTooLarge(f"submission too large: {len(upload.raw)} bytes; the limit is {self.max_bytes}",
                                  extra={"max_bytes": self.max_bytes})
        if not upload.raw.strip():
            raise BadRequest("empty submission: send the JSON, YAML or Python file of your answers")
        key = check_idempotency_key(idempotency_key)
        exercise_set, submission, problem = self._read(upload)
        if problem is None and not self.catalogue.has_set(exercise_set):
            known = ", ".join(self.catalogue.set_ids()) or "none"
            problem = f"unknown exercise set {exercise_set!r}; known sets: {known}"
        new = NewSubmission(student_id, exercise_set, upload.filename, upload.raw, key)
        stored, created = self.store.begin_submission(new)
        if not created:
            if stored.content_sha256 != content_hash(upload.raw):
                raise IdempotencyKeyReused(
                    f"Idempotency-Key {key!r} was used for submission {stored.id} with different content; "
                    "use a new key for a new submission")
            if stored.state is not SubmissionState.PENDING:
                return Outcome(stored, replayed=True)
            # Pending: the first attempt died while grading (or is still grading).  Grading
            # is deterministic, so grade again; the first result written wins.
        if problem is not None:
            final = self.store.complete_submission(stored.id, SubmissionState.REJECTED,
                                                   _unreadable(student_id, exercise_set, problem), self.version)
            return Outcome(final, replayed=False)
        result = self.grade(upload.raw, upload.filename, student_id, exercise_set, submission=submission,
                            sets=self.catalogue.root)
        state = SubmissionState.GRADED if result.readable else SubmissionState.REJECTED
        final = self.store.complete_submission(stored.id, state, result.to_dict(), self.version)
        return Outcome(final, replayed=False, settled=self._apply_decisions(final))

    def _apply_decisions(self, submission: Submission) -> int:
        """Settle each answer awaiting review that an instructor already decided for another
        submission with the same answer (:func:`grader.web.reviews.answer_key`); how many."""
        if submission.state is not SubmissionState.GRADED or not submission.review_count or not submission.result:
            return 0
        settled = 0
        for exercise in submission.result.get("exercises") or []:
            if exercise.get("status") != "needs_review":
                continue
            decision = self.store.decision_for(answer_key(submission.exercise_set, exercise))
            if decision is None:
                continue
            score = max(0.0, min(decision.score, float(exercise.get("max_score") or 0)))
            reason = f"{decision.reason} (decided for the same answer in submission {decision.submission_id})"
            self.store.add_settlement(submission.id, str(exercise.get("id")), score, reason, decision.decided_by)
            settled += 1
        return settled

    def _read(self, upload: Upload) -> tuple[str, ReadSubmission | None, str | None]:
        """The exercise set the submission is for, the submission as read, and a message
        when it cannot be read at all.

        JSON and YAML are read here, once, by the hardened reader (its size, depth and
        value limits bound the CPU a body can cost), to find ``exercise_set`` and to
        answer a malformed body at once with its line and column; the grader is handed
        what was read and never parses the bytes again.  Python is the sandbox's to read.
        """
        kind = format_for_name(upload.filename)
        chosen = upload.exercise_set or None
        if kind is SubmissionFormat.PYTHON:
            return chosen or self.default_set, None, None
        try:
            submission = read_submission_bytes(upload.raw, upload.filename)
        except SubmissionUnreadable as exc:
            return chosen or self.default_set, None, exc.message
        written = submission.exercise_set
        if chosen is None and written:
            chosen = written[:MAX_SET_LENGTH]
        return chosen or self.default_set, submission, None

    # -- reading -------------------------------------------------------------------------------

    def submission_for(self, submission_id: int, student_id: str, *, any_student: bool = False) -> Submission:
        """A submission the caller may see: their own, or any for an instructor; else :class:`NotFound`."""
        found = self.store.submission(submission_id)
        if found is None or not (any_student or found.student_id == student_id):
            # Another student's submission is "not found" too: its existence is not theirs to learn.
            raise NotFound(f"no submission {submission_id}")
        return found

    def document(self, submission: Submission, *, just_graded: bool = False, counting: bool = True) -> dict[str, Any]:
        """The API's JSON for one submission: the current result in the result format, plus ``id``.

        ``just_graded``: the submission was completed by this request, so no regrade or
        settlement can exist yet and none is looked up.  ``assignment`` and ``policy`` are
        added, and with ``counting`` (not on the answer to a submission request, first or
        replayed) ``counts_for``: the exercises whose counted score this attempt gives, as
        the history stands now.
        """
        if just_graded:
            doc = submission_document(submission, None, [])
        else:
            regrade = self.store.latest_regrades([submission.id]).get(submission.id)
            settlements = self.store.settlements([submission.id]).get(submission.id, [])
            doc = submission_document(submission, regrade, settlements)
        doc["assignment"] = assignment_for(submission.filename).value
        doc["policy"] = self.policy(submission.exercise_set).value
        if counting:
            # A view of the whole history (a later attempt can take an exercise over), so it is
            # worked out when asked for, not on the submission's own answer, which grading
            # every student's Nth attempt would make cost N results read.
            marks = self._counts_for(submission.student_id, {submission.exercise_set})
            doc["counts_for"] = list(marks.get(str(submission.id), ()))
        return doc

    def history(self, student_id: str, *, limit: int = 50, before: int | None = None) -> list[dict[str, Any]]:
        """A student's submissions, newest first, each with its current score, its assignment
        and the exercises for which it is the attempt that counts (``counts_for``)."""
        subs = self.store.submissions_of(student_id, limit=limit, before=before)
        regrades = self.store.latest_regrades([s.id for s in subs])
        settlements = self.store.settlements([s.id for s in subs])
        marks = self._counts_for(student_id, {s.exercise_set for s in subs})
        return [{**summary_document(s, current_result(s, regrades.get(s.id), settlements.get(s.id, []))),
                 "assignment": assignment_for(s.filename).value, "counts_for": list(marks.get(str(s.id), ()))}
                for s in subs]

    # -- which attempt counts ----------------------------------------------------------------------

    def policy(self, exercise_set: str) -> AttemptPolicy:
        """The attempt policy of a set (its ``settings.attempts``); the default for a set that is gone."""
        try:
            return self.catalogue.exercise_set(exercise_set).settings.attempts
        except NotFound:
            return AttemptPolicy.BEST_PER_EXERCISE

    def standings(self, exercise_set: str, student_id: str | None = None) -> list[Standing]:
        """Each student's standing on each assignment of a set (one student's, when given), from every
        graded submission's current result (regrades and settlements applied)."""
        attempts: list[Attempt] = []
        after = 0
        while subs := self.store.graded(exercise_set, student_id, after=after, limit=STANDINGS_PAGE):
            # A page at a time, each result dropped once it is an attempt: a class's results
            # are never all in memory.
            regrades = self.store.latest_regrades([s.id for s in subs])
            settlements = self.store.settlements([s.id for s in subs])
            attempts.extend(Attempt.of_document(current_result(s, regrades.get(s.id), settlements.get(s.id, [])),
                                                ref=str(s.id), order=(s.received_at, s.id),
                                                assignment=assignment_for(s.filename), student_id=s.student_id)
                            for s in subs)
            after = subs[-1].id
        return standings(attempts, self.policy(exercise_set))

    def _counts_for(self, student_id: str, exercise_sets: set[str]) -> dict[str, tuple[str, ...]]:
        """Submission id -> the exercises (or Python functions) whose counted score it gives."""
        marks: dict[str, tuple[str, ...]] = {}
        for set_id in sorted(exercise_sets):
            for s in self.standings(set_id, student_id):
                for ref in s.attempts:
                    marks[ref] = s.counts_for(ref)
        return marks

    # -- instructors ----------------------------------------------------------------------------

    def regrade(self, exercise_set: str, by: str, *, after: int = 0, limit: int = 200,
                new_seed: bool = False) -> dict[str, Any]:
        """Grade a batch of a set's submissions again with the current grader.

        Pending submissions (a worker died and nobody retried) are completed.  A graded one
        whose new result differs from its current one gets a new regrade record (the
        original stays).  Works in batches of ``limit`` by id so no request runs long;
        ``next_after`` is the cursor for the next call, ``None`` when done.

        A Python answer whose current result records its hidden streams' seed
        (``meta.seed``) is graded on that seed again, passed to the grading function as
        ``seed=``: derived seeds reproduce anyway, and this keeps the student's hidden
        tests even when the derivation changes.  ``new_seed``: let the current grader
        derive the seed instead (the student may then meet other hidden tests).
        """
        self.catalogue.exercise_set(exercise_set)  # NotFound for an unknown set
        batch = self.store.submissions_to_regrade(exercise_set, after=after, limit=limit)
        regrades = self.store.latest_regrades([s.id for s in batch])
        counts = {"regraded": 0, "changed": 0, "completed": 0, "failed": 0}
        failures: list[dict[str, Any]] = []
        for sub in batch:
            raw = self.store.submission_raw(sub.id) or b""
            previous = regrades[sub.id].result if sub.id in regrades else sub.result
            kept = None if new_seed else _stored_seed(previous)
            try:
                # a grading function that predates seeds still regrades what has none
                seed = {} if kept is None else {"seed": kept}
                result = self.grade(raw, sub.filename, sub.student_id, sub.exercise_set,
                                    sets=self.catalogue.root, **seed).to_dict()
            except Exception as exc:  # one submission the grader fails on must not stop the class's regrade
                if not isinstance(exc, SandboxUnavailable):
                    log.exception("regrading submission %s (sha256 %s) failed", sub.id, sub.content_sha256)
                counts["failed"] += 1
                failures.append({"submission_id": sub.id, "student_id": sub.student_id,
                                 "error": _failure_message(exc)})
                continue
            counts["regraded"] += 1
            if sub.state is SubmissionState.PENDING:
                state = SubmissionState.GRADED if _readable(result) else SubmissionState.REJECTED
                self.store.complete_submission(sub.id, state, result, self.version)
                counts["completed"] += 1
                continue
            if _comparable(previous) != _comparable(result):
                self.store.add_regrade(sub.id, result, self.version, by)
                counts["changed"] += 1
        next_after = batch[-1].id if len(batch) == limit else None
        return {"exercise_set": exercise_set, "grader_version": self.version, **counts, "failures": failures,
                "next_after": next_after, "new_seed": new_seed}

    def reviews(self) -> list[dict[str, Any]]:
        """Answers waiting for an instructor: ``needs_review`` in the current result, not settled;
        each with its ``answer`` (the parts' given values as text) and the ``group`` it is in."""
        return self.review_queue()[0]

    def review_groups(self) -> list[Group]:
        """The waiting answers in groups (identical or near-identical answers to one exercise), largest first."""
        return self.review_queue()[1]

    def review_queue(self) -> tuple[list[dict[str, Any]], list[Group]]:
        """The waiting answers (:meth:`reviews`) and their groups, worked out once."""
        subs = self.store.with_reviews()
        regrades = self.store.latest_regrades([s.id for s in subs])
        settlements = self.store.settlements([s.id for s in subs])
        waiting: list[dict[str, Any]] = []
        for sub in subs:
            result = current_result(sub, regrades.get(sub.id), settlements.get(sub.id, []))
            for ex in result.get("exercises", []):
                if ex.get("status") == "needs_review":
                    waiting.append({
                        "submission_id": sub.id,
                        "student_id": sub.student_id,
                        "exercise_set": sub.exercise_set,
                        "submitted_at": sub.received_at,
                        "exercise_id": ex.get("id"),
                        "title": ex.get("title"),
                        "max_score": ex.get("max_score"),
                        "feedback": ex.get("feedback", []),
                        "parts": ex.get("parts", []),
                        "answer": answer_text(ex),
                    })
        groups = group_reviews(waiting)
        for group in groups:
            for member in group.members:
                member["group"] = group.id  # type: ignore[index]  # the items are this method's own dicts
        return waiting, groups

    def settle_group(self, group_id: str, score: Any, reason: Any, by: str) -> dict[str, Any]:
        """Settle every answer of one review group with one score and reason (each a settlement record)."""
        group = find_group(self.review_groups(), group_id)
        if group is None:
            raise NotFound(f"no review group {group_id!r} (settled already, or the answers changed: list them again)")
        reports = [self.settle(int(m["submission_id"]), group.exercise_id, score, reason, by) for m in group.members]
        return {"group": group.id, "exercise_set": group.exercise_set, "exercise_id": group.exercise_id,
                "settled": len(reports), "settlements": [r["settlement"] for r in reports]}

    def settle(self, submission_id: int, exercise_id: str, score: Any, reason: Any, by: str) -> dict[str, Any]:
        """Record an instructor's score for one exercise of one submission, with the reason.

        A new settlement record; the stored result is untouched.  Returns the record and
        the exercise as it now reads.
        """
        sub = self.store.submission(submission_id)
        if sub is None:
            raise NotFound(f"no submission {submission_id}")
        doc = self.document(sub, counting=False)
        exercise = next((e for e in doc.get("exercises", []) if e.get("id") == exercise_id), None)
        if exercise is None:
            raise NotFound(f"submission {submission_id} has no exercise {exercise_id!r}")
        if isinstance(score, bool) or not isinstance(score, int | float) or score != score:
            raise BadRequest("score: expected a number")
        max_score = float(exercise.get("max_score") or 0)
        if not 0 <= score <= max_score:
            raise BadRequest(f"score: expected a number from 0 to {round_score(max_score)}")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_LENGTH:
            raise BadRequest(f"reason: expected a non-empty text of at most {MAX_REASON_LENGTH} characters")
        record = self.store.add_settlement(submission_id, exercise_id, float(score), reason.strip(), by)
        original = next((e for e in (sub.result or {}).get("exercises", []) if e.get("id") == exercise_id), None)
        if original is not None and original.get("status") == "needs_review":
            # Remembered by the answer: a later submission with the same answer is settled alike.
            self.store.add_decision(answer_key(sub.exercise_set, original), float(score), reason.strip(), by,
                                    submission_id)
        updated = self.document(sub, counting=False)
        settled = next(e for e in updated["exercises"] if e.get("id") == exercise_id)
        return {"settlement": settlement_dict(record), "exercise": settled, "score": updated["score"]}


def _failure_message(exc: Exception) -> str:
    """What a regrade report says about a submission the grader failed on (no traceback)."""
    if isinstance(exc, SandboxUnavailable):
        return f"not regraded: {exc.message.splitlines()[0]}"
    return "not regraded: the grader failed on this submission (an internal error, logged); it keeps its result"


def _readable(result: dict[str, Any]) -> bool:
    """:attr:`GradeResult.readable` for a result already in the result format."""
    return not (result.get("errors") and not result.get("exercises"))


#: What a regrade does not compare: the time a grading took, and whether its seed was
#: derived or kept (a kept seed is the one the student was graded on: nothing changed).
_NOT_COMPARED = ("timings", "seed_from")


def _comparable(result: dict[str, Any] | None) -> str:
    """A result as compared by a regrade: everything but :data:`_NOT_COMPARED` of its ``meta``."""
    if isinstance(result, dict) and isinstance(result.get("meta"), dict):
        result = {**result, "meta": {k: v for k, v in result["meta"].items() if k not in _NOT_COMPARED}}
    return json.dumps(result, sort_keys=True, default=str)


def _stored_seed(result: dict[str, Any] | None) -> int | None:
    """The seed a stored result's hidden streams came from (``meta.seed``), or ``None``."""
    meta = result.get("meta") if isinstance(result, dict) else None
    seed = meta.get("seed") if isinstance(meta, dict) else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0 else None


def _unreadable(student_id: str, exercise_set: str, message: str) -> dict[str, Any]:
    return {"student_id": student_id, "exercise_set": exercise_set, "score": 0, "max_score": 0,
            "exercises": [], "warnings": [], "errors": [message]}


def settlement_dict(record: SettlementRecord) -> dict[str, Any]:
    return {"id": record.id, "submission_id": record.submission_id, "exercise_id": record.exercise_id,
            "score": round_score(record.score), "reason": record.reason, "by": record.decided_by,
            "at": record.decided_at}


def current_result(submission: Submission, regrade: Regrade | None,
                   settlements: list[SettlementRecord]) -> dict[str, Any]:
    """The result as it stands: the latest regrade or the original, with the latest settlement
    of each exercise applied (score clamped to the exercise's maximum, status recomputed,
    ``settlement`` saying who and why) and the total recomputed.  Read-only: without
    settlements it is the stored result itself."""
    base = regrade.result if regrade is not None else submission.result
    if not settlements:
        return base or {}  # shared with the submission: callers read it, never change it
    result = copy.deepcopy(base) if base else {}
    latest = {s.exercise_id: s for s in settlements}
    exercises = result.get("exercises") or []
    if latest and exercises:
        for ex in exercises:
            record = latest.get(ex.get("id"))
            if record is None:
                continue
            max_score = float(ex.get("max_score") or 0)
            score = max(0.0, min(record.score, max_score))
            ex["score"] = round_score(score)
            ex["status"] = status_for(score, max_score).value
            ex["settlement"] = {"by": record.decided_by, "score": round_score(score), "reason": record.reason,
                                "at": record.decided_at}
        result["score"] = round_score(sum(float(e.get("score") or 0) for e in exercises))
        waiting = sum(1 for e in exercises if "settlement" not in e for p in e.get("parts") or ()
                      if isinstance(p, dict) and p.get("status") == "needs_review")
        if waiting:
            result["provisional"] = provisional_note(waiting)
        else:
            result.pop("provisional", None)
    return result


def _stored_facts(submission: Submission) -> dict[str, Any]:
    """The fields a submission's document and its history line share, in their order."""
    return {
        "id": submission.id,
        "student_id": submission.student_id,
        "exercise_set": submission.exercise_set,
        "state": submission.state.value,
        "submitted_at": submission.received_at,
        "filename": submission.filename,
    }


def submission_document(submission: Submission, regrade: Regrade | None,
                        settlements: list[SettlementRecord]) -> dict[str, Any]:
    """The JSON of a submission: ``id`` and the stored facts, then the result format fields."""
    result = current_result(submission, regrade, settlements)
    doc: dict[str, Any] = {
        **_stored_facts(submission),
        "content_sha256": submission.content_sha256,
        "grader_version": regrade.grader_version if regrade else submission.grader_version,
        "score": None,
        "max_score": None,
        "exercises": [],
        "warnings": [],
        "errors": [],
    }
    doc.update({k: v for k, v in result.items() if k not in {"id", "student_id", "exercise_set"}})
    if regrade is not None:
        doc["regrade"] = {"at": regrade.regraded_at, "by": regrade.regraded_by,
                          "grader_version": regrade.grader_version}
    return doc


def summary_document(submission: Submission, result: dict[str, Any]) -> dict[str, Any]:
    """One line of a history listing: the stored facts and the current score, no feedback."""
    return {
        **_stored_facts(submission),
        "score": result.get("score"),
        "max_score": result.get("max_score"),
    }

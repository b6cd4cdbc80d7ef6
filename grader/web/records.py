"""The service's stored values: submissions, regrades, settlements, roster entries.

Frozen values the store returns; the store itself (:mod:`grader.web.store`) reads and
writes them in SQLite or PostgreSQL.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class SubmissionState(enum.StrEnum):
    PENDING = "pending"    # stored, not yet graded (or the worker died while grading)
    GRADED = "graded"      # readable: the result holds scores
    REJECTED = "rejected"  # unreadable: the result holds only ``errors`` (HTTP 400)


class Role(enum.StrEnum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"


def utc_now() -> str:
    """The current time as ISO 8601 UTC text with microseconds; it sorts as it reads."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class NewSubmission:
    student_id: str
    exercise_set: str
    filename: str
    raw: bytes
    idempotency_key: str | None = None

    @property
    def content_sha256(self) -> str:
        return content_hash(self.raw)


@dataclass(frozen=True)
class Submission:
    """A stored submission.  ``result`` is the result format as stored (``None`` while pending
    and in listings, which do not load it); ``raw`` is loaded by :meth:`Store.submission_raw`."""

    id: int
    student_id: str
    exercise_set: str
    received_at: str
    filename: str
    content_sha256: str
    idempotency_key: str | None
    state: SubmissionState
    grader_version: str | None
    graded_at: str | None
    score: float | None
    max_score: float | None
    review_count: int
    result: dict[str, Any] | None = None


@dataclass(frozen=True)
class Regrade:
    id: int
    submission_id: int
    result: dict[str, Any]
    grader_version: str
    regraded_at: str
    regraded_by: str


@dataclass(frozen=True)
class SettlementRecord:
    """An instructor's decision on one exercise of one submission: score, who and why."""

    id: int
    submission_id: int
    exercise_id: str
    score: float
    reason: str
    decided_by: str
    decided_at: str


@dataclass(frozen=True)
class Decision:
    """An instructor's decision on an answer, remembered by the answer (``answer_key``): the
    submission it was made on, and the score and reason a later identical answer gets."""

    answer_key: str
    score: float
    reason: str
    decided_by: str
    decided_at: str
    submission_id: int


@dataclass(frozen=True)
class RosterEntry:
    student_id: str
    role: Role
    token_hash: str
    created_at: str

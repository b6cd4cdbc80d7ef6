"""The submissions store: every submission kept, with its raw file and its result.

One SQL schema on two databases: a SQLite file (the default; WAL journal, a busy
timeout, ``synchronous`` NORMAL or FULL as configured) or PostgreSQL by URL (psycopg 3).
Each thread of a worker keeps one connection (a gunicorn ``gthread`` worker has a fixed
pool of threads, so this is a small pool per process); a connection inherited across
``fork`` is never used.  The schema is created when the store is opened.

A submission is written in two steps so that nothing is lost when a worker dies while
grading: :meth:`Store.begin_submission` durably inserts the raw file as ``pending``
*before* grading, and :meth:`Store.complete_submission` then fills in the result, but
only while the row is still pending.  The ``(student_id, idempotency_key)`` pair is a
UNIQUE constraint, so two concurrent retries of one request cannot both insert: the
loser of the race reads the winner's row, and a retry after a crash finds the pending
row and completes it.

Results are never changed once written.  A regrade is a new row of ``sg_regrades``; an
instructor's decision on an answer is a new row of ``sg_settlements`` with who and why.

Over 600 lines because every query of every table goes through the one connection,
dialect and retry handling of :class:`Store`; the next split is a module per table
(roster, submissions, reviews) over a shared connection class.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from grader.web.errors import StoreUnavailable
from grader.web.records import (
    Decision,
    NewSubmission,
    Regrade,
    Role,
    RosterEntry,
    SettlementRecord,
    Submission,
    SubmissionState,
    utc_now,
)

SCHEMA_VERSION = 1
SQLITE_BUSY_TIMEOUT_MS = 10_000
PG_CONNECT_TIMEOUT_S = 5
# Serialises schema creation between processes that open one PostgreSQL database at once.
_PG_SCHEMA_LOCK = 0x5347_0001


# -- SQL ---------------------------------------------------------------------------------

_SUMMARY_COLUMNS = ("id, student_id, exercise_set, received_at, filename, content_sha256, idempotency_key, "
                    "state, grader_version, graded_at, score, max_score, review_count")


def _schema(id_column: str, blob: str) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS sg_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS sg_roster (
            student_id TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('student', 'instructor')),
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS sg_submissions (
            id {id_column},
            student_id TEXT NOT NULL,
            exercise_set TEXT NOT NULL,
            received_at TEXT NOT NULL,
            filename TEXT NOT NULL,
            content_sha256 TEXT NOT NULL,
            raw {blob} NOT NULL,
            idempotency_key TEXT,
            state TEXT NOT NULL CHECK (state IN ('pending', 'graded', 'rejected')),
            result_json TEXT,
            grader_version TEXT,
            graded_at TEXT,
            score DOUBLE PRECISION,
            max_score DOUBLE PRECISION,
            review_count INTEGER NOT NULL DEFAULT 0,
            UNIQUE (student_id, idempotency_key))""",
        "CREATE INDEX IF NOT EXISTS sg_submissions_by_student ON sg_submissions (student_id, id)",
        "CREATE INDEX IF NOT EXISTS sg_submissions_by_set ON sg_submissions (exercise_set, id)",
        f"""CREATE TABLE IF NOT EXISTS sg_regrades (
            id {id_column},
            submission_id BIGINT NOT NULL REFERENCES sg_submissions (id),
            result_json TEXT NOT NULL,
            grader_version TEXT NOT NULL,
            score DOUBLE PRECISION,
            max_score DOUBLE PRECISION,
            review_count INTEGER NOT NULL DEFAULT 0,
            regraded_at TEXT NOT NULL,
            regraded_by TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS sg_regrades_by_submission ON sg_regrades (submission_id, id)",
        f"""CREATE TABLE IF NOT EXISTS sg_settlements (
            id {id_column},
            submission_id BIGINT NOT NULL REFERENCES sg_submissions (id),
            exercise_id TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            reason TEXT NOT NULL,
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS sg_settlements_by_submission ON sg_settlements (submission_id, id)",
        # An instructor's decision on an answer, remembered by the answer (grader.web.reviews.answer_key):
        # a later submission with the same answer is settled by it.
        f"""CREATE TABLE IF NOT EXISTS sg_decisions (
            id {id_column},
            answer_key TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            reason TEXT NOT NULL,
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            submission_id BIGINT NOT NULL REFERENCES sg_submissions (id))""",
        "CREATE INDEX IF NOT EXISTS sg_decisions_by_answer ON sg_decisions (answer_key, id)",
    ]


T = TypeVar("T")


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Database failures (unreachable, locked past the busy timeout, disk errors) become
    :class:`StoreUnavailable` (HTTP 503), and a broken connection is dropped so the next
    call reconnects.  Constraint violations are not caught here: callers handle those."""

    @wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except self._integrity_error:
            raise
        except self._unavailable_errors as exc:
            self._drop_connection()
            raise StoreUnavailable(f"the submissions store is unavailable: {_first_line(exc)}") from exc

    return wrapper


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Store:
    """The submissions store over one database URL (``sqlite:///PATH`` or ``postgresql://...``).

    Thread-safe: each thread uses its own connection.  Every method is one short
    statement or transaction in autocommit mode, so a dying worker leaves no transaction
    open and nothing half-written.
    """

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        scheme = urlsplit(url).scheme
        if scheme == "sqlite":
            self.dialect = "sqlite"
            self.path = Path(unquote(url[len("sqlite:///"):])) if url.startswith("sqlite:///") else None
            if self.path is None or not str(self.path):
                raise ValueError(f"bad SQLite URL {url!r}: expected sqlite:///PATH")
            self._synchronous = "NORMAL" if sqlite_synchronous.upper() == "NORMAL" else "FULL"
            # OSError: the database's folder cannot be made.
            self._unavailable_errors: tuple[type[BaseException], ...] = (sqlite3.OperationalError,
                                                                          sqlite3.DatabaseError, OSError)
            self._integrity_error: type[BaseException] = sqlite3.IntegrityError
        elif scheme in ("postgresql", "postgres"):
            import psycopg

            self.dialect = "postgresql"
            self.path = None
            self._unavailable_errors = (psycopg.OperationalError, psycopg.InterfaceError)
            self._integrity_error = psycopg.IntegrityError
        else:
            raise ValueError(f"unsupported database URL {url!r}: expected sqlite:///PATH or postgresql://...")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self._write_mutex = threading.Lock()
        self._lock_file: tuple[int, int] | None = None  # (pid, fd) of the SQLite write lock file

    # -- connections -----------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            return conn
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S)

    def _conn(self) -> Any:
        local = self._local
        conn = getattr(local, "conn", None)
        # A connection made before a fork belongs to the parent; never share it.
        if conn is None or local.pid != os.getpid() or getattr(conn, "closed", False):
            conn = self._connect()
            local.conn, local.pid = conn, os.getpid()
            with self._lock:
                self._connections.append(conn)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            # Closing a broken connection may fail too; it is gone either way.
            with suppress(Exception):
                conn.close()

    def close(self) -> None:
        """Close every connection this process opened (for tests and shutdown)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with suppress(Exception):  # a connection of another thread may already be closed
                conn.close()
        self._local = threading.local()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the store's write lock around one SQLite write (PostgreSQL needs none).

        SQLite lets one writer in at a time, and a writer that finds the database locked
        polls with sleeps of up to 100 ms (its busy handler), which is what the slowest
        requests then wait.  Queueing the writers on an ``flock`` of ``<db>.lock`` (and a
        mutex between this process's threads) hands the lock over as soon as it is free,
        with no polling; the busy timeout stays as the safety net.
        """
        if self.dialect != "sqlite":
            yield
            return
        with self._write_mutex:
            fd = self._lock_fd()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_fd(self) -> int:
        pid = os.getpid()
        if self._lock_file is None or self._lock_file[0] != pid:  # a lock file inherited by fork is shared: reopen
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._lock_file = (pid, fd)
        return self._lock_file[1]

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.dialect == "postgresql" else statement

    def _execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return self._conn().execute(self._sql(statement), tuple(params))

    def _one(self, statement: str, params: Sequence[Any] = ()) -> tuple | None:
        return self._execute(statement, params).fetchone()

    def _all(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self._execute(statement, params).fetchall())

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        conn = self._conn()
        if self.dialect == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        else:
            with conn.transaction():
                yield conn

    # -- schema and health -------------------------------------------------------------------

    @_guarded
    def create_schema(self) -> None:
        """Create the tables if they are missing (idempotent; safe from several processes at once).

        The connection used is closed afterwards, so a gunicorn master that creates the
        schema before forking hands no open connection to its workers.
        """
        if self.dialect == "sqlite":
            conn = self._conn()
            # WAL lets readers go on while one writer commits; the setting is kept in the file.
            conn.execute("PRAGMA journal_mode = WAL")
            statements = _schema("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB")
        else:
            statements = _schema("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA")
        try:
            with self._writing(), self._transaction() as conn:
                if self.dialect == "postgresql":
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_SCHEMA_LOCK,))
                for statement in statements:
                    conn.execute(statement)
                insert = ("INSERT INTO sg_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
                conn.execute(self._sql(insert), ("schema_version", str(SCHEMA_VERSION)))
        finally:
            self._drop_connection()

    @_guarded
    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers a query on the schema."""
        self._one("SELECT COUNT(*) FROM sg_meta")

    # -- roster ------------------------------------------------------------------------------

    @_guarded
    def put_roster_entry(self, student_id: str, role: Role, token_hash: str) -> None:
        """Add a student, or replace the role and token of one already there (a new token
        makes the old one useless at once)."""
        with self._writing():
            self._execute(
                "INSERT INTO sg_roster (student_id, role, token_hash, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (student_id) DO UPDATE SET role = excluded.role, token_hash = excluded.token_hash",
                (student_id, Role(role).value, token_hash, utc_now()),
            )

    @_guarded
    def add_roster_entry_if_absent(self, student_id: str, role: Role, token_hash: str) -> bool:
        """Add a roster entry unless the student id is taken; ``False`` when it was taken."""
        with self._writing():
            row = self._one(
                "INSERT INTO sg_roster (student_id, role, token_hash, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (student_id) DO NOTHING RETURNING student_id",
                (student_id, Role(role).value, token_hash, utc_now()),
            )
        return row is not None

    @_guarded
    def roster_entry_by_token_hash(self, token_hash: str) -> RosterEntry | None:
        row = self._one("SELECT student_id, role, token_hash, created_at FROM sg_roster WHERE token_hash = ?",
                        (token_hash,))
        return RosterEntry(row[0], Role(row[1]), row[2], row[3]) if row else None

    @_guarded
    def roster(self) -> list[RosterEntry]:
        rows = self._all("SELECT student_id, role, token_hash, created_at FROM sg_roster ORDER BY student_id")
        return [RosterEntry(r[0], Role(r[1]), r[2], r[3]) for r in rows]

    # -- submissions ---------------------------------------------------------------------------

    @_guarded
    def begin_submission(self, new: NewSubmission) -> tuple[Submission, bool]:
        """Store a submission as pending, durably, before it is graded.

        Returns the stored row and ``True``, or, when a row with the same student and
        idempotency key exists already, that row and ``False`` (whatever its state).  The
        UNIQUE constraint decides between concurrent retries, not a lookup.
        """
        with self._writing():
            row = self._one(
                "INSERT INTO sg_submissions (student_id, exercise_set, received_at, filename, content_sha256, raw, "
                "idempotency_key, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') "
                "ON CONFLICT (student_id, idempotency_key) DO NOTHING RETURNING id, received_at",
                (new.student_id, new.exercise_set, utc_now(), new.filename, new.content_sha256, new.raw,
                 new.idempotency_key),
            )
        if row is not None:
            return Submission(id=int(row[0]), student_id=new.student_id, exercise_set=new.exercise_set,
                              received_at=row[1], filename=new.filename, content_sha256=new.content_sha256,
                              idempotency_key=new.idempotency_key, state=SubmissionState.PENDING,
                              grader_version=None, graded_at=None, score=None, max_score=None, review_count=0), True
        existing = self._one(
            f"SELECT {_SUMMARY_COLUMNS}, result_json FROM sg_submissions WHERE student_id = ? AND idempotency_key = ?",
            (new.student_id, new.idempotency_key),
        )
        if existing is None:  # the conflicting row cannot vanish: rows are never deleted
            raise StoreUnavailable("the submissions store lost a row it had just reported")
        return _submission(existing), False

    @_guarded
    def complete_submission(self, submission_id: int, state: SubmissionState, result: dict[str, Any],
                            grader_version: str) -> Submission:
        """Write the result of a pending submission, once.

        Only a pending row is updated: when two requests graded the same submission (a
        retry racing the original), the first result written stays and both get it.
        """
        if state is SubmissionState.PENDING:
            raise ValueError("a completed submission is graded or rejected, not pending")
        score, max_score, review_count = _result_figures(result)
        result_json = json.dumps(result, ensure_ascii=False)
        with self._writing():
            row = self._one(
                "UPDATE sg_submissions SET state = ?, result_json = ?, grader_version = ?, graded_at = ?, score = ?, "
                "max_score = ?, review_count = ? WHERE id = ? AND state = 'pending' "
                f"RETURNING {_SUMMARY_COLUMNS}",
                (state.value, result_json, grader_version, utc_now(), score, max_score, review_count, submission_id),
            )
        if row is not None:
            return _submission(row, result)
        stored = self.submission(submission_id)  # another request completed it first: its result stands
        assert stored is not None
        return stored

    @_guarded
    def submission(self, submission_id: int) -> Submission | None:
        row = self._one(f"SELECT {_SUMMARY_COLUMNS}, result_json FROM sg_submissions WHERE id = ?",
                        (submission_id,))
        return _submission(row) if row else None

    @_guarded
    def submission_raw(self, submission_id: int) -> bytes | None:
        row = self._one("SELECT raw FROM sg_submissions WHERE id = ?", (submission_id,))
        return bytes(row[0]) if row else None

    @_guarded
    def submissions_of(self, student_id: str, *, limit: int = 50, before: int | None = None) -> list[Submission]:
        """A student's submissions, newest first, with their results."""
        if before is None:
            rows = self._all(f"SELECT {_SUMMARY_COLUMNS}, result_json FROM sg_submissions WHERE student_id = ? "
                             "ORDER BY id DESC LIMIT ?", (student_id, limit))
        else:
            rows = self._all(f"SELECT {_SUMMARY_COLUMNS}, result_json FROM sg_submissions WHERE student_id = ? "
                             "AND id < ? "
                             "ORDER BY id DESC LIMIT ?", (student_id, before, limit))
        return [_submission(r) for r in rows]

    @_guarded
    def recent_submissions(self, *, exercise_set: str | None = None, student_id: str | None = None,
                           before: int | None = None, limit: int = 50) -> list[Submission]:
        """Any student's submissions, newest first, by set and student when given (the desk's browser)."""
        tests = [(c, v) for c, v in (("exercise_set = ?", exercise_set), ("student_id = ?", student_id),
                                     ("id < ?", before)) if v not in (None, "")]
        where = " AND ".join(["1 = 1", *(c for c, _ in tests)])
        rows = self._all(f"SELECT {_SUMMARY_COLUMNS}, result_json FROM sg_submissions WHERE {where} "
                         "ORDER BY id DESC LIMIT ?", (*(v for _, v in tests), limit))
        return [_submission(r) for r in rows]

    @_guarded
    def submissions_to_regrade(self, exercise_set: str, *, after: int = 0, limit: int = 200) -> list[Submission]:
        """Graded and pending submissions of a set with ``id > after``, oldest first, with results."""
        rows = self._all(
            f"SELECT {_SUMMARY_COLUMNS}, result_json FROM sg_submissions WHERE exercise_set = ? AND id > ? "
            "AND state IN ('graded', 'pending') ORDER BY id LIMIT ?",
            (exercise_set, after, limit),
        )
        return [_submission(r) for r in rows]

    @_guarded
    def graded(self, exercise_set: str, student_id: str | None = None, *, after: int = 0,
               limit: int = 200) -> list[Submission]:
        """Graded submissions of a set (of one student, when given) with ``id > after``, with their
        results, oldest first, at most ``limit``: page through with the last id.

        Every attempt, not only the latest: which one counts is the attempt policy's
        decision (:mod:`grader.attempts`), never the store's."""
        if student_id is None:
            rows = self._all(f"SELECT {_SUMMARY_COLUMNS}, result_json FROM sg_submissions WHERE exercise_set = ? "
                             "AND state = 'graded' AND id > ? ORDER BY id LIMIT ?", (exercise_set, after, limit))
        else:
            rows = self._all(f"SELECT {_SUMMARY_COLUMNS}, result_json FROM sg_submissions WHERE exercise_set = ? "
                             "AND student_id = ? AND state = 'graded' AND id > ? ORDER BY id LIMIT ?",
                             (exercise_set, student_id, after, limit))
        return [_submission(r) for r in rows]

    @_guarded
    def with_reviews(self, limit: int = 500) -> list[Submission]:
        """Submissions whose original result or a regrade has ``needs_review`` answers, newest first."""
        rows = self._all(
            f"SELECT {_SUMMARY_COLUMNS}, result_json FROM sg_submissions WHERE review_count > 0 "
            "OR id IN (SELECT submission_id FROM sg_regrades WHERE review_count > 0) ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [_submission(r) for r in rows]

    @_guarded
    def count_submissions(self, exercise_set: str | None = None) -> int:
        if exercise_set is None:
            row = self._one("SELECT COUNT(*) FROM sg_submissions")
        else:
            row = self._one("SELECT COUNT(*) FROM sg_submissions WHERE exercise_set = ?", (exercise_set,))
        return int(row[0]) if row else 0

    @_guarded
    def count_by_idempotency_key(self, student_id: str, idempotency_key: str) -> int:
        row = self._one("SELECT COUNT(*) FROM sg_submissions WHERE student_id = ? AND idempotency_key = ?",
                        (student_id, idempotency_key))
        return int(row[0]) if row else 0

    # -- regrades and settlements ----------------------------------------------------------------

    @_guarded
    def add_regrade(self, submission_id: int, result: dict[str, Any], grader_version: str, by: str) -> Regrade:
        score, max_score, review_count = _result_figures(result)
        at = utc_now()
        with self._writing():
            row = self._one(
                "INSERT INTO sg_regrades (submission_id, result_json, grader_version, score, max_score, review_count, "
                "regraded_at, regraded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (submission_id, json.dumps(result, ensure_ascii=False), grader_version, score, max_score,
                 review_count, at, by),
            )
        assert row is not None
        return Regrade(int(row[0]), submission_id, result, grader_version, at, by)

    @_guarded
    def latest_regrades(self, submission_ids: Sequence[int]) -> dict[int, Regrade]:
        """The newest regrade of each of these submissions that has one."""
        found: dict[int, Regrade] = {}
        for chunk in _chunks(list(submission_ids), 500):
            marks = ", ".join("?" for _ in chunk)
            rows = self._all(
                f"SELECT id, submission_id, result_json, grader_version, regraded_at, regraded_by FROM sg_regrades "
                f"WHERE submission_id IN ({marks}) ORDER BY id",
                chunk,
            )
            for r in rows:
                found[int(r[1])] = Regrade(int(r[0]), int(r[1]), json.loads(r[2]), r[3], r[4], r[5])
        return found

    @_guarded
    def add_settlement(self, submission_id: int, exercise_id: str, score: float, reason: str,
                       decided_by: str) -> SettlementRecord:
        at = utc_now()
        with self._writing():
            row = self._one(
                "INSERT INTO sg_settlements (submission_id, exercise_id, score, reason, decided_by, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (submission_id, exercise_id, float(score), reason, decided_by, at),
            )
        assert row is not None
        return SettlementRecord(int(row[0]), submission_id, exercise_id, float(score), reason, decided_by, at)

    @_guarded
    def settlements(self, submission_ids: Sequence[int]) -> dict[int, list[SettlementRecord]]:
        """All settlements of these submissions, oldest first per submission."""
        found: dict[int, list[SettlementRecord]] = {}
        for chunk in _chunks(list(submission_ids), 500):
            marks = ", ".join("?" for _ in chunk)
            rows = self._all(
                "SELECT id, submission_id, exercise_id, score, reason, decided_by, decided_at FROM sg_settlements "
                f"WHERE submission_id IN ({marks}) ORDER BY id",
                chunk,
            )
            for r in rows:
                found.setdefault(int(r[1]), []).append(
                    SettlementRecord(int(r[0]), int(r[1]), r[2], float(r[3]), r[4], r[5], r[6]))
        return found


    # -- decisions remembered by answer ----------------------------------------------------------

    @_guarded
    def add_decision(self, answer_key: str, score: float, reason: str, decided_by: str, submission_id: int) -> None:
        with self._writing():
            self._execute(
                "INSERT INTO sg_decisions (answer_key, score, reason, decided_by, decided_at, submission_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (answer_key, float(score), reason, decided_by, utc_now(), submission_id),
            )

    @_guarded
    def decision_for(self, answer_key: str) -> Decision | None:
        """The latest decision on an answer with this key, or ``None``."""
        row = self._one("SELECT answer_key, score, reason, decided_by, decided_at, submission_id FROM sg_decisions "
                        "WHERE answer_key = ? ORDER BY id DESC LIMIT 1", (answer_key,))
        return Decision(row[0], float(row[1]), row[2], row[3], row[4], int(row[5])) if row else None


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _submission(row: tuple, result: dict[str, Any] | None = None) -> Submission:
    raw_result = row[13] if len(row) > 13 else None
    if result is None and isinstance(raw_result, str):
        result = json.loads(raw_result)
    return Submission(
        id=int(row[0]),
        student_id=row[1],
        exercise_set=row[2],
        received_at=row[3],
        filename=row[4],
        content_sha256=row[5],
        idempotency_key=row[6],
        state=SubmissionState(row[7]),
        grader_version=row[8],
        graded_at=row[9],
        score=None if row[10] is None else float(row[10]),
        max_score=None if row[11] is None else float(row[11]),
        review_count=int(row[12]),
        result=result,
    )


def _result_figures(result: dict[str, Any]) -> tuple[float | None, float | None, int]:
    """Score, maximum and the number of ``needs_review`` answers, kept as columns for listings."""
    def number(value: Any) -> float | None:
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    exercises = result.get("exercises") or []
    review_count = sum(1 for e in exercises if isinstance(e, dict) and e.get("status") == "needs_review")
    return number(result.get("score")), number(result.get("max_score")), review_count

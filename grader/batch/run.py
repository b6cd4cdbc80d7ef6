"""Grading a batch in a process pool: warm workers, chunks, a record per submission.

Every submission is graded in its own ``try``: an exception becomes a ``failed`` record
and the batch goes on; when a worker dies outright, the submissions in flight are graded
again one at a time, so only the guilty one fails.
"""

from __future__ import annotations

import concurrent.futures as cf
import enum
import multiprocessing as mp
import os
import sys
import time
import traceback
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from grader.attempts import Assignment, Attempt, assignment_for
from grader.batch.collect import close_archives, collect, read_location
from grader.batch.state import (
    FINAL_STATUSES,
    Record,
    RecordStatus,
    read_state,
    record_line,
    slim_result,
    submission_key,
)
from grader.errors import SubmissionUnreadable
from grader.exercises.load import DEFAULT_SET
from grader.results import GradeResult
from grader.submissions.read import Submission, read_submission_bytes


@dataclass(frozen=True)
class Task:
    """One submission to grade, as sent to a worker (small and picklable).

    Either ``raw`` holds the bytes (and ``key`` their resume key) or ``location`` says
    where the worker reads them; then the worker computes the key and skips the
    submission when the key is already known (reading and hashing are work the workers
    share, not the parent's).
    """

    key: str | None
    source: str
    raw: bytes | None
    submitted_at: float
    path_student: str
    exercise_set: str
    id_from: IdSource
    #: Clear the engine's and the grader's caches first (:func:`clear_grading_caches`).
    cold: bool = False
    results_dir: str | None = None
    location: tuple[str, str | None] | None = None
    #: The ``--variants`` flag (``None``: the environment and the data decide).
    variants: bool | None = None


class IdSource(enum.StrEnum):
    """Where a batch takes each submission's student from.

    ``path`` (the default): the first folder below the root, else the file's stem; a
    ``student_id`` written in the file that disagrees is a warning and never moves the
    grade.  ``content``: the file's ``student_id`` (the path when it has none); two paths
    claiming one student are then an error (:func:`identity_conflicts`).
    """

    PATH = "path"
    CONTENT = "content"


#: Resume keys a worker skips (this process's copy, set by :func:`_start_worker` or :func:`grade_items`).
_KNOWN_KEYS: set[str] = set()


def _start_worker(exercise_set: str, known: frozenset[str]) -> None:
    """A pool's initializer: the keys to skip, and warm caches."""
    _KNOWN_KEYS.clear()
    _KNOWN_KEYS.update(known)
    warm_caches(exercise_set)


def warm_caches(exercise_set: str) -> None:
    """Compute the set's canonical answers and mistaken-model answers once, in this process.

    Run before forking the pool (and again, cheaply, in each worker): every worker then
    grades from cached engine runs.  Failures are ignored here; grading reports them per
    submission.
    """
    try:
        from grader.exercises.load import load_set
        from grader.solutions.solve import solve, solve_part

        loaded = load_set(exercise_set)
        solve(loaded)
        for exercise in loaded.exercises:
            for mistake in exercise.mistakes:
                if mistake.runnable:
                    for part in mistake.parts:
                        solve_part(loaded, exercise.id, part, model=mistake.model)
    except Exception:  # warming is an optimisation; grading reports real problems
        pass
    try:
        from grader import grading

        grading.grade_bytes(b'{"answers": {}}', "warm.json", "warm", exercise_set)
    except Exception:  # as above
        pass


def clear_grading_caches() -> None:
    """Forget every cached engine run and grading plan in this process (a cold task's baseline).

    Clears :mod:`grader.solutions`' caches and the grading plans (canonical answers and
    remembered part results) that :mod:`grader.scoring` builds from them; the loaded
    exercise set (YAML) stays.
    """
    from grader import scoring
    from grader.solutions.solve import cache_clear

    cache_clear()
    scoring.cache_clear()


@dataclass(frozen=True)
class Skipped:
    """A submission whose key is known already (graded in an earlier run): not graded again.

    The key travels back so the batch knows which earlier record is the file's current one."""

    key: str


#: How a worker's line says "skipped" (records are JSON objects, so never start with it).
_SKIPPED = "skip:"


def grade_task(task: Task) -> Record | Skipped:
    """Grade one submission; never raises: any exception becomes a ``failed`` record.

    :class:`Skipped` when the submission's key is known already (graded in an earlier run).  The
    student is the one the path names (or, with ``--id-from content``, the file's
    ``student_id``); ``meta.identity`` records both, and a file naming someone else than
    its path gets a warning.  With ``task.results_dir`` the whole result is written
    there, by the worker.
    """
    from grader import grading

    raw, key = task.raw, task.key
    if raw is None:
        try:
            raw = read_location(task.location) if task.location else b""
        except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, ValueError) as exc:
            error = f"cannot read the submission: {exc}"
            key = key or f"{task.exercise_set}:{task.path_student}:unread:{task.source}"
            return Record(key, task.source, RecordStatus.FAILED, task.submitted_at, None, error,
                          record_line(key, task.source, RecordStatus.FAILED, task.submitted_at, None, error))
    if key is None:
        key = submission_key(raw, task.exercise_set, task.path_student, task.id_from.value)
        if key in _KNOWN_KEYS:
            return Skipped(key)
        _KNOWN_KEYS.add(key)  # the same file twice in one run is graded once per worker
    try:
        if task.cold:
            clear_grading_caches()
        submission, claimed = _claimed_student(raw, task.source)
        student = claimed if task.id_from is IdSource.CONTENT and claimed else task.path_student
        result = grading.grade_bytes(raw, task.source, student, task.exercise_set, submission=submission,
                                     variants=task.variants)
        identity = {"from": "content" if student == claimed and task.id_from is IdSource.CONTENT else "path",
                    "path": task.path_student, "claimed": claimed}
        warning = identity_warning(identity)
        result = replace(result, student_id=student, meta={**result.meta, "identity": identity},
                         warnings=result.warnings + ((warning,) if warning else ()))
        status = RecordStatus.GRADED if result.readable else RecordStatus.UNREADABLE
        error = None if result.readable else "; ".join(result.errors)
        data: dict[str, Any] | None = slim_result(result, parts=assignment_for(task.source) is Assignment.PYTHON)
        if task.results_dir is not None:
            _write_result(Path(task.results_dir), task.source, result)
    except BaseException as exc:  # one submission never stops the batch
        if isinstance(exc, KeyboardInterrupt):
            raise
        data = None
        status = RecordStatus.FAILED
        where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
        error = f"grading failed: {type(exc).__name__}: {exc}{at}"
    line = record_line(key, task.source, status, task.submitted_at, data, error)
    return Record(key, task.source, status, task.submitted_at, data, error, line)


def _claimed_student(raw: bytes, source: str) -> tuple[Submission | None, str | None]:
    """The submission as read (handed on, so it is not parsed twice) and the ``student_id`` it writes."""
    if assignment_for(source) is Assignment.PYTHON:
        return None, None
    try:
        submission = read_submission_bytes(raw, source)
    except SubmissionUnreadable:
        return None, None  # grading reports why, with the line and column
    return submission, submission.student_id or None


def identity_warning(identity: dict[str, Any]) -> str | None:
    """The gradebook's warning when the file names another student than its path (``None`` when they agree)."""
    claimed, path = identity.get("claimed"), identity.get("path")
    if not claimed or claimed == path:
        return None
    if identity.get("from") == "content":
        return f"graded as {claimed!r}, the student_id in the file; its path names {path!r}"
    return (f"the file says student_id {claimed!r}, but its path names {path!r}: graded as {path!r} "
            "(use --id-from content to take the file's id)")


def _grade_chunk(tasks: list[Task]) -> list[str]:
    # Lines, not records, travel back: one string pickles far cheaper than nested dicts.
    return [f"{_SKIPPED}{done.key}" if isinstance(done := grade_task(t), Skipped) else done.line or "" for t in tasks]


def _from_line(line: str) -> Record | Skipped:
    return Skipped(line[len(_SKIPPED):]) if line.startswith(_SKIPPED) else Record.from_line(line)


@dataclass
class BatchOutcome:
    """What a batch run did: the new records, the previous ones, and what was skipped.

    ``current`` holds the keys of the files as they are now (graded now, or skipped as
    graded before): a previous record of a file since changed or removed, or graded under
    the other ``--id-from``, is no attempt any more.  ``None``: every previous record counts.
    """

    new: list[Record]
    previous: list[Record]
    skipped_known: int
    notes: list[str]
    current: frozenset[str] | None = None

    @property
    def records(self) -> list[Record]:
        """The records of the files as they are now; for a key graded more than once, the last one counts."""
        latest: dict[str, Record] = {}
        kept = self.previous if self.current is None else [r for r in self.previous if r.key in self.current]
        for record in [*kept, *self.new]:
            latest[record.key] = record
        return list(latest.values())

    def results(self) -> list[GradeResult]:
        """The results of every readable or unreadable submission, oldest submission first."""
        return [r.grade_result for r in self.graded()]  # type: ignore[misc]

    def graded(self) -> list[Record]:
        """The records with a result (readable or not), oldest submission first."""
        return sorted((r for r in self.records if r.result is not None), key=lambda r: (r.submitted_at, r.source))

    def attempts(self) -> list[Attempt]:
        """Every graded record as an attempt at its assignment (:mod:`grader.attempts`), oldest first."""
        return [attempt_of(r) for r in self.graded()]

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r.status is RecordStatus.FAILED]


class Progress:
    """A one-line progress bar on a terminal: ``[#####.....] 120/400 30% 85.1/s eta 0:03``."""

    def __init__(self, total: int, stream: TextIO | None = None, *, enabled: bool | None = None,
                 width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _isatty(self.stream) if enabled is None else enabled
        self.total = total
        self.done = 0
        self.width = width
        self.started = time.monotonic()
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last >= 0.1 or self.done >= self.total):
            self._last = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        total = max(self.total, 1)
        filled = min(self.width, self.width * self.done // total)
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        eta = int((self.total - self.done) / rate) if rate > 0 else 0
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{100 * self.done // total:3d}% {rate:.1f}/s eta {eta // 60}:{eta % 60:02d}")

    def close(self) -> None:
        if self.enabled and self.total:
            self.stream.write("\n")
            self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def default_jobs() -> int:
    return os.cpu_count() or 1


def chunk_size(count: int, jobs: int) -> int:
    """Submissions per task: about eight tasks per worker (load balance), at most 64 (progress, memory)."""
    return max(1, min(64, -(-count // (jobs * 8))))


def grade_items(tasks: Iterable[Task], *, jobs: int, total: int, exercise_set: str,
                on_records: Callable[[list[Record | Skipped]], None], known: Iterable[str] = ()) -> None:
    """Grade ``tasks`` with ``jobs`` worker processes (in this process when ``jobs`` is 1).

    ``on_records`` is called in this process with the records of each chunk as soon as
    it is done, in completion order; a :class:`Skipped` stands for a submission skipped because
    its key is in ``known``.  Tasks are consumed lazily: at most a few chunks per worker
    are in flight, so a large folder is never all in memory.

    When a worker process dies (the pool breaks), every submission that was in flight
    becomes a suspect: suspects are graded again one at a time, alone in the pool, so
    the one that kills its worker again is known and becomes a ``failed`` record.
    """
    known = frozenset(known)
    _KNOWN_KEYS.clear()
    _KNOWN_KEYS.update(known)
    try:
        if jobs <= 1:
            for task in tasks:
                on_records([grade_task(task)])
            return
        if mp.get_start_method() == "fork":
            warm_caches(exercise_set)  # forked workers inherit the warm caches: computed once, not once per worker
        _grade_in_pool(_chunks(iter(tasks), chunk_size(total, jobs)), jobs, exercise_set, known, on_records)
    finally:
        _KNOWN_KEYS.clear()


def _grade_in_pool(chunks: Iterator[list[Task]], jobs: int, exercise_set: str, known: frozenset[str],
                   on_records: Callable[[list[Record | Skipped]], None]) -> None:
    suspects: deque[Task] = deque()
    pool = _pool(jobs, exercise_set, known)
    pending: dict[cf.Future[list[str]], list[Task]] = {}
    alone: cf.Future[list[str]] | None = None
    try:
        while True:
            if suspects:
                if not pending:
                    chunk = [suspects.popleft()]
                    alone = pool.submit(_grade_chunk, chunk)
                    pending[alone] = chunk
            else:
                while len(pending) < jobs * 3 and (chunk := next(chunks, None)) is not None:
                    pending[pool.submit(_grade_chunk, chunk)] = chunk
            if not pending:
                break
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            broken = False
            for future in done:
                chunk = pending.pop(future)
                try:
                    lines = future.result()
                except cf.process.BrokenProcessPool:
                    broken = True
                    if future is alone:  # graded alone and killed its worker: this one is guilty
                        on_records([_died(chunk[0])])
                    else:
                        suspects.extend(chunk)
                    continue
                on_records([_from_line(line) for line in lines])
            if broken:
                for chunk in pending.values():
                    suspects.extend(chunk)
                pending.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _pool(jobs, exercise_set, known)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks(tasks: Iterator[Task], size: int) -> Iterator[list[Task]]:
    chunk: list[Task] = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pool(jobs: int, exercise_set: str, known: frozenset[str]) -> cf.ProcessPoolExecutor:
    return cf.ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker, initargs=(exercise_set, known))


def _died(task: Task) -> Record:
    error = "grading failed: the worker process grading this submission died"
    # Without its bytes the key is unknown: a failed record is graded again next time anyway.
    key = task.key or f"{task.exercise_set}:{task.path_student}:died:{task.source}"
    return Record(key, task.source, RecordStatus.FAILED, task.submitted_at, None, error,
                  record_line(key, task.source, RecordStatus.FAILED, task.submitted_at, None, error))


def attempt_of(record: Record) -> Attempt:
    """A graded record as an attempt: its ref is its source path, its order its time, then its path."""
    result = record.grade_result
    assert result is not None
    warning = identity_warning(result.meta.get("identity", {}))
    return Attempt.of(result, ref=record.source, order=(record.submitted_at, record.source),
                      assignment=assignment_for(record.source), warnings=(f"{record.source}: {warning}",) if warning
                      else ())


def identity_conflicts(records: Iterable[Record]) -> dict[str, tuple[str, ...]]:
    """Students whose id is claimed by files under more than one student's path (``--id-from content``):
    each such id, with every file claiming it."""
    paths: dict[str, set[str]] = {}
    files: dict[str, list[str]] = {}
    for record in records:
        identity = record.grade_result.meta.get("identity", {}) if record.grade_result is not None else {}
        if identity.get("from") != "content" or not record.grade_result or not record.grade_result.student_id:
            continue
        student = record.grade_result.student_id
        paths.setdefault(student, set()).add(str(identity.get("path")))
        files.setdefault(student, []).append(record.source)
    return {s: tuple(sorted(files[s])) for s in sorted(paths) if len(paths[s]) > 1}


def run_batch(source: str | os.PathLike[str], *, state_path: str | os.PathLike[str], exercise_set: str = DEFAULT_SET,
              jobs: int | None = None, id_from: IdSource | str = IdSource.PATH, restart: bool = False,
              results_dir: str | os.PathLike[str] | None = None, progress: bool | None = None,
              progress_stream: TextIO | None = None, variants: bool | None = None) -> BatchOutcome:
    """Grade every submission under ``source`` not already in the state file; append as they finish.

    ``restart`` forgets the state file first.  ``results_dir``, when given, receives one
    result-format JSON file per newly graded submission.  ``progress`` forces the bar on
    or off (default: on when the stream is a terminal).  ``variants`` is the
    ``--variants`` flag, handed to every worker with its tasks.
    """
    state = Path(state_path)
    exclude = [state] + ([Path(results_dir)] if results_dir else [])
    collection = collect(source, exclude=exclude)
    try:
        if restart and state.exists():
            state.unlink()
        previous = read_state(state)
        done_keys = {r.key for r in previous if r.status in FINAL_STATUSES}
        notes = list(collection.skipped)
        out_dir = Path(results_dir) if results_dir else None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)

        tasks = [Task(None, entry.source, None, entry.submitted_at, entry.path_student, exercise_set, IdSource(id_from),
                      results_dir=None if out_dir is None else str(out_dir), location=entry.location,
                      variants=variants)
                 for entry in collection.entries]
        new: list[Record] = []
        seen: set[str] = set()
        skipped = [0]
        bar = Progress(len(tasks), progress_stream, enabled=progress)
        state.parent.mkdir(parents=True, exist_ok=True)
        with open(state, "a", encoding="utf-8") as log:
            def on_records(records: list[Record | Skipped]) -> None:
                for record in records:
                    if isinstance(record, Skipped):
                        skipped[0] += 1
                        seen.add(record.key)
                    else:
                        log.write((record.line or "") + "\n")
                        new.append(record)
                        _ = record.grade_result  # built now, while the workers grade, not all at the end
                log.flush()  # once per chunk: a killed batch loses at most the chunk being written
                bar.advance(len(records))

            try:
                grade_items(tasks, jobs=jobs or default_jobs(), total=len(tasks), exercise_set=exercise_set,
                            on_records=on_records, known=done_keys)
            finally:
                bar.close()
        return BatchOutcome(new, previous, skipped[0], notes, frozenset(seen | {r.key for r in new}))
    finally:
        close_archives()


def result_file_name(source: str) -> str:
    """A flat, safe file name for the result of ``source`` (``alice/ex.json`` -> ``alice__ex.json.result.json``)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in source.replace("/", "__"))
    return (safe.lstrip(".") or "submission")[:200] + ".result.json"


def _write_result(out_dir: Path, source: str, result: GradeResult) -> None:
    from grader.reports import render_json

    (out_dir / result_file_name(source)).write_text(render_json(result), encoding="utf-8")

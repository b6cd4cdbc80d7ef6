"""Grading a class: every submission in a folder or a ZIP file, in parallel, resumable.

An instructor runs ``streamgrade batch DIR|ZIP --gradebook grades.csv``.  This module
does the work; the command only parses flags and prints.

- **Collecting** (:func:`collect`): ``.json``, ``.yaml``, ``.yml`` and ``.py`` files, found
  recursively; ``*.expect.json`` (fixtures of expected results), hidden files and folders
  and macOS's ``__MACOSX`` are skipped, as are symbolic links that lead out of the
  folder.  A ZIP file is never extracted: its members are read in memory by whichever
  process grades them.  Members whose names are absolute or climb out (``../evil.json``),
  symlinks and encrypted members are skipped with a note; an archive with too many
  members is refused.  Every submission is read up to the reader's size limit plus one
  byte, so a lying header or a zip bomb cannot exhaust memory; the grader then refuses
  the oversized file with a message.
- **Grading** (:func:`run_batch`, :func:`grade_items`): a process pool.  The canonical
  answers are computed before the workers are forked (and by the pool's initializer
  otherwise), so every worker grades from warm caches.  Submissions travel in chunks
  (paths, not bytes: workers read and hash them), so the pool's overhead is paid per
  chunk, and records come back as the state file's lines.  Every submission is graded
  in its own ``try``: an exception while grading one becomes a ``failed`` record and the
  batch goes on; when a worker dies outright (the pool breaks), the submissions in
  flight are graded again one at a time in a new pool, so only the guilty one fails.
- **Resuming**: finished submissions are appended, one JSON line each, to the state file
  (``<gradebook>.state.jsonl`` by default) and flushed as each chunk finishes, so a
  killed batch loses at most the chunk being written (a torn last line is ignored).  A
  rerun skips every submission whose key (exercise set, the student its path names and
  the SHA-256 of its content) is already there as ``graded`` or ``unreadable``;
  ``failed`` ones are retried.  The gradebook and the summary are then built from all
  the state's records.  The state keeps scores, statuses, diagnoses and finding codes
  (:func:`slim_result`); ``results_dir`` receives each whole result.

Whose submission is it?  The ``student_id`` written in the file, else (``.py`` files and
files without one) the path: the first folder under the root (``alice/answers.json`` is
``alice``), or the file's stem for a file at the top; leading folders that every
submission shares and that hold no submission directly are passed over first
(``export/alice/answers.json`` in a ZIP whose entries all lie in folders under
``export/`` is ``alice`` too).  ``id_from="path"`` always uses the
path, for folders the instructor's tooling laid out (a student cannot then write another
student's id into a file).  "Latest" in the gradebook policy means the latest file by
modification time (ZIP: the entry's date), then by path.
"""

from __future__ import annotations

import concurrent.futures as cf
import enum
import functools
import hashlib
import json
import multiprocessing as mp
import os
import stat
import sys
import time
import traceback
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from grader.errors import UsageProblem
from grader.results import ExerciseResult, Finding, GradeResult, PartResult, Status
from grader.submissions.limits import DEFAULT_LIMITS

#: Suffixes of submission files.
SUBMISSION_SUFFIXES = (".json", ".yaml", ".yml", ".py")
#: Files that are fixtures, not submissions.
SKIPPED_SUFFIXES = (".expect.json",)
#: At most this many bytes are read of one submission: the reader's limit plus one, so it can refuse.
READ_CAP = max(DEFAULT_LIMITS.max_bytes, DEFAULT_LIMITS.max_python_bytes) + 1
#: A ZIP file with more entries than this is refused (a class is hundreds, a term a few thousand).
MAX_ZIP_ENTRIES = 100_000
#: A ZIP file whose entries (each counted up to READ_CAP) declare more bytes than this is read only up to it.
MAX_ZIP_TOTAL_BYTES = 2 * 1024**3


class RecordStatus(enum.StrEnum):
    """What happened to one submission in a batch."""

    GRADED = "graded"
    UNREADABLE = "unreadable"
    FAILED = "failed"


#: Records with these statuses are final: a rerun skips their submissions.
FINAL_STATUSES = frozenset({RecordStatus.GRADED, RecordStatus.UNREADABLE})


@dataclass(frozen=True)
class Entry:
    """One submission found in a folder or ZIP file.

    ``source`` is the path relative to the root, with ``/`` separators; ``submitted_at``
    orders a student's submissions for the ``latest`` policy; ``path_student`` is the
    student the path names.
    """

    source: str
    submitted_at: float
    path_student: str
    #: Where the bytes are: ``(file path, None)`` or ``(ZIP file path, member name)``.
    location: tuple[str, str | None] = field(repr=False)

    def read(self) -> bytes:
        """The submission's bytes, at most :data:`READ_CAP` of them."""
        return read_location(self.location)


@dataclass
class Collection:
    """The submissions found under a root, and notes on what was skipped and why."""

    root: str
    entries: list[Entry]
    skipped: list[str]

    def close(self) -> None:
        """Close the ZIP files :meth:`Entry.read` opened in this process."""
        close_archives()


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
    id_from_path: bool
    #: Clear the engine's and the grader's caches first (:func:`clear_grading_caches`).
    cold: bool = False
    results_dir: str | None = None
    location: tuple[str, str | None] | None = None


# -- collecting ---------------------------------------------------------------------------------


def _is_submission_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(SUBMISSION_SUFFIXES) and not lower.endswith(SKIPPED_SUFFIXES)


def _hidden(parts: Sequence[str]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def path_student(relative: PurePosixPath, common: int = 0) -> str:
    """The student a relative path names: its first folder after ``common`` leading folders
    (an archive's top folder, shared by every submission), or the file's stem."""
    folders = relative.parts[common:-1]
    if folders:
        return folders[0]
    name = relative.name
    for suffix in SUBMISSION_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name


def _with_students(entries: list[Entry]) -> list[Entry]:
    """``entries`` with ``path_student`` set, once the folders all of them share are known."""
    if not entries:
        return entries
    folders = [PurePosixPath(e.source).parts[:-1] for e in entries]
    common = 0
    # Never pass over a folder that holds a submission itself: that folder is the student's.
    while all(len(f) > common + 1 for f in folders) and len({f[common] for f in folders}) == 1:
        common += 1
    return [replace(e, path_student=path_student(PurePosixPath(e.source), common)) for e in entries]


def collect(source: str | os.PathLike[str], *, exclude: Iterable[str | os.PathLike[str]] = ()) -> Collection:
    """The submissions in a folder (recursively) or a ZIP file; raises :class:`UsageProblem` otherwise.

    ``exclude`` names files and folders not to collect (the batch's own state file and
    results folder, when they lie under the root).
    """
    path = Path(source)
    if path.is_dir():
        return _collect_dir(path, [Path(p).resolve() for p in exclude])
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise UsageProblem(f"{source}: not a folder or a ZIP file")
        return _collect_zip(path)
    raise UsageProblem(f"{source}: no such folder or ZIP file")


def _collect_dir(root: Path, exclude: list[Path]) -> Collection:
    entries: list[Entry] = []
    skipped: list[str] = []
    real_root = root.resolve()
    excluded = {str(p) for p in exclude}
    # Depth first with os.scandir: one stat per file, and a path is resolved only for a symlink.
    stack: list[tuple[str, str, str]] = [(str(root), str(real_root), "")]
    while stack:
        folder, real_folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as listing:
                items = sorted(listing, key=lambda d: d.name)
        except OSError as exc:
            skipped.append(f"{prefix or '.'}: cannot list the folder: {exc.strerror or exc}")
            continue
        subfolders = []
        for item in items:
            name = item.name
            if _hidden([name]):
                continue
            relative = f"{prefix}{name}"
            real = os.path.join(real_folder, name)
            if item.is_symlink():
                real = os.path.realpath(item.path)
                if not Path(real).is_relative_to(real_root):
                    if item.is_dir() or _is_submission_name(name):
                        skipped.append(f"{relative}: a symbolic link out of the folder, skipped")
                    continue
                if item.is_dir():
                    continue  # links inside the folder would only visit it twice
            if real in excluded:
                continue
            try:
                if item.is_dir(follow_symlinks=False):
                    subfolders.append((item.path, real, relative + "/"))
                    continue
                if not _is_submission_name(name) or not item.is_file():
                    continue
                mtime = item.stat().st_mtime
            except OSError as exc:
                skipped.append(f"{relative}: cannot read: {exc.strerror or exc}")
                continue
            entries.append(Entry(relative, mtime, "", (item.path, None)))
        stack.extend(reversed(subfolders))
    return Collection(str(root), _with_students(entries), skipped)


#: ZIP files this process reads from, by process id and path: a forked worker must never
#: use its parent's handle, whose file position the two processes would share.
_OPEN_ARCHIVES: dict[tuple[int, str], zipfile.ZipFile] = {}


def read_location(location: tuple[str, str | None]) -> bytes:
    """The bytes at ``location`` (a file, or a ZIP member), at most :data:`READ_CAP` of them.

    Each process keeps the ZIP files it reads from open (one handle per process, so
    workers never share a file position); :func:`close_archives` closes them.
    """
    path, member = location
    if member is None:
        with open(path, "rb") as stream:
            return stream.read(READ_CAP)
    archive = _OPEN_ARCHIVES.get((os.getpid(), path))
    if archive is None:
        archive = _OPEN_ARCHIVES[os.getpid(), path] = zipfile.ZipFile(path)
    with archive.open(member) as stream:
        return stream.read(READ_CAP)


def close_archives() -> None:
    """Close the ZIP files this process opened to read submissions."""
    for key in [k for k in _OPEN_ARCHIVES if k[0] == os.getpid()]:
        _OPEN_ARCHIVES.pop(key).close()


def _safe_zip_name(name: str) -> PurePosixPath | None:
    """The entry's name as a relative path, or ``None`` when it is absolute or climbs out."""
    if "\\" in name or "\x00" in name:
        return None
    pure = PurePosixPath(name)
    if pure.is_absolute() or not pure.parts or any(p in ("..", "") for p in pure.parts):
        return None
    if ":" in pure.parts[0]:  # a Windows drive (C:) written with forward slashes
        return None
    return pure


def _collect_zip(path: Path) -> Collection:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageProblem(f"{path}: cannot read the ZIP file: {exc}") from None
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        archive.close()
        raise UsageProblem(f"{path}: {len(infos)} entries, more than the limit of {MAX_ZIP_ENTRIES}")
    entries: list[Entry] = []
    skipped: list[str] = []
    declared = 0
    for info in sorted(infos, key=lambda i: i.filename):
        if info.is_dir():
            continue
        shown = info.filename.encode("unicode_escape").decode("ascii")
        relative = _safe_zip_name(info.filename)
        if relative is None:
            skipped.append(f"{shown}: an absolute path or one that climbs out of the archive, skipped")
            continue
        if _hidden(relative.parts) or not _is_submission_name(relative.name):
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            skipped.append(f"{shown}: a symbolic link, skipped")
            continue
        if info.flag_bits & 0x1:
            skipped.append(f"{shown}: encrypted, skipped")
            continue
        declared += min(info.file_size, READ_CAP)
        if declared > MAX_ZIP_TOTAL_BYTES:
            skipped.append(f"{shown} and the rest: the archive holds more than {MAX_ZIP_TOTAL_BYTES} bytes to read")
            break
        try:
            stamp = time.mktime((*info.date_time, 0, 0, -1))
        except (OverflowError, ValueError):
            stamp = 0.0
        entries.append(Entry(str(relative), stamp, "", (str(path), info.filename)))
    archive.close()  # entries are read again by whichever process grades them
    return Collection(str(path), _with_students(entries), skipped)


# -- records --------------------------------------------------------------------------------------


def submission_key(raw: bytes, exercise_set: str, student: str) -> str:
    """The resume key: what was graded (content hash), against what, for whom the path says."""
    return f"{exercise_set}:{student}:{hashlib.sha256(raw).hexdigest()}"


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
                       "expected" in p)
            for p in ex.get("parts", ()))
        exercises.append(ExerciseResult(ex["id"], ex.get("title", ""), ex["score"], ex["max_score"],
                                        Status(ex["status"]), tuple(ex.get("feedback", ())),
                                        tuple(ex.get("diagnosis", ())), parts))
    return GradeResult(data.get("student_id"), data.get("exercise_set", ""), data.get("score", 0),
                       data.get("max_score", 0), tuple(exercises), tuple(data.get("warnings", ())),
                       tuple(data.get("errors", ())), dict(data.get("meta", {})))


def slim_result(result: GradeResult) -> dict[str, Any]:
    """What gradebooks and statistics read of a result, compact: this is what the state file keeps.

    ``{student_id, exercise_set, score, max_score, errors (the first), exercises: [[id,
    score, max_score, status, diagnosis, finding codes], ...]}``; exercises are rows, not
    objects, because a class of thousands is written, sent between processes and read
    back.  The whole result (feedback, parts) goes to ``--results-dir``.
    """
    return {
        "student_id": result.student_id,
        "exercise_set": result.exercise_set,
        "score": float(result.score),
        "max_score": float(result.max_score),
        "errors": list(result.errors[:1]),
        # Status is a StrEnum: json writes it as its value.
        "exercises": [[e.id, float(e.score), float(e.max_score), e.status, e.diagnosis,
                       [f.code for p in e.parts for f in p.findings]] for e in result.exercises],
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
    for exercise_id, score, max_score, status, diagnosis, findings in rows:
        state = _STATUSES[status]
        parts = (PartResult(exercise_id, score, max_score, state,
                            findings=tuple(_finding(code, exercise_id) for code in findings)),) if findings else ()
        exercises.append(ExerciseResult(exercise_id, "", score, max_score, state, (), tuple(diagnosis), parts))
    return GradeResult(data.get("student_id"), data.get("exercise_set", ""), data.get("score", 0),
                       data.get("max_score", 0), tuple(exercises), (), tuple(data.get("errors", ())))


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


def _line(key: str, source: str, status: RecordStatus, submitted_at: float, result: dict[str, Any] | None,
          error: str | None) -> str:
    document = {"key": key, "source": source, "status": status.value, "submitted_at": submitted_at,
                "error": error, "result": result}
    return json.dumps(document, ensure_ascii=True, default=str, separators=(",", ":"))


# -- the worker side ------------------------------------------------------------------------------


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
        from grader.exercises.load import load_named_set
        from grader.solutions.solve import solve, solve_part

        loaded = load_named_set(exercise_set)
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


def grade_task(task: Task) -> Record | None:
    """Grade one submission; never raises: any exception becomes a ``failed`` record.

    ``None`` when the submission's key is known already (graded in an earlier run).  A
    result without a student id gets the one its path names (``meta.student_id_from``
    says so).  With ``task.results_dir`` the whole result is written there, by the worker.
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
                          _line(key, task.source, RecordStatus.FAILED, task.submitted_at, None, error))
    if key is None:
        key = submission_key(raw, task.exercise_set, task.path_student)
        if key in _KNOWN_KEYS:
            return None
        _KNOWN_KEYS.add(key)  # the same file twice in one run is graded once per worker
    try:
        if task.cold:
            clear_grading_caches()
        forced = task.path_student if task.id_from_path else None
        result = grading.grade_bytes(raw, task.source, forced, task.exercise_set)
        if not result.student_id:
            result = replace(result, student_id=task.path_student, meta={**result.meta, "student_id_from": "path"})
        status = RecordStatus.GRADED if result.readable else RecordStatus.UNREADABLE
        error = None if result.readable else "; ".join(result.errors)
        data: dict[str, Any] | None = slim_result(result)
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
    line = _line(key, task.source, status, task.submitted_at, data, error)
    return Record(key, task.source, status, task.submitted_at, data, error, line)


def _grade_chunk(tasks: list[Task]) -> list[str | None]:
    # Lines, not records, travel back: one string pickles far cheaper than nested dicts.
    return [None if (record := grade_task(t)) is None else record.line for t in tasks]


# -- the state file -------------------------------------------------------------------------------


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


# -- running a batch ------------------------------------------------------------------------------


@dataclass
class BatchOutcome:
    """What a batch run did: the new records, the previous ones, and what was skipped."""

    new: list[Record]
    previous: list[Record]
    skipped_known: int
    notes: list[str]

    @property
    def records(self) -> list[Record]:
        """Every record, previous and new; for a key graded more than once, the last one counts."""
        latest: dict[str, Record] = {}
        for record in [*self.previous, *self.new]:
            latest[record.key] = record
        return list(latest.values())

    def results(self) -> list[GradeResult]:
        """The results of every readable or unreadable submission, oldest submission first."""
        records = sorted((r for r in self.records if r.result is not None), key=lambda r: (r.submitted_at, r.source))
        return [r.grade_result for r in records]  # type: ignore[misc]

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
                on_records: Callable[[list[Record | None]], None], known: Iterable[str] = ()) -> None:
    """Grade ``tasks`` with ``jobs`` worker processes (in this process when ``jobs`` is 1).

    ``on_records`` is called in this process with the records of each chunk as soon as
    it is done, in completion order; ``None`` stands for a submission skipped because
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
                   on_records: Callable[[list[Record | None]], None]) -> None:
    suspects: deque[Task] = deque()
    pool = _pool(jobs, exercise_set, known)
    pending: dict[cf.Future[list[str | None]], list[Task]] = {}
    alone: cf.Future[list[str | None]] | None = None
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
                on_records([None if line is None else Record.from_line(line) for line in lines])
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
                  _line(key, task.source, RecordStatus.FAILED, task.submitted_at, None, error))


def run_batch(source: str | os.PathLike[str], *, state_path: str | os.PathLike[str], exercise_set: str = "week10",
              jobs: int | None = None, id_from_path: bool = False, restart: bool = False,
              results_dir: str | os.PathLike[str] | None = None, progress: bool | None = None,
              progress_stream: TextIO | None = None) -> BatchOutcome:
    """Grade every submission under ``source`` not already in the state file; append as they finish.

    ``restart`` forgets the state file first.  ``results_dir``, when given, receives one
    result-format JSON file per newly graded submission.  ``progress`` forces the bar on
    or off (default: on when the stream is a terminal).
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

        tasks = [Task(None, entry.source, None, entry.submitted_at, entry.path_student, exercise_set, id_from_path,
                      results_dir=None if out_dir is None else str(out_dir), location=entry.location)
                 for entry in collection.entries]
        new: list[Record] = []
        skipped = [0]
        bar = Progress(len(tasks), progress_stream, enabled=progress)
        state.parent.mkdir(parents=True, exist_ok=True)
        with open(state, "a", encoding="utf-8") as log:
            def on_records(records: list[Record | None]) -> None:
                for record in records:
                    if record is None:
                        skipped[0] += 1
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
        return BatchOutcome(new, previous, skipped[0], notes)
    finally:
        close_archives()


def result_file_name(source: str) -> str:
    """A flat, safe file name for the result of ``source`` (``alice/ex.json`` -> ``alice__ex.json.result.json``)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in source.replace("/", "__"))
    return (safe.lstrip(".") or "submission")[:200] + ".result.json"


def _write_result(out_dir: Path, source: str, result: GradeResult) -> None:
    from grader.reports import render_json

    (out_dir / result_file_name(source)).write_text(render_json(result), encoding="utf-8")

"""Collecting a class's submissions from a folder or a ZIP file, and whose each one is.

``.json``, ``.yaml``, ``.yml`` and ``.py`` files, found recursively; fixtures, hidden
files and links that lead out are skipped.  A ZIP is never extracted: members are read
in memory by whichever process grades them, each up to the reader's limit plus one
byte, so a lying header or a zip bomb cannot exhaust memory.
"""

from __future__ import annotations

import os
import stat
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from grader.errors import UsageProblem
from grader.submissions.limits import DEFAULT_LIMITS
from grader.submissions.read import SUFFIX_FORMATS

#: Suffixes of submission files.
SUBMISSION_SUFFIXES = tuple(SUFFIX_FORMATS)


#: Files that are fixtures, not submissions.
SKIPPED_SUFFIXES = (".expect.json",)


#: At most this many bytes are read of one submission: the reader's limit plus one, so it can refuse.
READ_CAP = max(DEFAULT_LIMITS.max_bytes, DEFAULT_LIMITS.max_python_bytes) + 1


#: A ZIP file with more entries than this is refused (a class is hundreds, a term a few thousand).
MAX_ZIP_ENTRIES = 100_000


#: A ZIP file whose entries (each counted up to READ_CAP) declare more bytes than this is read only up to it.
MAX_ZIP_TOTAL_BYTES = 2 * 1024**3


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

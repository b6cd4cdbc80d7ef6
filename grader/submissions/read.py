"""Reading a submission from hostile bytes: the format, the decoding, the top level.

A submission arrives as a file, as stdin or as the body of a request: JSON, YAML or a
Python file.  The format is chosen by the name's suffix (``.json``, ``.yaml``/``.yml``,
``.py``) or, without a known suffix, by the content: JSON first, then YAML.  Anything
that cannot be read raises :class:`~grader.errors.SubmissionUnreadable` with one line
naming the file, line and column, never a traceback.
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, BinaryIO

from grader.errors import SubmissionUnreadable
from grader.submissions.json_reader import load_json
from grader.submissions.limits import DEFAULT_LIMITS, ReadLimits, line_column, unreadable_at
from grader.submissions.wording import char_name, fields_text, kind_of, printable, show, size_text
from grader.submissions.yaml_reader import load_yaml


class SubmissionFormat(enum.StrEnum):
    JSON = "json"
    YAML = "yaml"
    PYTHON = "python"


SUFFIX_FORMATS: Mapping[str, SubmissionFormat] = {
    ".json": SubmissionFormat.JSON,
    ".yaml": SubmissionFormat.YAML,
    ".yml": SubmissionFormat.YAML,
    ".py": SubmissionFormat.PYTHON,
}


#: The top-level fields of a JSON or YAML submission (SUBMISSION_FORMAT.md).
TOP_LEVEL_FIELDS = ("student_id", "exercise_set", "answers")


@dataclass(frozen=True)
class Submission:
    """One readable submission.

    ``answers`` maps exercise ids to answers exactly as written (plain JSON values: dict,
    list, str, int, float, bool, None); nothing is normalised yet.  A Python submission has
    empty ``answers``: its source is :attr:`text`.  ``student_id`` and ``exercise_set`` are
    what the file says (``None`` when it says nothing); an authenticated caller's identity
    overrides them at the grading layer.  ``warnings`` are things the reader noticed and
    ignored (an unknown top-level field, a key written twice).
    """

    student_id: str | None
    exercise_set: str | None
    answers: dict[str, Any] = field(hash=False)
    source_name: str
    raw_bytes: bytes = field(repr=False)
    content_hash: str
    format: SubmissionFormat
    warnings: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The submission as text (UTF-8, byte order mark removed)."""
        return self.raw_bytes.decode("utf-8-sig")


def read_submission_file(path: str | os.PathLike[str], *, fmt: SubmissionFormat | str | None = None,
                         limits: ReadLimits = DEFAULT_LIMITS) -> Submission:
    """Read a submission from a file; the file is named in every message as the caller wrote it.

    At most the size limit plus one byte is read, so a huge file or a device such as
    ``/dev/zero`` is refused without being read whole.
    """
    name = os.fspath(path)
    chosen = _format_by_name(name, fmt)
    cap = limits.max_python_bytes if chosen is SubmissionFormat.PYTHON else limits.max_bytes
    try:
        with open(path, "rb") as stream:
            raw = stream.read(cap + 1)
    except OSError as exc:
        raise SubmissionUnreadable(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    return read_submission_bytes(raw, name, fmt=fmt, limits=limits)


def read_submission_stream(stream: BinaryIO, source_name: str = "<stdin>", *,
                           fmt: SubmissionFormat | str | None = None,
                           limits: ReadLimits = DEFAULT_LIMITS) -> Submission:
    """Read a submission from a binary stream (``sys.stdin.buffer``), at most the limit plus one byte."""
    chosen = _format_by_name(source_name, fmt)
    cap = limits.max_python_bytes if chosen is SubmissionFormat.PYTHON else limits.max_bytes
    try:
        raw = stream.read(cap + 1)
    except OSError as exc:
        raise SubmissionUnreadable(f"{source_name}: cannot read: {exc.strerror or exc}") from None
    return read_submission_bytes(raw or b"", source_name, fmt=fmt, limits=limits)


def read_submission_text(text: str, source_name: str = "<stdin>", *, fmt: SubmissionFormat | str | None = None,
                         limits: ReadLimits = DEFAULT_LIMITS) -> Submission:
    """Read a submission given as text (it is hashed and stored as its UTF-8 bytes)."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line, column = line_column(text, exc.start)
        raise SubmissionUnreadable(
            f"{source_name}: line {line} column {column}: the text holds {char_name(text[exc.start])}, "
            "which is not a character that can be stored as UTF-8") from None
    return read_submission_bytes(raw, source_name, fmt=fmt, limits=limits)


def read_submission_bytes(raw: bytes, source_name: str = "<stdin>", *, fmt: SubmissionFormat | str | None = None,
                          limits: ReadLimits = DEFAULT_LIMITS) -> Submission:
    """Read a submission from its bytes.

    ``source_name`` names it in messages and, through its suffix, chooses the format
    unless ``fmt`` does.  Raises :class:`SubmissionUnreadable` for anything that is not a
    readable submission; every other exception would be a bug.
    """
    name = printable(source_name, 200) or "<submission>"
    chosen = _format_by_name(name, fmt)
    cap = limits.max_python_bytes if chosen is SubmissionFormat.PYTHON else limits.max_bytes
    if len(raw) > cap:
        raise SubmissionUnreadable(
            f"{name}: the file is larger than the limit of {size_text(cap)}; a submission is a few KiB")
    text = _decode(raw, name)
    digest = hashlib.sha256(raw).hexdigest()
    if chosen is SubmissionFormat.PYTHON:
        return Submission(None, None, {}, name, raw, digest, SubmissionFormat.PYTHON)
    if not text.strip():
        raise SubmissionUnreadable(f"{name}: line 1 column 1: the submission is empty")
    if chosen is SubmissionFormat.JSON:
        data, warnings = load_json(text, name, limits)
        used = SubmissionFormat.JSON
    elif chosen is SubmissionFormat.YAML:
        data, warnings = load_yaml(text, name, limits)
        used = SubmissionFormat.YAML
    else:
        data, warnings, used = _load_sniffed(text, name, limits)
    return _submission(data, text, name, raw, digest, used, warnings)


def format_for_name(name: str) -> SubmissionFormat | None:
    """The format a file name's suffix chooses, or ``None`` (then the content decides)."""
    return SUFFIX_FORMATS.get(PurePath(name).suffix.lower())


def _format_by_name(name: str, fmt: SubmissionFormat | str | None) -> SubmissionFormat | None:
    if fmt is None:
        return format_for_name(name)
    try:
        return SubmissionFormat(str(fmt).lower())
    except ValueError:
        known = ", ".join(f.value for f in SubmissionFormat)
        raise SubmissionUnreadable(f"{name}: unknown submission format {fmt!r}; known: {known}") from None


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SubmissionUnreadable(
            f"{name}: line 1: the file is UTF-16 (byte order mark at byte offset 0); save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start
        line = raw.count(b"\n", 0, offset) + 1
        column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
        raise SubmissionUnreadable(
            f"{name}: line {line}: not UTF-8: byte 0x{raw[offset]:02x} at byte offset {offset} "
            f"(byte {column} of the line) cannot be decoded; save the file as UTF-8") from None


def _load_sniffed(text: str, name: str, limits: ReadLimits) -> tuple[Any, list[str], SubmissionFormat]:
    """No suffix: JSON first; if that fails, YAML, but only a YAML *mapping* counts."""
    try:
        data, warnings = load_json(text, name, limits)
        return data, warnings, SubmissionFormat.JSON
    except SubmissionUnreadable as json_error:
        if text.lstrip().startswith(("{", "[")) and not _looks_like_flow_yaml(text):
            raise
        try:
            data, warnings = load_yaml(text, name, limits)
        except SubmissionUnreadable as yaml_error:
            raise yaml_error from None
        if not isinstance(data, dict):
            raise json_error from None
        return data, warnings, SubmissionFormat.YAML


def _looks_like_flow_yaml(text: str) -> bool:
    # ``{answers: {...}}``: YAML flow style starts like JSON but has unquoted keys.
    return re.match(r"\s*\{\s*[A-Za-z_]", text) is not None


def _submission(data: Any, text: str, name: str, raw: bytes, digest: str, fmt: SubmissionFormat,
                warnings: list[str]) -> Submission:
    if not isinstance(data, dict):
        raise unreadable_at(name, text, len(text) - len(text.lstrip()),
                             f'expected an object with an "answers" object at the top level, got {kind_of(data)}')
    if "answers" not in data:
        hint = ""
        if any(re.fullmatch(r"ex\d+", str(k)) for k in data):
            hint = '; these look like the answers themselves: write them as {"answers": {...}}'
        raise unreadable_at(name, text, len(text) - len(text.lstrip()),
                             f'expected an "answers" object at the top level, found '
                             f'{fields_text(data) if data else "an empty object"}{hint}')
    answers = data["answers"]
    if not isinstance(answers, dict):
        raise unreadable_at(name, text, _key_position(text, "answers", fmt),
                             f'"answers" must be an object mapping exercise ids to answers, got {kind_of(answers)}')
    ids = {}
    for key in TOP_LEVEL_FIELDS[:2]:
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # an all-digit student number written as a number
        if value is not None and not isinstance(value, str):
            raise unreadable_at(name, text, _key_position(text, key, fmt),
                                 f'"{key}" must be text, got {kind_of(value)}')
        ids[key] = value.strip() if isinstance(value, str) else None
    notes = list(warnings)
    notes.extend(f"{show(key)}: unknown top-level field, ignored (expected {', '.join(TOP_LEVEL_FIELDS)})"
                 for key in data if key not in TOP_LEVEL_FIELDS)
    return Submission(ids["student_id"] or None, ids["exercise_set"] or None, answers, name, raw, digest, fmt,
                      tuple(notes))


def _key_position(text: str, key: str, fmt: SubmissionFormat) -> int | None:
    if fmt is SubmissionFormat.JSON:
        match = re.search(rf'"{re.escape(key)}"\s*:', text)
    else:
        match = re.search(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*:", text, re.M)
    return match.start() if match else None

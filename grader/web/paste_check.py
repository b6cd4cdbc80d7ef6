"""A pasted submission checked before it is stored: the wrong format named, a syntax error shown.

A student who pastes YAML with "JSON" selected would otherwise read only "line 1 column 1:
Expecting value", and one with a stray comma only a line and a column.  The paste box is
a form field, so its problems are answered like a form's: the page comes back with the
text still in the box, the format it looks like selected, and the offending line with a
caret under the column.  Nothing is stored for such a paste (an uploaded file is stored
and graded as unreadable, as the API does).  The reading is the grader's own
(:func:`grader.submissions.read.read_submission_text`), so the page never refuses a text the
grader would read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.errors import SubmissionUnreadable
from grader.submissions.read import read_submission_text

_POSITION = re.compile(r"line (\d+) column (\d+)")
_PYTHON_LINE = re.compile(r"^(def |import |from \w[\w.]* import |class )", re.M)
_LABELS = {"json": "JSON", "yaml": "YAML", "python": "Python"}
#: The widest excerpt line shown (a long minified line is cut around the column).
EXCERPT_WIDTH = 100


@dataclass(frozen=True)
class PasteProblem:
    """Why a paste is not taken: the message, the line at fault with a caret, the format it looks like."""

    message: str
    excerpt: str | None = None
    looks_like: str | None = None


def check_paste(text: str, chosen: str) -> PasteProblem | None:
    """``None`` when ``text`` reads as the ``chosen`` format (json, yaml, python), else the problem."""
    if chosen == "python":
        other = _reads_as(text, ("json", "yaml")) if not _PYTHON_LINE.search(text) else None
        if other == "json" or (other == "yaml" and text.lstrip().startswith(("{", "exercise_set", "answers"))):
            return _wrong_format(chosen, other)
        return None
    try:
        read_submission_text(text, "your paste", fmt=chosen)
    except SubmissionUnreadable as exc:
        other_format = "yaml" if chosen == "json" else "json"
        # JSON with a stray comma still reads as flow YAML: a text that opens like JSON is JSON gone wrong.
        json_shaped = text.lstrip().startswith(("{", "["))
        if not (chosen == "json" and json_shaped) and _reads_as(text, (other_format,)):
            return _wrong_format(chosen, other_format)
        if _PYTHON_LINE.search(text):
            return _wrong_format(chosen, "python")
        message = str(exc)
        return PasteProblem(message, excerpt_at(text, message))
    return None


def _reads_as(text: str, formats: tuple[str, ...]) -> str | None:
    for fmt in formats:
        try:
            read_submission_text(text, "your paste", fmt=fmt)
        except SubmissionUnreadable:
            continue
        return fmt
    return None


def _wrong_format(chosen: str, looks_like: str) -> PasteProblem:
    return PasteProblem(
        f"This paste looks like {_LABELS[looks_like]}, but \"Pasted text is\" says {_LABELS[chosen]}. "
        f"{_LABELS[looks_like]} is now selected: press \"Grade it\" again.", looks_like=looks_like)


def excerpt_at(text: str, message: str) -> str | None:
    """The line a reader's message points at (``line 3 column 14``) with a caret under the column."""
    found = _POSITION.search(message)
    if not found:
        return None
    line_no, column = int(found.group(1)), int(found.group(2))
    lines = text.split("\n")
    if not 1 <= line_no <= len(lines):
        return None
    if not lines[line_no - 1].strip() and line_no > 1 and lines[line_no - 2].strip():
        line_no, column = line_no - 1, len(lines[line_no - 2]) + 1  # the end of the text: point after the last line
    line = lines[line_no - 1].replace("\t", " ")
    start = max(0, column - 1 - EXCERPT_WIDTH // 2) if len(line) > EXCERPT_WIDTH else 0
    shown = line[start:start + EXCERPT_WIDTH]
    prefix = f"{line_no} | "
    caret = " " * (len(prefix) + max(0, column - 1 - start)) + "^"
    return f"{prefix}{shown}\n{caret}"


__all__ = ["PasteProblem", "check_paste", "excerpt_at"]

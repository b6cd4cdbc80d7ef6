"""The terminal report of one grading: per exercise its score, status, feedback and diagnosis.

ANSI colour only when asked (``color=True``; the CLI passes ``sys.stdout.isatty()``).
Everything printed that came from a submission (feedback quoting an answer, a given
value) has its control characters escaped, colour or not, so an answer cannot move the
cursor, clear the screen or retitle the terminal.  Expected values are printed only for
parts whose ``show_expected`` allows it; a part whose value was withheld says why
(:data:`WITHHELD_WORDS`), never what it is.

The helpers :func:`clean`, :func:`value_text` and :func:`exercise_lines` are shared with
the Gradescope and JUnit renderings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from grader.results import ExerciseResult, GradeResult, PartResult, Status, Withheld, provisional_note, round_score
from reference.serialize import decimal_json

#: Longest given/expected value printed before it is cut.
VALUE_WIDTH = 300

_RESET = "\x1b[0m"
_SGR = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "magenta": "35",
    "cyan": "36",
}
STATUS_STYLE = {
    Status.CORRECT: "green",
    Status.PARTIAL: "yellow",
    Status.INCORRECT: "red",
    Status.INVALID: "red",
    Status.NOT_ANSWERED: "dim",
    Status.NEEDS_REVIEW: "magenta",
}
STATUS_WORDS = {
    Status.CORRECT: "correct",
    Status.PARTIAL: "partial",
    Status.INCORRECT: "incorrect",
    Status.INVALID: "invalid",
    Status.NOT_ANSWERED: "not answered",
    Status.NEEDS_REVIEW: "needs review",
}
#: What a report says in place of an expected value that was withheld, by the reason.
WITHHELD_WORDS = {
    Withheld.NEVER: "not shown for this part",
    Withheld.NOT_ANSWERED: "shown once you answer this part",
    Withheld.BEFORE_DUE: "shown after the due date",
}

# C0/C1 controls, DEL, and the bidi overrides that can make text read differently than it is.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean(text: Any) -> str:
    """Text safe to print: control characters (ESC included) escaped, tabs made spaces.

    Newlines are kept; callers split on them to indent.
    """
    text = str(text).replace("\r\n", "\n").replace("\t", "    ")
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


def json_default(value: Any) -> Any:
    """``json.dumps`` ``default`` for the values grading produces (Decimal, dataclasses, dates, sets)."""
    if isinstance(value, Decimal):
        return decimal_json(value) if value.is_finite() else str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def value_text(value: Any, width: int = VALUE_WIDTH) -> str:
    """A given or expected value on one line: text as is, anything else as compact JSON."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=json_default, separators=(", ", ": "))
        except (TypeError, ValueError, RecursionError):
            text = repr(value)
    text = clean(text).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def score_text(score: float, max_score: float) -> str:
    return f"{round_score(score)}/{round_score(max_score)}"


def exercise_lines(exercise: ExerciseResult, *, color: bool = False, indent: str = "    ") -> list[str]:
    """The body under an exercise's heading: feedback, diagnosis, settlement and its parts."""
    lines: list[str] = []
    # The exercise's feedback repeats its parts' (as "item" or "field: item"); the parts print
    # their own below, so only what belongs to the exercise alone is printed here.
    said = {item for p in exercise.parts for item in p.feedback}
    for item in exercise.feedback:
        if item not in said and item.partition(": ")[2] not in said:
            lines.extend(_indented(item, indent, "- "))
    if exercise.diagnosis:
        lines.append(f"{indent}{_style('diagnosis:', 'cyan', color)} {clean(', '.join(exercise.diagnosis))}")
    if exercise.settlement is not None:
        s = exercise.settlement
        lines.append(f"{indent}settled by {clean(s.by)} at {round_score(s.score)}: {clean(s.reason)}")
    show_parts = len(exercise.parts) > 1 or any(_part_has_details(p) for p in exercise.parts)
    if show_parts:
        for part in exercise.parts:
            lines.extend(_part_lines(part, color=color, indent=indent))
    return lines


def _part_has_details(part: PartResult) -> bool:
    return bool(part.feedback) or part.score < part.max_score


def _part_lines(part: PartResult, *, color: bool, indent: str) -> list[str]:
    status = _style(STATUS_WORDS.get(part.status, str(part.status)), STATUS_STYLE.get(part.status, ""), color)
    lines = [f"{indent}{clean(part.id)}: {score_text(part.score, part.max_score)} {status}"]
    inner = indent + "    "
    for item in part.feedback:
        lines.extend(_indented(item, inner, "- "))
    if part.score < part.max_score:
        if part.given is not None:
            lines.append(f"{inner}given:    {value_text(part.given)}")
        if part.show_expected and part.expected is not None:
            lines.append(f"{inner}expected: {value_text(part.expected)}")
        elif not part.show_expected and part.withheld is not None and part.status is not Status.NOT_ANSWERED:
            lines.append(f"{inner}expected: ({WITHHELD_WORDS[part.withheld]})")
    return lines


def _indented(text: str, indent: str, bullet: str = "") -> list[str]:
    rows = clean(text).split("\n")
    pad = " " * len(bullet)
    return [f"{indent}{bullet if i == 0 else pad}{row}".rstrip() for i, row in enumerate(rows)]


def _style(text: str, style: str, color: bool) -> str:
    if not color or not style:
        return text
    codes = ";".join(_SGR[s] for s in style.split() if s in _SGR)
    return f"\x1b[{codes}m{text}{_RESET}" if codes else text


def render_text(result: GradeResult, *, color: bool = False) -> str:
    """The report as text ending in a newline; ANSI colour only with ``color=True``."""
    lines: list[str] = []
    who = clean(result.student_id) if result.student_id else "(no student id)"
    lines.append(_style(f"{clean(result.exercise_set)}: {who}", "bold", color))
    if not result.readable:
        lines.append(_style("The submission could not be read.", "red bold", color))
    width = max((len(clean(e.id)) for e in result.exercises), default=0)
    title_width = min(max((len(clean(e.title)) for e in result.exercises), default=0), 48)
    for exercise in result.exercises:
        status = exercise.status
        title = clean(exercise.title)
        title = title if len(title) <= title_width else title[: title_width - 1] + "…"
        score = score_text(exercise.score, exercise.max_score)
        words = _style(STATUS_WORDS.get(status, str(status)), STATUS_STYLE.get(status, ""), color)
        lines.append(f"{clean(exercise.id):<{width}}  {title:<{title_width}}  {score:>9}  {words}".rstrip())
        lines.extend(exercise_lines(exercise, color=color, indent=" " * (width + 2)))
    total = f"Total: {score_text(result.score, result.max_score)}"
    if result.awaiting_review:
        total += f" ({provisional_note(result.awaiting_review)})"
    lines.append(_style(total, "bold", color))
    lines.extend(_section("Warnings", result.warnings, "yellow", color))
    lines.extend(_section("Errors", result.errors, "red", color))
    return "\n".join(lines) + "\n"


def _section(title: str, items: Iterable[str], style: str, color: bool) -> list[str]:
    items = list(items)
    if not items:
        return []
    lines = [_style(f"{title}:", style, color)]
    for item in items:
        lines.extend(_indented(item, "  ", "- "))
    return lines

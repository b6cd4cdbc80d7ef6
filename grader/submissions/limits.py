"""What the reader accepts (:class:`ReadLimits`), and how a refusal names its place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml.resolver

from grader.errors import SubmissionUnreadable

KIB = 1024


MIB = 1024 * KIB


@dataclass(frozen=True)
class ReadLimits:
    """What the reader accepts.  Every limit is a refusal with a message, never a crash.

    ``max_bytes`` bounds JSON and YAML, ``max_python_bytes`` Python source (256 KiB in the
    contract).  ``max_depth`` counts nested objects and lists, the top-level object being
    depth 1 (the deepest answer, ex11, needs 6).  ``max_number_digits`` bounds the digits
    of one number literal.  ``max_yaml_values`` bounds the number of values YAML aliases
    may expand to.  ``max_values`` bounds the values (and keys) written in the file: the
    whole sheet's answers are about a hundred, and past this count the reader stops
    before building anything (a 260 KB flat YAML body cost 5 s of CPU to build whole).
    """

    max_bytes: int = 1 * MIB
    max_python_bytes: int = 256 * KIB
    max_depth: int = 32
    max_number_digits: int = 100
    max_yaml_values: int = 100_000
    max_values: int = 20_000


DEFAULT_LIMITS = ReadLimits()


class Refused(Exception):
    """Raised inside the parsers' hooks: a literal or structure we refuse, with where."""

    def __init__(self, message: str, pos: int | None = None, mark: yaml.Mark | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.mark = mark


def too_deep_message(limits: ReadLimits) -> str:
    return f"nested deeper than {limits.max_depth} levels of objects and lists; no answer needs more than 6"


SURROGATE_MESSAGE = "a \\u escape names half of a surrogate pair, which is not a character"


def too_many_message(limits: ReadLimits) -> str:
    return (f"the submission holds more than {limits.max_values} values; the answers to a whole sheet are "
            "a few hundred at most")


def inspect_value(data: Any) -> tuple[int, str | None, int]:
    """The nesting depth of a parsed value, its first string that is not valid Unicode,
    and how many values and keys it holds.

    Iterative, so any depth the parser produced can be measured.
    """
    deepest = 0
    count = 0
    bad: str | None = None
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if isinstance(value, dict):
            count += len(value)
            deepest = max(deepest, depth + 1)
            for key, item in value.items():
                if bad is None and not _encodable(key):
                    bad = key
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            deepest = max(deepest, depth + 1)
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and bad is None and not _encodable(value):
            bad = value
    return deepest, bad, count


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unreadable_at(name: str, text: str, pos: int | None, message: str) -> SubmissionUnreadable:
    line, column = line_column(text, pos or 0)
    return SubmissionUnreadable(f"{name}: line {line} column {column}: {message}")


def line_column(text: str, pos: int) -> tuple[int, int]:
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1

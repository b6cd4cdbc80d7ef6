"""Paths and values in the reader's messages: quoted short, control characters named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from grader.quoting import show_value
from grader.submissions.limits import KIB, MIB


def plural_s(count: Any) -> str:
    return "" if count == 1 else "s"


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def join_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = str(key)
    if _IDENTIFIER.match(key) and len(key) <= 60:
        return f"{path}.{key}"
    return f"{path}[{show(key)}]"


def path_text(base: str, parts: Sequence[Any]) -> str:
    path = base
    for part in parts:
        path = join_path(path, part)
    return path


def show(value: Any, limit: int = 60) -> str:
    """A value as a student wrote it (:func:`grader.quoting.show_value`, the one way)."""
    if isinstance(value, dict | list):
        return kind_of(value)
    return show_value(value, limit)


def kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "an empty object" if not value else f"an object with {fields_text(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{plural_s(len(value))}"
    if isinstance(value, str | int | float | bool) or value is None:
        return show(value)
    return f"a {type(value).__name__}"


def fields_text(data: Mapping[Any, Any]) -> str:
    keys = [show(str(k), 30) for k in list(data)[:6]]
    more = f" and {len(data) - 6} more" if len(data) > 6 else ""
    return f"field{'s' if len(data) != 1 else ''} {', '.join(keys)}{more}"


def printable(text: str, limit: int, *, keep_newlines: bool = False) -> str:
    """One line of at most ``limit`` characters with control characters escaped."""
    out = []
    for char in text[: limit * 2]:
        if (keep_newlines and char in "\n\t") or char.isprintable():
            out.append(char)
        else:
            out.append(char.encode("unicode_escape", "backslashreplace").decode("ascii"))
    result = "".join(out)
    return result if len(result) <= limit else result[: limit - 1] + "…"


def char_name(char: str) -> str:
    return f"the character U+{ord(char):04X}"


def size_text(n: int) -> str:
    if n % MIB == 0:
        return f"{n // MIB} MiB"
    if n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} bytes"

"""The one way to quote a student's value in feedback: bounded, whatever the value is.

A student's answer reaches feedback as text: a returned row, a user id, an exception's
message, a value the grader cannot read.  Any of them may be enormous (a 40 MB string
returned once made a 172 MB result document) or hostile (a ``repr`` that raises, a
signalling NaN).  Everything here is total: it returns a short string for any value
and never raises.

* :func:`cut` shortens text, saying how much was left out: ``"abc... (1234 more
  characters)"``;
* :func:`quote` is a bounded ``repr`` (the standard library's :mod:`reprlib`, which caps
  strings, lists, dicts and nesting while it walks, so a huge value is never rendered
  whole first), for Python values a submission returned;
* :func:`show_value` spells a JSON value as a student wrote it (``"10:05"``, ``7``,
  ``null``), for the answers of a JSON or YAML submission.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

#: Characters of one quoted value in feedback.
VALUE_LIMIT = 80
#: Characters of one line of feedback (a described input or returned table).
LINE_LIMIT = 2000

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = VALUE_LIMIT
_REPR.maxother = VALUE_LIMIT
_REPR.maxlong = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = 6
_REPR.maxdict = 4


def cut(text: str, limit: int = LINE_LIMIT) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and how much more
    there was (``"... (N more characters)"``)."""
    if len(text) <= limit:
        return text
    keep = max(limit - 30, 1)
    return f"{text[:keep]}... ({len(text) - keep} more characters)"


def quote(value: Any, limit: int = VALUE_LIMIT) -> str:
    """A bounded ``repr`` of ``value`` (at most about ``limit`` characters)."""
    try:
        text = _REPR.repr(value)
    except Exception:  # an object whose repr fails: its type is still worth naming
        text = f"<{type(value).__name__}>"
    return cut(text if isinstance(text, str) else f"<{type(value).__name__}>", limit)


def show_value(value: Any, limit: int = VALUE_LIMIT - 20) -> str:
    """A value in JSON notation as a student wrote it, cut to about ``limit`` characters,
    control characters escaped; a container is named, not spelled out."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 1] + "…"
        text = "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                       for c in text)
        return '"' + text.replace('"', '\\"') + '"'
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 190 else "a number with hundreds of digits"
    if isinstance(value, float) and not math.isfinite(value):
        return "a non-finite number"
    if isinstance(value, float | Decimal):
        text = repr(value) if isinstance(value, float) else str(value)
        return text if len(text) <= limit else text[: limit - 1] + "…"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    return f"a {type(value).__name__}"

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
  whole first).
"""

from __future__ import annotations

import reprlib
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

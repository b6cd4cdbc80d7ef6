"""JSON submissions, read under the limits: numbers, depth, surrogates, duplicate keys.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from grader.errors import SubmissionUnreadable
from grader.submissions.limits import (
    SURROGATE_MESSAGE,
    ReadLimits,
    Refused,
    inspect_value,
    too_deep_message,
    too_many_message,
    unreadable_at,
)
from grader.submissions.wording import printable, show

_JSON_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'


_JSON_BRACKETS = re.compile(_JSON_STRING + r"|([\[{])|([\]}])")


def load_json(text: str, name: str, limits: ReadLimits) -> tuple[Any, list[str]]:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                duplicates.append(key)
            obj[key] = value
        return obj

    def constant(token: str) -> Any:
        raise Refused(f"{token} is not a number a submission may hold (NaN and Infinity are not accepted)",
                       _find_token(text, re.escape(token)))

    def integer(token: str) -> int:
        if len(token.lstrip("-")) > limits.max_number_digits:
            raise Refused(f"a number with {len(token.lstrip('-'))} digits; at most {limits.max_number_digits} "
                           "are accepted", _find_token(text, re.escape(token[:50])))
        return int(token)

    def real(token: str) -> float:
        if len(token) > limits.max_number_digits + 8:
            raise Refused(f"a number written with {len(token)} characters; at most "
                           f"{limits.max_number_digits} digits are accepted", _find_token(text, re.escape(token[:50])))
        value = float(token)
        if not math.isfinite(value):
            raise Refused(f"the number {token} is too large", _find_token(text, re.escape(token)))
        return value

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_int=integer,
                          parse_float=real)
    except json.JSONDecodeError as exc:
        raise SubmissionUnreadable(f"{name}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except Refused as exc:
        raise unreadable_at(name, text, exc.pos, exc.message) from None
    except RecursionError:
        pos = _too_deep_json(text, limits.max_depth)
        raise unreadable_at(name, text, pos, too_deep_message(limits)) from None
    except ValueError as exc:  # a digit limit of the interpreter's, should ours be raised
        raise SubmissionUnreadable(f"{name}: line 1 column 1: {printable(str(exc), 120)}") from None
    depth, bad_string, count = inspect_value(data)
    if count > limits.max_values:
        raise unreadable_at(name, text, 0, too_many_message(limits))
    if depth > limits.max_depth:
        raise unreadable_at(name, text, _too_deep_json(text, limits.max_depth), too_deep_message(limits))
    if bad_string is not None:
        pos = _find_token(text, r"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")
        raise unreadable_at(name, text, pos, SURROGATE_MESSAGE)
    warnings = [f"key {show(key)} appears more than once in an object; the last value is used"
                for key in dict.fromkeys(duplicates)]
    return data, warnings


def _find_token(text: str, pattern: str) -> int | None:
    """Where ``pattern`` first occurs outside a JSON string, if anywhere."""
    for match in re.finditer(_JSON_STRING + f"|({pattern})", text):
        if match.group(1) is not None:
            return match.start()
    # A surrogate escape is *inside* a string: look there too.
    match = re.search(pattern, text)
    return match.start() if match else None


def _too_deep_json(text: str, max_depth: int) -> int | None:
    depth = 0
    for match in _JSON_BRACKETS.finditer(text):
        if match.group(1):
            depth += 1
            if depth > max_depth:
                return match.start()
        elif match.group(2):
            depth -= 1
    return None

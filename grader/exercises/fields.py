"""A part's field path (``rows``, ``options[*].policy``): its value in an answer, and its schema.

The one reader (:func:`read_field`) and writer (:func:`write_field`) of field paths, for
grading, the solutions sheet, verify and copy detection alike; ``json_path`` spells a
path as problems name it (``parts[0].points``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from grader.frozen import thaw

_FIELD_SEGMENT = re.compile(r"^([a-z_][a-z0-9_]*)(\[\*\])?$")


def json_path(path: Iterable[Any]) -> str:
    """``['parts', 0, 'points']`` -> ``parts[0].points``."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else str(step)
    return out


def field_schema(answer_schema: Mapping[str, Any], field: str) -> dict[str, Any] | None:
    """The JSON Schema of the value at ``field`` of an answer object, or ``None`` if absent.

    ``field`` is a part's path (``allowed_lateness_3min.retract``, ``options[*].policy``).
    A ``[*]`` segment collects every item, so the value is a list and the schema is an
    array of the item schema.  The root's ``$defs`` are kept so ``$ref`` still resolves.
    """
    root = thaw(answer_schema)
    defs = root.get("$defs", {})
    current: list[dict[str, Any]] = [root]
    lists = 0
    for segment in field.split("."):
        match = _FIELD_SEGMENT.match(segment)
        if match is None:
            return None
        name, star = match.groups()
        found = [s["properties"][name] for s in _alternatives(current, defs) if name in s.get("properties", {})]
        if not found:
            return None
        current = found
        if star:
            items = [s["items"] for s in _alternatives(current, defs) if isinstance(s.get("items"), dict)]
            if not items:
                return None
            current = items
            lists += 1
    schema: dict[str, Any] = current[0] if len(current) == 1 else {"anyOf": current}
    for _ in range(lists):
        schema = {"type": "array", "items": schema}
    return {"$defs": defs, **schema} if defs else schema


def _alternatives(schemas: list[dict[str, Any]], defs: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Each schema with its local ``$ref`` followed and its ``anyOf``/``oneOf`` branches opened."""
    for schema in schemas:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
            yield from _alternatives([defs[ref[8:]]], defs)
            continue
        yield schema
        for key in ("anyOf", "oneOf", "allOf"):
            yield from _alternatives([s for s in schema.get(key, ()) if isinstance(s, dict)], defs)


def read_field(answer: Any, path: str) -> tuple[Any, bool]:
    """The value at a part's ``field`` in an exercise's answer, and whether it is there at all.

    ``allowed_lateness_3min.retract`` descends into objects; ``options[*].policy`` collects
    the field of every item of a list (a list results; items without it give ``None``).
    """
    current: list[Any] = [answer]
    listed = False
    for segment in path.split("."):
        match = _FIELD_SEGMENT.match(segment)
        if match is None:
            return None, False
        name, star = match.groups()
        found = []
        for item in current:
            if isinstance(item, Mapping) and name in item:
                found.append(item[name])
            elif listed:
                found.append(None)
            else:
                return None, False
        current = found
        if star:
            if listed or not isinstance(current[0], list):
                return None, False
            current = list(current[0])
            listed = True
    return (current if listed else current[0]), True


def write_field(answer: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` at ``path`` of an answer object, creating what is missing.

    ``options[*].policy`` with ``[a, b]`` fills ``options: [{policy: a}, {policy: b}]``
    (merged by index with what is there)."""
    if "[*]" in path:
        head, _, tail = path.partition("[*]")
        items = answer.setdefault(head.removesuffix("."), [])
        values = list(value or ())
        if not tail:
            items[:] = values
            return
        while len(items) < len(values):
            items.append({})
        for item, v in zip(items, values, strict=False):
            write_field(item, tail.removeprefix("."), v)
        return
    *outer, last = path.split(".")
    for name in outer:
        answer = answer.setdefault(name, {})
    answer[last] = value

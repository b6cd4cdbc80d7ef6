"""Loading event streams from files: YAML, JSON, JSONL and CSV (the engine's only file input).

The order of records in the file is the arrival order.  A record may carry an explicit
``arrival`` (sequence number) or ``processing_time``; then the stream is ordered by it
(stably), so a file can list events by event time and still say when each arrived.
Errors name the file and the line or record.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from reference.events import Event, EventError, event_from_mapping
from reference.timestamps import parse_time


class StreamError(ValueError):
    """An event file that cannot be read; the message names the file and where in it."""


def load_events(path: str | Path) -> list[Event]:
    """Read a whole event file, in arrival order.  The format is taken from the suffix."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StreamError(f"{p}: no such file") from None
    except UnicodeDecodeError as exc:
        raise StreamError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise StreamError(f"{p}: {exc.strerror}") from None
    return parse_events(text, p.suffix.lower().lstrip(".") or "jsonl", str(p))


def parse_events(text: str, fmt: str, name: str = "<events>") -> list[Event]:
    """Parse event records given as text in ``fmt`` (yaml, yml, json, jsonl, ndjson, csv)."""
    if fmt in ("jsonl", "ndjson"):
        records = list(_jsonl_records(text, name))
    elif fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StreamError(f"{name}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        records = [(f"{name} record {i + 1}", r) for i, r in enumerate(_record_list(data, name))]
    elif fmt in ("yaml", "yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
            raise StreamError(f"{name}: {where}{getattr(exc, 'problem', None) or exc}") from None
        records = [(f"{name} record {i + 1}", r) for i, r in enumerate(_record_list(data, name))]
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        records = [(f"{name} line {reader.line_num}", row) for row in reader]
    else:
        raise StreamError(f"{name}: unknown event file format {fmt!r} (use .yaml, .json, .jsonl or .csv)")
    events: list[tuple[object, int, Event]] = []
    for index, (where, record) in enumerate(records):
        try:
            event = event_from_mapping(record, where)
        except EventError as exc:
            raise StreamError(str(exc)) from None
        events.append((_arrival_key(record, where), index, event))
    if any(k is not None for k, _, _ in events):
        if not all(k is not None for k, _, _ in events):
            raise StreamError(f"{name}: either every record or none has an arrival/processing_time")
        events.sort(key=lambda x: (x[0], x[1]))
    return [e for _, _, e in events]


def _arrival_key(record: object, where: str) -> object:
    if not isinstance(record, Mapping):
        return None
    if record.get("arrival") not in (None, ""):
        try:
            return int(record["arrival"])
        except (TypeError, ValueError):
            raise StreamError(f"{where}: arrival must be a whole number, got {record['arrival']!r}") from None
    if record.get("processing_time") not in (None, ""):
        return parse_time(record["processing_time"])
    return None


def _record_list(data: object, name: str) -> list:
    if isinstance(data, Mapping) and "events" in data:
        data = data["events"]
    if not isinstance(data, list):
        raise StreamError(f"{name}: expected a list of events (or an object with an 'events' list)")
    return data


def _jsonl_records(text: str, name: str) -> Iterator[tuple[str, object]]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{name} line {lineno}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise StreamError(f"{name}: line {lineno} column {exc.colno}: {exc.msg}") from None


def iter_jsonl(path: str | Path) -> Iterator[Event]:
    """Stream a JSONL file event by event, without holding it (for large inputs).

    A line holding one JSON object and a newline is decoded by the JSON scanner directly
    and named only if it fails: ``json.loads`` and the ``"file line N"`` label cost as
    much as the rest of the read.  Any line the short path does not take (blank, extra
    whitespace, invalid JSON, a bad event) goes through the general path, which gives
    the same events and the same errors.
    """
    p = Path(path)
    loads = json.loads
    scan = json.JSONDecoder().scan_once
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            try:
                record, end = scan(line, 0)
                if end != len(line) and line[end:] != "\n":
                    raise ValueError
                event = event_from_mapping(record)
            except Exception:
                event = None
            if event is None:
                if not line.strip():
                    continue
                try:
                    event = event_from_mapping(loads(line), f"{p} line {lineno}")
                except json.JSONDecodeError as exc:
                    raise StreamError(f"{p}: line {lineno} column {exc.colno}: {exc.msg}") from None
                except EventError as exc:
                    raise StreamError(str(exc)) from None
            yield event

"""Checks of exercise data: schema validation, and the invariants no JSON Schema states.

Every check yields problems as ``file: json.path: message`` and all of them are reported
at once (jsonschema's ``iter_errors``): ids unique and matching file names, part points
adding up to the exercise's and the set's to 100, queries and their arguments known to
the vocabulary, events named in arguments present in the context, mistakes and errata
naming existing parts, every part's field present in the answer schema, the published
values valid answers, a due date wherever a visibility is ``after_due``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from grader.exercises.fields import field_schema, json_path
from grader.exercises.model import TOTAL_POINTS, Context, Exercise, Settings, Visibility
from grader.exercises.vocabulary import CONFIG_KEYS, CONTEXT_FILE, QUERIES
from reference.config import LatePolicy
from reference.profiles import Profile, get_profile
from reference.timestamps import Ticks, TimeFormatError, parse_duration, parse_time


@cache
def schema_validator(schema_path: Path) -> Draft202012Validator:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def located(file: str, path: str, message: str) -> str:
    return f"{file}: {path}: {message}" if path else f"{file}: {message}"


def schema_problems(validator: Draft202012Validator, instance: Any, file: str, prefix: str = "") -> list[str]:
    """Every schema error of ``instance``, as ``file: path: message``, in document order."""
    errors: list[ValidationError] = list(validator.iter_errors(instance))
    errors.sort(key=lambda e: [str(p).zfill(6) if isinstance(p, int) else str(p) for p in e.absolute_path])
    out = []
    for error in errors:
        path = json_path(error.absolute_path)
        if prefix:
            path = f"{prefix}{'.' if path and not path.startswith('[') else ''}{path}"
        out.append(located(file, path, error.message))
    return out


def read_duration(value: Any, file: str, path: str, problems: list[str]) -> Ticks | None:
    try:
        return parse_duration(value)
    except TimeFormatError as exc:
        problems.append(located(file, path, str(exc)))
        return None


_DATE_ALONE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_instant(text: str) -> datetime:
    """An ISO-8601 date-time with its UTC offset (``2026-12-10T23:59:00+00:00``, ``...Z``), aware.

    Raises ``ValueError`` saying what is wrong: not ISO-8601, or no offset (a wall-clock
    time alone names no instant)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 date-time such as '2026-12-10T23:59:00+00:00'") from None
    if value.utcoffset() is None:
        raise ValueError(f"{text!r} has no UTC offset; write it as '{value.isoformat()}+00:00' (or another offset)")
    return value


def parse_due(text: str) -> datetime:
    """A due date: :func:`parse_instant`, or a date alone (``2026-12-10``), which is the end of that day in UTC."""
    if _DATE_ALONE.match(text.strip()):
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a date") from None
        return datetime.combine(day, time.max, tzinfo=UTC)
    return parse_instant(text)


def read_due(value: Any, file: str, path: str, problems: list[str]) -> datetime | None:
    """``settings.due`` as an aware date-time (see :func:`parse_due`)."""
    try:
        return parse_due(str(value))
    except ValueError as exc:
        problems.append(located(file, path, str(exc)))
        return None


def read_visibility(settings: Mapping[str, Any], file: str, problems: list[str]) -> Visibility | None:
    """``settings.visibility``, or the old ``settings.show_expected`` (true: after_attempt, false: never).

    Both given must agree: ``show_expected: true`` with anything but ``never``, ``false``
    with ``never`` only."""
    old = settings.get("show_expected")
    if "visibility" not in settings:
        return Visibility.NEVER if old is False else Visibility.AFTER_ATTEMPT
    visibility = Visibility(settings["visibility"])
    if old is not None and old != (visibility is not Visibility.NEVER):
        problems.append(located(file, "settings.show_expected",
                                f"show_expected: {str(old).lower()} contradicts visibility: {visibility.value}; "
                                "keep visibility alone (show_expected is its old spelling)"))
        return None
    return visibility


def due_problems(files: list[Path], raw_exercises: list[Any], settings: Settings | None) -> list[str]:
    """A visibility of ``after_due`` (the set's or a part's) needs the set's ``settings.due``."""
    if settings is None or settings.due is not None:
        return []
    out = []
    if settings.visibility is Visibility.AFTER_DUE:
        out.append(located(CONTEXT_FILE, "settings.visibility", "after_due needs settings.due, the set's due date "
                                                                "(such as '2026-12-10T23:59:00+00:00')"))
    for file, raw in zip(files, raw_exercises, strict=True):
        parts = raw.get("parts") if isinstance(raw, Mapping) else None
        for i, part in enumerate(parts if isinstance(parts, list) else ()):
            if isinstance(part, Mapping) and part.get("visibility") == Visibility.AFTER_DUE:
                out.append(located(file.name, f"parts[{i}].visibility",
                                   f"after_due needs settings.due in {CONTEXT_FILE}, the set's due date"))
    return out


def read_profile(name: str, file: str, path: str, problems: list[str]) -> Profile | None:
    try:
        return get_profile(name)
    except ValueError as exc:
        problems.append(located(file, path, str(exc)))
        return None


def answer_schema_problems(raw: Mapping[str, Any], file: str) -> list[str]:
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    out = schema_problems(meta, raw["answer_schema"], file, prefix="answer_schema")
    if out:
        return out
    for i, part in enumerate(raw["parts"]):
        if field_schema(raw["answer_schema"], part["field"]) is None:
            out.append(located(file, f"parts[{i}].field", f"{part['field']!r} is not a field of answer_schema"))
    if not out:
        validator = Draft202012Validator(raw["answer_schema"])
        out.extend(schema_problems(validator, raw["published"]["values"], file, prefix="published.values"))
    return out


def part_problems(raw: Mapping[str, Any], part: Mapping[str, Any], where: str, file: str,
                   context: Context | None) -> list[str]:
    out: list[str] = []
    spec = part["solution"]
    query = QUERIES.get(spec["query"])
    if query is None:
        out.append(located(file, f"{where}.solution.query",
                            f"unknown query {spec['query']!r}; known queries: {', '.join(sorted(QUERIES))}"))
    else:
        args = spec.get("args", {})
        for name in args:
            if name not in query.params:
                known = ", ".join(query.params) or "none"
                out.append(located(file, f"{where}.solution.args.{name}",
                                    f"query {query.name} takes no argument {name!r} (arguments: {known})"))
        for name in query.required:
            if name not in args:
                out.append(located(file, f"{where}.solution.args", f"query {query.name} needs argument {name!r}"))
        if context is not None:
            out.extend(_event_arg_problems(args, query.event_params, context, file, f"{where}.solution.args"))
        out.extend(_time_arg_problems(args, query.time_params, file, f"{where}.solution.args"))
        text_compare = part["compare"]["kind"] == "text"
        if text_compare != (query.name == "model_answer"):
            out.append(located(file, f"{where}.solution.query",
                                "text parts, and only text parts, use the query model_answer"))
    out.extend(_config_problems(spec.get("config", {}), file, f"{where}.solution.config", CONFIG_KEYS))
    for c, concept in enumerate(part["compare"].get("concepts", ())):
        for key in ("regexes", "contradictions"):
            for r, pattern in enumerate(concept.get(key, ())):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    out.append(located(file, f"{where}.compare.concepts[{c}].{key}[{r}]",
                                        f"not a regular expression: {exc}"))
    if isinstance(part.get("model_answer"), list) != ("[*]" in part["field"]) and "model_answer" in part:
        out.append(located(file, f"{where}.model_answer", "give a list exactly when the field has [*]"))
    return out


def _event_arg_problems(args: Mapping[str, Any], names: Iterable[str], context: Context, file: str,
                        where: str) -> list[str]:
    out = []
    known = set(context.event_ids)
    for name in names:
        if name not in args:
            continue
        value = args[name]
        ids = [value] if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else [value]
        if ids == ["all"]:
            continue
        for event_id in ids:
            if event_id not in known:
                listing = ", ".join(context.event_ids)
                message = f"no event {event_id!r} in {CONTEXT_FILE} (events: {listing})"
                out.append(located(file, f"{where}.{name}", message))
    return out


def _time_arg_problems(args: Mapping[str, Any], names: Iterable[str], file: str, where: str) -> list[str]:
    out = []
    for name in names:
        value = args.get(name)
        if value is None:
            continue
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            path = f"{where}.{name}" + (f"[{i}]" if i is not None else "")
            if not isinstance(item, str):
                out.append(located(file, path, f"{item!r} is not a time string (quote times in YAML: \"10:00\")"))
                continue
            try:
                parse_time(item)
            except TimeFormatError as exc:
                out.append(located(file, path, str(exc)))
    return out


def _config_problems(config: Mapping[str, Any], file: str, where: str, keys: Iterable[str]) -> list[str]:
    out = []
    keys = set(keys)
    for name, value in config.items():
        path = f"{where}.{name}"
        if name not in keys:
            out.append(located(file, path, f"not an engine setting (settings: {', '.join(sorted(keys))})"))
        elif name in ("window_size", "watermark_delay") or (name == "allowed_lateness" and value != "admit_all"):
            read_duration(value, file, path, out)
        elif name == "late_policy":
            try:
                LatePolicy.parse(str(value))
            except ValueError as exc:
                out.append(located(file, path, str(exc)))
        elif name == "profile":
            read_profile(str(value), file, path, out)
    return out


def mistake_problems(raw: Mapping[str, Any], file: str, part_ids: set[str]) -> list[str]:
    out = []
    codes: list[str] = []
    queries = {p["id"]: QUERIES.get(p["solution"]["query"]) for p in raw["parts"]}
    for i, mistake in enumerate(raw.get("mistakes", ())):
        where = f"mistakes[{i}]"
        if mistake["code"] in codes:
            out.append(located(file, f"{where}.code", f"mistake code {mistake['code']!r} is used twice"))
        codes.append(mistake["code"])
        for j, pid in enumerate(mistake["parts"]):
            if pid not in part_ids:
                listing = ", ".join(sorted(part_ids))
                out.append(located(file, f"{where}.parts[{j}]", f"no part {pid!r} (parts: {listing})"))
        if ("model" in mistake) == ("given" in mistake):
            out.append(located(file, where,
                                "give exactly one of model (runnable overrides) or given (a literal answer)"))
        model = mistake.get("model") or {}
        params = set(CONFIG_KEYS)
        for pid in mistake["parts"]:
            if queries.get(pid) is not None:
                params |= set(queries[pid].params)
        for name in model:
            if name not in params:
                out.append(located(file, f"{where}.model.{name}",
                                    f"neither an engine setting nor an argument of the parts' queries "
                                    f"(known: {', '.join(sorted(params))})"))
        config = {k: v for k, v in model.items() if k in CONFIG_KEYS}
        out.extend(_config_problems(config, file, f"{where}.model", CONFIG_KEYS))
        if "given" in mistake:
            for pid in mistake["parts"]:
                part = next((p for p in raw["parts"] if p["id"] == pid), None)
                schema = field_schema(raw["answer_schema"], part["field"]) if part else None
                if schema is not None:
                    out.extend(schema_problems(Draft202012Validator(schema), mistake["given"], file, f"{where}.given"))
    return out


def erratum_problems(raw: Mapping[str, Any], file: str, part_ids: set[str]) -> list[str]:
    out = []
    seen: set[str] = set()
    codes = {m["code"] for m in raw.get("mistakes", ())}
    for i, erratum in enumerate(raw.get("errata", ())):
        where = f"errata[{i}]"
        if erratum["part"] not in part_ids:
            listing = ", ".join(sorted(part_ids))
            out.append(located(file, f"{where}.part", f"no part {erratum['part']!r} (parts: {listing})"))
        if erratum["part"] in seen:
            out.append(located(file, f"{where}.part", f"a second erratum for part {erratum['part']!r}"))
        seen.add(erratum["part"])
        if "mistake" in erratum and erratum["mistake"] not in codes:
            out.append(located(file, f"{where}.mistake", f"no mistake {erratum['mistake']!r} in this exercise"))
    return out


def set_problems(files: list[Path], raw_exercises: list[Any], exercises: list[Exercise], context: Context | None,
                  settings: Settings | None) -> list[str]:
    out = []
    owners: dict[str, str] = {}
    for file, raw in zip(files, raw_exercises, strict=True):
        if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
            if raw["id"] in owners:
                out.append(f"{file.name}: id: {raw['id']!r} is also the id of {owners[raw['id']]}")
            else:
                owners[raw["id"]] = file.name
    if files and len(exercises) == len(files):
        total = sum(Fraction(str(ex.points)) for ex in exercises)
        if total != TOTAL_POINTS:
            listing = ", ".join(f"{ex.id} {fraction_text(Fraction(str(ex.points)))}" for ex in exercises)
            out.append(f"exercise set: the exercises' points add up to {fraction_text(total)}, not {TOTAL_POINTS} "
                       f"({listing})")
    out.extend(due_problems(files, raw_exercises, settings))
    return out


def fraction_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))

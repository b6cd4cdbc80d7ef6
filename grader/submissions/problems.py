"""A submission's answers against the exercises' answer schemas: every problem, with its path.

jsonschema's ``iter_errors`` lists all of them; each becomes a :class:`Problem` with a
path spelled like ``answers.ex6.rows[1].sum_amount``, a stable code and a message a
student understands.  Unexpected fields and unknown exercises are warnings, so the rest
is still graded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.validators import Draft202012Validator, validator_for

from grader.results import Problem, Severity
from grader.sorting import natural_key
from grader.submissions.wording import join_path, path_text, plural_s, printable, show


def validate_answers(answers: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]], *,
                     root: str = "answers") -> tuple[Problem, ...]:
    """Every problem of ``answers`` against ``schemas`` (``{exercise_id: JSON Schema}``).

    An exercise answered ``null`` counts as not answered and is not checked.  An exercise
    id without a schema is a warning (``answers.ex99: unknown exercise, ignored``), as is
    a field the schema does not allow (``additionalProperties: false``), so the grader can
    still grade the rest.  Problems come sorted by path (exercise ids in natural order),
    errors and warnings mixed; duplicates are dropped.  Values quoted in messages are cut
    to about 60 characters.
    """
    problems: list[Problem] = []
    for exercise_id, answer in answers.items():
        path = join_path(root, exercise_id)
        schema = schemas.get(exercise_id)
        if schema is None:
            problems.append(Problem(path, "unknown_exercise", "unknown exercise, ignored", Severity.WARNING))
            continue
        if answer is None:
            continue
        validator_class = validator_for(schema, default=Draft202012Validator)
        validator = validator_class(schema)
        for error in validator.iter_errors(answer):
            problems.extend(_translate(error, path, [], schema))
    unique = dict.fromkeys(problems)
    return tuple(sorted(unique, key=lambda p: natural_key(p.path)))


def _translate(error: ValidationError, base: str, prefix: list[Any], root: Mapping[str, Any]) -> list[Problem]:
    """Student-facing problems for one jsonschema error (which may hold sub-errors)."""
    rel = [*prefix, *error.relative_path]
    path = path_text(base, rel)
    keyword = error.validator
    value = error.validator_value
    instance = error.instance
    if keyword in ("anyOf", "oneOf"):
        return _translate_alternatives(error, base, rel, root)
    if keyword == "type":
        return [Problem(path, "wrong_type", f"expected {_or(_type_nouns(value))}, got {show(instance)}")]
    if keyword == "required" and isinstance(instance, dict):
        return [Problem(join_path(path, name), "missing_field", "required field missing")
                for name in value if name not in instance]
    if keyword == "additionalProperties" and isinstance(instance, dict):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        return [Problem(join_path(path, name), "unexpected_field", "unexpected field, ignored", Severity.WARNING)
                for name in _extra_fields(instance, schema)]
    if keyword == "unevaluatedProperties":
        return [Problem(path, "unexpected_field", "unexpected fields, ignored", Severity.WARNING)]
    if keyword == "enum":
        return [Problem(path, "not_allowed", f"expected one of {_options(value)}, got {show(instance)}")]
    if keyword == "const":
        return [Problem(path, "not_allowed", f"expected {show(value)}, got {show(instance)}")]
    if keyword in ("minItems", "maxItems", "items", "prefixItems") and isinstance(instance, list):
        return [_count_problem(keyword, value, instance, path, error)]
    if keyword == "minProperties":
        return [Problem(path, "missing_field", f"expected at least {value} field{plural_s(value)}")]
    if keyword == "maxProperties":
        if value == 0:
            return [Problem(path, "not_allowed", f"expected an empty object, got {show(instance)}")]
        return [Problem(path, "unexpected_field", f"expected at most {value} field{plural_s(value)}")]
    if keyword == "minLength":
        message = "must not be empty" if value == 1 else f"expected at least {value} characters"
        return [Problem(path, "too_short", message)]
    if keyword == "maxLength":
        return [Problem(path, "too_long", f"too long: at most {value} characters, got {len(instance)}")]
    if keyword in ("pattern", "format"):
        noun = _describe(error.schema, root) if keyword == "pattern" else f"a valid {value}"
        return [Problem(path, "wrong_format", f"expected {noun}, got {show(instance)}")]
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf"):
        words = {"minimum": "at least", "exclusiveMinimum": "more than", "maximum": "at most",
                 "exclusiveMaximum": "less than", "multipleOf": "a multiple of"}[keyword]
        return [Problem(path, "out_of_range", f"expected a number {words} {show(value)}, got {show(instance)}")]
    if keyword == "uniqueItems":
        return [Problem(path, "duplicate_items", "the list holds the same item more than once")]
    if keyword in ("not", None) or value is False:
        return [Problem(path, "not_allowed", f"{show(instance)} is not allowed here")]
    if keyword == "dependentRequired" and isinstance(instance, dict) and isinstance(value, Mapping):
        return [Problem(join_path(path, need), "missing_field", f"required field missing (because {trigger} is given)")
                for trigger, needs in value.items() if trigger in instance
                for need in needs if need not in instance]
    return [Problem(path, "invalid", _short_message(error))]


def _translate_alternatives(error: ValidationError, base: str, rel: list[Any],
                            root: Mapping[str, Any]) -> list[Problem]:
    """``anyOf``/``oneOf``: follow the one alternative that fits the value's kind, if exactly
    one does (then its precise problems are reported), else say which forms are accepted."""
    path = path_text(base, rel)
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    if error.validator == "oneOf" and not error.context:
        return [Problem(path, "invalid", "matches more than one of the accepted forms")]
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0] if sub.relative_schema_path else -1
        by_branch.setdefault(index if isinstance(index, int) else -1, []).append(sub)
    fitting = [errors for index, errors in sorted(by_branch.items())
               if index >= 0 and not any(_rejects_kind(sub) for sub in errors)]
    if len(fitting) == 1:
        problems: list[Problem] = []
        for sub in fitting[0]:
            problems.extend(_translate(sub, base, rel, root))
        if problems:
            return problems
    nouns = [_describe(branch, root) for branch in branches]
    return [Problem(path, "wrong_type", f"expected {_or(nouns)}, got {show(error.instance)}")]


_KIND_KEYWORDS = {"type", "const", "enum", "pattern", "format", "minLength", "maxLength", "minimum", "maximum",
                  "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "not", "anyOf", "oneOf", None}


def _rejects_kind(error: ValidationError) -> bool:
    """The error says the value is not of this alternative's kind at all (not merely wrong inside)."""
    if error.relative_path:
        return False
    if error.validator in ("maxProperties", "maxItems") and error.validator_value == 0:
        return True  # an alternative meaning "empty"
    return error.validator in _KIND_KEYWORDS or error.validator_value is False


def _count_problem(keyword: str, value: Any, instance: list[Any], path: str, error: ValidationError) -> Problem:
    count = len(instance)
    if keyword == "minItems":
        return Problem(path, "too_few_items", f"expected at least {value} item{plural_s(value)}, got {count}")
    if keyword == "maxItems":
        return Problem(path, "too_many_items", f"expected at most {value} item{plural_s(value)}, got {count}")
    limit = len(error.schema.get("prefixItems", ())) if isinstance(error.schema, Mapping) else None
    if limit is not None and value is False:
        return Problem(path, "too_many_items", f"expected at most {limit} item{plural_s(limit)}, got {count}")
    return Problem(path, "invalid", _short_message(error))


def _extra_fields(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    known = schema.get("properties", {})
    patterns = []
    for pattern in schema.get("patternProperties", {}):
        try:
            patterns.append(re.compile(pattern))
        except re.error:
            continue
    return [key for key in instance if key not in known and not any(p.search(key) for p in patterns)]


_TYPE_NOUNS = {"string": "text", "number": "a number", "integer": "a whole number", "boolean": "true or false",
               "null": "null", "array": "a list", "object": "an object"}


def _type_nouns(value: Any) -> list[str]:
    types = [value] if isinstance(value, str) else list(value or ())
    return [_TYPE_NOUNS.get(t, str(t)) for t in types]


# Strings a pattern is tried on to say in words what it accepts.
_PATTERN_PROBES = (("3 min", 'a quantity like "3 min"'), ("7", "a number"),
                   ("10:00", 'a time like "10:00"'), ("e1", 'an event id like "e1"'))


def _describe(schema: Any, root: Mapping[str, Any], depth: int = 0) -> str:
    """A few words for what a schema accepts (``a number``, ``a time like "10:00"``)."""
    if schema is True:
        return "any value"
    if not isinstance(schema, Mapping) or depth > 8:
        return "a value in another form"
    if "$ref" in schema:
        return _describe(_resolve(schema["$ref"], root), root, depth + 1)
    if isinstance(schema.get("title"), str):
        return printable(schema["title"], 60)
    for keyword in ("anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list):
            return _or([_describe(s, root, depth + 1) for s in schema[keyword]])
    if "const" in schema:
        return show(schema["const"])
    if isinstance(schema.get("enum"), list):
        options = schema["enum"]
        return _or([show(v) for v in options]) if len(options) <= 3 else f"one of {_options(options)}"
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or ())
    if "string" in types and isinstance(schema.get("pattern"), str):
        try:
            pattern = re.compile(schema["pattern"])
        except re.error:
            pattern = None
        for probe, noun in _PATTERN_PROBES:
            if pattern is not None and pattern.search(probe) and not pattern.search("seven"):
                return noun
        return f"text matching {show(schema['pattern'])}"
    if types == ["object"]:
        if schema.get("maxProperties") == 0:
            return "an empty object {}"
        required = [str(r) for r in schema.get("required", ()) if isinstance(r, str)]
        if required:
            return f"an object with {', '.join(required)}"
    if types == ["array"]:
        low, high = schema.get("minItems"), schema.get("maxItems")
        if isinstance(low, int) and low == high:
            return f"a list of {low} item{plural_s(low)}"
    if types:
        return _or(_type_nouns(types))
    return "a value in another form"


def _resolve(ref: Any, root: Mapping[str, Any]) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    target: Any = root
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(target, Mapping) and part in target:
            target = target[part]
        elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        else:
            return None
    return target


def _short_message(error: ValidationError) -> str:
    """jsonschema's own message with the (possibly huge) value cut short."""
    message = error.message
    try:
        shown = repr(error.instance)
    except (ValueError, RecursionError):
        shown = ""
    if shown and len(shown) > 60:
        message = message.replace(shown, show(error.instance))
    return printable(message, 200)


def _or(nouns: Iterable[str]) -> str:
    unique = list(dict.fromkeys(nouns))
    if "a number" in unique:
        unique = [n for n in unique if n != "a whole number"]
    if not unique:
        return "a value in another form"
    if len(unique) == 1:
        return unique[0]
    return ", ".join(unique[:-1]) + " or " + unique[-1]


def _options(values: Any) -> str:
    items = list(values) if isinstance(values, list | tuple) else [values]
    shown = ", ".join(show(v) for v in items[:10])
    return shown + (f" (and {len(items) - 10} more)" if len(items) > 10 else "")

"""The OpenAPI document, built from the app's routes.

Every view function carries its operation (:func:`operation` attaches it); the paths,
methods and path parameters come from Flask's URL map itself, so the document cannot
drift from the routes: :func:`build_document` refuses a route without an operation,
and the tests check the reverse.  Shared schemas live in :data:`SCHEMAS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask

OPENAPI_VERSION = "3.1.0"
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})

F = TypeVar("F", bound=Callable[..., Any])


class UndocumentedRoute(RuntimeError):
    """A route whose view has no :func:`operation`: document it (this is a programming error)."""


@dataclass(frozen=True)
class Operation:
    """One documented operation.  ``auth`` is ``None`` (public), ``"student"`` (any roster
    token) or ``"instructor"``; ``responses`` maps a status to ``(description, content)``
    where content is a media type mapping or ``None``."""

    summary: str
    description: str = ""
    tag: str = "api"
    auth: str | None = None
    parameters: tuple[dict[str, Any], ...] = ()
    request: dict[str, Any] | None = None
    responses: Mapping[int, tuple[str, dict[str, Any] | None]] = field(default_factory=dict)
    headers: Mapping[int, dict[str, Any]] = field(default_factory=dict)


def operation(summary: str, **details: Any) -> Callable[[F], F]:
    """Attach an :class:`Operation` to a view function (put it below the route decorator)."""
    op = Operation(summary, **details)

    def attach(view: F) -> F:
        view.openapi_operation = op  # type: ignore[attr-defined]
        return view

    return attach


# -- schemas and response helpers -----------------------------------------------------------

def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


HTML = {"text/html": {"schema": {"type": "string"}}}
ERROR = json_content(ref("Error"))
ERROR_RESPONSES: dict[int, tuple[str, dict[str, Any] | None]] = {
    400: ("The request is malformed; `errors` says how.", ERROR),
    401: ("No token, or a token not on the roster.", ERROR),
    403: ("The token's role may not do this.", ERROR),
    404: ("No such resource for this caller.", ERROR),
    409: ("Conflicts with what is stored.", ERROR),
    413: ("The body or the submission is larger than the limit.", ERROR),
    415: ("Unsupported content type or file type.", ERROR),
    422: ("The Idempotency-Key was used before with a different submission.", ERROR),
    429: ("Too many submissions; retry after `Retry-After` seconds.", ERROR),
    503: ("The store (or the sandbox) is unavailable; retry later.", ERROR),
}


def errors(*statuses: int) -> dict[int, tuple[str, dict[str, Any] | None]]:
    return {s: ERROR_RESPONSES[s] for s in statuses}


def html_errors(*statuses: int) -> dict[int, tuple[str, dict[str, Any] | None]]:
    """Errors of the page's routes: an HTML page.  A path that matches no route at all (a
    non-numeric id) gets the JSON 404 of every unknown path, so 404 documents both."""
    return {s: (ERROR_RESPONSES[s][0], {**HTML, **ERROR} if s == 404 else HTML) for s in statuses}


_NUMBER_OR_NULL = {"type": ["number", "null"]}
_STRINGS = {"type": "array", "items": {"type": "string"}}
#: A submission's stored facts, shared by the full document and the history line
#: (``service._stored_facts``).
#: Which assignment a submission is an attempt at, and what of it counts (grader.attempts).
_COUNTING: dict[str, Any] = {
    "assignment": {"enum": ["sheet", "python"], "description": "The set's JSON/YAML sheet or its Python exercise: "
                   "two assignments, neither replacing the other."},
    "policy": {"enum": ["best_per_exercise", "best_total", "latest"], "description": "The set's attempt policy."},
    "counts_for": {**_STRINGS, "description": "The exercises (or Python functions) whose score in the gradebook "
                   "comes from this attempt under the set's policy."},
}
_STORED_FACTS = {
    "id": {"type": "integer"},
    "student_id": {"type": "string"},
    "exercise_set": {"type": "string"},
    "state": {"enum": ["pending", "graded", "rejected"]},
    "submitted_at": {"type": "string"},
    "filename": {"type": "string"},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["errors"],
        "properties": {"errors": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
        "additionalProperties": True,
    },
    "Part": {
        "type": "object",
        "required": ["id", "score", "max_score"],
        "properties": {"id": {"type": "string"}, "score": {"type": "number"}, "max_score": {"type": "number"},
                       "status": {"type": "string"},
                       "expected": {"description": "Present only when the part's visibility shows it."},
                       "given": {}, "feedback": _STRINGS,
                       "visibility": {"enum": ["never", "after_attempt", "after_due", "always"]},
                       "withheld": {"enum": ["never", "not_answered", "before_due"],
                                    "description": "Why the expected value is not shown."}},
    },
    "Settlement": {
        "type": "object",
        "required": ["by", "score", "reason"],
        "properties": {"by": {"type": "string"}, "score": {"type": "number"}, "reason": {"type": "string"},
                       "at": {"type": "string"}},
    },
    "ExerciseResult": {
        "type": "object",
        "required": ["id", "score", "max_score", "status"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "score": {"type": "number"},
            "max_score": {"type": "number"},
            "status": {"enum": ["correct", "partial", "incorrect", "not_answered", "invalid", "needs_review"]},
            "feedback": _STRINGS,
            "diagnosis": _STRINGS,
            "parts": {"type": "array", "items": ref("Part")},
            "settlement": ref("Settlement"),
        },
    },
    "Submission": {
        "description": "A stored submission: `id` and the stored facts, then the result format "
                       "(SUBMISSION_FORMAT.md), with instructors' settlements applied.",
        "type": "object",
        "required": ["id", "student_id", "exercise_set", "state", "submitted_at", "score", "max_score",
                     "exercises", "warnings", "errors"],
        "properties": {
            **_STORED_FACTS,
            "content_sha256": {"type": "string"},
            "grader_version": {"type": ["string", "null"]},
            "score": _NUMBER_OR_NULL,
            "max_score": _NUMBER_OR_NULL,
            "exercises": {"type": "array", "items": ref("ExerciseResult")},
            "warnings": _STRINGS,
            "errors": _STRINGS,
            "problems": {"type": "array", "description": "The schema problems behind `errors` and `warnings`, "
                         "each with its path, a stable code and its severity.", "items": {
                             "type": "object", "required": ["path", "code", "message", "severity"],
                             "properties": {"path": {"type": "string"}, "code": {"type": "string"},
                                            "message": {"type": "string"},
                                            "severity": {"enum": ["error", "warning"]}}}},
            "regrade": {"type": "object"},
            **_COUNTING,
        },
    },
    "SubmissionSummary": {
        "type": "object",
        "required": ["id", "student_id", "exercise_set", "state", "submitted_at", "score", "max_score"],
        "properties": {
            **_STORED_FACTS,
            "score": _NUMBER_OR_NULL,
            "max_score": _NUMBER_OR_NULL,
            "assignment": _COUNTING["assignment"],
            "counts_for": _COUNTING["counts_for"],
        },
    },
    "History": {
        "type": "object",
        "required": ["student_id", "submissions"],
        "properties": {"student_id": {"type": "string"},
                       "submissions": {"type": "array", "items": ref("SubmissionSummary")},
                       "next_before": {"type": ["integer", "null"]}},
    },
    "SubmissionBody": {
        "description": "The submission format (SUBMISSION_FORMAT.md). `student_id` is replaced by the caller's.",
        "type": "object",
        "properties": {"student_id": {"type": "string"}, "exercise_set": {"type": "string"},
                       "answers": {"type": "object", "additionalProperties": {"type": "object"}}},
    },
    "ExerciseSet": {
        "type": "object",
        "required": ["id", "title", "exercises"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "total_points": {"type": "number"},
            "exercises": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "title", "prompt", "points", "parts", "answer_schema"],
                "properties": {
                    "id": {"type": "string"}, "title": {"type": "string"}, "prompt": {"type": "string"},
                    "points": {"type": "number"}, "answer_schema": {"type": "object"},
                    "parts": {"type": "array", "items": {
                        "type": "object",
                        "properties": {"id": {"type": "string"}, "field": {"type": "string"},
                                       "points": {"type": "number"}, "kind": {"type": "string"}}}},
                }}},
            "python": {"type": ["object", "null"], "description": "The set's Python exercise, if it has one.",
                       "properties": {
                           "title": {"type": "string"}, "points": {"type": "number"},
                           "max_bytes": {"type": "integer"}, "filename": {"type": "string"},
                           "hidden_streams": {"type": "integer"},
                           "functions": {"type": "array", "items": {"type": "object", "properties": {
                               "name": {"type": "string"}, "signature": {"type": "string"},
                               "summary": {"type": "string"}, "points": {"type": "number"}}}}}},
        },
    },
    "ExerciseSets": {
        "type": "object",
        "required": ["exercise_sets"],
        "properties": {"exercise_sets": {"type": "array", "items": ref("ExerciseSet")}},
    },
    "Sheet": {
        "type": "object",
        "required": ["exercise_set", "student_id", "seed", "events", "parameters", "exercises"],
        "properties": {
            "exercise_set": {"type": "string"}, "title": {"type": "string"}, "student_id": {"type": "string"},
            "seed": {"type": ["integer", "null"]}, "reissue": {"type": "integer"},
            "events": {"type": "array", "items": {"type": "object"}}, "parameters": {"type": "object"},
            "scale": {"type": "object"}, "sink": {"type": "object"}, "late_event": {"type": "object"},
            "exercises": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Template": {
        "type": "object",
        "required": ["student_id", "exercise_set", "answers"],
        "properties": {"student_id": {"type": "string"}, "exercise_set": {"type": "string"},
                       "answers": {"type": "object"}},
    },
    "Registration": {
        "type": "object",
        "required": ["student_id"],
        "properties": {"student_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^\\S+$"}},
    },
    "Token": {
        "type": "object",
        "required": ["student_id", "role", "token"],
        "properties": {"student_id": {"type": "string"}, "role": {"enum": ["student", "instructor"]},
                       "token": {"type": "string", "description": "Shown once; send as `Authorization: Bearer`."}},
    },
    "RegradeRequest": {
        "type": "object",
        "required": ["exercise_set"],
        "properties": {"exercise_set": {"type": "string", "minLength": 1},
                       "after": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                       "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                       "new_seed": {"type": "boolean", "default": False,
                                    "description": "Grade Python answers on hidden streams from a seed the current "
                                                   "grader derives, not the one in their result (`meta.seed`)."}},
    },
    "RegradeReport": {
        "type": "object",
        "required": ["exercise_set", "regraded", "changed", "completed", "failed", "failures", "next_after"],
        "properties": {"exercise_set": {"type": "string"}, "grader_version": {"type": "string"},
                       "regraded": {"type": "integer"}, "changed": {"type": "integer"},
                       "completed": {"type": "integer"},
                       "failed": {"type": "integer", "description": "Submissions the grader failed on; each is "
                                  "left as it was and listed in `failures`."},
                       "failures": {"type": "array", "items": {
                           "type": "object", "required": ["submission_id", "student_id", "error"],
                           "properties": {"submission_id": {"type": "integer"}, "student_id": {"type": "string"},
                                          "error": {"type": "string"}}}},
                       "next_after": {"type": ["integer", "null"]},
                       "new_seed": {"type": "boolean", "description": "Whether Python answers got new seeds."}},
    },
    "Reviews": {
        "type": "object",
        "required": ["reviews"],
        "properties": {"reviews": {"type": "array", "items": {
            "type": "object",
            "required": ["submission_id", "student_id", "exercise_id"],
            "properties": {"submission_id": {"type": "integer"}, "student_id": {"type": "string"},
                           "exercise_set": {"type": "string"}, "submitted_at": {"type": "string"},
                           "exercise_id": {"type": "string"}, "title": {"type": ["string", "null"]},
                           "max_score": _NUMBER_OR_NULL, "feedback": _STRINGS,
                           "parts": {"type": "array", "items": ref("Part")},
                           "answer": {"type": "string"}, "group": {"type": "string"}}}},
                       "groups": {"type": "array", "description": "Identical or near-identical answers to one "
                                  "exercise: one decision settles a group.", "items": {
                                      "type": "object", "required": ["group", "exercise_id", "size", "members"],
                                      "properties": {"group": {"type": "string"}, "exercise_set": {"type": "string"},
                                                     "exercise_id": {"type": "string"}, "answer": {"type": "string"},
                                                     "size": {"type": "integer"}, "identical": {"type": "boolean"},
                                                     "members": {"type": "array"}}}}},
    },
    "SettleRequest": {
        "type": "object",
        "required": ["score", "reason"],
        "properties": {"score": {"type": "number", "minimum": 0}, "reason": {"type": "string", "minLength": 1}},
    },
    "SettleReport": {
        "type": "object",
        "required": ["settlement", "exercise", "score"],
        "properties": {"settlement": {"type": "object"}, "exercise": ref("ExerciseResult"),
                       "score": _NUMBER_OR_NULL},
    },
    "Health": {
        "type": "object",
        "required": ["status", "db", "grader_version"],
        "properties": {"status": {"enum": ["ok", "unavailable"]}, "db": {"type": "string"},
                       "grader_version": {"type": "string"}, "sandbox": {},
                       "errors": _STRINGS},
    },
}


# -- building ----------------------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\([^)]*\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_PARAM_SCHEMAS = {
    "int": {"type": "integer", "minimum": 0},
    "id": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    "path": {"type": "string", "minLength": 1},
    "default": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
}


def _path_and_parameters(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        converter = match.group("converter") or "default"
        parameters.append({"name": match.group("name"), "in": "path", "required": True,
                           "schema": dict(_PARAM_SCHEMAS.get(converter, _PARAM_SCHEMAS["default"]))})
        return "{" + match.group("name") + "}"

    return _CONVERTER.sub(replace, rule), parameters


def _operation_dict(op: Operation, endpoint: str, path_parameters: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {"operationId": endpoint.replace(".", "_"), "summary": op.summary, "tags": [op.tag]}
    if op.description:
        data["description"] = op.description
    parameters = [*path_parameters, *op.parameters]
    if parameters:
        data["parameters"] = parameters
    if op.request is not None:
        data["requestBody"] = op.request
    data["security"] = [{"bearer": []}] if op.auth else []
    if op.auth == "instructor":
        data["description"] = (data.get("description", "") + " Needs an instructor token.").strip()
    responses: dict[str, Any] = {}
    for status, (description, content) in sorted(op.responses.items()):
        response: dict[str, Any] = {"description": description}
        if content is not None:
            response["content"] = content
        if status in op.headers:
            response["headers"] = op.headers[status]
        elif status == 429:
            response["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                   "description": "Seconds until a submission is accepted."}}
        responses[str(status)] = response
    data["responses"] = responses
    return data


def build_document(app: Flask, *, title: str = "streamgrade", version: str = "1") -> dict[str, Any]:
    """The OpenAPI document of every route of ``app``; :class:`UndocumentedRoute` if one has no operation."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        op: Operation | None = getattr(view, "openapi_operation", None)
        if op is None:
            raise UndocumentedRoute(f"route {rule.rule} ({rule.endpoint}) has no openapi operation")
        methods = sorted((rule.methods or set()) - IGNORED_METHODS)
        path, parameters = _path_and_parameters(rule.rule)
        for method in methods:
            paths.setdefault(path, {})[method.lower()] = _operation_dict(op, rule.endpoint, parameters)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "Submit answers to the streaming-data exercises and read the grades. "
                           "Errors are always JSON `{\"errors\": [message], ...}`.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A roster token (`streamgrade roster add ID`)."}},
        },
    }


def documented_routes(document: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(METHOD, /path/{param})`` pairs of a document, for comparing with the URL map."""
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


def flask_routes(app: Flask) -> set[tuple[str, str]]:
    """``(METHOD, /path/{param})`` pairs of the app's URL map, in the document's spelling."""
    return {(method, _path_and_parameters(rule.rule)[0])
            for rule in app.url_map.iter_rules() for method in (rule.methods or set()) - IGNORED_METHODS}

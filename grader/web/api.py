"""The JSON API, version 1 (``/api/v1``), and ``/healthz``.

Authentication is ``Authorization: Bearer <token>`` only; the API never reads cookies,
so no other site can make a browser call it with the student's credentials.

Idempotency: ``POST /api/v1/submissions`` takes an optional ``Idempotency-Key`` header
(1 to 255 printable ASCII characters, scoped to the caller).  The first request with a
key answers ``201 Created`` (or ``400`` for an unreadable submission).  A retry with the
same key and the same bytes stores nothing and answers ``200 OK`` with the first
request's submission (same ``id``) and the header ``Idempotent-Replayed: true``; an
unreadable one answers ``400`` again.  A retry after the first attempt died mid-grading
finds the pending submission, grades it and answers ``201`` with its ``id``.  The same
key with different bytes is ``422``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from grader.web.auth import Principal, bearer_token
from grader.web.context import services
from grader.web.desk_data import gradebook as build_gradebook
from grader.web.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    RateLimited,
    StoreUnavailable,
    Unauthenticated,
    UnsupportedMediaType,
)
from grader.web.openapi import (
    ERROR,
    build_document,
    errors,
    json_content,
    operation,
    ref,
)
from grader.web.records import Role
from grader.web.service import Upload, submission_filename

api = Blueprint("api", __name__, url_prefix="/api/v1")
health = Blueprint("health", __name__)

JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
PYTHON_TYPES = ("text/x-python", "text/x-script.python", "application/x-python")
MAX_PAGE = 200
MAX_ID = 2**63 - 1  # ids are 64-bit in both databases

_EXERCISE_SET_QUERY = {"name": "exercise_set", "in": "query", "required": False,
                       "schema": {"type": "string", "minLength": 1},
                       "description": "The exercise set (default: the service's default set)."}


# -- helpers -------------------------------------------------------------------------------------

def require_principal() -> Principal:
    """The caller named by the bearer token, or :class:`Unauthenticated`."""
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    principal = services().roster.authenticate(token)
    if principal is None:
        raise Unauthenticated("unknown token: ask your instructor for a new one")
    return principal


def require_instructor() -> Principal:
    principal = require_principal()
    if not principal.is_instructor:
        raise Forbidden("this route needs an instructor token")
    return principal


def take_rate_token(student_id: str) -> None:
    limiter = services().limiter
    wait = limiter.take(student_id)
    if wait > 0:
        raise RateLimited(f"too many submissions: {limiter.describe()}; retry in {max(1, round(wait))} s", wait)


def json_object(where: str = "request body") -> dict[str, Any]:
    """The request body as a JSON object; a 400 with the parser's line and column otherwise."""
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{where}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"{where}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise BadRequest(f"{where}: nested too deeply to read") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python will convert
        raise BadRequest(f"{where}: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"{where}: expected a JSON object")
    return data


def int_arg(name: str, default: int | None, *, low: int = 0, high: int = MAX_ID) -> int | None:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name}: expected an integer, got {text!r}") from None
    if value < low or (high is not None and value > high):
        raise BadRequest(f"{name}: expected an integer from {low} to {high}")
    return value


def upload_from_request() -> Upload:
    """The submission in the request: a JSON/YAML/Python body, or a multipart ``file`` field."""
    mimetype = request.mimetype
    chosen = request.args.get("exercise_set") or None
    if mimetype == "multipart/form-data":
        file = request.files.get("file")
        if file is None:
            raise BadRequest("multipart upload: expected the submission in a file field named 'file'")
        filename = submission_filename(file.filename)
        return Upload(file.read(), filename, request.form.get("exercise_set") or chosen)
    if mimetype in JSON_TYPES or mimetype.endswith("+json"):
        filename = "submission.json"
    elif mimetype in YAML_TYPES:
        filename = "submission.yaml"
    elif mimetype in PYTHON_TYPES:
        filename = "submission.py"
    else:
        raise UnsupportedMediaType(
            f"unsupported Content-Type {mimetype or '(none)'!r}: send application/json, application/yaml, "
            "text/x-python, or multipart/form-data with a .json, .yaml or .py file")
    return Upload(request.get_data(cache=False), filename, chosen)


# -- submissions ------------------------------------------------------------------------------------

_SUBMIT_REQUEST = {
    "required": True,
    "content": {
        "application/json": {"schema": ref("SubmissionBody")},
        "application/yaml": {"schema": {"type": "string"}},
        "text/x-python": {"schema": {"type": "string"}},
        "multipart/form-data": {"schema": {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary",
                                    "description": "A .json, .yaml or .py submission file."},
                           "exercise_set": {"type": "string"}}}},
    },
}


@api.post("/submissions")
@operation(
    "Submit answers and get them graded",
    description="The body is a submission (JSON, YAML or Python source, or a multipart upload of such a "
                "file). Answers 201 with the result format plus `id`. See the `Idempotency-Key` header for "
                "retries: a replay answers 200 with the first submission and `Idempotent-Replayed: true`.",
    auth="student",
    parameters=(
        {"name": "Idempotency-Key", "in": "header", "required": False,
         "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
         "description": "Makes a retry safe: the same key returns the first submission, stores nothing twice."},
        _EXERCISE_SET_QUERY,
    ),
    request=_SUBMIT_REQUEST,
    responses={
        201: ("Graded and stored.", json_content(ref("Submission"))),
        200: ("A replay of an earlier request with the same Idempotency-Key.", json_content(ref("Submission"))),
        400: ("The submission cannot be read (it is stored, with the reason in `errors`), or the request is "
              "malformed.", ERROR),
        **errors(401, 413, 415, 422, 429, 503),
    },
)
def create_submission() -> tuple[Response, int, dict[str, str]]:
    principal = require_principal()
    take_rate_token(principal.student_id)
    upload = upload_from_request()
    svc = services()
    outcome = svc.submissions.submit(principal.student_id, upload, request.headers.get("Idempotency-Key"))
    document = svc.submissions.document(outcome.submission, just_graded=not (outcome.replayed or outcome.settled),
                                        counting=False)
    headers = {"Location": url_for("api.get_submission", submission_id=outcome.submission.id)}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return jsonify(document), outcome.http_status, headers


@api.get("/submissions")
@operation(
    "The caller's submissions, newest first",
    description="Instructors may pass `student_id` to list a student's submissions.",
    auth="student",
    parameters=(
        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1,
                                                                       "maximum": MAX_PAGE}},
        {"name": "before", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
         "description": "Only submissions with a smaller id (the previous page's `next_before`)."},
        {"name": "student_id", "in": "query", "required": False, "schema": {"type": "string"}},
    ),
    responses={200: ("The history.", json_content(ref("History"))), **errors(400, 401, 403)},
)
def list_submissions() -> Response:
    principal = require_principal()
    limit = int_arg("limit", 50, low=1, high=MAX_PAGE)
    before = int_arg("before", None)
    student_id = request.args.get("student_id") or principal.student_id
    if student_id != principal.student_id and not principal.is_instructor:
        raise Forbidden("only instructors may list another student's submissions")
    assert limit is not None
    items = services().submissions.history(student_id, limit=limit, before=before)
    next_before = items[-1]["id"] if len(items) == limit else None
    return jsonify({"student_id": student_id, "submissions": items, "next_before": next_before})


@api.get("/submissions/<id:submission_id>")
@operation(
    "One submission and its current result",
    description="A student sees only their own submissions: another student's id is 404, not 403.",
    auth="student",
    responses={200: ("The submission.", json_content(ref("Submission"))), **errors(401, 404)},
)
def get_submission(submission_id: int) -> Response:
    principal = require_principal()
    svc = services().submissions
    found = svc.submission_for(submission_id, principal.student_id, any_student=principal.is_instructor)
    return jsonify(svc.document(found))


# -- exercises ------------------------------------------------------------------------------------

@api.get("/exercises")
@operation(
    "Exercise sets: prompts, points and answer schemas (never answers)",
    parameters=({**_EXERCISE_SET_QUERY, "description": "Only this set (default: all)."},),
    responses={200: ("The sets.", json_content(ref("ExerciseSets"))), **errors(404)},
)
def list_exercises() -> Response:
    catalogue = services().catalogue
    wanted = request.args.get("exercise_set")
    ids = [wanted] if wanted else list(catalogue.set_ids())
    return jsonify({"exercise_sets": [catalogue.public_set(i) for i in ids]})


@api.get("/sheet")
@operation(
    "The caller's own sheet: the events and parameters they are graded on (their variant when variants are "
    "on), prompts and points; never answers",
    parameters=(_EXERCISE_SET_QUERY,),
    responses={200: ("The sheet.", json_content(ref("Sheet"))), **errors(401, 404)},
)
def get_sheet() -> Response:
    from grader.web.sheets import student_sheet

    principal = require_principal()
    svc = services()
    base = svc.catalogue.exercise_set(request.args.get("exercise_set") or svc.settings.default_set)
    return jsonify(student_sheet(base, principal.student_id))


@api.get("/template")
@operation(
    "A blank submission for a set: every field present, every value empty (format=python: the skeleton of "
    "the set's Python exercise)",
    parameters=(_EXERCISE_SET_QUERY, {"name": "format", "in": "query", "required": False,
                                      "schema": {"enum": ["json", "python"], "default": "json"}}),
    responses={200: ("The template.", {**json_content(ref("Template")),
                                       "text/x-python": {"schema": {"type": "string"}}}), **errors(400, 404)},
)
def get_template() -> Response:
    svc = services()
    set_id = request.args.get("exercise_set") or svc.settings.default_set
    wanted = request.args.get("format", "json")
    if wanted == "python":
        skeleton = svc.catalogue.python_skeleton(set_id)
        if skeleton is None:
            raise NotFound(f"exercise set {set_id} has no Python exercise")
        return Response(skeleton, mimetype="text/x-python")
    if wanted != "json":
        raise BadRequest(f"format must be json or python, not {wanted[:40]!r}")
    return jsonify(svc.catalogue.template(set_id))


@api.post("/register")
@operation(
    "Register a student id and get its token (open registration only)",
    description="Closed (403) unless the service runs with STREAMGRADE_OPEN_REGISTRATION=true.",
    request={"required": True, "content": json_content(ref("Registration"))},
    responses={201: ("Registered: the token is shown once.", json_content(ref("Token"))),
               **errors(400, 403, 409, 415)},
)
def register() -> tuple[Response, int]:
    svc = services()
    if not svc.settings.open_registration:
        raise Forbidden("registration is closed: ask your instructor for a token")
    if request.mimetype not in JSON_TYPES:
        raise UnsupportedMediaType("send the registration as application/json: {\"student_id\": \"...\"}")
    student_id = json_object().get("student_id")
    token = svc.roster.register(student_id)  # type: ignore[arg-type]  # checked by register()
    return jsonify({"student_id": student_id, "role": Role.STUDENT.value, "token": token}), 201


# -- instructors ----------------------------------------------------------------------------------

@api.get("/instructor/gradebook.csv")
@operation(
    "The gradebook of a set as CSV: one row per student, the sheet and the Python exercise side by side, "
    "under the set's attempt policy",
    tag="instructor",
    auth="instructor",
    parameters=(_EXERCISE_SET_QUERY,),
    responses={200: ("CSV, one row per student.", {"text/csv": {"schema": {"type": "string"}}}),
               **errors(401, 403, 404)},
)
def gradebook() -> Response:
    require_instructor()
    svc = services()
    book = build_gradebook(svc, request.args.get("exercise_set") or svc.settings.default_set)
    return Response(book.csv, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{book.exercise_set}-gradebook.csv"'})


@api.post("/instructor/regrade")
@operation(
    "Regrade a set's submissions with the current grader (in batches)",
    description="Each changed result is stored as a new regrade record; originals are kept. Call again with "
                "`after` = `next_after` until it is null. A Python answer keeps the seed of its hidden streams "
                "(`meta.seed`) unless `new_seed` is true, when the current grader derives it anew.",
    tag="instructor",
    auth="instructor",
    request={"required": True, "content": json_content(ref("RegradeRequest"))},
    responses={200: ("What was regraded.", json_content(ref("RegradeReport"))), **errors(400, 401, 403, 404, 503)},
)
def regrade() -> Response:
    principal = require_instructor()
    body = json_object()
    set_id = body.get("exercise_set")
    after, limit = body.get("after", 0), body.get("limit", services().settings.regrade_batch)
    new_seed = body.get("new_seed", False)
    if not isinstance(set_id, str) or not set_id:
        raise BadRequest("exercise_set: expected the id of an exercise set")
    if not isinstance(new_seed, bool):
        raise BadRequest("new_seed: expected true or false")
    for name, value, low in (("after", after, 0), ("limit", limit, 1)):
        high = MAX_ID if name == "after" else 1000
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BadRequest(f"{name}: expected an integer from {low} to {high}")
    return jsonify(services().submissions.regrade(set_id, principal.student_id, after=after, limit=limit,
                                                  new_seed=new_seed))


@api.get("/instructor/reviews")
@operation(
    "Answers the grader marked needs_review and nobody has settled yet",
    tag="instructor",
    auth="instructor",
    responses={200: ("The waiting answers.", json_content(ref("Reviews"))), **errors(401, 403)},
)
def list_reviews() -> Response:
    require_instructor()
    waiting, groups = services().submissions.review_queue()
    return jsonify({"reviews": waiting, "groups": [g.to_dict() for g in groups]})


@api.post("/instructor/reviews/groups/<group_id>")
@operation(
    "Settle a review group: one score and reason for every answer in it",
    description="A group holds the waiting answers to one exercise that are identical or near-identical "
                "(`GET /instructor/reviews` lists them). Each member gets its own settlement record; the "
                "decision is remembered, so a later submission with the same answer is settled by it.",
    tag="instructor",
    auth="instructor",
    request={"required": True, "content": json_content(ref("SettleRequest"))},
    responses={201: ("Settled.", json_content({"type": "object"})), **errors(400, 401, 403, 404)},
)
def settle_review_group(group_id: str) -> tuple[Response, int]:
    principal = require_instructor()
    body = json_object()
    report = services().submissions.settle_group(group_id, body.get("score"), body.get("reason"),
                                                 principal.student_id)
    return jsonify(report), 201


@api.post("/instructor/reviews/<id:submission_id>/<exercise_id>")
@operation(
    "Settle one exercise of one submission: a score and the reason",
    description="Stored as a new settlement record (who, when, why); the graded result is never changed. "
                "The latest settlement of an exercise counts.",
    tag="instructor",
    auth="instructor",
    request={"required": True, "content": json_content(ref("SettleRequest"))},
    responses={201: ("Settled.", json_content(ref("SettleReport"))), **errors(400, 401, 403, 404)},
)
def settle_review(submission_id: int, exercise_id: str) -> tuple[Response, int]:
    principal = require_instructor()
    body = json_object()
    report = services().submissions.settle(submission_id, exercise_id, body.get("score"), body.get("reason"),
                                           principal.student_id)
    return jsonify(report), 201


@api.get("/openapi.json")
@operation("This document", responses={200: ("The OpenAPI document.", json_content({"type": "object"}))})
def openapi_document() -> Response:
    cache = current_app.extensions.setdefault("streamgrade.openapi", {})
    if "document" not in cache:
        cache["document"] = build_document(current_app, version=services().grader_version)
    return jsonify(cache["document"])


# -- health -----------------------------------------------------------------------------------------

@health.get("/healthz")
@operation(
    "Liveness and readiness: the store answers; grader version; sandbox status when known",
    tag="health",
    responses={200: ("Ready.", json_content(ref("Health"))),
               503: ("Not ready: `errors` says what is missing.", json_content(ref("Health")))},
)
def healthz() -> tuple[Response, int]:
    svc = services()
    body: dict[str, Any] = {"status": "ok", "db": svc.store.dialect, "grader_version": svc.grader_version}
    problems: list[str] = []
    try:
        svc.store.ping()
    except StoreUnavailable as exc:
        problems.append(exc.message)
    body["sandbox"] = _sandbox_status(svc.sandbox_probe)
    if problems:
        body.update(status="unavailable", errors=problems)
        return jsonify(body), 503
    return jsonify(body), 200


_SANDBOX_CACHE_SECONDS = 60.0


def _sandbox_status(probe: Any) -> Any:
    """What ``grader.sandbox``'s probe says, cached for a minute per worker ("unknown" without one)."""
    if probe is None:
        return "unknown"
    cache = current_app.extensions.setdefault("streamgrade.sandbox", {})
    now = time.monotonic()
    if cache.get("until", 0.0) < now:
        try:
            status = probe()
            if hasattr(status, "to_dict"):
                status = status.to_dict()
            json.dumps(status)
        except Exception as exc:  # a broken probe must not break the health check
            status = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
        cache.update(status=status, until=now + _SANDBOX_CACHE_SECONDS)
    return cache["status"]

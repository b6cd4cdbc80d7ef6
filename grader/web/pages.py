"""The web page: log in with a roster token, paste or upload a submission, read the result.

Plain HTML forms, no JavaScript.  Logging in puts the token in a cookie that is
``HttpOnly`` (no script can read it), ``SameSite=Strict`` (no other site's page sends
it) and ``Secure`` over HTTPS.  Every form post also carries a CSRF token that must
equal the ``sg_csrf`` cookie (the double-submit pattern: another site can neither read
nor set that cookie), so it needs no server-side session and works across workers.  A
submission form carries a fresh ``Idempotency-Key``, so a double click stores one
submission.  After a submission the browser is redirected to its result page (POST,
redirect, GET), which can be reloaded and bookmarked.

Everything a student wrote is shown through Jinja's autoescaping.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, send_from_directory, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from grader.web.api import take_rate_token
from grader.web.auth import Principal
from grader.web.context import services
from grader.web.errors import BadRequest, Forbidden, WebError
from grader.web.openapi import HTML, html_errors, operation
from grader.web.paste_check import check_paste
from grader.web.service import Upload, submission_filename

pages = Blueprint("pages", __name__, template_folder="templates")

TOKEN_COOKIE = "sg_token"
CSRF_COOKIE = "sg_csrf"
TOKEN_COOKIE_SECONDS = 8 * 3600
PASTE_SUFFIX = {"json": ".json", "yaml": ".yaml", "python": ".py"}
HISTORY_LENGTH = 20

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def _form_body(properties: dict[str, Any], required: list[str], *, multipart: bool = False) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {(_MULTIPART if multipart else _FORM): {"schema": schema}}}


_CSRF_FIELD = {"csrf_token": {"type": "string"}}
_REDIRECT = {"Location": {"schema": {"type": "string"}, "description": "Where the browser goes next."}}


@pages.app_template_filter("answer")
def answer_text(value: Any) -> str:
    """An answer value as text for a ``<pre>``: strings as written, anything else as JSON that
    keeps small objects on one line (a row per line).

    Returns a plain ``str``, so autoescaping shows ``<script>`` as text.
    """
    if isinstance(value, str):
        return value
    return _compact_json(value, "")


def _compact_json(value: Any, indent: str, width: int = 72) -> str:
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) + len(indent) <= width or not isinstance(value, dict | list) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, list):
        items = [inner + _compact_json(v, inner, width) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_compact_json(v, inner, width)}" for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + indent + "}"


@pages.app_template_filter("filesize")
def file_size(n: float) -> str:
    """``262144`` -> ``256 KiB``."""
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:g} {unit}"
        n /= 1024
    return f"{n:g} MiB"


# -- cookies and the caller ------------------------------------------------------------------------

def _secure() -> bool:
    mode = services().settings.cookie_secure
    return mode == "always" or (mode == "auto" and request.is_secure)


def _set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=_secure(), httponly=True, samesite="Strict")


def csrf_token() -> str:
    """This browser's CSRF token (made, and set as a cookie after the request, on first use)."""
    if "csrf_token" not in g:
        existing = request.cookies.get(CSRF_COOKIE, "")
        g.csrf_new = not (16 <= len(existing) <= 64)
        g.csrf_token = secrets.token_urlsafe(24) if g.csrf_new else existing
    return g.csrf_token


def check_csrf() -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get("csrf_token", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise Forbidden("this form has expired or came from another site: reload the page and try again")


@pages.after_app_request
def _store_csrf_cookie(response: Response) -> Response:
    if g.get("csrf_new"):
        _set_cookie(response, CSRF_COOKIE, g.csrf_token)
    return response


def page_principal() -> Principal | None:
    if "principal" not in g:
        token = request.cookies.get(TOKEN_COOKIE)
        g.principal = services().roster.authenticate(token) if token else None
    return g.principal


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    svc = services()
    principal = page_principal()
    context.setdefault("error", None)
    context.setdefault("pasted", "")
    context.setdefault("paste_format", "json")
    return render_template(
        template,
        principal=principal,
        csrf_token=csrf_token(),
        open_registration=svc.settings.open_registration,
        exercise_sets=svc.catalogue.set_ids(),
        default_set=svc.settings.default_set,
        max_bytes=svc.settings.max_bytes,
        **context,
    ), status


def _index(status: int = 200, **context: Any) -> tuple[str, int]:
    principal = page_principal()
    history = services().submissions.history(principal.student_id, limit=HISTORY_LENGTH) if principal else []
    return _render("index.html", status, history=history, idempotency_key=secrets.token_urlsafe(16), **context)


# -- routes -------------------------------------------------------------------------------------------

@pages.get("/")
@operation("The page: log in, submit, see one's history", tag="page", responses={200: ("The page.", HTML)})
def index() -> tuple[str, int]:
    return _index()


@pages.post("/login")
@operation(
    "Log in with a roster token (sets an HttpOnly, SameSite=Strict cookie)",
    tag="page",
    request=_form_body({"token": {"type": "string"}, **_CSRF_FIELD}, ["token", "csrf_token"]),
    responses={303: ("Logged in: back to the page.", None), **html_errors(400, 401, 403)},
    headers={303: _REDIRECT},
)
def login() -> Response | tuple[str, int]:
    check_csrf()
    token = request.form.get("token", "").strip()
    principal = services().roster.authenticate(token) if token else None
    if principal is None:
        return _index(401, error="That token is not on the roster. Check it, or ask your instructor for a new one.")
    response = redirect(url_for("pages.index"), code=303)
    _set_cookie(response, TOKEN_COOKIE, token, max_age=TOKEN_COOKIE_SECONDS)
    return response


@pages.post("/logout")
@operation(
    "Log out (clears the cookie)",
    tag="page",
    request=_form_body(_CSRF_FIELD, ["csrf_token"]),
    responses={303: ("Logged out.", None), **html_errors(400, 403)},
    headers={303: _REDIRECT},
)
def logout() -> Response:
    check_csrf()
    response = redirect(url_for("pages.index"), code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/", secure=_secure(), httponly=True, samesite="Strict")
    return response


@pages.post("/register")
@operation(
    "Register a student id (open registration only); shows the token once and logs in",
    tag="page",
    request=_form_body({"student_id": {"type": "string"}, **_CSRF_FIELD}, ["student_id", "csrf_token"]),
    responses={200: ("Registered: the page shows the token once.", HTML), **html_errors(400, 403, 409)},
)
def register() -> Response | tuple[str, int]:
    check_csrf()
    svc = services()
    if not svc.settings.open_registration:
        raise Forbidden("registration is closed: ask your instructor for a token")
    student_id = request.form.get("student_id", "").strip()
    try:
        token = svc.roster.register(student_id)
    except WebError as exc:
        return _index(exc.http_status, error=exc.message)
    g.principal = svc.roster.authenticate(token)
    body, status = _render("registered.html", token=token, student_id=student_id)
    response = Response(body, status, mimetype="text/html")
    _set_cookie(response, TOKEN_COOKIE, token, max_age=TOKEN_COOKIE_SECONDS)
    return response


@pages.post("/submit")
@operation(
    "Submit from the page: a pasted text or an uploaded file; redirects to the result",
    tag="page",
    request=_form_body({
        "csrf_token": {"type": "string"},
        "idempotency_key": {"type": "string"},
        "exercise_set": {"type": "string"},
        "paste_format": {"enum": ["json", "yaml", "python"]},
        "submission": {"type": "string"},
        "file": {"type": "string", "format": "binary"},
    }, ["csrf_token"], multipart=True),
    responses={303: ("Stored: go to the result page.", None),
               **html_errors(400, 401, 403, 413, 415, 422, 429, 503)},
    headers={303: _REDIRECT},
)
def submit() -> Response | tuple[str, int]:
    pasted = ""
    paste_format = "json"
    try:
        form = request.form  # parses the body: too large raises here
        pasted = form.get("submission", "")
        paste_format = form.get("paste_format", "json") if form.get("paste_format") in PASTE_SUFFIX else "json"
        check_csrf()
        principal = page_principal()
        if principal is None:
            return _index(401, error="Log in with your token first.")
        take_rate_token(principal.student_id)
        upload = _page_upload(pasted, paste_format)
        uploaded = request.files.get("file")
        problem = check_paste(pasted, paste_format) if not (uploaded and uploaded.filename) else None
        if problem is not None and problem.looks_like:
            # The wrong format chosen: nothing to keep yet, the right one is now selected.
            return _index(422, error=problem.message, pasted=pasted, paste_format=problem.looks_like)
        outcome = services().submissions.submit(principal.student_id, upload, form.get("idempotency_key") or None)
        if problem is not None:
            # Kept as an unreadable attempt (as a file would be), and shown where it goes wrong,
            # with the text still in the box to mend.
            return _index(422, error=f"{problem.message} (kept as submission {outcome.submission.id}, unreadable)",
                          paste_excerpt=problem.excerpt, pasted=pasted, paste_format=paste_format)
    except RequestEntityTooLarge:
        limit = services().settings.max_bytes
        return _index(413, error=f"That submission is too large: the limit is {limit} bytes.")
    except WebError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _index(exc.http_status, error=exc.message, pasted=pasted, paste_format=paste_format)
    return redirect(url_for("pages.show_submission", submission_id=outcome.submission.id), code=303)


def _page_upload(pasted: str, paste_format: str) -> Upload:
    file = request.files.get("file")
    chosen = request.form.get("exercise_set") or None
    if file is not None and file.filename:
        return Upload(file.read(), submission_filename(file.filename), chosen)
    if not pasted.strip():
        raise BadRequest("Paste your answers or choose a file first.")
    # Browsers send a textarea's line breaks as CRLF; the student typed LF.
    raw = pasted.replace("\r\n", "\n").encode("utf-8")
    return Upload(raw, "submission" + PASTE_SUFFIX[paste_format], chosen)


@pages.get("/static/<path:filename>")
@operation("Stylesheet and other static files", tag="page",
           responses={200: ("The file.", {"text/css": {"schema": {"type": "string"}}}), **html_errors(404)})
def static_file(filename: str) -> Response:
    return send_from_directory(current_app.config["STREAMGRADE_STATIC_DIR"], filename, max_age=3600)


def page_error(status: int, message: str) -> tuple[str, int]:
    """The HTML answer to an error raised by a page route."""
    titles = {401: "Please log in", 403: "Not allowed", 404: "Not found", 413: "Too large", 429: "Slow down"}
    return _render("error.html", status, error=message, title=titles.get(status, "Something went wrong"))

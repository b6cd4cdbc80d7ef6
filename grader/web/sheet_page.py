"""The sheet page: a student's events and parameters, and the answer form of every exercise.

The form is generated from the set (:mod:`grader.web.answer_form`) and posts to
``/sheet``, which turns it into the submission document the API takes
(:mod:`grader.web.form_data`) and submits it like a pasted file, so it is stored, graded
and shown by the same code.  It works without JavaScript: "Add a row" is a submit button
that draws the form again with one more row and grades nothing; the script
(``static/answer_form.js``) does the same in place and keeps a draft in the browser.

The Python exercise is on the same page: the signatures from its skeleton, the skeleton
to download (``/sheet/solution.py``) and an upload that posts to ``/submit``.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Response, redirect, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from grader.exercises.model import ExerciseSet
from grader.web.answer_form import MAX_ROWS, ExerciseForm, FormField, Widget, sheet_forms
from grader.web.api import take_rate_token
from grader.web.context import services
from grader.web.errors import Forbidden, NotFound, WebError
from grader.web.form_data import form_values, group_key, member_key, none_key, submission_document, table_rows
from grader.web.openapi import HTML, html_errors, operation
from grader.web.pages import _REDIRECT, _index, _render, check_csrf, page_principal, pages
from grader.web.python_sheet import python_summary
from grader.web.service import Upload

#: Rows a table shows beyond those filled in (and at least this many in all).
SPARE_ROWS = 1
MIN_ROWS = 2


@pages.get("/sheet")
@operation(
    "The logged-in student's own sheet (their variant when variants are on), with an answer form for every "
    "exercise and the Python exercise",
    tag="page",
    responses={200: ("The sheet.", HTML), 303: ("Not logged in: to the login form.", None), **html_errors(404)},
    headers={303: _REDIRECT},
)
def show_sheet() -> Response | tuple[str, int]:
    principal = page_principal()
    if principal is None:
        return redirect(url_for("pages.index"), code=303)
    svc = services()
    base = svc.catalogue.exercise_set(request.args.get("exercise_set") or svc.settings.default_set)
    return _sheet(base, principal.student_id, {})


@pages.post("/sheet")
@operation(
    "Submit the sheet's answer form (or, with add_row, draw it again with one more row in that table); "
    "a submission redirects to its result",
    tag="page",
    request={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["csrf_token"],
        "properties": {"csrf_token": {"type": "string"}, "idempotency_key": {"type": "string"},
                       "exercise_set": {"type": "string"}, "add_row": {"type": "string"}},
        "additionalProperties": {"type": "string"}}}}},
    responses={200: ("The form again, with one more row.", HTML), 303: ("Stored: go to the result page.", None),
               **html_errors(400, 401, 403, 404, 413, 422, 429, 503)},
    headers={303: _REDIRECT},
)
def submit_sheet() -> Response | tuple[str, int]:
    svc = services()
    try:
        form = request.form  # parses the body: too large raises here
    except RequestEntityTooLarge:
        return _index(413, error=f"Those answers are too large: the limit is {svc.settings.max_bytes} bytes.")
    check_csrf()
    principal = page_principal()
    if principal is None:
        return redirect(url_for("pages.index"), code=303)
    base = svc.catalogue.exercise_set(form.get("exercise_set") or svc.settings.default_set)
    forms = sheet_forms(base)
    document = submission_document(forms, form, exercise_set=base.id, student_id=principal.student_id)
    posted_rows = _posted_rows(forms, form)
    add_row = form.get("add_row")
    if add_row:
        if add_row in posted_rows:
            posted_rows[add_row] = min(posted_rows[add_row] + 1, MAX_ROWS)
        return _sheet(base, principal.student_id, document["answers"], rows=posted_rows, focus=add_row)
    try:
        take_rate_token(principal.student_id)
        raw = json.dumps(document, ensure_ascii=False).encode("utf-8")
        outcome = svc.submissions.submit(principal.student_id, Upload(raw, "answers.json", base.id),
                                         form.get("idempotency_key") or None)
    except WebError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _sheet(base, principal.student_id, document["answers"], rows=posted_rows, status=exc.http_status,
                      error=exc.message)
    return redirect(url_for("pages.show_submission", submission_id=outcome.submission.id), code=303)


@pages.get("/sheet/solution.py")
@operation(
    "The skeleton of the set's Python exercise, to download",
    tag="page",
    responses={200: ("The skeleton.", {"text/x-python": {"schema": {"type": "string"}}}),
               303: ("Not logged in: to the login form.", None), **html_errors(404)},
    headers={303: _REDIRECT},
)
def python_skeleton() -> Response:
    if page_principal() is None:
        return redirect(url_for("pages.index"), code=303)
    svc = services()
    set_id = request.args.get("exercise_set") or svc.settings.default_set
    skeleton = svc.catalogue.python_skeleton(set_id)
    summary = python_summary(svc.catalogue.exercise_set(set_id))
    if skeleton is None or summary is None:
        raise NotFound(f"exercise set {set_id} has no Python exercise")
    response = Response(skeleton, mimetype="text/x-python")
    response.headers["Content-Disposition"] = f'attachment; filename="{summary.filename}"'
    return response


def _sheet(base: ExerciseSet, student_id: str, answers: dict[str, Any], *, rows: dict[str, int] | None = None,
           status: int = 200, error: str | None = None, focus: str | None = None) -> tuple[str, int]:
    """The sheet page with the form holding ``answers``."""
    from grader.web.sheets import student_sheet

    forms = sheet_forms(base)
    values = form_values(forms, answers)
    return _render(
        "sheet.html", status, error=error,
        sheet=student_sheet(base, student_id),
        forms=forms, values=values, rows=_rows_to_draw(forms, values, rows or {}), focus=focus,
        python=python_summary(base), member_key=member_key, none_key=none_key, group_key=group_key,
        idempotency_key=secrets.token_urlsafe(16), python_idempotency_key=secrets.token_urlsafe(16),
    )


def _tables(fields: tuple[FormField, ...], key_of: Any) -> list[tuple[FormField, str]]:
    """Every table of an exercise's fields with its form name (tables inside groups too)."""
    found = []
    for f in fields:
        key = key_of(f)
        if f.widget is Widget.TABLE:
            found.append((f, key))
        elif f.widget is Widget.GROUP:
            found += _tables(f.members, lambda m, g=f, k=key: group_key(m, g, k))
    return found


def _all_tables(forms: tuple[ExerciseForm, ...]) -> list[tuple[FormField, str]]:
    return [t for ef in forms for t in _tables(ef.fields, lambda f: f.key)]


def _posted_rows(forms: tuple[ExerciseForm, ...], form: Any) -> dict[str, int]:
    """How many rows each table was drawn with when it was posted (so a re-drawn form keeps them)."""
    return {key: max(table_rows({k: 1 for k in form}, key), MIN_ROWS) for _, key in _all_tables(forms)}


def _rows_to_draw(forms: tuple[ExerciseForm, ...], values: dict[str, Any], asked: dict[str, int]) -> dict[str, int]:
    return {key: min(max(table_rows(values, key) + SPARE_ROWS, MIN_ROWS, asked.get(key, 0)), MAX_ROWS)
            for _, key in _all_tables(forms)}

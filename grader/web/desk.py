"""The instructor's desk: the gradebook, statistics, reviews, regrade, roster and submissions as pages.

Each page calls the same service functions as the JSON API (one path: a settlement from
the desk and from ``POST /api/v1/instructor/reviews/...`` are the same record).  Only an
instructor token gets in (a student gets a 403 page, a visitor the login form); every
post carries the page's CSRF token and ends in a redirect (POST, redirect, GET), and every
form works without JavaScript.  A reissued token is shown once, as at registration.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request, url_for

from grader.web.auth import REVOKED_PREFIX, Principal
from grader.web.context import services
from grader.web.desk_data import assignment_stats, gradebook, sort_rows
from grader.web.errors import BadRequest, Forbidden, WebError
from grader.web.openapi import HTML, html_errors, operation
from grader.web.pages import _REDIRECT, _render, check_csrf, page_principal
from grader.web.records import Role

desk = Blueprint("desk", __name__, url_prefix="/desk")

_FORM = "application/x-www-form-urlencoded"
_PAGE = {200: ("The page.", HTML), 303: ("Not logged in: to the login form.", None), **html_errors(403, 404)}
_POSTED = {303: ("Done: back to the page.", None), **html_errors(400, 403, 404)}
BROWSE_PAGE = 50


def _form(properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "required": ["csrf_token"],
              "properties": {"csrf_token": {"type": "string"}, **properties}}
    return {"required": True, "content": {_FORM: {"schema": schema}}}


def _instructor() -> Principal | None:
    """The logged-in instructor, ``None`` when nobody is logged in; :class:`Forbidden` for a student."""
    principal = page_principal()
    if principal is not None and not principal.is_instructor:
        raise Forbidden("the instructor's desk needs an instructor token")
    return principal


def _page(view: str, **context: Any) -> tuple[str, int]:
    svc = services()
    set_id = request.args.get("exercise_set") or svc.settings.default_set
    return _render("desk.html", view=view, set_id=set_id, **context)


def _set_id() -> str:
    svc = services()
    return request.values.get("exercise_set") or svc.settings.default_set


def _login() -> Response:
    return redirect(url_for("pages.index"), code=303)


@desk.get("")
@operation("The instructor's desk: the gradebook of a set (sortable), its attempt policy and CSV", tag="page",
           responses=_PAGE, headers={303: _REDIRECT})
def show_gradebook() -> Response | tuple[str, int]:
    if _instructor() is None:
        return _login()
    book = gradebook(services(), _set_id())
    column = request.args.get("sort") if request.args.get("sort") in book.columns else "student_id"
    descending = request.args.get("order") == "desc"
    rows = sort_rows(book.rows, column, descending) if column in book.columns else list(book.rows)
    return _page("gradebook", book=book, rows=rows, sort=column, descending=descending)


@desk.get("/gradebook.csv")
@operation("The gradebook as CSV, the same file as the API's", tag="page",
           responses={200: ("CSV.", {"text/csv": {"schema": {"type": "string"}}}), 303: ("Log in first.", None),
                      **html_errors(403, 404)}, headers={303: _REDIRECT})
def download_gradebook() -> Response:
    if _instructor() is None:
        return _login()
    book = gradebook(services(), _set_id())
    return Response(book.csv, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{book.exercise_set}-gradebook.csv"'})


@desk.get("/statistics")
@operation("Per-exercise statistics of a set: counts, means, medians, the score histogram, common diagnoses",
           tag="page", responses=_PAGE, headers={303: _REDIRECT})
def show_statistics() -> Response | tuple[str, int]:
    if _instructor() is None:
        return _login()
    return _page("statistics", stats=assignment_stats(services(), _set_id()))


@desk.get("/reviews")
@operation("The review queue: waiting answers in groups, each with a settle form", tag="page",
           responses=_PAGE, headers={303: _REDIRECT})
def show_reviews() -> Response | tuple[str, int]:
    if _instructor() is None:
        return _login()
    _, groups = services().submissions.review_queue()
    return _page("reviews", groups=groups, settled=request.args.get("settled"))


@desk.post("/reviews/<group_id>")
@operation("Settle a review group from the desk: points and a comment for every answer in it", tag="page",
           request=_form({"score": {"type": "string"}, "reason": {"type": "string"}}), responses=_POSTED,
           headers={303: _REDIRECT})
def settle_group(group_id: str) -> Response | tuple[str, int]:
    check_csrf()
    principal = _instructor()
    if principal is None:
        return _login()
    raw_score = request.form.get("score", "").strip()
    try:
        score = float(raw_score)
    except ValueError:
        raise BadRequest(f"points: expected a number, not {raw_score[:40]!r}") from None
    if score != score or score in (float("inf"), float("-inf")):
        raise BadRequest("points: expected a finite number")
    report = services().submissions.settle_group(group_id, score, request.form.get("reason", "").strip(),
                                                 principal.student_id)
    return redirect(url_for("desk.show_reviews", settled=str(report["settled"])), code=303)


@desk.get("/regrade")
@operation("The regrade form of a set", tag="page", responses=_PAGE, headers={303: _REDIRECT})
def show_regrade() -> Response | tuple[str, int]:
    if _instructor() is None:
        return _login()
    return _page("regrade", report=None)


@desk.post("/regrade")
@operation("Regrade a set from the desk (a batch; the page offers the next one)", tag="page",
           request=_form({"exercise_set": {"type": "string"}, "after": {"type": "string"},
                          "new_seed": {"type": "string"}}),
           responses={200: ("What was regraded.", HTML), **html_errors(400, 403, 404)})
def run_regrade() -> Response | tuple[str, int]:
    check_csrf()
    principal = _instructor()
    if principal is None:
        return _login()
    try:
        after = int(request.form.get("after") or 0)
    except ValueError:
        raise BadRequest("after: expected a submission id") from None
    svc = services()
    report = svc.submissions.regrade(_set_id(), principal.student_id, after=max(0, min(after, 2**63 - 1)),
                                     limit=svc.settings.regrade_batch, new_seed=request.form.get("new_seed") == "1")
    return _page("regrade", report=report)


@desk.get("/roster")
@operation("The roster: students and instructors (never tokens), add, reissue, revoke", tag="page",
           responses=_PAGE, headers={303: _REDIRECT})
def show_roster() -> Response | tuple[str, int]:
    if _instructor() is None:
        return _login()
    return _page("roster", entries=_entries(), confirm=request.args.get("confirm"), token=None)


def _entries() -> list[dict[str, Any]]:
    return [{"student_id": e.student_id, "role": e.role.value, "revoked": e.token_hash.startswith(REVOKED_PREFIX),
             "created_at": e.created_at} for e in services().store.roster()]


@desk.post("/roster")
@operation("Add a student (or, for one already there with confirm=1, reissue their token); shows the token once",
           tag="page", request=_form({"student_id": {"type": "string"}, "confirm": {"type": "string"}}),
           responses={200: ("The new token, shown once.", HTML), **html_errors(400, 403, 404, 409)})
def add_student() -> Response | tuple[str, int]:
    check_csrf()
    if _instructor() is None:
        return _login()
    svc = services()
    student_id = request.form.get("student_id", "").strip()
    known = {e.student_id for e in svc.store.roster()}
    if student_id in known and request.form.get("confirm") != "1":
        return redirect(url_for("desk.show_roster", confirm=student_id), code=303)
    try:
        token = svc.roster.reissue(student_id) if student_id in known else svc.roster.add(student_id, Role.STUDENT)
    except WebError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _render("desk.html", exc.http_status, view="roster", set_id=_set_id(), error=exc.message,
                       entries=_entries(), confirm=None, token=None)
    return _page("token", student_id=student_id, token=token, reissued=student_id in known)


@desk.post("/roster/revoke")
@operation("Revoke someone's token (their submissions stay)", tag="page",
           request=_form({"student_id": {"type": "string"}}), responses=_POSTED, headers={303: _REDIRECT})
def revoke_student() -> Response | tuple[str, int]:
    check_csrf()
    principal = _instructor()
    if principal is None:
        return _login()
    student_id = request.form.get("student_id", "").strip()
    if student_id == principal.student_id:
        raise BadRequest("you cannot revoke your own token while logged in with it")
    services().roster.revoke(student_id)
    return redirect(url_for("desk.show_roster"), code=303)


@desk.get("/submissions")
@operation("The submission browser: any student's submissions, newest first, each opening its result",
           tag="page", responses=_PAGE, headers={303: _REDIRECT})
def browse_submissions() -> Response | tuple[str, int]:
    if _instructor() is None:
        return _login()
    student = request.args.get("student", "").strip()[:64] or None
    wanted_set = request.args.get("exercise_set", "").strip()[:64] or None
    try:
        before = int(request.args["before"]) if request.args.get("before") else None
    except ValueError:
        raise BadRequest("before: expected a submission id") from None
    before = None if before is None else max(0, min(before, 2**63 - 1))
    found = services().store.recent_submissions(exercise_set=wanted_set, student_id=student, before=before,
                                                limit=BROWSE_PAGE)
    more = found[-1].id if len(found) == BROWSE_PAGE else None
    return _page("submissions", found=found, student=student or "", wanted_set=wanted_set or "", more=more)

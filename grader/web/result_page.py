"""The result page of one submission: ``GET /submissions/<id>``, on the ``pages`` blueprint.

The route only finds the submission, the set it was graded on (the student's variant,
:func:`grader.web.sheets.graded_set`) and that set's timelines, and hands them to
:func:`grader.web.result_view.result_view`, which decides what the page says; the template
lays it out.  Importing this module registers the route (``grader.web.app`` imports it).
"""

from __future__ import annotations

import json

from flask import Response, redirect, url_for

from grader.exercises.model import ExerciseSet
from grader.python.exercise import python_exercise_of
from grader.web.context import services
from grader.web.openapi import HTML, html_errors, operation
from grader.web.pages import _REDIRECT, _render, page_principal, pages
from grader.web.result_view import Diagnosis, humane_code, result_view
from grader.web.sheets import graded_set


@pages.get("/submissions/<id:submission_id>")
@operation(
    "The result page of one of the caller's submissions",
    tag="page",
    responses={200: ("The result.", HTML), 303: ("Not logged in: to the login form.", None), **html_errors(404)},
    headers={303: _REDIRECT},
)
def show_submission(submission_id: int) -> Response | tuple[str, int]:
    principal = page_principal()
    if principal is None:
        return redirect(url_for("pages.index"), code=303)
    svc = services()
    found = svc.submissions.submission_for(submission_id, principal.student_id, any_student=principal.is_instructor)
    document = svc.submissions.document(found)
    exercise_set: ExerciseSet | None = None
    timelines: dict[str, str] = {}
    titles: dict[str, Diagnosis] = {}
    if found.exercise_set in svc.catalogue.set_ids():
        exercise_set = graded_set(svc.catalogue.exercise_set(found.exercise_set), found.student_id)
        if found.filename.endswith(".py"):
            titles = _python_titles(exercise_set)
        else:
            timelines = svc.timelines.for_exercises(exercise_set)
    view = result_view(document, exercise_set, timelines, titles)
    return _render("submission.html", submission=document, view=view,
                   show_json=json.dumps(document, indent=2, ensure_ascii=False))


def _python_titles(exercise_set: ExerciseSet) -> dict[str, Diagnosis]:
    """The Python exercise's mistakes by code: their words, its feedback as the explanation."""
    exercise = python_exercise_of(exercise_set)
    if exercise is None:
        return {}
    return {m.code: Diagnosis(humane_code(m.code), m.feedback) for m in exercise.mistakes}

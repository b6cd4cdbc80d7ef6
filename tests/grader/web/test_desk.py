"""The instructor's desk over HTTP (gunicorn): who gets in, and each flow an instructor uses.

Statistics, the gradebook, regrade and the roster run on the real grader (submissions of
the example files, whose mistakes the engine recognises); the review queue on the stand-in
grader, where an answer with a "?" awaits review (as in test_review_groups).
"""

from __future__ import annotations

import base64
import html
import json
import re
import uuid
from collections.abc import Iterator

import pytest

from tests.grader.web.conftest import (
    EXAMPLES,
    REAL_GRADER_SKIP,
    SAMPLE_SUBMISSION,
    Service,
    real_grader_works,
    start_service,
)
from tests.grader.web.test_pages import Browser

DESK_PAGES = ("/desk", "/desk/gradebook.csv", "/desk/statistics", "/desk/reviews", "/desk/regrade", "/desk/roster",
              "/desk/submissions")
real_only = pytest.mark.skipif(not real_grader_works(), reason=REAL_GRADER_SKIP)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service("sqlite", tmp_path_factory.mktemp("desk"), env={"STREAMGRADE_TEST_REAL_GRADER": "1"})


def _instructor(service: Service) -> Browser:
    browser = Browser(service)
    assert browser.login(service.instructor).status == 303
    return browser


def _csrf(browser: Browser, path: str = "/desk") -> str:
    return browser.hidden(browser.get(path), "csrf_token")


@real_only
def test_only_an_instructor_gets_in(real: Service):
    for path in DESK_PAGES:
        assert Browser(real).get(path).status == 303, path  # to the login form
    _, token = real.new_student()
    student = Browser(real)
    student.login(token)
    for path in DESK_PAGES:
        reply = student.get(path)
        assert reply.status == 403 and "instructor" in reply.text, path
    assert student.post_form("/desk/regrade", {"csrf_token": "x" * 32}).status == 403
    home = _instructor(real).get("/")
    assert 'href="/desk"' in home.text  # the instructor's start page leads to the desk


@real_only
def test_gradebook_statistics_and_the_submission_browser(real: Service):
    student, token = real.new_student()
    pupil = Browser(real)
    pupil.login(token)
    document = json.loads((EXAMPLES / "window_end_inclusive.json").read_text())
    submitted = pupil.submit(json.dumps({**document, "student_id": student}))
    submission_id = submitted.header("Location").rsplit("/", 1)[1]
    desk = _instructor(real)
    page = desk.get("/desk")
    assert page.status == 200 and 'id="policy"' in page.text and "best per exercise" in page.text
    assert f"<td>{student}</td>" in page.text
    by_score = desk.get("/desk?sort=overall&order=desc")
    assert 'aria-sort="descending"' in by_score.text
    csv_page = desk.get("/desk/gradebook.csv")
    csv_api = real.request("GET", "/api/v1/instructor/gradebook.csv", token=real.instructor)
    assert csv_page.status == 200 and csv_page.text == csv_api.text and student in csv_page.text
    stats = desk.get("/desk/statistics")
    uri = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', stats.text)
    assert stats.status == 200 and uri
    assert "Score, % of" in base64.b64decode(uri.group(1)).decode()
    assert "Most common diagnoses" in stats.text and "inclusive_window_end" not in stats.text
    browse = desk.get(f"/desk/submissions?student={student}")
    assert f'href="/submissions/{submission_id}"' in browse.text
    assert desk.get(f"/submissions/{submission_id}").status == 200  # the instructor opens any student's result
    assert desk.get("/desk/submissions?before=nope").status == 400


@real_only
def test_regrade_from_the_desk(real: Service):
    desk = _instructor(real)
    reply = desk.post_form("/desk/regrade", {"csrf_token": _csrf(desk), "exercise_set": "week10"})
    assert reply.status == 200 and 'id="regrade-report"' in reply.text and "Regraded" in reply.text
    assert desk.post_form("/desk/regrade", {"exercise_set": "week10"}).status == 403  # no CSRF token


@real_only
def test_roster_add_reissue_with_confirmation_and_revoke(real: Service):
    desk = _instructor(real)
    new_id = f"n{uuid.uuid4().hex[:8]}"
    added = desk.post_form("/desk/roster", {"csrf_token": _csrf(desk), "student_id": new_id})
    token = html.unescape(re.search(r'<pre class="token" id="token">([^<]+)</pre>', added.text).group(1))
    assert Browser(real).login(token).status == 303
    again = desk.post_form("/desk/roster", {"csrf_token": _csrf(desk), "student_id": new_id})
    assert again.status == 303 and "confirm=" in again.header("Location")  # asks first
    confirm = desk.get(again.header("Location"))
    assert "stops working" in confirm.text and 'id="confirm-reissue"' in confirm.text
    reissued = desk.post_form("/desk/roster", {"csrf_token": _csrf(desk), "student_id": new_id, "confirm": "1"})
    new_token = html.unescape(re.search(r'id="token">([^<]+)<', reissued.text).group(1))
    assert new_token != token
    assert Browser(real).login(token).status == 401 and Browser(real).login(new_token).status == 303
    revoked = desk.post_form("/desk/roster/revoke", {"csrf_token": _csrf(desk), "student_id": new_id})
    assert revoked.status == 303
    assert Browser(real).login(new_token).status == 401
    assert f"<td data-label=\"Id\">{new_id}</td>" in desk.get("/desk/roster").text
    assert desk.post_form("/desk/roster", {"csrf_token": _csrf(desk), "student_id": "a b"}).status == 400


def test_settle_a_review_group_from_the_desk(service: Service):
    tag = uuid.uuid4().hex[:8]
    ids = []
    for _ in range(2):
        _, token = service.new_student()
        body = {**SAMPLE_SUBMISSION, "answers": {"ex1": {"event_time": f"when it happened {tag}?"}}}
        reply = service.request("POST", "/api/v1/submissions", body, token=token)
        ids.append(reply.json["id"])
    desk = _instructor(service)
    queue = desk.get("/desk/reviews")
    assert tag in queue.text
    group = re.search(r'action="/desk/reviews/([^"]+)"[^>]*>(?:(?!</form>).)*?', queue.text[queue.text.index(tag):],
                      re.S)
    assert group
    assert desk.post_form(f"/desk/reviews/{group.group(1)}", {"csrf_token": _csrf(desk), "score": "lots",
                                                              "reason": "r"}).status == 400
    settled = desk.post_form(f"/desk/reviews/{group.group(1)}",
                             {"csrf_token": _csrf(desk), "score": "2", "reason": f"fine {tag}"})
    assert settled.status == 303 and "settled=2" in settled.header("Location")
    assert tag not in desk.get("/desk/reviews").text  # settled: out of the queue
    for submission_id in ids:
        reply = service.request("GET", f"/api/v1/submissions/{submission_id}", token=service.instructor)
        ex1 = next(e for e in reply.json["exercises"] if e["id"] == "ex1")
        assert ex1["settlement"]["reason"] == f"fine {tag}" and ex1["score"] == 2

"""Per-student variants through the service (issue 7): each student sees their own sheet and
is graded on it, through gunicorn with the real grader and ``STREAMGRADE_VARIANTS=1``.

Correct answers are built from the engine's canonical answers of each student's own variant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from grader.exercises.load import load_named_set
from grader.solutions.render import answer_object
from grader.solutions.solve import solve
from grader.variants.generate import variant_for
from tests.grader.web.conftest import REAL_GRADER_SKIP, Service, real_grader_works, start_service
from tests.grader.web.test_pages import Browser

pytestmark = pytest.mark.skipif(not real_grader_works(), reason=REAL_GRADER_SKIP)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service("sqlite", tmp_path_factory.mktemp("variants"),
                             env={"STREAMGRADE_TEST_REAL_GRADER": "1", "STREAMGRADE_VARIANTS": "1"})


def correct_submission(student_id: str) -> dict:
    own = variant_for(load_named_set("week10"), student_id).exercise_set
    canonical = solve(own)
    return {"exercise_set": "week10",
            "answers": {ex.id: answer_object(ex, canonical[ex.id]) for ex in own.exercises}}


def test_each_student_gets_their_own_sheet_and_is_graded_on_it(service: Service):
    (alice, alice_token), (bob, bob_token) = service.new_student("alice"), service.new_student("bob")
    sheets = {sid: service.request("GET", "/api/v1/sheet", token=token).json
              for sid, token in ((alice, alice_token), (bob, bob_token))}
    assert sheets[alice]["seed"] != sheets[bob]["seed"]
    assert sheets[alice]["events"] != sheets[bob]["events"]
    assert "answers" not in json.dumps(sheets[alice])  # a sheet never carries answers

    own = service.request("POST", "/api/v1/submissions", correct_submission(alice), token=alice_token)
    copied = service.request("POST", "/api/v1/submissions", correct_submission(bob), token=alice_token)
    assert own.status == copied.status == 201
    assert own.json["score"] == 100
    assert copied.json["score"] < 100


def test_the_page_shows_the_students_own_events(service: Service):
    student, token = service.new_student("carol")
    browser = Browser(service)
    browser.login(token)
    assert 'id="sheet-link"' in browser.get("/").text
    page = browser.get("/sheet")
    assert page.status == 200
    variant = variant_for(load_named_set("week10"), student)
    for event in variant.exercise_set.context.events:
        assert f"<td>{event.user_id}</td>" in page.text
    assert f"seed {variant.seed}" in page.text


def test_the_sheet_needs_a_login(service: Service):
    assert service.request("GET", "/api/v1/sheet").status == 401
    assert service.request("GET", "/sheet").status == 303

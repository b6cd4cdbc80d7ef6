"""The app factory's error handling and limits, in-process."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from grader.web.app import create_app
from grader.web.records import Role, SubmissionState
from tests.grader.web import grading_hooks
from tests.grader.web.conftest import SAMPLE_SUBMISSION


def broken_grader(*args, **kwargs):
    raise RuntimeError("a bug in the grader, with a secret path /srv/keys")


def _app(tmp: Path, grade=grading_hooks.grade_bytes, **config: str) -> Flask:
    return create_app({"STREAMGRADE_DB": f"sqlite:///{tmp / 'app.db'}", "TESTING": True, **config}, grade=grade)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = _app(tmp_path, STREAMGRADE_RATE_BURST="2", STREAMGRADE_RATE_PER_MINUTE="6")
    yield app
    app.extensions["streamgrade"].store.close()


def _token(app: Flask, student_id: str = "s1", role: Role = Role.STUDENT) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.extensions['streamgrade'].roster.add(student_id, role)}"}


def test_too_many_submissions_are_429_with_retry_after(app: Flask):
    client, headers = app.test_client(), _token(app)
    statuses = [client.post("/api/v1/submissions", json=SAMPLE_SUBMISSION, headers=headers).status_code
                for _ in range(3)]
    assert statuses == [201, 201, 429]
    reply = client.post("/api/v1/submissions", json=SAMPLE_SUBMISSION, headers=headers)
    assert reply.status_code == 429
    assert 1 <= int(reply.headers["Retry-After"]) <= 10
    assert reply.json["retry_after"] == int(reply.headers["Retry-After"])
    assert "too many submissions" in reply.json["errors"][0]
    other = _token(app, "s2")
    assert client.post("/api/v1/submissions", json=SAMPLE_SUBMISSION, headers=other).status_code == 201


def test_a_bug_is_a_logged_500_with_no_internals_and_the_submission_stays_pending(
        tmp_path: Path, caplog: pytest.LogCaptureFixture):
    app = _app(tmp_path, grade=broken_grader)
    client, headers = app.test_client(), _token(app)
    with caplog.at_level(logging.ERROR):
        reply = client.post("/api/v1/submissions", json=SAMPLE_SUBMISSION, headers=headers)
    assert reply.status_code == 500
    [message] = reply.json["errors"]
    assert message.startswith("internal error ") and "/srv/keys" not in reply.get_data(as_text=True)
    assert "Traceback" not in reply.get_data(as_text=True)
    assert "a bug in the grader" in caplog.text  # logged with its traceback for the operator
    [pending] = app.extensions["streamgrade"].store.submissions_of("s1")
    assert pending.state is SubmissionState.PENDING
    app.extensions["streamgrade"].store.close()


def test_healthz_is_503_when_the_store_is_unreachable(app: Flask, tmp_path: Path):
    (tmp_path / "app.db").unlink()
    (tmp_path / "app.db").mkdir()  # the database file is now a folder: nothing can open it
    app.extensions["streamgrade"].store.close()
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 503
    assert reply.json["status"] == "unavailable" and reply.json["errors"]


def test_registration_is_closed_by_default_and_open_when_configured(app: Flask, tmp_path: Path):
    reply = app.test_client().post("/api/v1/register", json={"student_id": "new1"})
    assert reply.status_code == 403 and "closed" in reply.json["errors"][0]
    open_app = _app(tmp_path / "..", STREAMGRADE_OPEN_REGISTRATION="true")
    client = open_app.test_client()
    reply = client.post("/api/v1/register", json={"student_id": "new1"})
    assert reply.status_code == 201
    token = reply.json["token"]
    assert client.get("/api/v1/submissions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.post("/api/v1/register", json={"student_id": "new1"}).status_code == 409
    assert client.post("/api/v1/register", json={"student_id": "a b"}).status_code == 400
    open_app.extensions["streamgrade"].store.close()


def test_security_headers_are_set(app: Flask):
    reply = app.test_client().get("/")
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["X-Frame-Options"] == "DENY"
    policy = reply.headers["Content-Security-Policy"]
    # Scripts only from the service's own files: no inline script, no eval, nothing from elsewhere.
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert reply.headers["Cache-Control"] == "no-store"


def test_a_bad_setting_stops_the_app_with_a_clear_message(tmp_path: Path):
    from grader.web.settings import ConfigError

    with pytest.raises(ConfigError, match="STREAMGRADE_RATE_BURST='many'"):
        _app(tmp_path, STREAMGRADE_RATE_BURST="many")


def test_each_window_exercise_timeline_is_drawn_by_the_engine_and_shown_as_an_image(app: Flask):
    # The real drawing: no module is patched in (an earlier test injected a fake and the
    # page never drew the real one).
    import base64
    import re

    from grader.solutions.diagrams import drawable_exercises
    from grader.web.timeline import exercise_svg

    services = app.extensions["streamgrade"]
    week10 = services.catalogue.exercise_set("week10")
    svg = exercise_svg(week10, "ex6")
    assert svg.startswith("<svg") and "e6" in svg and "10:05" in svg
    token = services.roster.add("s1")
    client = app.test_client()
    reply = client.post("/api/v1/submissions", json=SAMPLE_SUBMISSION, headers={"Authorization": f"Bearer {token}"})
    client.set_cookie("sg_token", token)
    page = client.get(f"/submissions/{reply.json['id']}").get_data(as_text=True)
    found = re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(found) == len(drawable_exercises(week10)), "a timeline per window exercise"
    assert svg in [base64.b64decode(f).decode() for f in found]
    assert "<svg" not in page  # inside <img>, never inline: an SVG there cannot run a script


def test_a_timeline_that_cannot_be_drawn_leaves_the_page_without_one(app: Flask, monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture):
    import logging

    from grader.web import timeline

    def broken(*args, **kwargs):
        raise ValueError("nothing to draw")

    monkeypatch.setattr(timeline, "exercise_diagram", broken)
    services = app.extensions["streamgrade"]
    with caplog.at_level(logging.ERROR):
        assert timeline.Timelines().data_uri(services.catalogue.exercise_set("week10"), "ex6") is None
    assert "could not draw the timeline" in caplog.text


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"answers": {"ex8": {"events_per_window": ' + b"9" * 5000 + b"}}}",
    b"\xff\xfe not utf-8",
])
def test_hostile_bodies_are_400_never_500(app: Flask, body: bytes):
    headers = {**_token(app), "Content-Type": "application/json"}
    client = app.test_client()
    reply = client.post("/api/v1/submissions", data=body, headers=headers)
    assert reply.status_code == 400, reply.get_data(as_text=True)
    assert reply.json["errors"] and reply.json["state"] == "rejected"
    instructor = {**_token(app, "prof", Role.INSTRUCTOR), "Content-Type": "application/json"}
    reply = client.post("/api/v1/instructor/regrade", data=body, headers=instructor)
    assert reply.status_code == 400

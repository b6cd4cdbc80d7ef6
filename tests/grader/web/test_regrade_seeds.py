"""An instructor's regrade keeps a Python answer's seed; ``new_seed: true`` asks for new ones.

In-process, with the real grader (Python runs in the sandbox) and a fresh SQLite store.
The seed a regrade keeps is the one the student was graded on: even when the derivation of
the grader changes (simulated by replacing it for the regrade), the stored ``meta.seed``
wins, until the instructor asks for new seeds.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

import grader.python.grade as python_grade
from grader.grading import grade_bytes
from grader.web.app import create_app
from grader.web.records import Role
from tests.grader.python.samples import DROPS_OUTLIERS, require_sandbox

REGRADE = "/api/v1/instructor/regrade"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    require_sandbox()
    app = create_app({"STREAMGRADE_DB": f"sqlite:///{tmp_path / 'seeds.db'}", "TESTING": True}, grade=grade_bytes)
    yield app
    app.extensions["streamgrade"].store.close()


def _auth(app: Flask, who: str, role: Role = Role.STUDENT) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.extensions['streamgrade'].roster.add(who, role)}"}


def _submit_python(app: Flask, headers: dict[str, str]) -> dict:
    reply = app.test_client().post("/api/v1/submissions", headers=headers, content_type="multipart/form-data",
                                   data={"file": (io.BytesIO(DROPS_OUTLIERS.encode()), "solution.py")})
    assert reply.status_code == 201, reply.get_data(as_text=True)
    return reply.get_json()


def _regrade(app: Flask, headers: dict[str, str], **body) -> dict:
    reply = app.test_client().post(REGRADE, headers=headers, json={"exercise_set": "week10", **body})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


def test_a_regrade_keeps_the_stored_seed_and_new_seed_derives_another(app: Flask, monkeypatch):
    student, instructor = _auth(app, "s7"), _auth(app, "prof", Role.INSTRUCTOR)
    first = _submit_python(app, student)
    seed = first["meta"]["seed"]
    assert first["meta"]["seed_from"] == "derived"

    # The same grader: the same result (timings aside), so nothing changed.
    report = _regrade(app, instructor)
    assert (report["regraded"], report["changed"], report["new_seed"]) == (1, 0, False)

    # A grader whose derivation differs: the regrade still grades on the student's seed.
    other = (seed + 1) % 2**32
    monkeypatch.setattr(python_grade, "hidden_seed", lambda *args: other)
    report = _regrade(app, instructor)
    assert (report["regraded"], report["changed"]) == (1, 0)
    current = app.test_client().get(f"/api/v1/submissions/{first['id']}", headers=student).get_json()
    assert current["meta"]["seed"] == seed and current["exercises"] == first["exercises"]

    # new_seed: the current grader's derivation decides, and the result changes with it.
    report = _regrade(app, instructor, new_seed=True)
    assert (report["regraded"], report["changed"], report["new_seed"]) == (1, 1, True)
    current = app.test_client().get(f"/api/v1/submissions/{first['id']}", headers=student).get_json()
    assert current["meta"]["seed"] == other and current["meta"]["seed_from"] == "derived"
    assert f"seed {other}" in current["exercises"][0]["feedback"][0]

    # and the next plain regrade keeps that new seed, whatever the derivation says now
    monkeypatch.setattr(python_grade, "hidden_seed", lambda *args: (other + 1) % 2**32)
    report = _regrade(app, instructor)
    assert report["changed"] == 0
    current = app.test_client().get(f"/api/v1/submissions/{first['id']}", headers=student).get_json()
    assert current["meta"]["seed"] == other


def test_new_seed_must_be_a_boolean(app: Flask):
    reply = app.test_client().post(REGRADE, headers=_auth(app, "prof", Role.INSTRUCTOR),
                                   json={"exercise_set": "week10", "new_seed": "yes"})
    assert reply.status_code == 400 and reply.get_json()["errors"] == ["new_seed: expected true or false"]


def test_the_openapi_document_describes_new_seed(app: Flask):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    request = document["components"]["schemas"]["RegradeRequest"]["properties"]
    assert request["new_seed"]["type"] == "boolean"
    assert "new_seed" in document["components"]["schemas"]["RegradeReport"]["properties"]

"""The service with the REAL grader (``grader.grading.grade_bytes``), through gunicorn on a
loopback port, on SQLite and on PostgreSQL: the issue's "Done when" list end to end.

The other service tests run a stand-in grader (``fake_grading``) so they test the service
alone; here nothing is faked.  The gunicorn runs ``tests.grader.web.grading_hooks`` with
``STREAMGRADE_TEST_REAL_GRADER=1``: it calls the real grader and only adds the ``hang``
switch used to kill a worker mid-request.  Python submissions go through the sandbox.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.grading import grade_bytes
from grader.web.records import SubmissionState
from tests.grader.web.conftest import (
    EXAMPLES,
    PYTHON_EXAMPLES,
    REAL_GRADER_SKIP,
    Service,
    correct_example,
    real_grader_works,
    start_service,
)
from tests.grader.web.server import Reply, multipart, wait_for

pytestmark = pytest.mark.skipif(not real_grader_works(), reason=REAL_GRADER_SKIP)

PYTHON_EXAMPLE_FILES = sorted(PYTHON_EXAMPLES.glob("*.py"))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service(request.param, tmp_path_factory.mktemp(f"real-{request.param}"),
                             env={"STREAMGRADE_TEST_REAL_GRADER": "1"})


def _post(service: Service, token: str | None, raw: bytes, *, key: str | None = None, timeout: float = 60) -> Reply:
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    return service.request("POST", "/api/v1/submissions", raw, token=token, headers=headers, timeout=timeout)


def _upload(service: Service, token: str, filename: str, content: bytes, key: str | None = None) -> Reply:
    body, content_type = multipart({}, {"file": (filename, content)})
    headers = {"Content-Type": content_type, **({"Idempotency-Key": key} if key else {})}
    return service.request("POST", "/api/v1/submissions", body, token=token, headers=headers, timeout=120)


def _exercise(doc: dict[str, Any], exercise_id: str) -> dict[str, Any]:
    return next(e for e in doc["exercises"] if e["id"] == exercise_id)


def test_healthz_names_the_real_graders_version(service: Service):
    from grader.grading import GRADER_VERSION

    reply = service.request("GET", "/healthz")
    assert reply.status == 200
    assert reply.json["grader_version"] == GRADER_VERSION != "fake-1"
    sandbox = reply.json["sandbox"]
    assert (sandbox["tier"], sandbox["requested"]) == ("strict", "strict")  # Python answers run confined
    assert isinstance(sandbox["unbounded"], list)


def test_the_correct_example_gets_full_marks_and_reads_back(service: Service):
    student, token = service.new_student()
    _, raw = correct_example()
    reply = _post(service, token, raw)
    assert reply.status == 201, reply.text
    doc = reply.json
    assert doc["state"] == "graded" and doc["student_id"] == student
    assert doc["max_score"] == 100
    assert doc["score"] == 100, [(e["id"], e["status"], e["feedback"]) for e in doc["exercises"]
                                 if e["score"] != e["max_score"]]
    assert doc["errors"] == []
    assert all(e["status"] == "correct" for e in doc["exercises"])
    again = service.request("GET", f"/api/v1/submissions/{doc['id']}", token=token)
    assert again.status == 200 and {k: v for k, v in again.json.items() if k != "counts_for"} == doc
    stored = service.store.submission(doc["id"])
    assert stored is not None and stored.state is SubmissionState.GRADED
    assert service.store.submission_raw(doc["id"]) == raw
    assert stored.grader_version == doc["grader_version"] != "fake-1"


def test_history_has_the_callers_graded_submissions_newest_first(service: Service):
    _, token = service.new_student()
    _, raw = correct_example()
    partial = json.loads(raw)
    partial["answers"] = {k: v for k, v in partial["answers"].items() if k in {"ex3", "ex6"}}
    ids = [_post(service, token, body).json["id"] for body in (json.dumps(partial).encode(), raw)]
    listing = service.request("GET", "/api/v1/submissions", token=token)
    assert listing.status == 200
    rows = listing.json["submissions"]
    assert [r["id"] for r in rows] == ids[::-1]
    assert rows[0]["score"] == 100
    assert 0 < rows[1]["score"] < 100  # two exercises answered, the rest "not answered"


def test_an_idempotent_retry_replays_the_first_result_and_stores_once(service: Service):
    student, token = service.new_student()
    _, raw = correct_example()
    key = str(uuid.uuid4())
    first = _post(service, token, raw, key=key)
    retry = _post(service, token, raw, key=key)
    assert (first.status, retry.status) == (201, 200)
    assert retry.header("Idempotent-Replayed") == "true" and retry.json == first.json
    assert service.store.count_by_idempotency_key(student, key) == 1


def test_another_students_token_gets_404(service: Service):
    _, token = service.new_student()
    _, intruder = service.new_student()
    _, raw = correct_example()
    submission_id = _post(service, token, raw).json["id"]
    reply = service.request("GET", f"/api/v1/submissions/{submission_id}", token=intruder)
    assert reply.status == 404 and reply.json == {"errors": [f"no submission {submission_id}"]}
    assert submission_id not in [s["id"] for s in
                                 service.request("GET", "/api/v1/submissions", token=intruder).json["submissions"]]


def test_instructor_routes_need_the_instructor_token(service: Service):
    student, token = service.new_student()
    _, raw = correct_example()
    submitted = _post(service, token, raw).json
    path = "/api/v1/instructor/gradebook.csv?exercise_set=week10"
    assert service.request("GET", path).status == 401
    assert service.request("GET", path, token=token).status == 403
    reply = service.request("GET", path, token=service.instructor)
    assert reply.status == 200, reply.text
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(reply.text))}
    assert rows[student]["counted_attempts"] == str(submitted["id"]) and float(rows[student]["total"]) == 100
    regrade = {"exercise_set": "week10", "limit": 5}
    assert service.request("POST", "/api/v1/instructor/regrade", regrade, token=token).status == 403
    done = service.request("POST", "/api/v1/instructor/regrade", regrade, token=service.instructor, timeout=120)
    assert done.status == 200, done.text
    assert done.json["regraded"] >= 1 and done.json["changed"] == 0  # the same grader gives the same results
    assert service.request("GET", "/api/v1/instructor/reviews", token=token).status == 403
    assert service.request("GET", "/api/v1/instructor/reviews", token=service.instructor).status == 200


def test_oversize_is_413_and_malformed_is_400_with_the_message(service: Service):
    _, token = service.new_student()
    _, raw = correct_example()
    big = json.loads(raw)
    big["padding"] = "x" * (300 * 1024)
    reply = _post(service, token, json.dumps(big).encode())
    assert reply.status == 413 and "too large" in reply.json["errors"][0]
    reply = _post(service, token, b'{\n  "answers": {\n    "ex6": [1,,2]\n}')
    assert reply.status == 400
    assert reply.json["errors"] == ["submission.json: line 3 column 15: Expecting value"]
    wrong_shape = _post(service, token, b'["not", "an", "object"]')
    assert wrong_shape.status == 400 and wrong_shape.json["errors"], wrong_shape.text
    assert wrong_shape.json["state"] == "rejected"


def test_every_json_example_gets_its_declared_score_through_the_service(service: Service):
    """``submissions/examples/*.json`` posted by one student each: the declared score, the
    exercises that are not correct and the diagnosis, exactly as grading the file gives."""
    examples = sorted(EXAMPLES.glob("*.json"))
    examples = [p for p in examples if not p.name.endswith(".expect.json")]
    if not examples:
        pytest.skip("no JSON examples in submissions/examples yet")
    for path in examples:
        expect = json.loads(path.with_suffix(".expect.json").read_text())
        _, token = service.new_student()
        reply = _post(service, token, path.read_bytes())
        assert reply.status == 201, (path.name, reply.text)
        doc = reply.json
        assert (doc["score"], doc["max_score"]) == (expect["score"], expect["max_score"]), path.name
        assert [e["id"] for e in doc["exercises"] if e["status"] != "correct"] == expect["failing"], path.name
        diagnosis = {e["id"]: list(e["diagnosis"]) for e in doc["exercises"] if e.get("diagnosis")}
        assert diagnosis == expect["diagnosis"], path.name


@pytest.mark.parametrize("path", PYTHON_EXAMPLE_FILES, ids=[p.stem for p in PYTHON_EXAMPLE_FILES])
def test_a_python_submission_is_graded_through_the_sandbox(service: Service, path: Path):
    expect = json.loads(path.with_suffix(".expect.json").read_text())
    _, token = service.new_student()
    reply = _upload(service, token, "solution.py", path.read_bytes())
    assert reply.status == 201, reply.text
    doc = reply.json
    assert doc["state"] == "graded" and doc["filename"] == "solution.py"
    python = _exercise(doc, "python")
    assert python["max_score"] == expect["max_score"]
    # A wrong function's partial credit depends on its hidden tests, so the sidecar's score
    # (verify's seed) is checked for a correct answer only; any answer scores what its own
    # seed gives when graded again outside the service.
    assert doc["meta"]["seed_from"] == "derived"
    replay = grade_bytes(path.read_bytes(), "solution.py", None, seed=doc["meta"]["seed"])
    assert python["score"] == replay.to_dict()["exercises"][0]["score"], python["feedback"]
    if not expect["failing"]:
        assert python["score"] == expect["score"]
    failing = sorted(p["id"] for p in python["parts"] if p["status"] != "correct")
    assert failing == sorted(expect["failing"])
    assert list(python.get("diagnosis", [])) == expect["diagnosis"]
    sandbox = doc.get("meta", {}).get("sandbox", {})
    assert sandbox.get("tier") == "strict", doc.get("meta")  # really run confined, not in the worker
    again = service.request("GET", f"/api/v1/submissions/{doc['id']}", token=token)
    assert again.status == 200 and {k: v for k, v in again.json.items() if k != "counts_for"} == doc
    assert service.store.submission_raw(doc["id"]) == path.read_bytes()


def test_a_python_submission_that_attacks_is_contained(service: Service):
    _, token = service.new_student()
    source = (b"import os\n"
              b"def assign_window(event_time, size_minutes=5):\n"
              b"    os.system('touch /tmp/streamgrade-pwned')\n"
              b"    return open('/etc/passwd').read()\n")
    reply = _upload(service, token, "solution.py", source)
    assert reply.status == 201, reply.text
    python = _exercise(reply.json, "python")
    assert python["score"] == 0
    assert not Path("/tmp/streamgrade-pwned").exists()


def test_a_worker_killed_mid_request_then_the_retry_is_stored_exactly_once(service: Service):
    student, token = service.new_student()
    _, raw = correct_example()
    key = str(uuid.uuid4())
    hang = service.hooks / "hang"
    hang.touch()
    first: dict[str, object] = {}

    def submit_and_hang() -> None:
        try:
            first["reply"] = _post(service, token, raw, key=key)
        except OSError as exc:
            first["error"] = exc

    thread = threading.Thread(target=submit_and_hang)
    thread.start()
    try:
        pid_file = wait_for(lambda: next(service.hooks.glob("worker-*.pid"), None), 15, "the grading worker")
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=30)
    finally:
        hang.unlink()
    assert "error" in first
    pid_file.unlink()
    wait_for(lambda: len(service.server.worker_pids() - {pid}) == service.server.workers, 15,
              "gunicorn to replace the killed worker")
    retry = _post(service, token, raw, key=key)
    assert retry.status == 201, retry.text
    assert retry.json["score"] == 100 and retry.json["state"] == "graded"
    assert service.store.count_by_idempotency_key(student, key) == 1


# -- the grade of record: which attempt counts, both assignments in one row --------------------------


def _gradebook(service: Service) -> dict[str, dict[str, str]]:
    reply = service.request("GET", "/api/v1/instructor/gradebook.csv?exercise_set=week10", token=service.instructor)
    assert reply.status == 200, reply.text
    return {r["student_id"]: r for r in csv.DictReader(io.StringIO(reply.text))}


def test_a_worse_resubmission_keeps_the_grade_under_the_default_policy(service: Service):
    student, token = service.new_student()
    _, raw = correct_example()
    first = _post(service, token, raw).json
    worse = _upload(service, token, "again.yaml", b"answers:\n  ex7:\n    correct_sum: 8\n")
    assert worse.status == 201, worse.text
    assert worse.json["score"] < 100
    row = _gradebook(service)[student]
    assert row["policy"] == "best_per_exercise"
    assert float(row["total"]) == 100 and row["sheet_attempts"] == "2", row
    # The history marks which attempt counts for which exercise; the worse one counts for none
    # (or only where it ties the first).
    listing = service.request("GET", "/api/v1/submissions", token=token).json["submissions"]
    marks = {item["id"]: item["counts_for"] for item in listing}
    assert set(marks[first["id"]]) | set(marks[worse.json["id"]]) == {f"ex{i}" for i in range(1, 12)}
    assert len(marks[first["id"]]) >= 10
    doc = service.request("GET", f"/api/v1/submissions/{first['id']}", token=token).json
    assert doc["policy"] == "best_per_exercise" and doc["assignment"] == "sheet"
    assert doc["counts_for"] == marks[first["id"]]
    page = service.request("GET", "/", headers={"Cookie": f"sg_token={token}"})
    assert page.status == 200 and "Counts for" in page.text
    result_page = service.request("GET", f"/submissions/{first['id']}", headers={"Cookie": f"sg_token={token}"})
    assert result_page.status == 200 and "this submission gives: ex1" in result_page.text


def test_the_sheet_and_the_python_answer_are_two_assignments_in_one_row(service: Service):
    student, token = service.new_student()
    _, raw = correct_example()
    assert _post(service, token, raw).status == 201
    python = _upload(service, token, "solution.py", (PYTHON_EXAMPLES / "correct.py").read_bytes())
    assert python.status == 201, python.text
    assert python.json["assignment"] == "python" and python.json["score"] == 10
    row = _gradebook(service)[student]
    assert float(row["total"]) == 100 and all(row[f"ex{i}"] != "" for i in range(1, 12)), row
    assert float(row["python_total"]) == 10 and float(row["python.upsert"]) == 2
    assert float(row["overall"]) == 110 and float(row["overall_percent"]) == 100

"""The JSON API, through gunicorn, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from grader.web.records import SubmissionState
from tests.grader.web.conftest import SAMPLE_SUBMISSION, Service
from tests.grader.web.server import multipart

RESULT_FIELDS = {"student_id", "exercise_set", "score", "max_score", "exercises", "warnings", "errors"}


def _submit(service: Service, token: str, body: object = None, key: str | None = None, **kwargs):
    headers = {"Idempotency-Key": key} if key else {}
    return service.request("POST", "/api/v1/submissions", SAMPLE_SUBMISSION if body is None else body,
                           token=token, headers=headers, **kwargs)


def test_submission_is_graded_stored_and_read_back(service: Service):
    student, token = service.new_student()
    reply = _submit(service, token)
    assert reply.status == 201, reply.text
    doc = reply.json
    assert doc.keys() >= RESULT_FIELDS
    assert isinstance(doc["id"], int)
    assert doc["student_id"] == student  # the token's student, not the one written in the file
    assert doc["state"] == "graded"
    assert reply.header("Location") == f"/api/v1/submissions/{doc['id']}"
    again = service.request("GET", f"/api/v1/submissions/{doc['id']}", token=token)
    assert again.status == 200
    # The same document, and the history's view of it: which exercises this attempt gives.
    assert {k: v for k, v in again.json.items() if k != "counts_for"} == doc and "counts_for" not in doc
    assert again.json["counts_for"] == [e["id"] for e in doc["exercises"]]  # the first attempt gives them all
    stored = service.store.submission(doc["id"])
    assert stored is not None and stored.state is SubmissionState.GRADED
    assert service.store.submission_raw(doc["id"]) == json.dumps(SAMPLE_SUBMISSION).encode()
    assert stored.grader_version == doc["grader_version"]
    assert len(stored.content_sha256) == 64


def test_history_lists_only_the_callers_submissions_newest_first(service: Service):
    _, token = service.new_student()
    _, other = service.new_student()
    ids = [_submit(service, token).json["id"] for _ in range(3)]
    _submit(service, other)
    reply = service.request("GET", "/api/v1/submissions", token=token)
    assert reply.status == 200
    assert [s["id"] for s in reply.json["submissions"]] == ids[::-1]
    page = service.request("GET", "/api/v1/submissions?limit=2", token=token).json
    assert [s["id"] for s in page["submissions"]] == ids[:0:-1]
    rest = service.request("GET", f"/api/v1/submissions?before={page['next_before']}", token=token).json
    assert [s["id"] for s in rest["submissions"]] == ids[:1]


def test_retry_with_the_same_idempotency_key_replays_the_first_submission(service: Service):
    student, token = service.new_student()
    key = str(uuid.uuid4())
    first = _submit(service, token, key=key)
    retry = _submit(service, token, key=key)
    assert first.status == 201 and retry.status == 200
    assert retry.header("Idempotent-Replayed") == "true"
    assert retry.json == first.json
    assert service.store.count_by_idempotency_key(student, key) == 1


def test_same_idempotency_key_with_other_content_is_422(service: Service):
    _, token = service.new_student()
    key = str(uuid.uuid4())
    assert _submit(service, token, key=key).status == 201
    reply = _submit(service, token, {**SAMPLE_SUBMISSION, "answers": {}}, key=key)
    assert reply.status == 422
    assert "different content" in reply.json["errors"][0]


def test_concurrent_retries_store_one_submission(service: Service):
    student, token = service.new_student()
    key = str(uuid.uuid4())
    replies = []
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        replies.append(_submit(service, token, key=key))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status for r in replies} <= {200, 201}
    assert len({r.json["id"] for r in replies}) == 1
    assert service.store.count_by_idempotency_key(student, key) == 1


def test_another_students_submission_is_not_found(service: Service):
    _, token = service.new_student()
    _, intruder = service.new_student()
    submission_id = _submit(service, token).json["id"]
    reply = service.request("GET", f"/api/v1/submissions/{submission_id}", token=intruder)
    assert reply.status == 404
    assert reply.json == {"errors": [f"no submission {submission_id}"]}
    # ... and looks exactly like an id that does not exist at all.
    missing = service.request("GET", "/api/v1/submissions/999999999", token=intruder)
    assert missing.status == 404 and missing.json == {"errors": ["no submission 999999999"]}
    listing = service.request("GET", "/api/v1/submissions?student_id=prof", token=intruder)
    assert listing.status == 403


def test_requests_without_a_valid_token_are_401(service: Service):
    for token in (None, "not-a-token"):
        reply = _submit(service, token) if token else service.request("POST", "/api/v1/submissions",
                                                                      SAMPLE_SUBMISSION)
        assert reply.status == 401
        assert reply.header("WWW-Authenticate") == 'Bearer realm="streamgrade"'
        assert reply.json["errors"]


def test_instructor_routes_need_an_instructor_token(service: Service):
    _, student = service.new_student()
    routes = [
        ("GET", "/api/v1/instructor/gradebook.csv", None),
        ("POST", "/api/v1/instructor/regrade", {"exercise_set": "week10"}),
        ("GET", "/api/v1/instructor/reviews", None),
        ("POST", "/api/v1/instructor/reviews/1/ex1", {"score": 1, "reason": "r"}),
    ]
    for method, path, body in routes:
        assert service.request(method, path, body).status == 401, path
        denied = service.request(method, path, body, token=student)
        assert denied.status == 403, path
        assert denied.json == {"errors": ["this route needs an instructor token"]}
    assert service.request("GET", "/api/v1/instructor/reviews", token=service.instructor).status == 200


def test_oversize_body_is_413_with_a_json_message(service: Service):
    _, token = service.new_student()
    big = {**SAMPLE_SUBMISSION, "padding": "x" * (300 * 1024)}
    reply = _submit(service, token, big)
    assert reply.status == 413
    assert "too large" in reply.json["errors"][0]


def test_malformed_json_is_400_with_the_parsers_line_and_column(service: Service):
    _, token = service.new_student()
    reply = service.request("POST", "/api/v1/submissions", b'{\n  "answers": {\n    "ex6": [1,,2]\n}',
                            token=token, headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.json["errors"] == ["submission.json: line 3 column 15: Expecting value"]
    assert reply.json["state"] == "rejected"  # kept, like every submission


def test_multipart_upload_of_yaml_and_python_files(service: Service):
    _, token = service.new_student()
    yaml_body, yaml_type = multipart({"exercise_set": "week10"},
                                     {"file": ("answers.yaml", b"answers:\n  ex3:\n    semantics: [a]\n")})
    reply = service.request("POST", "/api/v1/submissions", yaml_body, token=token,
                            headers={"Content-Type": yaml_type})
    assert reply.status == 201, reply.text
    assert reply.json["filename"] == "answers.yaml"
    source = b"def assign_window(t, size_minutes=5):\n    return t\n"
    py_body, py_type = multipart({}, {"file": ("solution.py", source)})
    reply = service.request("POST", "/api/v1/submissions", py_body, token=token, headers={"Content-Type": py_type})
    assert reply.status == 201, reply.text
    assert reply.json["filename"] == "solution.py"
    bad, bad_type = multipart({}, {"file": ("notes.txt", b"hello")})
    reply = service.request("POST", "/api/v1/submissions", bad, token=token, headers={"Content-Type": bad_type})
    assert reply.status == 415
    assert "unsupported file type" in reply.json["errors"][0]


def test_unsupported_content_type_is_415(service: Service):
    _, token = service.new_student()
    reply = service.request("POST", "/api/v1/submissions", b"hello", token=token,
                            headers={"Content-Type": "text/plain"})
    assert reply.status == 415
    assert "application/json" in reply.json["errors"][0]


def test_settling_a_review_adds_a_record_and_keeps_the_original(service: Service):
    _, token = service.new_student()
    body = {**SAMPLE_SUBMISSION, "answers": {"ex1": {"event_time": "when it happened?"}}}
    submitted = _submit(service, token, body).json
    reviews = service.request("GET", "/api/v1/instructor/reviews", token=service.instructor).json["reviews"]
    waiting = [r for r in reviews if r["submission_id"] == submitted["id"]]
    assert [r["exercise_id"] for r in waiting] == ["ex1"]
    path = f"/api/v1/instructor/reviews/{submitted['id']}/ex1"
    assert service.request("POST", path, {"score": 99, "reason": "x"}, token=service.instructor).status == 400
    assert service.request("POST", path, {"score": 2, "reason": " "}, token=service.instructor).status == 400
    settled = service.request("POST", path, {"score": 4, "reason": "names the event's own timestamp"},
                              token=service.instructor)
    assert settled.status == 201, settled.text
    assert settled.json["exercise"]["settlement"]["by"] == "prof"
    assert settled.json["exercise"]["status"] == "partial"
    seen = service.request("GET", f"/api/v1/submissions/{submitted['id']}", token=token).json
    ex1 = next(e for e in seen["exercises"] if e["id"] == "ex1")
    assert ex1["score"] == 4 and ex1["settlement"]["reason"] == "names the event's own timestamp"
    assert seen["score"] == submitted["score"] + 4
    stored = service.store.submission(submitted["id"])
    assert stored is not None and stored.result == {k: submitted[k] for k in stored.result}  # untouched
    reviews = service.request("GET", "/api/v1/instructor/reviews", token=service.instructor).json["reviews"]
    assert not [r for r in reviews if r["submission_id"] == submitted["id"]]
    assert service.request("POST", f"/api/v1/instructor/reviews/{submitted['id']}/ex99",
                           {"score": 1, "reason": "r"}, token=service.instructor).status == 404


def test_gradebook_counts_each_students_best_attempt_per_exercise(service: Service):
    student, token = service.new_student()
    blank = _submit(service, token, {**SAMPLE_SUBMISSION, "answers": {}}).json
    latest = _submit(service, token).json
    reply = service.request("GET", "/api/v1/instructor/gradebook.csv?exercise_set=week10", token=service.instructor)
    assert reply.status == 200
    assert reply.header("Content-Type").startswith("text/csv")
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(reply.text))}
    assert rows[student]["policy"] == "best_per_exercise" and rows[student]["sheet_attempts"] == "2"
    assert str(latest["id"]) in rows[student]["counted_attempts"].split("; ")
    assert float(rows[student]["total"]) == latest["score"] > blank["score"]
    assert float(rows[student]["ex6"]) == 12
    # The columns of the gradebook before attempts were counted are still there.
    assert rows[student]["submission_id"] == str(latest["id"])
    assert rows[student]["submitted_at"] == latest["submitted_at"]
    assert float(rows[student]["max_score"]) == latest["max_score"]


def test_regrade_reports_what_it_did_and_pages_through(service: Service):
    reply = service.request("POST", "/api/v1/instructor/regrade", {"exercise_set": "week10", "limit": 1},
                            token=service.instructor)
    assert reply.status == 200, reply.text
    report = reply.json
    assert report["regraded"] == 1 and report["next_after"] is not None
    assert service.request("POST", "/api/v1/instructor/regrade", {"exercise_set": "nope"},
                           token=service.instructor).status == 404
    assert service.request("POST", "/api/v1/instructor/regrade", b"{", token=service.instructor,
                           headers={"Content-Type": "application/json"}).status == 400


def test_exercises_show_prompts_and_schemas_but_never_answers(service: Service):
    reply = service.request("GET", "/api/v1/exercises")
    assert reply.status == 200
    [week10] = reply.json["exercise_sets"]
    assert week10["id"] == "week10" and week10["total_points"] == 100
    ex6 = next(e for e in week10["exercises"] if e["id"] == "ex6")
    assert ex6["points"] == 12 and ex6["prompt"] and ex6["answer_schema"]["type"] == "object"
    text = reply.text
    for secret in ("published", "errata", "mistakes", "model_answer", "regexes", "concepts", '"solution"',
                   "inclusive_window_end", "5+2 = 7", "hidden_tests", "sheet_test"):
        assert secret not in text, secret
    # The Python exercise is listed too: its functions and points, never its tests.
    assert [f["name"] for f in week10["python"]["functions"]]
    assert week10["python"]["filename"].endswith(".py")


def test_template_has_every_exercise_with_empty_values(service: Service):
    reply = service.request("GET", "/api/v1/template")
    assert reply.status == 200
    template = reply.json
    assert template["exercise_set"] == "week10"
    assert set(template["answers"]) == {f"ex{i}" for i in range(1, 12)}
    # The same blank document as `streamgrade template` (one builder, not two).
    assert template["answers"]["ex6"] == {"rows": None}
    printed = subprocess.run([str(Path(sys.executable).with_name("streamgrade")), "template"],
                             capture_output=True, text=True, check=True)
    assert template == json.loads(printed.stdout)
    assert service.request("GET", "/api/v1/template?exercise_set=nope").status == 404


def test_healthz_reports_the_store_and_grader_version(service: Service):
    reply = service.request("GET", "/healthz")
    assert reply.status == 200
    assert reply.json["status"] == "ok"
    assert reply.json["db"] in {"sqlite", "postgresql"}
    assert reply.json["grader_version"] == "fake-1"


def test_errors_are_json_never_html_or_tracebacks(service: Service):
    missing = service.request("GET", "/api/v1/nothing-here")
    assert missing.status == 404 and missing.json == {"errors": ["no such route: GET /api/v1/nothing-here"]}
    wrong = service.request("DELETE", "/api/v1/submissions")
    assert wrong.status == 405 and "not allowed" in wrong.json["errors"][0]
    _, token = service.new_student()
    bad = service.request("GET", "/api/v1/submissions?limit=abc", token=token)
    assert bad.status == 400 and bad.json == {"errors": ["limit: expected an integer, got 'abc'"]}


def test_sandbox_unavailable_is_503_and_a_retry_completes_the_pending_submission(service: Service):
    student, token = service.new_student()
    key = str(uuid.uuid4())
    flag = service.hooks / "sandbox-down"
    flag.touch()
    try:
        down = _submit(service, token, key=key)
    finally:
        flag.unlink()
    assert down.status == 503
    assert down.json["errors"] == ["the sandbox is unavailable (test hook)"]
    [pending] = [s for s in service.store.submissions_of(student) if s.idempotency_key == key]
    assert pending.state is SubmissionState.PENDING
    retry = _submit(service, token, key=key)
    assert retry.status == 201
    assert retry.json["id"] == pending.id and retry.json["state"] == "graded"
    assert service.store.count_by_idempotency_key(student, key) == 1

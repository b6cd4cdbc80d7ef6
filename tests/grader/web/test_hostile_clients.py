"""Clients that try to tie the service up, and submissions that tried to break it.

Through gunicorn on a loopback port, as a client on the network would: slow uploads that
hold connections open, a body that is expensive to parse, file names with control
characters, and (with the real grader) a Python answer whose value made the grader's own
comparison raise, and a class regrade with one submission the grader fails on.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.grader.web.conftest import REAL_GRADER_SKIP, Service, correct_example, real_grader_works, start_service
from tests.grader.web.server import multipart

SLOW_UPLOADS = 12
HEAD_TIMEOUT_S = 2.0
MIN_RATE = 1000  # bytes per second


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service("sqlite", tmp_path_factory.mktemp("hostile"),
                             env={"STREAMGRADE_REQUEST_TIMEOUT_S": str(HEAD_TIMEOUT_S),
                                  "STREAMGRADE_MIN_UPLOAD_RATE": str(MIN_RATE)})


def _slow_upload(port: int, token: str, length: int) -> socket.socket:
    """A connection that sent its whole head (with ``Content-Length``) and no body yet."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn.sendall(f"POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode())
    return conn


def test_healthz_answers_within_a_second_while_slow_uploads_are_open(service: Service):
    _, token = service.new_student()
    length = 20_000  # at 1 byte a second: five and a half hours, if nothing stopped it
    uploads = [_slow_upload(service.server.port, token, length) for _ in range(SLOW_UPLOADS)]
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            for conn in uploads:
                with contextlib.suppress(OSError):
                    conn.send(b" ")
            stop.wait(1.0)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(1.5)  # every upload is open and trickling
        for _ in range(5):
            started = time.monotonic()
            reply = service.request("GET", "/healthz", timeout=5)
            waited = time.monotonic() - started
            assert reply.status == 200
            assert waited < 1.0, f"/healthz took {waited:.2f} s with {SLOW_UPLOADS} slow uploads open"
            _, other = service.new_student()
            _, raw = correct_example()
            submitted = service.request("POST", "/api/v1/submissions", raw, token=other,
                                        headers={"Content-Type": "application/json"}, timeout=10)
            assert submitted.status == 201, submitted.text  # a student's submission still goes through
            time.sleep(0.3)
    finally:
        stop.set()
        thread.join(timeout=5)
    # Each slow upload is answered 408 once its deadline (head + length / rate) has passed.
    deadline = HEAD_TIMEOUT_S + length / MIN_RATE + 3
    for conn in uploads:
        conn.settimeout(deadline)
        answer = conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"did not arrive in time" in answer
        conn.close()


def test_a_stalled_head_is_closed_after_its_timeout(service: Service):
    conn = socket.create_connection(("127.0.0.1", service.server.port), timeout=HEAD_TIMEOUT_S + 5)
    conn.sendall(b"POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the head never ends
    answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    conn.close()


def test_a_heavy_yaml_body_is_refused_by_the_one_reader_with_its_line(service: Service):
    _, token = service.new_student()
    lines = ["answers:"] + [f"  k{i}: {i}" for i in range(26_000)]
    body = "\n".join(lines).encode()[:250_000]
    reply = service.request("POST", "/api/v1/submissions", body, token=token,
                            headers={"Content-Type": "application/yaml"}, timeout=30)
    assert reply.status == 400, reply.text
    (message,) = reply.json["errors"]
    assert message.startswith("submission.yaml: line 10000 column"), message
    assert "more than 20000 values" in message
    assert reply.json["state"] == "rejected"  # stored, with the reason


@pytest.mark.parametrize("name", ["answers\x00.json", "ans\twers.json", "ans\x1bwers.json", "a\u202ejson.yaml"])
def test_a_file_name_with_a_control_character_is_refused_with_a_400(service: Service, name: str):
    _, token = service.new_student()
    _, raw = correct_example()
    body, content_type = multipart({}, {"file": (name, raw)})
    reply = service.request("POST", "/api/v1/submissions", body, token=token,
                            headers={"Content-Type": content_type})
    assert reply.status == 400, reply.text
    assert "control character" in reply.json["errors"][0]


# -- with the real grader ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    if not real_grader_works():
        pytest.skip(REAL_GRADER_SKIP)
    yield from start_service("sqlite", tmp_path_factory.mktemp("hostile-real"),
                             env={"STREAMGRADE_TEST_REAL_GRADER": "1"})


def _upload(service: Service, token: str, filename: str, content: bytes):
    body, content_type = multipart({}, {"file": (filename, content)})
    return service.request("POST", "/api/v1/submissions", body, token=token,
                           headers={"Content-Type": content_type}, timeout=120)


SNAN_UPSERT = (b"from decimal import Decimal\n"
               b"def upsert(table, row):\n"
               b"    table[(row['window_start'], row['user_id'])] = Decimal('sNaN')\n")


def test_a_signalling_nan_answer_is_graded_and_stored_not_a_500(real_service: Service):
    _, token = real_service.new_student()
    for _ in range(2):  # and again: nothing stays pending
        reply = _upload(real_service, token, "solution.py", SNAN_UPSERT)
        assert reply.status == 201, reply.text
        doc = reply.json
        assert doc["state"] == "graded"
        upsert = next(p for e in doc["exercises"] for p in e["parts"] if p["id"] == "upsert")
        assert upsert["score"] == 0 and "not a number" in " ".join(upsert["feedback"])
        assert real_service.store.submission(doc["id"]).state.value == "graded"


def test_a_regrade_goes_on_past_a_submission_the_grader_fails_on_and_reports_it(real_service: Service):
    _, token = real_service.new_student()
    _, raw = correct_example()
    answers = json.loads(raw)
    answers["answers"]["ex1"]["why_event_time"] = "BOOM " + answers["answers"]["ex1"]["why_event_time"]
    doomed = real_service.request("POST", "/api/v1/submissions", json.dumps(answers).encode(), token=token,
                                  headers={"Content-Type": "application/json"}).json["id"]
    fine = real_service.request("POST", "/api/v1/submissions", raw, token=token,
                                headers={"Content-Type": "application/json"}).json["id"]
    python = _upload(real_service, token, "solution.py", SNAN_UPSERT).json["id"]
    (real_service.hooks / "boom").touch()
    try:
        after, failures = 0, []
        while after is not None:
            reply = real_service.request("POST", "/api/v1/instructor/regrade",
                                         {"exercise_set": "week10", "after": after, "limit": 2},
                                         token=real_service.instructor, timeout=120)
            assert reply.status == 200, reply.text
            report = reply.json
            failures += report["failures"]
            after = report["next_after"]
    finally:
        (real_service.hooks / "boom").unlink()
    assert [f["submission_id"] for f in failures] == [doomed]
    assert "internal error" in failures[0]["error"]
    for sub in (fine, python):
        assert real_service.store.submission(sub).state.value == "graded"

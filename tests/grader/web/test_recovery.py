"""Nothing is lost or stored twice when a gunicorn worker dies in the middle of grading."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator

import pytest

from grader.web.records import SubmissionState
from grader.web.store import Store
from tests.grader.web.conftest import SAMPLE_SUBMISSION, Service, start_service
from tests.grader.web.server import wait_for


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service(request.param, tmp_path_factory.mktemp(f"recovery-{request.param}"))


def test_worker_killed_mid_request_then_retry_is_stored_exactly_once(service: Service):
    student, token = service.new_student()
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    hang = service.hooks / "hang"
    hang.touch()
    first: dict[str, object] = {}

    def submit_and_hang() -> None:
        try:
            first["reply"] = service.request("POST", "/api/v1/submissions", SAMPLE_SUBMISSION, token=token,
                                             headers=headers, timeout=60)
        except OSError as exc:  # the connection dies with the worker
            first["error"] = exc

    thread = threading.Thread(target=submit_and_hang)
    thread.start()
    pid_file = wait_for(lambda: next(service.hooks.glob("worker-*.pid"), None), 15, "the grading worker")
    pid = int(pid_file.read_text())
    assert pid in service.server.worker_pids()
    # The raw submission is already stored, durably, before grading.
    [pending] = [s for s in service.store.submissions_of(student) if s.idempotency_key == key]
    assert pending.state is SubmissionState.PENDING

    os.kill(pid, signal.SIGKILL)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert "error" in first, f"the killed request should have no answer, got {first.get('reply')}"
    hang.unlink()
    pid_file.unlink()
    wait_for(lambda: len(service.server.worker_pids() - {pid}) == service.server.workers, 15,
              "gunicorn to replace the killed worker")

    retry = service.request("POST", "/api/v1/submissions", SAMPLE_SUBMISSION, token=token, headers=headers)
    assert retry.status == 201, retry.text
    assert retry.json["id"] == pending.id
    assert retry.json["state"] == "graded"
    replay = service.request("POST", "/api/v1/submissions", SAMPLE_SUBMISSION, token=token, headers=headers)
    assert replay.status == 200 and replay.json == retry.json
    assert service.store.count_by_idempotency_key(student, key) == 1
    stored = service.store.submission(pending.id)
    assert stored is not None and stored.state is SubmissionState.GRADED and stored.result is not None


def test_the_whole_service_killed_after_answering_keeps_every_answered_submission(
        tmp_path_factory: pytest.TempPathFactory):
    """SIGKILL of the master and every worker right after the 201s: each answered submission
    is in the store, graded (the default SQLite ``synchronous=NORMAL`` commits into the WAL,
    which outlives the processes; only the machine losing power could drop the last commits)."""
    runner = start_service("sqlite", tmp_path_factory.mktemp("killed-service"))
    service = next(runner)
    try:
        student, token = service.new_student()
        ids = []
        for n in range(5):
            reply = service.request("POST", "/api/v1/submissions", SAMPLE_SUBMISSION, token=token,
                                    headers={"Idempotency-Key": f"k{n}"})
            assert reply.status == 201, reply.text
            ids.append(reply.json["id"])
        server = service.server
        assert server.process is not None
        for pid in server.worker_pids():
            os.kill(pid, signal.SIGKILL)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        service.store.close()
        fresh = Store(service.db)
        try:
            kept = {s.id: s for s in fresh.submissions_of(student)}
            assert sorted(kept) == sorted(ids)
            assert all(s.state is SubmissionState.GRADED and s.result for s in kept.values())
        finally:
            fresh.close()
    finally:
        runner.close()

"""What ``streamgrade serve`` and ``streamgrade roster add`` call."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.errors import UsageProblem
from grader.web.auth import Roster, token_hash
from grader.web.cli_commands import APP_FACTORY, GUNICORN_CONFIG, gunicorn_argv, roster_add, serve
from grader.web.records import Role
from grader.web.store import Store


def test_roster_add_prints_a_token_that_authenticates_and_stores_only_its_hash(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    token = roster_add("s1234567", db=db)
    instructor = roster_add("prof", instructor=True, db=db)
    assert len(token) >= 43
    store = Store(db)
    roster = Roster(store)
    assert roster.authenticate(token).student_id == "s1234567"
    assert roster.authenticate(instructor).role is Role.INSTRUCTOR
    [entry] = [e for e in store.roster() if e.student_id == "s1234567"]
    assert entry.token_hash == token_hash(token) and token not in entry.token_hash
    rotated = roster_add("s1234567", db=db)
    assert roster.authenticate(token) is None and roster.authenticate(rotated) is not None
    store.close()


def test_roster_add_refuses_an_unusable_student_id(tmp_path: Path):
    with pytest.raises(UsageProblem, match="printable characters without spaces"):
        roster_add("two words", db=f"sqlite:///{tmp_path / 'r.db'}")


def test_serve_runs_gunicorn_with_the_projects_config_and_the_app_factory():
    argv = gunicorn_argv("127.0.0.1", 8000, workers=3)
    assert argv[:3] == [sys.executable, "-m", "gunicorn"]
    assert argv[argv.index("--config") + 1] == str(GUNICORN_CONFIG)
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8000"
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[-1] == APP_FACTORY
    assert "--preload" in gunicorn_argv("127.0.0.1", 8000, config=Path("/nonexistent"))


def test_serve_refuses_bad_flags_before_starting_anything():
    with pytest.raises(UsageProblem, match="--port"):
        serve(port=0)
    with pytest.raises(UsageProblem, match="--workers"):
        serve(workers=0)


def _free_port() -> int:
    with socket.socket() as probe:  # a free port (serve binds by host and port, like `make run`)
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _assert_answers_healthz(process: subprocess.Popen, port: int, timeout: float = 30) -> None:
    """Wait until the started service answers ``/healthz`` with 200; then stop it."""
    try:
        deadline, status = time.monotonic() + timeout, None
        while time.monotonic() < deadline and status != 200:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
            except OSError:
                time.sleep(0.1)
        assert status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_serve_starts_gunicorn_that_answers_healthz(tmp_path: Path):
    port = _free_port()
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    code = f"from grader.web.cli_commands import serve; serve('127.0.0.1', {port}, db={db!r}, workers=1)"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=GUNICORN_CONFIG.parent,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _assert_answers_healthz(process, port)
    assert (tmp_path / "serve.db").exists()


# --- the click commands (grader/commands/service.py) through the real entry point ---------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from grader.cli import main

    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_serve_help_lists_its_flags(capsys: pytest.CaptureFixture[str]):
    status, out, _ = _cli(capsys, "serve", "--help")
    assert status == 0
    for flag in ("--host", "--port", "--db URL", "--workers N", "--dev"):
        assert flag in out, flag
    status, out, _ = _cli(capsys, "--help")
    assert "serve" in out and "roster" in out


def test_cli_roster_add_prints_only_the_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    status, out, err = _cli(capsys, "roster", "add", "s7654321", "--db", db)
    assert status == 0, err
    token = out.strip()
    assert out == token + "\n" and len(token) >= 43
    status, out, err = _cli(capsys, "roster", "add", "prof", "--instructor", "--db", db)
    assert status == 0, err
    store = Store(db)
    try:
        roster = Roster(store)
        assert roster.authenticate(token).student_id == "s7654321"
        assert roster.authenticate(out.strip()).role is Role.INSTRUCTOR
    finally:
        store.close()


def test_cli_roster_add_takes_the_store_from_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STREAMGRADE_DB", f"sqlite:///{tmp_path / 'env.db'}")
    status, out, _ = _cli(capsys, "roster", "add", "s1")
    assert status == 0 and out.strip() and (tmp_path / "env.db").exists()


def test_cli_errors_are_one_line_with_exit_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("STREAMGRADE_DB", raising=False)
    status, out, err = _cli(capsys, "roster", "add", "two words", "--db", f"sqlite:///{tmp_path / 'e.db'}")
    assert (status, out) == (2, "") and err.strip().count("\n") == 0 and "printable characters" in err
    status, _, err = _cli(capsys, "serve", "--port", "0")
    assert status == 2 and "--port 0" in err
    status, _, err = _cli(capsys, "serve", "--db", "mysql://x")
    assert status == 2 and "STREAMGRADE_DB" in err and "Traceback" not in err
    assert "STREAMGRADE_DB" not in os.environ  # a refused --db leaves the environment alone
    monkeypatch.setenv("STREAMGRADE_RATE_BURST", "many")
    status, _, err = _cli(capsys, "serve")
    assert status == 2 and "STREAMGRADE_RATE_BURST" in err and "Traceback" not in err
    status, _, err = _cli(capsys, "roster", "add")
    assert status == 2 and "Missing argument" in err


def test_cli_serve_starts_gunicorn_that_answers_healthz(tmp_path: Path):
    port = _free_port()
    streamgrade = Path(sys.executable).with_name("streamgrade")
    argv = ([str(streamgrade)] if streamgrade.exists() else [sys.executable, "-m", "grader.cli"])
    argv += ["serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'cli-serve.db'}", "--workers", "1"]
    process = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _assert_answers_healthz(process, port)

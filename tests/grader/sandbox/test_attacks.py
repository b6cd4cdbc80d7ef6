"""The attack suite: submissions that try to break out, and fail.

Each test submits an attack, checks that it ends with a clear status and message, that
nothing on the host changed, and that the grader is still healthy afterwards (a correct
submission grades with full marks and no sandbox process is left behind).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from grader.exercises.load import PACKAGED_SETS
from grader.results import Status
from grader.sandbox import Call, RunEnd
from tests.grader.sandbox.support import CORRECT, part
from tests.paths import EXAMPLES

pytestmark = pytest.mark.slow


def _src(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def _raw(sandbox, source: str, function: str = "attack", args: tuple = ()):
    """One call in the sandbox; the raw outcome (what the student's code saw and returned)."""
    run = sandbox.run(_src(source).encode(), "attack.py", [Call("c1", function, args)])
    assert run.completed, (run.end, run.detail, run.stderr_tail)
    assert run.imported["ok"], run.imported
    return run.outcomes["c1"]


@pytest.fixture
def world_readable_dir():
    """A host directory any uid could read and write: only the sandbox stands in the way."""
    path = Path(tempfile.mkdtemp(prefix="streamgrade-attack-", dir="/tmp"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# -- reading files outside ---------------------------------------------------------------

def test_submission_cannot_read_the_exercise_data(sandbox, grade, healthy):
    target = PACKAGED_SETS / "week10" / "context.yaml"
    outcome = _raw(sandbox, f"""
        def attack():
            return open({str(target)!r}).read()
    """)
    assert outcome.status == "raised"
    assert "FileNotFoundError" in outcome.error
    result = grade(f"def assign_window(t, s=5):\n    return open({str(target)!r}).read()\n")
    aw = part(result, "assign_window")
    assert aw.status is Status.INCORRECT and aw.score == 0
    assert "FileNotFoundError" in " ".join(aw.feedback)
    assert "e7" not in json.dumps(result.to_dict()).split("feedback")[0]
    healthy()


def test_submission_cannot_read_etc_passwd(sandbox, healthy):
    outcome = _raw(sandbox, """
        def attack():
            return open("/etc/passwd").read()
    """)
    assert outcome.status == "raised" and "FileNotFoundError" in outcome.error
    healthy()


def test_submission_cannot_read_a_submissions_store_file(sandbox, world_readable_dir, healthy):
    store = world_readable_dir / "submissions.sqlite"
    store.write_text("student s1: ANSWERS-OF-ANOTHER-STUDENT")
    store.chmod(0o644)
    if os.geteuid() == 0 and shutil.which("setpriv"):
        # Without the sandbox the slot's uid could read it: the sandbox is what stops it.
        plain = subprocess.run(["setpriv", f"--reuid={sandbox.settings.uid_base}",
                                f"--regid={sandbox.settings.uid_base}", "--clear-groups", "cat", str(store)],
                               capture_output=True, text=True)
        assert "ANSWERS-OF-ANOTHER-STUDENT" in plain.stdout
    outcome = _raw(sandbox, f"""
        import os
        def attack():
            found = []
            for path in ({str(store)!r}, "/tmp/" + {store.parent.name!r} + "/submissions.sqlite"):
                try:
                    found.append(open(path).read())
                except OSError as exc:
                    found.append(type(exc).__name__)
            return found
    """)
    assert outcome.status == "ok"
    assert outcome.value == ["FileNotFoundError", "FileNotFoundError"]
    healthy()


def test_no_host_path_is_visible_and_the_environment_does_not_leak(sandbox, monkeypatch, healthy):
    monkeypatch.setenv("STREAMGRADE_TEST_SECRET", "s3cr3t-token")
    outcome = _raw(sandbox, """
        import os
        def attack():
            paths = ["/etc", "/root", "/home", "/work", "/var", "/proc/1/environ", "/run", "/sys/fs/cgroup"]
            return {"visible": [p for p in paths if os.path.exists(p)], "env": dict(os.environ),
                    "uid": os.getuid(), "pid": os.getpid()}
    """)
    assert outcome.status == "ok"
    assert outcome.value["visible"] == []
    assert "s3cr3t-token" not in json.dumps(outcome.value)
    assert outcome.value["uid"] != 0 and outcome.value["pid"] == 1
    healthy()


# -- writing outside the scratch space ---------------------------------------------------

def test_submission_cannot_write_outside_its_scratch_space(sandbox, world_readable_dir, healthy):
    host_target = world_readable_dir / "pwned"
    marker = f"streamgrade-attack-{os.getpid()}"
    outcome = _raw(sandbox, f"""
        def attack():
            results = {{}}
            for path in ({str(host_target)!r}, "/usr/pwned", "/pwned", "/sandbox/pwned",
                         "/sandbox/submission.py", "/dev/pwned"):
                try:
                    with open(path, "w") as f:
                        f.write("x")
                    results[path] = "written"
                except OSError as exc:
                    results[path] = type(exc).__name__
            with open("/tmp/{marker}", "w") as f:
                f.write("scratch")
            results["/tmp"] = open("/tmp/{marker}").read()
            return results
    """)
    assert outcome.status == "ok"
    assert outcome.value.pop("/tmp") == "scratch"  # its own scratch space works
    assert "written" not in outcome.value.values(), outcome.value
    assert not host_target.exists()
    assert not Path("/usr/pwned").exists() and not Path("/pwned").exists()
    assert not Path(f"/tmp/{marker}").exists()  # the scratch /tmp is not the host's
    healthy()


def test_a_2_gib_file_stops_at_the_scratch_limit(sandbox, grade, healthy):
    outcome = _raw(sandbox, """
        def attack():
            written = 0
            try:
                with open("/tmp/big", "wb") as f:
                    for _ in range(2048):
                        f.write(b"x" * (1 << 20))
                        written += 1
            except OSError as exc:
                return [written, type(exc).__name__, exc.strerror]
            return [written, "no error", ""]
    """)
    assert outcome.status == "ok"
    written, error, reason = outcome.value
    assert written <= sandbox.settings.tmp_bytes >> 20
    assert error == "OSError" and reason in ("No space left on device", "File too large")
    result = grade(_src("""
        import datetime
        WROTE = []
        def assign_window(t, s=5):
            if not WROTE:
                WROTE.append(1)
                with open("/tmp/big", "wb") as f:
                    for _ in range(2048):
                        f.write(b"x" * (1 << 20))
            return t
    """))
    aw = part(result, "assign_window")
    assert aw.status is Status.INCORRECT
    assert "No space left on device" in " ".join(aw.feedback) or "File too large" in " ".join(aw.feedback)
    healthy()


# -- network -----------------------------------------------------------------------------

@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted: list = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(2)
    server.close()


def test_submission_cannot_connect_to_a_listener_on_localhost(sandbox, grade, listener, healthy):
    port, accepted = listener
    probe = socket.create_connection(("127.0.0.1", port))  # the listener works from the host
    probe.close()
    time.sleep(0.3)
    assert len(accepted) == 1
    outcome = _raw(sandbox, f"""
        import importlib
        def attack():
            socket = importlib.import_module("socket")  # around the import guard
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=1)
            except OSError as exc:
                return type(exc).__name__
            return "connected"
    """)
    assert outcome.status == "ok" and outcome.value == "PermissionError"
    result = grade(f"import socket\ndef assign_window(t, s=5):\n    socket.create_connection(('127.0.0.1', {port}))\n")
    assert result.exercises[0].status is Status.INVALID
    assert "import of 'socket' is not allowed" in result.exercises[0].feedback[0]
    time.sleep(0.3)
    assert len(accepted) == 1, "a sandboxed submission reached the listener"
    healthy()


# -- processes, memory, time --------------------------------------------------------------

def test_a_fork_bomb_is_refused_and_threads_are_bounded(sandbox, grade, healthy):
    outcome = _raw(sandbox, """
        import os
        def attack():
            seen = {}
            for name, action in (("fork", os.fork), ("spawn", lambda: os.posix_spawn("/usr/bin/true", ["true"], {})),
                                 ("exec", lambda: os.execv("/usr/bin/true", ["true"]))):
                try:
                    action()
                    seen[name] = "allowed"
                except OSError as exc:
                    seen[name] = type(exc).__name__
            return seen
    """)
    assert outcome.status == "ok"
    assert outcome.value == {"fork": "PermissionError", "spawn": "PermissionError", "exec": "PermissionError"}
    started = time.monotonic()
    result = grade(_src("""
        import os, threading, time
        def assign_window(t, s=5):
            while True:
                os.fork()
        def is_late(t, w, s=5, l=0):
            threads = []
            while True:
                th = threading.Thread(target=time.sleep, args=(2,))
                th.start()
                threads.append(th)
    """))
    assert time.monotonic() - started < 30
    assert "PermissionError" in " ".join(part(result, "assign_window").feedback)
    assert "can't start new thread" in " ".join(part(result, "is_late").feedback)
    healthy()


def test_allocating_8_gib_fails_with_a_memory_message(grade, healthy):
    result = grade("def assign_window(t, s=5):\n    block = bytearray(8 << 30)\n    return t\n")
    aw = part(result, "assign_window")
    assert aw.status is Status.INCORRECT
    assert "ran out of memory" in " ".join(aw.feedback)
    at_import = grade("BLOCK = bytearray(8 << 30)\n")
    assert at_import.exercises[0].status is Status.INVALID
    assert "ran out of memory" in at_import.exercises[0].feedback[0]
    healthy()


def test_threads_within_the_limit_do_not_use_up_the_address_space(sandbox, healthy):
    # Each thread that mallocs gets a glibc arena reserving 64 MiB of address space: with
    # the default arena count, 24 such threads left no room under the 1 GiB limit.
    outcome = _raw(sandbox, """
        import threading, time
        def attack():
            def hold():
                keep = bytes(4096)  # past pymalloc's 512 bytes: a malloc in this thread
                time.sleep(0.4)
            threads = [threading.Thread(target=hold) for _ in range(24)]
            for thread in threads:
                thread.start()
            return len(threads)
    """)
    assert outcome.status == "ok" and outcome.value == 24, outcome
    healthy()


def test_results_are_reported_after_a_submission_used_up_the_address_space(sandbox, healthy):
    # The first calls' large results must still be written after the last call kept all
    # the memory it could get: the harness releases a reserve before it reports.
    source = _src("""
        HELD = []
        def big():
            return ["x" * 1000 for _ in range(250)]
        def attack():
            for size in (1 << 20, 1 << 12, 64):
                try:
                    while True:
                        HELD.append(bytes(size))
                except MemoryError:
                    pass
            return len(HELD) > 0
    """)
    calls = [Call(f"c0.{i}", "big") for i in range(16)] + [Call("c1", "attack")]
    run = sandbox.run(source.encode(), "attack.py", calls)
    assert run.completed, (run.end, run.detail)
    assert all(run.outcomes[f"c0.{i}"].value == ["x" * 1000] * 250 for i in range(16))
    assert run.outcomes["c1"].value is True
    healthy()


def test_an_endless_loop_times_out_and_the_other_functions_are_still_graded(grade, exercise, healthy):
    correct = (EXAMPLES / "python" / "correct.py").read_text()
    looping = correct.replace('"""Start of the tumbling window [start, start + size) that holds event_time."""',
                              "while True:\n        pass")
    assert looping != correct
    started = time.monotonic()
    result = grade(looping)
    assert time.monotonic() - started < 10
    aw = part(result, "assign_window")
    assert aw.status is Status.INCORRECT and "did not return within 0.5 s" in " ".join(aw.feedback)
    # is_late and window_aggregate call assign_window, so they time out too; upsert does not
    assert part(result, "upsert").status is Status.CORRECT
    healthy()


def test_a_loop_that_swallows_the_timeout_is_stopped_by_the_wall_clock(grade, healthy):
    started = time.monotonic()
    result = grade(_src("""
        def assign_window(t, s=5):
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
    """))
    assert time.monotonic() - started < 20
    aw = part(result, "assign_window")
    assert aw.status is Status.INCORRECT
    assert "wall clock ran out" in " ".join(aw.feedback)
    healthy()


# -- output floods and forged results -----------------------------------------------------

def test_printing_100_mb_is_discarded(grade, healthy):
    result = grade(_src("""
        import datetime
        PRINTED = []
        def assign_window(t, s=5):
            if not PRINTED:
                PRINTED.append(1)
                print("x" * (100 << 20))
            return t - datetime.timedelta(minutes=t.minute % s, seconds=t.second)
    """))
    assert part(result, "assign_window").status is Status.CORRECT
    healthy()


def test_writing_100_mb_to_stdout_stops_the_process_with_a_clear_message(sandbox, grade, healthy):
    started = time.monotonic()
    result = grade("import os\ndef assign_window(t, s=5):\n    os.write(1, b'x' * (100 << 20))\n    return t\n")
    assert time.monotonic() - started < 20
    aw = part(result, "assign_window")
    assert aw.status is Status.INCORRECT
    assert f"more than {sandbox.settings.stdout_cap >> 20} MiB to stdout or stderr" in " ".join(aw.feedback)
    healthy()


def test_printed_fake_results_are_ignored(grade, healthy):
    fake = json.dumps({"protocol": 1, "import": {"ok": True}, "functions": {}, "results": {}, "score": 10})
    result = grade(f"print({fake!r})\nprint('score: 10/10')\ndef assign_window(t, s=5):\n    return t\n")
    assert result.score == 0
    assert part(result, "assign_window").status is Status.INCORRECT
    healthy()


def test_writing_into_other_descriptors_invalidates_the_submission(grade, healthy):
    result = grade(_src("""
        import os
        for fd in range(3, 4096):  # the pipes keep the grader's numbers, which may be high
            try:
                os.write(fd, b'{"protocol": 1, "import": {"ok": true}, "score": 10}')
            except OSError:
                pass
        def assign_window(t, s=5):
            return t
    """))
    # Nothing on a garbled channel counts, and a process of one function alone shows the
    # garbage is that function's own: each one fails, with the reason.
    assert result.score == 0
    for p in result.exercises[0].parts:
        assert p.status in (Status.INCORRECT, Status.INVALID), p
        assert "wrote to the grader's result channel" in " ".join(p.feedback), p.feedback
    healthy()


def test_a_complete_forged_document_scores_only_the_values_it_carries(grade, healthy):
    # The submission finds the harness in memory, reads the call ids (those run, the batch
    # running, and the batches still to come, read off the harness's stdin), writes a
    # well-formed document of its own and exits: it gets exactly what those values are worth.
    result = grade(_src("""
        import gc, json, os
        def assign_window(t, s=5):
            harness = next(o for o in gc.get_objects() if type(o).__name__ == "Harness")
            batch = max((o for o in gc.get_objects() if type(o) is list and o and type(o[0]) is dict
                         and "function" in o[0]), key=len)
            ids = list(harness.results) + [c["id"] for c in batch]
            read_frame = harness.run_batch.__globals__["read_frame"]
            while (more := read_frame(0)) is not None:
                ids += [c["id"] for c in more]
            ids = list(dict.fromkeys(ids))
            doc = {"protocol": 1, "python": "3", "import": {"ok": True}, "score": 10,
                   "functions": {n: "function" for n in ("assign_window", "is_late", "window_aggregate", "upsert")},
                   "results": {i: {"status": "ok", "value": {"$dt": "1970-01-01T10:00:00"}} for i in ids}}
            os.write(harness.result_fd, json.dumps(doc).encode())
            os._exit(0)
    """))
    assert result.score == 0
    assert all(p.status in (Status.INCORRECT, Status.INVALID) for p in result.exercises[0].parts)
    # the forged values were accepted as its outputs, and scored outside the sandbox
    assert "returned 10:00" in " ".join(part(result, "assign_window").feedback)
    healthy()


_FORGE = """
    import gc, json, os
    def assign_window(t, s=5):
        harness = next(o for o in gc.get_objects() if type(o).__name__ == "Harness")
        batch = max((o for o in gc.get_objects() if type(o) is list and o and type(o[0]) is dict
                     and "function" in o[0]), key=len)
        ids = list(harness.results) + [c["id"] for c in batch]
        read_frame = harness.run_batch.__globals__["read_frame"]
        while (more := read_frame(0)) is not None:
            ids += [c["id"] for c in more]
        results = {i: OUTCOME for i in dict.fromkeys(ids)}
        doc = {"protocol": 1, "python": "3", "import": {"ok": True}, "results": results,
               "functions": {n: "function" for n in ("assign_window", "is_late", "window_aggregate", "upsert")}}
        os.write(harness.result_fd, DOCUMENT)
        os._exit(0)
"""


@pytest.mark.parametrize(("outcome", "document", "rejected"), [
    ("None", 'b"[" * 200_000', True),  # nested past the parser's recursion limit
    ("None", 'b"{\\"a\\": " * 200_000', True),
    ('{"status": "bad_fold_return", "step": "x", "value": 1}', "json.dumps(doc).encode()", True),
    ('{"status": "timeout", "limit_s": [1]}', "json.dumps(doc).encode()", True),
    ('{"status": "raised", "error": {"$obj": "E", "repr": 5}}', "json.dumps(doc).encode()", True),
    ('{"status": "bad_fold_return", "step": 0, "value": {"$obj": 7, "repr": 5}}', "json.dumps(doc).encode()", False),
    ('{"status": "bad_fold_return", "step": 0, "value": {"$map": [[{"$obj": "K", "repr": []}, 1]]}}',
     "json.dumps(doc).encode()", False),
])
def test_malformed_documents_on_the_result_channel_never_crash_the_grader(grade, healthy, outcome, document,
                                                                           rejected):
    result = grade(_src(_FORGE).replace("OUTCOME", outcome).replace("DOCUMENT", document))
    assert result.score == 0
    feedback = " ".join(part(result, "assign_window").feedback)
    assert ("wrote to the grader's result channel" in feedback) is rejected, feedback
    healthy()


# -- signals -----------------------------------------------------------------------------

def test_signalling_the_parent_or_everyone_leaves_the_grader_running(sandbox, grade, healthy):
    outcome = _raw(sandbox, """
        import os
        SIGKILL = 9  # the signal module is refused; the number does the same
        def attack():
            seen = {"ppid": os.getppid()}
            for name, action in (("parent", lambda: os.kill(os.getppid(), SIGKILL)),
                                 ("everyone", lambda: os.kill(-1, SIGKILL)),
                                 ("grader_pid", lambda: os.kill(GRADER_PID, SIGKILL))):
                try:
                    action()
                    seen[name] = "sent"
                except OSError as exc:
                    seen[name] = type(exc).__name__
            return seen
    """.replace("GRADER_PID", str(os.getpid())))
    assert outcome.status == "ok"
    assert outcome.value["ppid"] == 0  # pid 1 of its own namespace: the parent is not visible
    assert outcome.value["everyone"] == "ProcessLookupError"
    assert outcome.value["grader_pid"] in ("ProcessLookupError", "PermissionError")
    result = grade("import os\nos.killpg(0, 9)\ndef assign_window(t, s=5):\n    return t\n")
    assert result.exercises[0].status in (Status.INVALID, Status.INCORRECT)
    assert part(result, "assign_window").score == 0
    healthy()


# -- ctypes and the grader's own modules ---------------------------------------------------

def test_ctypes_is_refused_and_raw_system_calls_fail(sandbox, grade, healthy):
    result = grade("import ctypes\ndef assign_window(t, s=5):\n    return t\n")
    assert result.exercises[0].status is Status.INVALID
    assert "solution.py line 1: import of 'ctypes' is not allowed" in result.exercises[0].feedback[0]
    outcome = _raw(sandbox, """
        import importlib
        def attack():
            ctypes = importlib.import_module("ctypes")  # around the import guard
            libc = ctypes.CDLL(None, use_errno=True)
            calls = {"fork": 57, "socket": 41, "ptrace": 101, "unshare": 272, "mount": 165, "bpf": 321}
            results = {}
            for name, number in calls.items():
                ret = libc.syscall(number, 0, 0, 0, 0, 0)
                results[name] = [ret, ctypes.get_errno()]
            return results
    """)
    assert outcome.status == "ok"
    import platform

    if platform.machine() == "x86_64":
        assert all(ret == -1 and err == 1 for ret, err in outcome.value.values()), outcome.value  # EPERM
    healthy()


def test_importing_the_grader_or_the_engine_gives_nothing(sandbox, grade, healthy):
    for module in ("grader", "reference", "grader.python.grade"):
        result = grade(f"import {module}\ndef assign_window(t, s=5):\n    return t\n")
        assert result.exercises[0].status is Status.INVALID
        refused = module.partition(".")[0]  # the package is refused before its module
        assert f"import of {refused!r} is not allowed" in result.exercises[0].feedback[0]
    outcome = _raw(sandbox, """
        import importlib
        def attack():
            found = {}
            for name in ("reference", "grader", "reference.engine"):
                try:
                    importlib.import_module(name)
                    found[name] = "imported"
                except ImportError as exc:
                    found[name] = type(exc).__name__
            return found
    """)
    assert outcome.value == {"reference": "ModuleNotFoundError", "grader": "ModuleNotFoundError",
                             "reference.engine": "ModuleNotFoundError"}
    healthy()


def test_a_crash_of_the_interpreter_is_reported_for_the_function_that_crashed(grade, healthy):
    result = grade(_src("""
        import importlib
        ctypes = importlib.import_module("ctypes")
        def assign_window(t, s=5):
            ctypes.string_at(0)
        def upsert(table, row):
            table[(row["window_start"], row["user_id"])] = row
    """))
    aw = part(result, "assign_window")
    assert aw.status is Status.INCORRECT
    assert "segmentation fault" in " ".join(aw.feedback)
    assert part(result, "upsert").status is Status.CORRECT  # rerun without the crashing function
    assert result.meta["sandbox"]["runs"] >= 2
    healthy()


def test_exiting_at_import_is_a_clear_invalid_submission(grade, healthy):
    result = grade("import os\nos._exit(0)\n")
    exercise = result.exercises[0]
    assert exercise.status is Status.INVALID
    assert "importing solution.py failed: the process ended (exit status 0)" in exercise.feedback[0]
    healthy()


def test_the_sandbox_run_ends_are_typed(sandbox):
    run = sandbox.run(b"import os\nos._exit(7)\n", "x.py", [Call("c1", "f")])
    assert run.end is RunEnd.EXITED and "exit status 7" in run.detail
    run = sandbox.run(b"import os\nos._exit(86)\n", "x.py", [Call("c1", "f")])  # the harness's out-of-memory status
    assert run.end is RunEnd.EXITED and "used up its memory limit" in run.detail


# -- memory outside the address-space limit ------------------------------------------------

_OUTSIDE_MEMORY = """
    import importlib, os
    def attack():
        found = {}
        def attempt(name, action):
            try:
                action()
                found[name] = "allowed"
            except OSError as exc:
                found[name] = exc.errno
        attempt("memfd", lambda: os.memfd_create("hold"))
        attempt("pipe", os.pipe)
        ctypes = importlib.import_module("ctypes")  # the import guard stops only a plain import
        libc = ctypes.CDLL(None, use_errno=True)
        for name, call in (("shmget", lambda: libc.shmget(0, 1 << 20, 0o1600)),
                           ("msgget", lambda: libc.msgget(0, 0o1600)),
                           ("semget", lambda: libc.semget(0, 1, 0o1600))):
            found[name] = ctypes.get_errno() if call() == -1 else "allowed"
        return found
"""


@pytest.fixture(scope="module")
def weak_sandbox_without_cgroups(weak_sandbox):
    """The weak tier with no cgroups either: the warn-only fallback of a container."""
    from grader.sandbox import Sandbox

    box = Sandbox(weak_sandbox.settings.with_(use_cgroups=False))
    if box.probe().tier is None:
        pytest.skip(box.probe().refusal())
    return box


@pytest.mark.parametrize("tier", ["sandbox", "weak_sandbox", "weak_sandbox_without_cgroups"])
def test_memfds_pipes_and_ipc_objects_are_refused_in_every_tier(tier, request):
    # A memfd's pages and pipe buffers are kernel memory outside RLIMIT_AS (one run held
    # 1.8 GiB in memfds without cgroups); System V objects outlive the process.
    box = request.getfixturevalue(tier)
    outcome = _raw(box, _OUTSIDE_MEMORY)
    assert outcome.status == "ok", outcome
    assert outcome.value == {"memfd": 1, "pipe": 1, "shmget": 1, "msgget": 1, "semget": 1}


def test_the_weak_tier_says_what_it_cannot_bound_in_the_probe_and_every_result(weak_sandbox, small_exercise):
    from grader.python.grade import grade_python

    report = weak_sandbox.probe()
    assert any(line.startswith("disk:") for line in report.unbounded), report.unbounded
    assert report.to_dict()["unbounded"] == list(report.unbounded)
    result = grade_python(CORRECT, "correct.py", "s1", seed=1, sandbox=weak_sandbox, exercise=small_exercise)
    assert result.score == result.max_score
    for line in report.unbounded:
        assert f"the sandbox here does not bound {line}" in result.warnings
    assert result.meta["sandbox"]["unbounded"] == list(report.unbounded)


def test_without_cgroups_the_probe_says_memory_outside_the_address_space_is_not_bounded(
        weak_sandbox_without_cgroups):
    unbounded = weak_sandbox_without_cgroups.probe().unbounded
    assert any(line.startswith("memory: only the address space is limited") and "no cgroups" in line
               for line in unbounded), unbounded

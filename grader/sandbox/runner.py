"""Running the harness on one submission: the command line of every layer, the pipes, the clock.

One submission, one fresh process, all its calls batched (streamed to it in frames, so
that it runs the first while the grader still builds the rest).  The chain, outermost first
(each program ``exec``s the next, so the process the grader watches is one pid):

    [sh: join the slot's pooled cgroups]      root, only where cgroups are writable
    setpriv: the slot's uid and gid, no groups, no capabilities, no_new_privs
    prlimit: CPU, address space, threads, file size, open files, no core
    bwrap: new user/pid/net/ipc/uts/mount namespaces, read-only /usr (+ the interpreter's
           prefix), a size-capped /tmp, the harness and the submission as read-only files
    python -I -S -B harness.pyc        seccomp and Landlock installed before the submission
                                       (compiled once by that interpreter; .py if it cannot)

Grader side: a wall clock, caps on stdout, stderr, the result and progress pipes, and a
minimal environment.  The harness and the submission enter as memfds
(``--ro-bind-data``): nothing is staged on the host's disk and no host path of the
grader is visible inside.

Lessons from SANDBOX.md kept here: bwrap must not run as root (uid dropped first);
``--as-pid-1`` and ``--clearenv`` (no helper leaking the environment); a fresh fd for
each ``--ro-bind-data``; ``preexec_fn`` is never used (unsafe in threaded servers).
"""

from __future__ import annotations

import contextlib
import enum
import json
import marshal
import os
import re
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.sandbox import harness as codec
from grader.sandbox.settings import SandboxSettings, Tier
from grader.sandbox.slots import CgroupPool, Slot, SlotPool

HARNESS_PATH = Path(__file__).with_name("harness.py")
SANDBOX_DIR = "/sandbox"
SANDBOX_HARNESS = f"{SANDBOX_DIR}/harness.py"
SANDBOX_SUBMISSION = f"{SANDBOX_DIR}/submission.py"
#: ``MALLOC_ARENA_MAX``: glibc gives each new thread its own malloc arena and reserves
#: 64 MiB of address space for it; a submission starting its allowed threads would use
#: up the address-space limit on reservations alone and leave the harness no memory to
#: report with.  One arena costs nothing here: the GIL serialises Python's allocations.
SANDBOX_MALLOC_ARENAS = "1"
MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "MALLOC_ARENA_MAX": SANDBOX_MALLOC_ARENAS}

#: Call statuses the harness may report; anything else marks the document as forged.
CALL_STATUSES = frozenset({
    "ok", "raised", "timeout", "memory", "cpu", "not_defined", "skipped", "too_large",
    "too_large_total", "bad_fold_return",
})


#: The types of the details an outcome may carry (``error`` is a str); anything else is forged.
_DETAIL_TYPES = {"limit_s": (float, int), "reason": (str,), "step": (int,)}


class SandboxFailure(RuntimeError):
    """The sandbox itself did not start (a grader-side problem, never the student's)."""


@dataclass(frozen=True)
class Interpreter:
    """The Python run inside the sandbox, and what must be bound for it."""

    path: str
    prefix: str
    version: str
    origin: str  # "sys.executable", "system" or "setting"

    @property
    def binds(self) -> tuple[str, ...]:
        """Directories to bind read-only besides /usr (nothing when the prefix is under /usr)."""
        return () if _under(self.prefix, "/usr") else (self.prefix,)


@dataclass(frozen=True)
class Call:
    """One call of a submission's function; ``fold`` calls ``state = f(state, item)`` over items.

    ``args`` are Python values; ``encoded`` may carry them already in the codec's form
    (callers that build many calls produce it directly, which is faster).
    """

    id: str
    function: str
    args: tuple = ()
    fold: bool = False
    encoded: list | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        args = self.encoded if self.encoded is not None else codec.encode(list(self.args), [10**9, 10**12])
        return {"id": self.id, "function": self.function, "args": args, "fold": self.fold}


@dataclass(frozen=True)
class CallOutcome:
    """What one call did: a value (decoded, types kept) or why there is none."""

    id: str
    status: str
    value: Any = None
    error: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class RunEnd(enum.StrEnum):
    """How the sandboxed process ended."""

    COMPLETED = "completed"  # a well-formed result document arrived
    TIMEOUT = "timeout"  # the grader's wall clock ran out
    BUDGET = "budget"  # the whole grading's time budget ran out (before this run's own clock)
    OUTPUT_LIMIT = "output_limit"  # too much on stdout or stderr
    RESULT_LIMIT = "result_limit"  # the result document was too large
    KILLED = "killed"  # died of a signal (CPU limit, memory cgroup, its own kill)
    EXITED = "exited"  # ended without a result document (os._exit, sys.exit in a thread)
    CORRUPT = "corrupt"  # a document arrived but not one the harness writes


@dataclass(frozen=True)
class SandboxRun:
    """The raw outcome of one sandboxed process; scoring happens elsewhere."""

    tier: Tier
    end: RunEnd
    detail: str = ""
    imported: Mapping[str, Any] | None = None
    functions: Mapping[str, str] = field(default_factory=dict)
    outcomes: Mapping[str, CallOutcome] = field(default_factory=dict)
    started: tuple[str, ...] = ()
    wall_s: float = 0.0
    python: str | None = None
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    stderr_tail: str = ""
    confinement: Mapping[str, Any] = field(default_factory=dict)
    probe: Mapping[str, Any] | None = None

    @property
    def completed(self) -> bool:
        return self.end is RunEnd.COMPLETED

    @property
    def last_started(self) -> str | None:
        """The call that was running when the process died (None when it completed)."""
        calls = [s for s in self.started if not s.startswith("+")]
        return calls[-1] if calls and not self.completed else None


# -- the interpreter ---------------------------------------------------------------------

def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def world_readable_path(path: str) -> bool:
    """True when an unrelated unprivileged uid can reach ``path``: every ancestor is
    searchable by others and the path itself readable by others."""
    p = Path(path)
    try:
        for ancestor in list(p.parents)[::-1]:
            if not os.stat(ancestor).st_mode & stat.S_IXOTH:
                return False
        return bool(os.stat(p).st_mode & stat.S_IROTH)
    except OSError:
        return False


@lru_cache(maxsize=8)
def _query(path: str) -> tuple[str, str] | None:
    try:
        out = subprocess.run([path, "-I", "-S", "-c", "import sys; print(sys.version.split()[0], sys.base_prefix)"],
                             capture_output=True, text=True, timeout=10, env=MINIMAL_ENV)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split()
    return (parts[0], parts[1]) if out.returncode == 0 and len(parts) == 2 else None


def find_interpreter(settings: SandboxSettings) -> Interpreter | str:
    """The interpreter to run inside, or the reason there is none.

    Preference: the setting; the grader's own interpreter (``sys.executable``, resolved)
    when an unprivileged uid can read it; the distribution's ``/usr/bin/pythonX.Y`` of
    the same version otherwise (a pyenv build under ``/root`` (mode 0700) is unreachable
    to the sandbox's uid, and bwrap resolves bind sources as that uid).
    """
    if settings.python:
        path = os.path.realpath(settings.python)
        info = _query(path) if world_readable_path(path) else None
        if info is None:
            return f"STREAMGRADE_SANDBOX_PYTHON={settings.python} is not an interpreter an unprivileged uid can run"
        return Interpreter(path, os.path.realpath(info[1]), info[0], "setting")
    own = os.path.realpath(sys.executable)
    prefix = os.path.realpath(sys.base_prefix)
    stdlib = os.path.join(prefix, "lib", f"python{sys.version_info.major}.{sys.version_info.minor}")
    if world_readable_path(own) and world_readable_path(stdlib):
        return Interpreter(own, prefix, sys.version.split()[0], "sys.executable")
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    if os.path.exists(system) and world_readable_path(os.path.realpath(system)):
        info = _query(system)
        if info is not None:
            return Interpreter(os.path.realpath(system), os.path.realpath(info[1]), info[0], "system")
    return (f"{own} lives under a directory an unprivileged uid cannot enter, and there is no {system}: "
            f"install the distribution's interpreter (apt-get install -y python{sys.version_info.major}."
            f"{sys.version_info.minor}) or set STREAMGRADE_SANDBOX_PYTHON")


# -- command lines -----------------------------------------------------------------------

def _root_links() -> list[str]:
    """/lib, /lib64, /bin as the host has them (symlinks into /usr on merged-usr systems)."""
    args: list[str] = []
    for name in ("lib", "lib64", "lib32", "libx32", "bin", "sbin"):
        host = f"/{name}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    return args


def limit_args(settings: SandboxSettings) -> list[str]:
    return [
        f"--as={settings.memory_bytes}",
        f"--cpu={settings.cpu_s}:{settings.cpu_s + 1}",
        f"--nproc={settings.max_threads}",
        f"--stack={settings.stack_limit}",
        f"--nofile={settings.max_open_files}",
        f"--fsize={settings.max_file_bytes}",
        "--core=0",
    ]


def privilege_args(settings: SandboxSettings, slot: Slot) -> list[str]:
    """``setpriv`` to the slot's uid when the grader is root; nothing when it is not."""
    if os.geteuid() != 0:
        return []
    return [shutil.which(settings.setpriv) or settings.setpriv, f"--reuid={slot.uid}", f"--regid={slot.gid}",
            "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def cgroup_prefix(slot: Slot) -> list[str]:
    if not slot.cgroup_procs:
        return []
    n = len(slot.cgroup_procs)
    script = " && ".join(f'echo $$ > "${i + 1}"' for i in range(n)) + f' && shift {n} && exec "$@"'
    return ["/bin/sh", "-c", script, "sh", *slot.cgroup_procs]


def strict_command(settings: SandboxSettings, slot: Slot, interpreter: Interpreter, harness_fd: int,
                   submission_fd: int, result_fd: int, progress_fd: int,
                   harness_path: str = SANDBOX_HARNESS) -> list[str]:
    bwrap = [
        shutil.which(settings.bwrap) or settings.bwrap,
        "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
        "--as-pid-1", "--clearenv", "--cap-drop", "ALL",
        "--ro-bind", "/usr", "/usr", *_root_links(),
    ]
    for path in interpreter.binds:
        bwrap += ["--ro-bind", path, path]
    bwrap += [
        "--dev", "/dev", "--remount-ro", "/dev",
        "--size", str(settings.tmp_bytes), "--tmpfs", "/tmp",
        "--perms", "0444", "--ro-bind-data", str(harness_fd), harness_path,
        "--perms", "0444", "--ro-bind-data", str(submission_fd), SANDBOX_SUBMISSION,
        "--remount-ro", "/", "--chdir", "/tmp",
        "--setenv", "LC_ALL", "C.UTF-8", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp",
        "--setenv", "MALLOC_ARENA_MAX", SANDBOX_MALLOC_ARENAS,
        "--",
        interpreter.path, "-I", "-S", "-B", harness_path,
        "--result-fd", str(result_fd), "--progress-fd", str(progress_fd),
    ]
    prlimit = [shutil.which(settings.prlimit) or settings.prlimit, *limit_args(settings), "--"]
    return [*cgroup_prefix(slot), *privilege_args(settings, slot), *prlimit, *bwrap]


def weak_command(settings: SandboxSettings, slot: Slot, interpreter: Interpreter, harness_path: str,
                 result_fd: int, progress_fd: int) -> list[str]:
    prlimit = [shutil.which(settings.prlimit) or settings.prlimit, *limit_args(settings), "--"]
    return [*cgroup_prefix(slot), *privilege_args(settings, slot), *prlimit,
            interpreter.path, "-I", "-S", "-B", harness_path,
            "--result-fd", str(result_fd), "--progress-fd", str(progress_fd)]


# -- the process -------------------------------------------------------------------------

@dataclass
class _Capture:
    name: str
    cap: int
    keep: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0

    def add(self, data: bytes) -> bool:
        """Record ``data``; False once the cap is passed."""
        if self.size < self.keep:
            self.chunks.append(data[: self.keep - self.size])
        self.size += len(data)
        return self.size <= self.cap

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


_HARNESS_SOURCE: bytes | None = None


def harness_source() -> bytes:
    global _HARNESS_SOURCE
    if _HARNESS_SOURCE is None:
        _HARNESS_SOURCE = HARNESS_PATH.read_bytes()
    return _HARNESS_SOURCE


_COMPILE_HARNESS = (
    "import importlib.util, marshal, sys\n"
    "code = compile(sys.stdin.buffer.read(), sys.argv[1], 'exec', dont_inherit=True)\n"
    "sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code))\n"
)


@lru_cache(maxsize=8)
def compiled_harness(interpreter_path: str) -> bytes | None:
    """The harness as a ``.pyc`` compiled by the sandbox's own interpreter, which runs it
    directly: every sandboxed start then skips compiling the harness (about 8 ms here).
    None when that interpreter cannot produce one (the source is used then)."""
    try:
        out = subprocess.run([interpreter_path, "-I", "-S", "-B", "-c", _COMPILE_HARNESS, SANDBOX_HARNESS],
                             input=harness_source(), capture_output=True, timeout=30, env=MINIMAL_ENV)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 and len(out.stdout) > 16 else None


def harness_program(interpreter: Interpreter) -> tuple[str, bytes]:
    """(file name, content) of the harness as the sandbox runs it: ``harness.pyc`` when
    the interpreter compiled it, ``harness.py`` otherwise."""
    compiled = compiled_harness(interpreter.path)
    return ("harness.pyc", compiled) if compiled is not None else ("harness.py", harness_source())


def frame(data: Any) -> bytes:
    """One stdin frame for the harness: 8-byte big-endian length, then marshal (format 4)."""
    body = marshal.dumps(data, 4)
    return len(body).to_bytes(8, "big") + body


#: Calls per stdin frame: the harness starts on the first frame while the next arrive.
CALLS_PER_FRAME = 128


def call_frames(calls: Sequence[Call]) -> bytes:
    """The calls as frames of at most :data:`CALLS_PER_FRAME` calls each."""
    return b"".join(frame([c.to_json() for c in calls[i:i + CALLS_PER_FRAME]])
                    for i in range(0, len(calls), CALLS_PER_FRAME))


class PendingRun:
    """A sandboxed process started on one submission, waiting for its calls.

    :meth:`start` spawns it and sends the configuration at once, so the process starts,
    confines itself and imports the submission while the grader is still building the
    calls; :meth:`finish` sends them and collects the result.  Always finish or
    :meth:`cancel` (a context manager does the latter).
    """

    def __init__(self, settings: SandboxSettings, tier: Tier, interpreter: Interpreter, slots: SlotPool,
                 config: Mapping[str, Any], source: bytes, cgroups: CgroupPool | None = None,
                 deadline: float | None = None) -> None:
        """``deadline`` (``time.monotonic()``): the end of the whole grading's budget; the
        run stops then if its own wall clock has not stopped it earlier."""
        self.settings, self.tier, self.slots, self.cgroups = settings, tier, slots, cgroups
        self.started = time.perf_counter()
        own = time.monotonic() + settings.wall_clock_s
        self.budget_cut = deadline is not None and deadline < own
        self.deadline = deadline if self.budget_cut else own
        self.probing = config.get("mode") == "probe"
        self._stack = contextlib.ExitStack()
        self._done = False
        try:
            self._spawn(interpreter, dict(config), source)
        except BaseException:
            self._stack.close()
            raise

    def _spawn(self, interpreter: Interpreter, config: dict[str, Any], source: bytes) -> None:
        settings, stack = self.settings, self._stack
        self.slot = slot = stack.enter_context(self.slots.acquire())
        result_r, result_w = os.pipe2(os.O_CLOEXEC)
        progress_r, progress_w = os.pipe2(os.O_CLOEXEC)
        parent_fds = [result_r, progress_r]
        child_fds = [result_w, progress_w]
        stack.callback(lambda: [_close(fd) for fd in parent_fds + child_fds])
        harness_name, harness_data = harness_program(interpreter)
        if self.tier is Tier.STRICT:
            harness_path = f"{SANDBOX_DIR}/{harness_name}"
            harness_fd = _memfd("harness", harness_data)
            submission_fd = _memfd("submission", source)
            child_fds += [harness_fd, submission_fd]
            config["submission"] = {**config.get("submission", {}), "path": SANDBOX_SUBMISSION}
            config["landlock"] = {"read": ["/usr", *interpreter.binds, harness_path, SANDBOX_SUBMISSION,
                                           "/dev/null", "/dev/urandom"], "write": ["/tmp"]}
            argv = strict_command(settings, slot, interpreter, harness_fd, submission_fd, result_w, progress_w,
                                  harness_path)
            cwd, env = "/", dict(MINIMAL_ENV)
        else:
            run_dir = stack.enter_context(_weak_run_dir(source, slot, harness_name, harness_data))
            config["submission"] = {**config.get("submission", {}), "path": str(run_dir / "submission.py")}
            scratch = str(run_dir / "scratch")
            config["landlock"] = {"read": ["/usr", *interpreter.binds, str(run_dir / harness_name),
                                           str(run_dir / "submission.py"), "/dev/null", "/dev/urandom"],
                                  "write": [scratch]}
            argv = weak_command(settings, slot, interpreter, str(run_dir / harness_name), result_w, progress_w)
            cwd, env = scratch, {**MINIMAL_ENV, "HOME": scratch, "TMPDIR": scratch}
        self._oom_before = self.cgroups.oom_kills(slot.number) if self.cgroups and slot.cgroup_procs else 0
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    pass_fds=child_fds, cwd=cwd, env=env, start_new_session=True)
        except OSError as exc:
            raise SandboxFailure(f"cannot start {argv[0]}: {exc}") from None
        self.proc = proc
        stack.callback(self._reap)
        for fd in child_fds:
            _close(fd)
        child_fds.clear()
        self.captures = {
            proc.stdout.fileno(): _Capture("stdout", settings.stdout_cap, 4096),
            proc.stderr.fileno(): _Capture("stderr", settings.stderr_cap, 16384),
            result_r: _Capture("result", settings.result_cap, settings.result_cap),
            progress_r: _Capture("progress", settings.progress_cap, settings.progress_cap),
        }
        os.set_blocking(proc.stdin.fileno(), False)
        self._pending = bytearray(frame(config))
        self._sent_ids: list[str] = []
        self._sent_set: set[str] = set()
        self._write_some()

    def _write_some(self) -> None:
        """Write what the stdin pipe takes now, without blocking."""
        pending = self._pending
        with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
            while pending:
                del pending[:os.write(self.proc.stdin.fileno(), pending[:65536])]

    def send(self, calls: Sequence[Call]) -> None:
        """Send a batch of calls now; the process runs them while the caller prepares the
        next.  :meth:`finish` then takes every call, these first (it sends only the rest).
        Never blocks: what the pipe cannot take yet waits for the next send or finish."""
        if self._done:
            raise RuntimeError("this run has finished")
        if not calls:
            return
        ids = [c.id for c in calls]
        fresh = set(ids)
        if len(fresh) != len(ids) or not fresh.isdisjoint(self._sent_set):
            self.cancel()
            raise ValueError("call ids must be unique")
        self._sent_ids += ids
        self._sent_set |= fresh
        self._pending += call_frames(calls)
        self._write_some()

    def finish(self, calls: Sequence[Call] | None = None) -> SandboxRun:
        """Send the calls (none for a probe), wait for the end, and read the result.

        ``calls`` are all the calls of the run: those already given to :meth:`send`, in
        the same order, then the rest."""
        if self._done:
            raise RuntimeError("this run has finished")
        call_ids = None
        if calls is not None:
            call_ids = [c.id for c in calls]
            sent = len(self._sent_ids)
            if call_ids[:sent] != self._sent_ids:
                self.cancel()
                raise ValueError("finish must be given the calls already sent, in order, then the rest")
        self._done = True
        try:
            if calls is not None:
                rest = calls[len(self._sent_ids):]
                if rest:
                    self._pending += call_frames(rest)
                self._pending += frame(None)  # the end of the calls
            stop: RunEnd | None = RunEnd.TIMEOUT
            try:
                stop = _pump(self.proc, memoryview(bytes(self._pending)), self.captures, self.deadline)
            finally:
                self._stop_process(stop)
            proc, slot = self.proc, self.slot
            oom = bool(self.cgroups and slot.cgroup_procs and self.cgroups.oom_kills(slot.number) > self._oom_before)
            wall = time.perf_counter() - self.started
        finally:
            self._stack.close()
        by_name = {c.name: c for c in self.captures.values()}
        if stop is RunEnd.TIMEOUT and self.budget_cut:
            stop = RunEnd.BUDGET
        return _interpret(self.settings, self.tier, stop, proc.returncode, by_name, call_ids, wall, oom,
                          probing=self.probing)

    def cancel(self) -> None:
        """Stop the process (if it still runs) and free the slot."""
        if not self._done:
            self._done = True
            try:
                self._stop_process(RunEnd.TIMEOUT)
            finally:
                self._stack.close()

    def __enter__(self) -> PendingRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def _stop_process(self, stop: RunEnd | None) -> None:
        proc = self.proc
        if proc.poll() is None:
            _stop(proc, self.slots, self.slot)
        proc.wait()
        if stop is not None or proc.returncode != 0:
            self.slots.clear(self.slot)

    def _reap(self) -> None:
        proc = self.proc
        if proc.poll() is None:
            _stop(proc, self.slots, self.slot)
            proc.wait()
            self.slots.clear(self.slot)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()


def execute(settings: SandboxSettings, tier: Tier, interpreter: Interpreter, slots: SlotPool,
            config: Mapping[str, Any], source: bytes, calls: Sequence[Call] | None,
            cgroups: CgroupPool | None = None, deadline: float | None = None) -> SandboxRun:
    """Run the harness once on ``source``: start, send the calls, collect; never raises for
    student behaviour."""
    return PendingRun(settings, tier, interpreter, slots, config, source, cgroups, deadline).finish(calls)


@contextlib.contextmanager
def _weak_run_dir(source: bytes, slot: Slot, harness_name: str = "harness.py", harness_data: bytes | None = None):
    """Weak tier: the harness and the submission as read-only files only the run's group
    can read (root-owned, group = the slot's gid), and a scratch directory of its own."""
    base = Path(tempfile.mkdtemp(prefix="streamgrade-run-"))
    as_root = os.geteuid() == 0
    try:
        harness = harness_source() if harness_data is None else harness_data
        for name, data in ((harness_name, harness), ("submission.py", source)):
            path = base / name
            path.write_bytes(data)
            if as_root:
                os.chown(path, 0, slot.gid)
            os.chmod(path, 0o440 if as_root else 0o400)
        scratch = base / "scratch"
        scratch.mkdir(mode=0o700)
        if as_root:
            os.chown(scratch, slot.uid, slot.gid)
            os.chown(base, 0, slot.gid)
            os.chmod(base, 0o750)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _stop(proc: subprocess.Popen, slots: SlotPool, slot: Slot) -> None:
    """Kill the sandboxed process and whatever it runs.

    The processes under bwrap die first, so that bwrap reaps them and exits by itself
    (killing bwrap first would leave its child to the host's init to reap); then, if it
    is still there, bwrap's process group.
    """
    inside = slots.leftovers(slot) - {proc.pid}
    for pid in inside:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if inside:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(1.0)
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            proc.kill()


def _pump(proc: subprocess.Popen, payload: memoryview, captures: dict[int, _Capture],
          deadline: float) -> RunEnd | None:
    """Feed stdin, drain every pipe under its cap, until EOF everywhere or the clock runs out.

    Returns why the grader stopped the process, or None when it ended by itself.
    """
    sel = selectors.DefaultSelector()
    stdin_fd = proc.stdin.fileno()
    view = payload
    if view:
        sel.register(stdin_fd, selectors.EVENT_WRITE)
    else:
        proc.stdin.close()
    for fd in captures:
        sel.register(fd, selectors.EVENT_READ)
    try:
        while len(sel.get_map()) > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return RunEnd.TIMEOUT
            for key, _ in sel.select(remaining):
                fd = key.fd
                if fd == stdin_fd:
                    try:
                        view = view[os.write(fd, view[:65536]):]
                    except BlockingIOError:
                        continue
                    except OSError:  # the sandbox closed stdin early (it died)
                        view = view[:0]
                    if not view:
                        sel.unregister(fd)
                        proc.stdin.close()
                    continue
                data = os.read(fd, 1 << 16)
                if not data:
                    sel.unregister(fd)
                    continue
                capture = captures[fd]
                if not capture.add(data):
                    return RunEnd.RESULT_LIMIT if capture.name in ("result", "progress") else RunEnd.OUTPUT_LIMIT
        remaining = deadline - time.monotonic()
        try:
            proc.wait(max(remaining, 0.001))
        except subprocess.TimeoutExpired:
            return RunEnd.TIMEOUT
        return None
    finally:
        sel.close()


def _interpret(settings: SandboxSettings, tier: Tier, stop: RunEnd | None, returncode: int,
               captures: dict[str, _Capture], call_ids: Sequence[str] | None, wall: float, oom: bool,
               probing: bool = False) -> SandboxRun:
    """What the process's end means.  Every ``detail`` is a clause that reads after "it was
    running when" or "importing the file failed:"."""
    stderr = captures["stderr"].data.decode("utf-8", "replace")
    started = tuple(line for line in captures["progress"].data.decode("ascii", "replace").splitlines() if line)
    common = {
        "tier": tier, "started": started, "wall_s": wall, "stdout_bytes": captures["stdout"].size,
        "stderr_bytes": captures["stderr"].size, "stderr_tail": stderr[-4000:],
    }
    if "+ready" not in started and stop is None and not captures["result"].size:
        raise SandboxFailure(f"the sandbox did not start (exit status {returncode}): {stderr.strip()[-500:]}")
    if stop is not None:
        return SandboxRun(end=stop, detail=_stop_detail(stop, settings), **common)
    raw = captures["result"].data
    if not raw:
        signum = _signal_of(returncode)
        if signum is not None:
            name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
            why = f"the memory limit ({settings.memory_bytes >> 20} MiB)" if oom else {
                signal.SIGKILL: f"SIGKILL (the CPU time limit of {settings.cpu_s} s, or the memory limit)",
                signal.SIGSEGV: "a crash (segmentation fault)",
                signal.SIGXCPU: f"the CPU time limit ({settings.cpu_s} s)",
            }.get(signum, f"signal {name}")
            return SandboxRun(end=RunEnd.KILLED, detail=f"the process was killed by {why}", **common)
        if returncode == codec.EXIT_NO_MEMORY:  # a submission could exit so itself: it only gets this message
            return SandboxRun(end=RunEnd.EXITED, detail=f"the process had used up its memory limit "
                              f"({settings.memory_bytes >> 20} MiB of address space, thread stacks included) and "
                              "could not report", **common)
        return SandboxRun(end=RunEnd.EXITED, detail=f"the process ended (exit status {returncode}) without reporting "
                          "(os._exit, or sys.exit outside a function call?)", **common)
    nodes = count_values(raw, settings.result_nodes)
    if nodes > settings.result_nodes:
        return SandboxRun(end=RunEnd.CORRUPT, detail=f"the submission wrote to the grader's result channel (a "
                          f"document of more than {settings.result_nodes} values, more than the harness ever "
                          "writes); everything on it is rejected", **common)
    try:
        # values are decoded as the document is parsed (tagged objects, innermost first)
        document = json.loads(raw, object_hook=codec.decode_object)
        return _from_document(document, call_ids, common, ready="+ready" in started, probing=probing)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:  # not SandboxFailure
        return SandboxRun(end=RunEnd.CORRUPT, detail=f"the submission wrote to the grader's result channel ({exc}); "
                          "everything on it is rejected", **common)


#: A JSON string (the harness writes ASCII, every other character escaped).
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def count_values(raw: bytes, limit: int) -> int:
    """An upper bound of the values a JSON document holds, found without parsing it: every
    value but the first follows a ``,`` or opens a container (a key shares its value's
    comma).  Brackets and commas inside strings count too, unless the quick count passes
    ``limit``; then the strings are taken out first.  Enough to refuse a document of
    millions of ``{}`` before ``json.loads`` builds them (a forged one took the grader to
    1.6 GiB), at a few milliseconds for the largest document accepted."""
    quick = raw.count(b",") + raw.count(b"{") + raw.count(b"[") + 1
    if quick <= limit:
        return quick
    bare = _JSON_STRING.sub(b"", raw)
    return bare.count(b",") + bare.count(b"{") + bare.count(b"[") + 1


def _signal_of(returncode: int) -> int | None:
    if returncode < 0:
        return -returncode
    if returncode > 128:  # bwrap reports a signalled child as 128 + signal
        return returncode - 128
    return None


def _stop_detail(stop: RunEnd, settings: SandboxSettings) -> str:
    return {
        RunEnd.TIMEOUT: f"the grader's wall clock ran out ({settings.wall_clock_s:g} s for all the calls together)",
        RunEnd.BUDGET: f"the time budget of the whole grading ran out ({settings.budget_s:g} s for one submission, "
                       "reruns included)",
        RunEnd.OUTPUT_LIMIT: f"the process had written more than {settings.stdout_cap >> 20} MiB to stdout or stderr "
                             "(printed output is discarded anyway)",
        RunEnd.RESULT_LIMIT: f"the returned values passed the size limit ({settings.result_cap >> 20} MiB)",
    }[stop]


def _from_document(document: Any, call_ids: Sequence[str] | None, common: dict, *, ready: bool,
                   probing: bool) -> SandboxRun:
    if not isinstance(document, dict) or document.get("protocol") != codec.PROTOCOL:
        raise ValueError("not a harness document")
    # Before "+ready" no student code has run: a "fatal" then is the harness's own.  After
    # it, a "fatal" (or a probe report outside a probe) can only be forged.
    if "fatal" in document and not ready:
        raise SandboxFailure(f"the harness could not confine the submission: {document['fatal']}")
    if "fatal" in document or ("probe" in document) != probing:
        raise ValueError("a report of another kind than requested")
    confinement = document.get("confinement") or {}
    python = document.get("python")
    if probing:
        return SandboxRun(end=RunEnd.COMPLETED, probe=document["probe"], confinement=confinement, python=python,
                          **common)
    imported = document["import"]
    if not isinstance(imported, dict) or not isinstance(imported.get("ok"), bool):
        raise ValueError("malformed import report")
    outcomes: dict[str, CallOutcome] = {}
    functions: dict[str, str] = {}
    if imported["ok"]:
        results = document["results"]
        functions = {str(k): str(v) for k, v in document["functions"].items()}
        if call_ids is not None and set(results) != set(call_ids):
            raise ValueError("the set of call ids differs from the request")
        for cid, raw in results.items():
            status = raw["status"]
            if status not in CALL_STATUSES:
                raise ValueError(f"unknown status {status!r}")
            value = raw.get("value")  # decoded by the parser
            error = raw.get("error")
            detail = {k: v for k, v in raw.items() if k in _DETAIL_TYPES}
            if (error is not None and type(error) is not str) \
                    or any(type(v) not in _DETAIL_TYPES[k] for k, v in detail.items()):
                raise ValueError(f"malformed outcome of {cid}")
            outcomes[cid] = CallOutcome(cid, status, value, error, detail)
    return SandboxRun(end=RunEnd.COMPLETED, imported=imported, functions=functions, outcomes=outcomes,
                      confinement=confinement, python=python, **common)


def build_config(display_name: str, seccomp_program: bytes | None, *, forbidden_imports: Sequence[str] = (),
                 call_timeout_s: float, import_timeout_s: float, mode: str = "grade",
                 result_budget: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The harness's first frame: everything but the calls."""
    return {
        "protocol": codec.PROTOCOL,
        "mode": mode,
        "submission": {"display_name": display_name},
        "seccomp": seccomp_program.hex() if seccomp_program is not None else None,
        "forbidden_imports": list(forbidden_imports),
        "call_timeout_s": call_timeout_s,
        "import_timeout_s": import_timeout_s,
        "result_budget": dict(result_budget or {}),
    }

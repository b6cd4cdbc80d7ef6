"""Running the harness on one submission: the process, the pipes, the clock.

One submission, one fresh process, all its calls batched (streamed to it in frames, so
that it runs the first while the grader still builds the rest); the command line of
each layer is :mod:`grader.sandbox.commands`'.  Grader side: a wall clock (the run's,
or the whole grading's budget when that ends first), caps on stdout, stderr, the result
and progress pipes, and a minimal environment.  ``preexec_fn`` is never used (unsafe in
threaded servers).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.sandbox.commands import (
    SANDBOX_DIR,
    SANDBOX_SUBMISSION,
    call_frames,
    frame,
    harness_program,
    harness_source,
    strict_command,
    weak_command,
)
from grader.sandbox.interpreter import MINIMAL_ENV, Interpreter
from grader.sandbox.outcome import Call, Capture, RunEnd, SandboxFailure, SandboxRun, interpret
from grader.sandbox.settings import SandboxSettings, Tier
from grader.sandbox.slots import CgroupPool, Slot, SlotPool

# -- the interpreter ---------------------------------------------------------------------


# -- command lines -----------------------------------------------------------------------


# -- the process -------------------------------------------------------------------------


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


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
            proc.stdout.fileno(): Capture("stdout", settings.stdout_cap, 4096),
            proc.stderr.fileno(): Capture("stderr", settings.stderr_cap, 16384),
            result_r: Capture("result", settings.result_cap, settings.result_cap),
            progress_r: Capture("progress", settings.progress_cap, settings.progress_cap),
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
        return interpret(self.settings, self.tier, stop, proc.returncode, by_name, call_ids, wall, oom,
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


def _pump(proc: subprocess.Popen, payload: memoryview, captures: dict[int, Capture],
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

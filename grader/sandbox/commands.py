"""The command line of every layer, and what the harness is sent (its program, its frames).

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

import marshal
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.sandbox import harness as codec
from grader.sandbox.interpreter import MINIMAL_ENV, SANDBOX_MALLOC_ARENAS, Interpreter
from grader.sandbox.outcome import Call
from grader.sandbox.settings import SandboxSettings
from grader.sandbox.slots import Slot

HARNESS_PATH = Path(__file__).with_name("harness.py")


SANDBOX_DIR = "/sandbox"


SANDBOX_HARNESS = f"{SANDBOX_DIR}/harness.py"


SANDBOX_SUBMISSION = f"{SANDBOX_DIR}/submission.py"


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

"""Which sandbox layers work on this machine, found by trying them (about 50 ms, then cached).

Static checks (binaries, versions, the interpreter, cgroups) and then one real run of
the harness in probe mode, fully confined, that tries what an attack would: fork, exec,
a socket, a thread, reading ``/etc/passwd``, writing ``/``, and reads back its uid and
rlimits.  A layer counts as working only when that run shows its effect.

Without namespaces or seccomp the strict tier is refused (:class:`SandboxUnavailable`,
CLI exit 3, HTTP 503) with the missing layer and the fix, unless the operator opted into
the weak tier.  Missing cgroups or Landlock alone are warnings.  An ordinary Docker
container (default seccomp profile: no namespaces for bwrap; read-only cgroups) is
caught here, never run unconfined.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.sandbox import seccomp
from grader.sandbox.commands import build_config
from grader.sandbox.interpreter import MINIMAL_ENV, Interpreter, find_interpreter
from grader.sandbox.outcome import SandboxFailure
from grader.sandbox.runner import execute
from grader.sandbox.settings import SandboxSettings, Tier
from grader.sandbox.slots import CgroupPool, SlotError, SlotPool

BWRAP_MIN_VERSION = (0, 8, 0)  # --disable-userns, --size, --ro-bind-data with --perms

REQUIRED: dict[Tier, tuple[str, ...]] = {
    Tier.STRICT: ("interpreter", "bwrap", "namespaces", "uid_drop", "rlimits", "seccomp"),
    Tier.WEAK: ("interpreter", "uid_drop", "rlimits", "seccomp"),
}
ADVISED: dict[Tier, tuple[str, ...]] = {Tier.STRICT: ("cgroups",), Tier.WEAK: ("landlock", "cgroups")}

FIXES = {
    "interpreter": "install the distribution's Python (apt-get install -y python3.11) or set "
                   "STREAMGRADE_SANDBOX_PYTHON to an interpreter an unprivileged user can read",
    "bwrap": "apt-get install -y bubblewrap (version 0.8 or later)",
    "namespaces": "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
                  "user.max_user_namespaces > 0); inside Docker the default seccomp profile blocks them: run the "
                  "grader on the host or a VM, or accept the weak tier with STREAMGRADE_SANDBOX_TIER=weak",
    "uid_drop": "setpriv is part of util-linux (apt-get install -y util-linux); the grader must run as root to "
                "switch each run to its own unprivileged uid",
    "rlimits": "prlimit is part of util-linux (apt-get install -y util-linux)",
    "seccomp": "a kernel with CONFIG_SECCOMP_FILTER on x86_64 or aarch64",
    "landlock": "a kernel with Landlock enabled (5.13 or later, 'landlock' in the lsm= boot list)",
    "cgroups": "run the grader as root with a writable cgroup hierarchy (v2 with the memory and pids "
               "controllers, or v1 memory and pids); without it memory and threads are capped per process only",
}


@dataclass(frozen=True)
class Layer:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "detail": self.detail}
        if not self.ok and self.fix:
            data["fix"] = self.fix
        return data


@dataclass(frozen=True)
class ProbeReport:
    """The layers, the tier they allow (None: refuse), and what to warn about."""

    layers: tuple[Layer, ...]
    tier: Tier | None
    requested: Tier
    interpreter: Interpreter | None = None
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    cgroups: CgroupPool | None = field(default=None, compare=False, repr=False)
    #: What this tier does not bound here, in words: shown by ``/healthz`` and recorded
    #: on every result graded in it.
    unbounded: tuple[str, ...] = ()

    def layer(self, name: str) -> Layer:
        return next(x for x in self.layers if x.name == name)

    def missing(self, tier: Tier) -> tuple[Layer, ...]:
        return tuple(x for x in self.layers if x.name in REQUIRED[tier] and not x.ok)

    def refusal(self) -> str:
        """The message of :class:`SandboxUnavailable`: each missing layer with its fix."""
        missing = self.missing(Tier.STRICT)
        lines = ["Python submissions cannot be run: the sandbox is missing "
                 + ", ".join(x.name for x in missing) + "."]
        lines += [f"- {x.name}: {x.detail}. Fix: {x.fix}" for x in missing]
        weak_missing = self.missing(Tier.WEAK)
        if self.requested is Tier.STRICT and not weak_missing:
            lines.append("- or accept the weaker tier (uid drop + rlimits + Landlock + seccomp, no namespaces) "
                         "with STREAMGRADE_SANDBOX_TIER=weak; every result then records it")
        elif weak_missing:
            lines.append("- the weak tier is not available either (missing "
                         + ", ".join(x.name for x in weak_missing) + ")")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier.value if self.tier else None,
            "requested": self.requested.value,
            "interpreter": None if self.interpreter is None else {
                "path": self.interpreter.path, "version": self.interpreter.version,
                "origin": self.interpreter.origin},
            "layers": {x.name: x.to_dict() for x in self.layers},
            "warnings": list(self.warnings),
            "unbounded": list(self.unbounded),
            "seconds": round(self.seconds, 4),
        }


def _bwrap_version(path: str | None) -> tuple[int, ...] | None:
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5, env=MINIMAL_ENV)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out.stdout)
    return tuple(int(g or 0) for g in m.groups()) if m else None


def _errno(result: Mapping[str, Any], key: str) -> str:
    return str(result.get(key))


def run_probe(settings: SandboxSettings) -> ProbeReport:
    started = time.perf_counter()
    layers: dict[str, Layer] = {}
    warnings: list[str] = []

    found = find_interpreter(settings)
    interpreter = found if isinstance(found, Interpreter) else None
    layers["interpreter"] = (
        Layer("interpreter", True, f"{interpreter.path} (Python {interpreter.version}, {interpreter.origin})")
        if interpreter else Layer("interpreter", False, str(found), FIXES["interpreter"]))
    if interpreter and interpreter.origin == "system" and interpreter.version != _own_version():
        warnings.append(f"submissions run on Python {interpreter.version} ({interpreter.path}); the grader runs "
                        f"on {_own_version()}, whose prefix an unprivileged uid cannot read")

    bwrap_path = shutil.which(settings.bwrap)
    version = _bwrap_version(bwrap_path)
    if bwrap_path is None:
        layers["bwrap"] = Layer("bwrap", False, f"{settings.bwrap} not found", FIXES["bwrap"])
    elif version is None or version < BWRAP_MIN_VERSION:
        shown = ".".join(map(str, version)) if version else "unknown"
        layers["bwrap"] = Layer("bwrap", False, f"{bwrap_path} version {shown} is older than 0.8.0", FIXES["bwrap"])
    else:
        layers["bwrap"] = Layer("bwrap", True, f"{bwrap_path} {'.'.join(map(str, version))}")

    is_root = os.geteuid() == 0
    setpriv = shutil.which(settings.setpriv)
    prlimit = shutil.which(settings.prlimit)
    if not prlimit:
        layers["rlimits"] = Layer("rlimits", False, f"{settings.prlimit} not found", FIXES["rlimits"])
    if is_root and not setpriv:
        layers["uid_drop"] = Layer("uid_drop", False, f"{settings.setpriv} not found and the grader runs as root",
                                   FIXES["uid_drop"])
    if not seccomp.supported():
        layers["seccomp"] = Layer("seccomp", False, "no syscall table for this machine", FIXES["seccomp"])
        program = None
    else:
        program = seccomp.build_filter()

    cgroups: CgroupPool | None = None
    if not settings.use_cgroups:
        layers["cgroups"] = Layer("cgroups", False, "turned off (STREAMGRADE_SANDBOX_CGROUPS=0)", FIXES["cgroups"])
    elif not is_root:
        layers["cgroups"] = Layer("cgroups", False, "the grader is not root", FIXES["cgroups"])
    else:
        try:
            cgroups = CgroupPool.create(settings)
            layers["cgroups"] = Layer(
                "cgroups", True, f"pooled cgroup v{cgroups.version} per slot: memory "
                f"{(settings.memory_bytes + settings.tmp_bytes) >> 20} MiB + slack, {settings.max_threads + 8} pids")
        except OSError as exc:
            layers["cgroups"] = Layer("cgroups", False, f"cannot create pooled cgroups: {exc}", FIXES["cgroups"])

    runnable = interpreter is not None and program is not None and prlimit and not (is_root and not setpriv)
    pool = SlotPool(settings, cgroups)
    if runnable and layers["bwrap"].ok:
        _judge(Tier.STRICT, _probe_run(settings, Tier.STRICT, interpreter, pool, program, cgroups), settings, layers)
    if runnable and not layers.get("namespaces", Layer("", False, "")).ok:
        # Without namespaces, probe the weak tier too: the report then names only what is
        # really missing, and says whether the weak tier is there to opt into.
        layers.setdefault("namespaces", Layer("namespaces", False, "bwrap unavailable", FIXES["namespaces"]))
        _judge(Tier.WEAK, _probe_run(settings, Tier.WEAK, interpreter, pool, program, cgroups), settings, layers)
    for name in ("namespaces", "uid_drop", "rlimits", "seccomp", "landlock"):
        layers.setdefault(name, Layer(name, False, "not tested: an earlier layer is missing", FIXES[name]))

    order = ("interpreter", "bwrap", "namespaces", "uid_drop", "rlimits", "seccomp", "landlock", "cgroups")
    report_layers = tuple(layers[name] for name in order)
    report = ProbeReport(report_layers, None, settings.tier, interpreter, (), 0.0, cgroups)
    if not report.missing(Tier.STRICT):
        tier: Tier | None = Tier.STRICT
    elif settings.tier is Tier.WEAK and not report.missing(Tier.WEAK):
        tier = Tier.WEAK
        warnings.append("WEAK SANDBOX TIER (operator opt-in): no namespaces; submissions run with an unprivileged "
                        "uid, rlimits, Landlock and seccomp only")
    else:
        tier = None
    if tier is not None:
        for name in ADVISED[tier]:
            if not layers[name].ok:
                warnings.append(f"sandbox layer {name} unavailable: {layers[name].detail}")
    return ProbeReport(report_layers, tier, settings.tier, interpreter, tuple(warnings),
                       time.perf_counter() - started, cgroups, unbounded_by(tier, settings, layers))


def unbounded_by(tier: Tier | None, settings: SandboxSettings, layers: dict[str, Layer]) -> tuple[str, ...]:
    """What a run in ``tier`` is not bounded in, with the layers found here.

    The address space, CPU time, threads, open files and the size of one file are bounded
    by rlimits in every tier, and the seccomp filter refuses what would hold memory
    outside the address space (memfds, pipes, System V and POSIX IPC).  What is left:
    without cgroups, the kernel's own memory for the process (page tables, the files of
    a tmpfs /tmp, counted only by that tmpfs's size); in the weak tier, the scratch
    directory is on the host's disk, where each file is bounded but not their number."""
    if tier is None:
        return ()
    out = []
    if not layers["cgroups"].ok:
        tmp = (f"files in /tmp (a tmpfs of at most {settings.tmp_bytes >> 20} MiB)" if tier is Tier.STRICT
               else "files in the scratch directory")
        out.append(f"memory: only the address space is limited ({settings.memory_bytes >> 20} MiB), not the "
                   f"kernel's memory for the process nor {tmp}: no cgroups")
    if tier is Tier.WEAK:
        out.append(f"disk: the scratch directory is on the host's disk; each file is limited to "
                   f"{settings.max_file_bytes >> 20} MiB, not the number of files (no namespaces)")
    return tuple(out)


def _own_version() -> str:
    import platform

    return platform.python_version()


def _probe_run(settings: SandboxSettings, tier: Tier, interpreter: Interpreter, pool: SlotPool,
               program: bytes, cgroups: CgroupPool | None) -> dict[str, Any] | str:
    config = build_config("probe.py", program, call_timeout_s=settings.call_timeout_s,
                          import_timeout_s=settings.import_timeout_s, mode="probe")
    try:
        run = execute(settings, tier, interpreter, pool, config, b"", None, cgroups)
    except (SandboxFailure, SlotError, OSError) as exc:
        return str(exc)
    if run.probe is None:
        return f"the probe run ended without a report ({run.detail or run.end.value}): {run.stderr_tail[-300:]}"
    return {**run.probe, "confinement": dict(run.confinement), "python": run.python, "wall_s": run.wall_s}


def _judge(tier: Tier, result: dict[str, Any] | str, settings: SandboxSettings, layers: dict[str, Layer]) -> None:
    """Turn one probe run into layer verdicts."""
    if isinstance(result, str):
        if tier is Tier.STRICT:
            layers["namespaces"] = Layer("namespaces", False, f"bwrap could not start a sandbox: {result}",
                                         FIXES["namespaces"])
        else:
            for name in ("uid_drop", "rlimits", "seccomp"):
                layers.setdefault(name, Layer(name, False, f"the weak-tier probe failed: {result}", FIXES[name]))
        return
    wall = f"{result['wall_s'] * 1000:.0f} ms"
    if tier is Tier.STRICT:
        isolated = (result["pid"] == 1 and not result["host_paths_visible"]
                    and _errno(result, "read_etc_passwd") in ("ENOENT", "EACCES")
                    and _errno(result, "write_root") in ("EROFS", "EACCES"))
        layers["namespaces"] = Layer(
            "namespaces", isolated,
            f"bwrap: user, pid, net, ipc, uts and mount namespaces; pid 1 inside, no host path visible but /usr; "
            f"a confined run takes {wall}" if isolated else
            f"the sandbox is not isolated: pid {result['pid']}, visible {result['host_paths_visible']}, "
            f"/etc/passwd {result['read_etc_passwd']}, writing / {result['write_root']}",
            "" if isolated else FIXES["namespaces"])
    is_root = os.geteuid() == 0
    expected_uid_ok = result["uid"] != 0 and result["euid"] == result["uid"] and not result["groups"]
    if is_root:
        expected_uid_ok = expected_uid_ok and settings.uid_base <= result["uid"] < settings.uid_base + settings.slots
    if "uid_drop" not in layers or layers["uid_drop"].ok:
        layers["uid_drop"] = Layer(
            "uid_drop", expected_uid_ok and result["setuid_root"] in ("EPERM", "EINVAL"),
            (f"setpriv: uid {result['uid']} (slot range {settings.uid_base}+{settings.slots}), no groups, "
             f"no capabilities, no_new_privs") if is_root else
            f"the grader runs as uid {os.geteuid()}: already unprivileged, no switch needed",
            FIXES["uid_drop"])
    limits = result["rlimits"]
    want = {"RLIMIT_AS": settings.memory_bytes, "RLIMIT_CPU": settings.cpu_s, "RLIMIT_NPROC": settings.max_threads,
            "RLIMIT_STACK": settings.stack_limit, "RLIMIT_NOFILE": settings.max_open_files,
            "RLIMIT_FSIZE": settings.max_file_bytes, "RLIMIT_CORE": 0}
    wrong = [name for name, value in want.items() if limits[name][0] != value]
    layers["rlimits"] = Layer(
        "rlimits", not wrong,
        f"prlimit: address space {settings.memory_bytes >> 20} MiB, CPU {settings.cpu_s} s, "
        f"{settings.max_threads} threads of {settings.stack_limit >> 20} MiB stack, {settings.max_open_files} files, "
        f"{settings.max_file_bytes >> 20} MiB per "
        f"file, no core" if not wrong else f"limits not applied: {', '.join(wrong)}",
        FIXES["rlimits"])
    blocked = {key: _errno(result, key) for key in ("fork", "exec", "socket")}
    works = (result["confinement"].get("seccomp") is True and all(v == "EPERM" for v in blocked.values())
             and result["thread"] == "allowed")
    layers["seccomp"] = Layer(
        "seccomp", works,
        f"BPF deny list of {len(seccomp.denied_names())} calls: fork, exec and sockets give EPERM, threads work"
        if works else f"not effective: {blocked}, thread {result['thread']}",
        FIXES["seccomp"])
    abi = result["confinement"].get("landlock") or 0
    layers["landlock"] = Layer("landlock", abi > 0, f"ABI {abi}: read-only /usr and the interpreter, writes to "
                               "the scratch directory only" if abi else "the kernel has no Landlock",
                               FIXES["landlock"])

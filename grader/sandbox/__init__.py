"""The sandbox for untrusted Python submissions: the security boundary of the service.

One fresh process per submission, every function call batched into it, confined in
layers (see ``../shared/design/SANDBOX.md``; :mod:`grader.sandbox.runner` has the
command line of each):

1. grader side: a wall clock, caps on every pipe, a minimal environment, results on a
   dedicated pipe as one JSON document with exactly the requested call ids;
2. pooled cgroups (memory, pids) where the host lets us;
3. ``setpriv``: one unprivileged uid per concurrency slot, no groups, no capabilities;
4. ``prlimit``: CPU, address space, threads, file size, open files, no core;
5. bwrap: every namespace, read-only /usr and interpreter, a 16 MiB /tmp, the harness
   and the one submission file, nothing else (no repository, exercises or store);
6. Landlock and a seccomp filter installed by the harness before the submission loads;
7. ``python -I -S -B``.

The sandbox never holds an expected answer: it returns raw outputs and the grader
scores them outside.  :meth:`Sandbox.probe` finds which layers work (cached);
:meth:`Sandbox.require` refuses with :class:`grader.errors.SandboxUnavailable` when the
strict tier cannot be had and the operator has not opted into the weak one.

Usage::

    box = Sandbox()                      # settings from STREAMGRADE_SANDBOX_* variables
    box.probe().to_dict()                # the layers, for /healthz (cached after ~50 ms)
    box.require()                        # raises SandboxUnavailable (exit 3 / HTTP 503)
    run = box.run(source, "solution.py", [Call("c1", "assign_window", (t, 5))])
    run.outcomes["c1"].value             # the returned value, decoded with its types

    pending = box.start(source, "solution.py")   # the process starts and imports the file
    calls = build_many_calls()                   # ... while the caller prepares the calls
    pending.send(calls[:300])                    # (optional) it runs these meanwhile
    run = box.finish(pending, calls)             # all the calls: those sent first, in order
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from grader.errors import SandboxUnavailable
from grader.sandbox import seccomp
from grader.sandbox.commands import build_config
from grader.sandbox.harness import Opaque, decode, encode
from grader.sandbox.interpreter import Interpreter
from grader.sandbox.outcome import Call, CallOutcome, RunEnd, SandboxFailure, SandboxRun
from grader.sandbox.probe import Layer, ProbeReport, run_probe
from grader.sandbox.runner import PendingRun
from grader.sandbox.settings import SandboxSettings, SettingsError, Tier
from grader.sandbox.slots import SlotError, SlotPool

#: Modules a submission may not import itself (a clear message; the real stop is seccomp).
DEFAULT_FORBIDDEN_IMPORTS = (
    "ctypes", "_ctypes", "cffi", "socket", "_socket", "ssl", "_ssl", "subprocess", "_posixsubprocess",
    "multiprocessing", "_multiprocessing", "signal", "_signal", "pty", "grader", "reference",
)


class Sandbox:
    """Settings, the cached probe and the slot pool; thread-safe, one per process is enough."""

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings if settings is not None else SandboxSettings.from_env()
        self._lock = threading.Lock()
        self._report: ProbeReport | None = None
        self._pool: SlotPool | None = None
        self._program: bytes | None = None

    def probe(self, refresh: bool = False) -> ProbeReport:
        """Which layers work here (the first call costs about 50 ms, later ones nothing)."""
        with self._lock:
            if self._report is None or refresh:
                self._report = run_probe(self.settings)
                self._pool = SlotPool(self.settings, self._report.cgroups)
                self._program = seccomp.build_filter() if seccomp.supported() else None
            return self._report

    def require(self) -> ProbeReport:
        """The probe report when a tier is available; else :class:`SandboxUnavailable`."""
        report = self.probe()
        if report.tier is None:
            raise SandboxUnavailable(report.refusal())
        return report

    def run(self, source: bytes, display_name: str, calls: Sequence[Call], *,
            forbidden_imports: Sequence[str] = DEFAULT_FORBIDDEN_IMPORTS, call_timeout_s: float | None = None,
            import_timeout_s: float | None = None, deadline: float | None = None) -> SandboxRun:
        """Run ``calls`` on the submission ``source`` in one confined process.

        Student behaviour (errors, hangs, attacks) is in the returned value, never raised.
        Raises :class:`SandboxUnavailable` when no tier is available, or when the sandbox
        itself fails to start.  ``deadline`` (``time.monotonic()``) ends the run early when
        the caller's budget for the whole grading runs out first (``RunEnd.BUDGET``).
        """
        pending = self.start(source, display_name, forbidden_imports=forbidden_imports,
                             call_timeout_s=call_timeout_s, import_timeout_s=import_timeout_s, deadline=deadline)
        return self.finish(pending, calls)

    def start(self, source: bytes, display_name: str, *,
              forbidden_imports: Sequence[str] = DEFAULT_FORBIDDEN_IMPORTS, call_timeout_s: float | None = None,
              import_timeout_s: float | None = None, deadline: float | None = None) -> PendingRun:
        """Start the confined process now; it imports the submission while the caller
        prepares the calls.  Pass the result to :meth:`finish` (or ``cancel()`` it)."""
        report = self.require()
        config = build_config(
            display_name, self._program, forbidden_imports=forbidden_imports,
            call_timeout_s=call_timeout_s or self.settings.call_timeout_s,
            import_timeout_s=import_timeout_s or self.settings.import_timeout_s,
            result_budget=self.settings.result_budget)
        try:
            return PendingRun(self.settings, report.tier, report.interpreter, self._pool, config, source,
                              report.cgroups, deadline)
        except (SandboxFailure, SlotError) as exc:
            raise SandboxUnavailable(f"the sandbox failed: {exc}") from None

    def finish(self, pending: PendingRun, calls: Sequence[Call]) -> SandboxRun:
        """Send ``calls`` to a started run and collect its raw outcome."""
        ids = [c.id for c in calls]
        if len(set(ids)) != len(ids):
            pending.cancel()
            raise ValueError("call ids must be unique")
        try:
            return pending.finish(calls)
        except (SandboxFailure, SlotError) as exc:
            raise SandboxUnavailable(f"the sandbox failed: {exc}") from None


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide sandbox built from the environment (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox()
        return _default


__all__ = [
    "DEFAULT_FORBIDDEN_IMPORTS",
    "Call",
    "CallOutcome",
    "Interpreter",
    "Layer",
    "Opaque",
    "PendingRun",
    "ProbeReport",
    "RunEnd",
    "Sandbox",
    "SandboxRun",
    "SandboxSettings",
    "SettingsError",
    "Tier",
    "decode",
    "default_sandbox",
    "encode",
]

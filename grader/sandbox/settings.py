"""What the operator decides about the sandbox: the tier, the limits, the uids, as one value.

Read from the environment by :meth:`SandboxSettings.from_env` (the CLI and the web app
call it once); tests build their own values.  Every limit has a default that fits the
week-10 exercises with a wide margin (a correct solution needs a few MB and a few ms).
"""

from __future__ import annotations

import enum
import math
import os
import resource
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace

MIB = 1 << 20

ENV_TIER = "STREAMGRADE_SANDBOX_TIER"


class Tier(enum.StrEnum):
    """How strongly a submission is confined; recorded on every result.

    ``strict``: namespaces (bwrap) + seccomp + an unprivileged uid + rlimits (+ Landlock
    and pooled cgroups where the kernel has them).  The default, and the only tier used
    unless the operator opts out.
    ``weak``: no namespaces (e.g. in a Docker container whose seccomp profile blocks
    them): an unprivileged uid + rlimits + Landlock + seccomp.  Only by an explicit
    setting (``STREAMGRADE_SANDBOX_TIER=weak``), with a warning on every result.
    """

    STRICT = "strict"
    WEAK = "weak"


class SettingsError(ValueError):
    """An environment variable with a value that cannot be used; the message names it."""


@dataclass(frozen=True)
class SandboxSettings:
    """Limits and placement of one sandboxed run.

    ``uid_base`` + slot is the uid a run gets (``slots`` runs at a time, each with its
    own uid, so ``RLIMIT_NPROC`` and signals never mix runs).  The default range is
    outside what Debian, systemd and container tools allocate; no account is created.
    ``python`` overrides the interpreter run inside the sandbox (it must be readable by
    an unprivileged uid).
    """

    tier: Tier = Tier.STRICT
    wall_clock_s: float = 10.0
    #: Wall time for the whole grading of one submission: every sandboxed run (reruns and
    #: shrinking included) ends by then, so no submission holds a worker longer.
    budget_s: float = 20.0
    call_timeout_s: float = 2.0
    import_timeout_s: float = 2.0
    cpu_s: int = 8
    memory_bytes: int = 1024 * MIB
    max_threads: int = 32
    #: The stack of the main thread and the default of every other: the host's ulimit
    #: must not decide whether ``max_threads`` stacks fit under ``memory_bytes``.
    stack_bytes: int = 8 * MIB
    max_open_files: int = 64
    max_file_bytes: int = 16 * MIB
    tmp_bytes: int = 16 * MIB
    stdout_cap: int = 4 * MIB
    stderr_cap: int = 4 * MIB
    #: The result document read back: bytes, and values (nodes) counted before it is
    #: parsed.  A correct week-10 run needs about 0.4 MiB and 35,000 values; the harness
    #: is asked to stay well inside both (``result_budget``), so only a forged document
    #: reaches them.
    result_cap: int = 8 * MIB
    result_nodes: int = 400_000
    progress_cap: int = 4 * MIB
    uid_base: int = 1_900_000_000
    slots: int = 16
    slot_wait_s: float = 30.0
    python: str | None = None
    bwrap: str = "bwrap"
    setpriv: str = "setpriv"
    prlimit: str = "prlimit"
    use_cgroups: bool = True
    cgroup_name: str = "streamgrade-sandbox"
    state_dir: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.uid_base < 2**32 - 2 - self.slots:
            raise SettingsError(f"uid_base {self.uid_base} out of range")
        if self.slots < 1:
            raise SettingsError("slots must be at least 1")
        times = (self.wall_clock_s, self.call_timeout_s, self.import_timeout_s, self.budget_s)
        if not all(math.isfinite(t) and t > 0 for t in times):
            raise SettingsError("time limits must be positive numbers of seconds")

    @property
    def result_budget(self) -> dict[str, int]:
        """What the harness may write back, well inside what the grader accepts, so that an
        honest document (ids, import report and confinement included) always fits."""
        return {"bytes": self.result_cap * 3 // 4, "nodes": self.result_nodes // 2}

    @property
    def stack_limit(self) -> int:
        """``stack_bytes``, or the host's hard limit when that is lower (an unprivileged
        uid cannot raise it, and the sandbox must still start)."""
        hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
        return self.stack_bytes if hard == resource.RLIM_INFINITY else min(self.stack_bytes, hard)

    @property
    def lock_dir(self) -> str:
        """Where the per-slot lock files live (root-owned, mode 0700)."""
        return self.state_dir or os.path.join(tempfile.gettempdir(), f"streamgrade-sandbox-{os.geteuid()}")

    def with_(self, **changes) -> SandboxSettings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxSettings:
        """Settings from ``STREAMGRADE_SANDBOX_*`` variables; unset ones keep their defaults.

        ``STREAMGRADE_SANDBOX_TIER`` (strict|weak), ``..._PYTHON``, ``..._UID_BASE``,
        ``..._SLOTS``, ``..._WALL_CLOCK_S``, ``..._BUDGET_S`` (the whole grading of one
        submission), ``..._CALL_TIMEOUT_S``, ``..._MEMORY_MB``, ``..._CGROUPS`` (0 or 1),
        ``..._STATE_DIR``.
        """
        env = os.environ if environ is None else environ
        changes: dict = {}
        tier = env.get(ENV_TIER, "").strip().lower()
        if tier:
            try:
                changes["tier"] = Tier(tier)
            except ValueError:
                raise SettingsError(f"{ENV_TIER}={tier!r}: use 'strict' (default) or 'weak'") from None
        for key, field, kind in (
            ("PYTHON", "python", str), ("UID_BASE", "uid_base", int), ("SLOTS", "slots", int),
            ("WALL_CLOCK_S", "wall_clock_s", float), ("BUDGET_S", "budget_s", float),
            ("CALL_TIMEOUT_S", "call_timeout_s", float),
            ("MEMORY_MB", "memory_bytes", int), ("STATE_DIR", "state_dir", str), ("CGROUPS", "use_cgroups", int),
        ):
            name = f"STREAMGRADE_SANDBOX_{key}"
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                value = kind(raw)
            except ValueError:
                raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
            if field == "memory_bytes":
                value *= MIB
            if field == "use_cgroups":
                value = bool(value)
            changes[field] = value
        return cls(**changes)

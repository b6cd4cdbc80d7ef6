"""Concurrency slots: one unprivileged uid, and one pooled cgroup, per run at a time.

A slot is taken with ``flock`` on a lock file, so the slots are exclusive across the
threads *and* the processes of a server (gunicorn workers); a lock dies with its
holder.  Slot ``n`` runs as uid ``uid_base + n``: no account is created, ``setpriv``
takes a bare number.

Cgroups are pooled: created once (per slot, for memory and pids), joined by the
sandbox's first process through a one-line ``sh`` that writes its pid and ``exec``s, so
a run pays no cgroup creation.  They cap the whole process tree, tmpfs pages included.
Where the hierarchy is not writable (an ordinary container) there are none and the
probe says so: a warning, not a refusal.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import signal
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.settings import MIB, SandboxSettings

CGROUP_ROOT = Path("/sys/fs/cgroup")


class SlotError(RuntimeError):
    """No slot could be taken (all busy past the wait, or the lock directory is unsafe)."""


@dataclass(frozen=True)
class Slot:
    number: int
    uid: int
    gid: int
    cgroup_procs: tuple[str, ...] = ()  # cgroup.procs files the first process joins


class CgroupPool:
    """Per-slot cgroups under one parent per controller (v2 unified, or v1 memory + pids)."""

    def __init__(self, version: int, slot_dirs: dict[int, tuple[Path, ...]]) -> None:
        self.version = version
        self._slot_dirs = slot_dirs

    @classmethod
    def create(cls, settings: SandboxSettings, root: Path = CGROUP_ROOT) -> CgroupPool:
        """Create (or reuse) the pool; raises ``OSError`` with the reason when it cannot."""
        memory_limit = settings.memory_bytes + settings.tmp_bytes + 128 * MIB
        pids_limit = settings.max_threads + 8
        if (root / "cgroup.controllers").is_file():
            controllers = (root / "cgroup.controllers").read_text().split()
            if not {"memory", "pids"} <= set(controllers):
                raise OSError(f"cgroup v2 without the memory and pids controllers ({' '.join(controllers)})")
            parent = root / settings.cgroup_name
            parent.mkdir(exist_ok=True)
            _write(root / "cgroup.subtree_control", "+memory +pids")
            _write(parent / "cgroup.subtree_control", "+memory +pids")
            dirs = {}
            for n in range(settings.slots):
                slot = parent / f"slot-{n}"
                slot.mkdir(exist_ok=True)
                _write(slot / "memory.max", str(memory_limit))
                with contextlib.suppress(OSError):
                    _write(slot / "memory.swap.max", "0")
                _write(slot / "pids.max", str(pids_limit))
                dirs[n] = (slot,)
            return cls(2, dirs)
        memory_root, pids_root = root / "memory", root / "pids"
        if not (memory_root / "memory.limit_in_bytes").is_file() or not (pids_root / "cgroup.procs").is_file():
            raise OSError("no cgroup v2 hierarchy and no v1 memory and pids hierarchies")
        dirs = {}
        for n in range(settings.slots):
            mem = memory_root / settings.cgroup_name / f"slot-{n}"
            pids = pids_root / settings.cgroup_name / f"slot-{n}"
            mem.mkdir(parents=True, exist_ok=True)
            pids.mkdir(parents=True, exist_ok=True)
            _write(mem / "memory.limit_in_bytes", str(memory_limit))
            swap = mem / "memory.memsw.limit_in_bytes"
            if swap.exists():
                _write(swap, str(memory_limit))
            _write(pids / "pids.max", str(pids_limit))
            dirs[n] = (mem, pids)
        return cls(1, dirs)

    def procs_files(self, slot: int) -> tuple[str, ...]:
        return tuple(str(d / "cgroup.procs") for d in self._slot_dirs[slot])

    def oom_kills(self, slot: int) -> int:
        """How many processes the memory controller has killed in this slot so far."""
        memory_dir = self._slot_dirs[slot][0]
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (memory_dir / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except OSError:
            pass
        return 0

    def pids(self, slot: int) -> set[int]:
        found: set[int] = set()
        for procs in self.procs_files(slot):
            with contextlib.suppress(OSError, ValueError):
                found.update(int(pid) for pid in Path(procs).read_text().split())
        return found

    def kill_all(self, slot: int) -> None:
        """SIGKILL whatever is still in the slot (normally nothing)."""
        for pid in self.pids(slot):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def pids_of_uid(uid: int) -> set[int]:
    """Processes whose real uid is ``uid`` (a scan of /proc: only used after a kill)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.add(int(entry))
    return found


def _write(path: Path, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


class SlotPool:
    """Hands out slots; use :meth:`acquire` as a context manager.

    A slot is handed out again only once no process of its previous run is left: after
    a kill, bwrap dies first and its child a few milliseconds later (``--die-with-parent``),
    so :meth:`clear` kills and waits for what remains.
    """

    def __init__(self, settings: SandboxSettings, cgroups: CgroupPool | None = None) -> None:
        self.settings = settings
        self.cgroups = cgroups
        self._dir = settings.lock_dir
        self._checked = False

    def _check_dir(self) -> None:
        if self._checked:
            return
        os.makedirs(self._dir, mode=0o700, exist_ok=True)
        st = os.lstat(self._dir)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            raise SlotError(f"lock directory {self._dir} is not a private directory of uid {os.geteuid()}")
        self._checked = True

    def leftovers(self, slot: Slot) -> set[int]:
        if self.cgroups is not None and slot.cgroup_procs:
            return self.cgroups.pids(slot.number)
        if os.geteuid() == 0 and slot.uid != 0:
            return pids_of_uid(slot.uid)
        return set()  # the grader's own uid: nothing to tell the run's processes apart by

    def clear(self, slot: Slot, timeout: float = 3.0) -> bool:
        """Kill what is left of the slot's run and wait until it is gone; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.leftovers(slot)
            if not left:
                return True
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)

    @contextlib.contextmanager
    def acquire(self) -> Iterator[Slot]:
        self._check_dir()
        n_slots = self.settings.slots
        deadline = time.monotonic() + self.settings.slot_wait_s
        while True:
            start = random.randrange(n_slots)
            for k in range(n_slots):
                n = (start + k) % n_slots
                fd = os.open(os.path.join(self._dir, f"slot-{n}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                try:
                    uid = self.settings.uid_base + n
                    procs = self.cgroups.procs_files(n) if self.cgroups else ()
                    yield Slot(n, uid, uid, procs)
                    return
                finally:
                    if self.cgroups:
                        self.cgroups.kill_all(n)
                    os.close(fd)
            if time.monotonic() > deadline:
                raise SlotError(f"all {n_slots} sandbox slots stayed busy for {self.settings.slot_wait_s:g} s")
            time.sleep(0.005)

"""The Python run inside the sandbox: found, checked readable by an unprivileged uid, bound read-only.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from grader.sandbox.settings import SandboxSettings

#: ``MALLOC_ARENA_MAX``: glibc gives each new thread its own malloc arena and reserves
#: 64 MiB of address space for it; a submission starting its allowed threads would use
#: up the address-space limit on reservations alone and leave the harness no memory to
#: report with.  One arena costs nothing here: the GIL serialises Python's allocations.
SANDBOX_MALLOC_ARENAS = "1"


MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "MALLOC_ARENA_MAX": SANDBOX_MALLOC_ARENAS}


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

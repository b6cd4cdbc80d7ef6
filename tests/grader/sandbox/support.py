"""Helpers shared by the sandbox tests (fixtures are in conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

from grader.sandbox import SandboxSettings
from tests.paths import ROOT

EXAMPLES = ROOT / "submissions" / "examples" / "python"
CORRECT = (EXAMPLES / "correct.py").read_bytes()


def sandbox_processes(settings: SandboxSettings | None = None) -> list[int]:
    """Live processes running as a sandbox slot uid (there should be none between runs)."""
    settings = settings or SandboxSettings()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
                if settings.uid_base <= uid < settings.uid_base + settings.slots:
                    found.append(int(entry))
    return found


def part(result, function: str):
    exercise = result.exercises[0]
    return next(p for p in exercise.parts if p.id == function)

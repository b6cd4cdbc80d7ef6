"""``streamgrade diagram --renderer plantuml``: the slide-18 picture drawn by PlantUML itself,
through the installed script as a user runs it; and what happens where PlantUML is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("streamgrade")
needs_plantuml = pytest.mark.skipif(shutil.which("plantuml") is None,
                                    reason="Debian's plantuml is not installed (`make test` installs it)")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(SCRIPT), "diagram", *args], capture_output=True, timeout=300, env=env, check=False)


@needs_plantuml
def test_plantuml_draws_ex11_as_png_and_svg(tmp_path: Path):
    png = tmp_path / "ex11.png"
    done = _run("ex11", "--format", "png", "--renderer", "plantuml", "-o", str(png))
    assert done.returncode == 0, done.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 400 and height > 400
    svg = _run("ex11", "--format", "svg", "--renderer", "plantuml")
    assert svg.returncode == 0 and b"<svg" in svg.stdout and b"e7" in svg.stdout
    assert b"plantuml" in svg.stdout.lower()  # drawn by PlantUML, not the builtin timeline


def test_png_needs_the_plantuml_renderer():
    done = _run("ex11", "--format", "png")
    assert done.returncode == 2 and b"--renderer plantuml" in done.stderr


def test_without_plantuml_svg_falls_back_and_png_says_why(tmp_path: Path):
    # A PATH with this Python's scripts and the basic tools, but no plantuml.
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {**os.environ, "PATH": f"{SCRIPT.parent}:{bare}"}
    svg = _run("ex11", "--format", "svg", "--renderer", "plantuml", env=env)
    assert svg.returncode == 0 and b"<svg" in svg.stdout[:400] and b"plantuml" not in svg.stdout.lower()
    assert b"warning: plantuml is not installed" in svg.stderr
    png = _run("ex11", "--format", "png", "--renderer", "plantuml", env=env)
    assert png.returncode == 2 and b"plantuml is not installed" in png.stderr and not png.stdout

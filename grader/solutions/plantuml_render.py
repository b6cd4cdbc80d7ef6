"""The slide-18 picture drawn by PlantUML itself, from the ``.puml`` the engine's runs produce.

The built-in SVG timeline needs no Java and stays the default; PlantUML draws the sheet's
own kind of picture (a sequence diagram) when it is installed (Debian's ``plantuml``,
which ``make test`` installs).  PlantUML reads the source on stdin and writes the picture
on stdout (``-pipe``).  It exits 200 on a syntax error and prints ``ERROR`` lines, but it
draws some malformed sources without complaint, so both its exit status and its stderr
are read.
"""

from __future__ import annotations

import shutil
import subprocess

#: Formats PlantUML renders here, and its flag for each.
FORMATS = {"svg": "-tsvg", "png": "-tpng"}
TIMEOUT_S = 120


class RenderError(Exception):
    """PlantUML is missing or could not draw the source: the message is one line for the user."""


def plantuml_available() -> bool:
    return shutil.which("plantuml") is not None


def render_plantuml(source: str, fmt: str, *, timeout: float = TIMEOUT_S) -> bytes:
    """The picture of ``source`` in ``fmt`` (svg or png), drawn by PlantUML."""
    if fmt not in FORMATS:
        raise RenderError(f"PlantUML renders {', '.join(FORMATS)} here, not {fmt!r}")
    binary = shutil.which("plantuml")
    if binary is None:
        raise RenderError("plantuml is not installed (Debian: apt-get install plantuml; `make test` installs it)")
    try:
        done = subprocess.run([binary, FORMATS[fmt], "-pipe", "-charset", "UTF-8"], input=source.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"plantuml did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise RenderError(f"plantuml could not run: {exc.strerror or exc}") from None
    errors = [line for line in done.stderr.decode("utf-8", "replace").splitlines()
              if line.strip() and not line.startswith("Picked up")]
    if done.returncode != 0 or not done.stdout or any("ERROR" in line for line in errors):
        detail = " / ".join(errors[:3]) or f"exit status {done.returncode}"
        raise RenderError(f"plantuml could not draw the diagram: {detail}")
    return done.stdout


__all__ = ["FORMATS", "RenderError", "plantuml_available", "render_plantuml"]

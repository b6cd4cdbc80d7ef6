"""Where the suite finds the repository's own files, whatever folder a test lives in."""

from __future__ import annotations

from pathlib import Path

#: The repository's root (the folder holding ``tests/``).
ROOT = Path(__file__).resolve().parents[1]
#: The example submissions CI grades (``submissions/examples``).
EXAMPLES = ROOT / "submissions" / "examples"

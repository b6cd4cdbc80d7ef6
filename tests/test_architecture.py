"""Dependencies point one way: ``grader`` imports ``reference``, never the reverse.

Walks every module of ``reference/`` with ``ast`` and fails on an import of ``grader``,
``tests`` or ``bench``; also checks that the core does no printing.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_reference_never_imports_grader_tests_or_bench():
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & {"grader", "tests", "bench"})
        for p in (ROOT / "reference").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_grader_and_reference_never_import_tests_or_bench():
    for package in ("grader", "reference"):
        for p in (ROOT / package).rglob("*.py"):
            assert not (_imports(p) & {"tests", "bench"}), p


def test_reference_core_does_not_print():
    for p in (ROOT / "reference").rglob("*.py"):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        assert not calls, f"{p.name} prints"

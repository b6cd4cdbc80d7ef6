"""The layout's rules (../shared/design/LAYOUT.md), checked on every import, lazy ones too.

* ``reference/`` never imports ``grader/``; neither imports ``tests`` or ``bench``.
* No import circle anywhere: the modules of ``grader/`` and ``reference/`` form a DAG.
  An import inside a function counts as much as one at the top: a circle held together
  by lazy imports is still a circle.
* Dependencies point down: the core packages never import an edge package.
* A module of ``grader/`` or ``reference/`` over 600 lines says why in its docstring
  (a sentence beginning "Over 600 lines").
* ``reference/`` does no printing.

The checks are functions over a source tree, so they are also run on a tree with a
planted circle and a planted upward import, and must fail there.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("grader", "reference")
#: Packages (and modules) that know nothing of how grading is served or reported.
CORE = ("grader.exercises", "grader.solutions", "grader.compare", "grader.normalize", "grader.units",
        "grader.scoring", "grader.diagnosis", "grader.python", "grader.variants", "grader.submissions",
        "grader.results", "grader.quoting", "grader.frozen", "grader.errors", "grader.sorting", "grader.attempts")
#: What the core must not import: the edges of the program.
EDGE = ("grader.grading", "grader.verify", "grader.web", "grader.commands", "grader.reports", "grader.batch",
        "grader.cli", "grader.simulate")
MAX_LINES = 600


def modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages under ``root``."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: Mapping[str, Path]) -> set[str]:
    """The modules of ``known`` that the file imports, anywhere in it (functions included).

    ``from a.b import c`` imports ``a.b.c`` when that is a module, else ``a.b``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                while name and name not in known:
                    name = name.rpartition(".")[0]
                if name:
                    out.add(name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if candidate in known:
                    out.add(candidate)
                elif node.module in known:
                    out.add(node.module)
    return out


def graph(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    known = modules(root, packages)
    return {name: imports(path, known) - {name} for name, path in known.items()}


def circles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def upward_imports(edges: Mapping[str, set[str]]) -> list[tuple[str, str]]:
    """(core module, edge module) for every import from the core up to an edge."""
    return sorted((src, dst) for src, targets in edges.items() if _within(src, CORE)
                  for dst in targets if _within(dst, EDGE))


def long_modules_without_a_reason(root: Path, packages: Iterable[str] = PACKAGES) -> list[str]:
    out = []
    for name, path in modules(root, packages).items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES and "Over 600 lines" not in (ast.get_docstring(ast.parse(text)) or ""):
            out.append(f"{name} ({text.count(chr(10))} lines)")
    return out


# -- the project ---------------------------------------------------------------------------------


def test_reference_never_imports_grader_tests_or_bench():
    edges = graph(ROOT, PACKAGES)
    assert [(s, d) for s, ds in edges.items() if s.startswith("reference") for d in ds if d.startswith("grader")] == []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            roots |= {n.module.split(".")[0] for n in ast.walk(tree)
                      if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
            assert not roots & {"tests", "bench"}, path


def test_there_is_no_import_circle_lazy_imports_included():
    assert circles(graph(ROOT)) == []


def test_the_core_never_imports_an_edge_package():
    assert upward_imports(graph(ROOT)) == []


def test_a_module_over_600_lines_says_why():
    assert long_modules_without_a_reason(ROOT) == []


def test_reference_core_does_not_print():
    for p in (ROOT / "reference").rglob("*.py"):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        assert not calls, f"{p.name} prints"


# -- the checks themselves fail where they should -------------------------------------------------


def _tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_planted_circle_through_a_lazy_import_is_found(tmp_path):
    root = _tree(tmp_path, {
        "grader/__init__.py": "",
        "grader/a.py": "from grader.b import thing\n",
        "grader/b.py": "def thing():\n    from grader import a\n    return a\n",
        "grader/c.py": "import grader.a\n",
        "reference/__init__.py": "",
    })
    assert circles(graph(root)) == [["grader.a", "grader.b"]]


def test_a_planted_upward_import_and_a_long_module_are_found(tmp_path):
    root = _tree(tmp_path, {
        "grader/__init__.py": "",
        "grader/exercises/__init__.py": "",
        "grader/exercises/load.py": "def f():\n    from grader.web.app import create_app\n",
        "grader/web/__init__.py": "",
        "grader/web/app.py": '"""The app."""\n' + "x = 1\n" * 700,
        "reference/__init__.py": "",
    })
    assert upward_imports(graph(root)) == [("grader.exercises.load", "grader.web.app")]
    assert long_modules_without_a_reason(root) == ["grader.web.app (701 lines)"]

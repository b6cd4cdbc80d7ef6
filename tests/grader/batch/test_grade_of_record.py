"""The grade of record from ``streamgrade batch``, as an instructor meets it: the gradebook CSV.

Real grader, real sandbox for the Python files, the CLI in its own process.  Each test is
one of the issue's scenarios: the sheet and the Python exercise are two assignments in
one row; resubmitting a worse answer never lowers the default grade; a folder is its
student whatever the file says; summaries are per assignment, in percent.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.grader.python.samples import require_sandbox
from tests.paths import EXAMPLES, ROOT

PYTHON_CORRECT = EXAMPLES / "python" / "correct.py"


@pytest.fixture(scope="module")
def sandbox() -> None:
    """Skip, saying why, where Python answers cannot be graded (no sandbox here)."""
    require_sandbox()


def _batch(root: Path, tmp_path: Path, *flags: str) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    book = tmp_path / "out" / "book.csv"
    done = subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(root), "--gradebook", str(book),
                           "--jobs", "1", "--restart", *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    rows = {}
    if book.exists():
        with open(book, newline="", encoding="utf-8") as stream:
            rows = {r["student_id"]: r for r in csv.DictReader(stream)}
    return done, rows


def _write(path: Path, content: bytes | str, mtime: float | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _correct_sheet() -> bytes:
    return (EXAMPLES / "correct.json").read_bytes()


def test_the_sheet_and_the_python_exercise_are_two_assignments_in_one_row(tmp_path, sandbox):
    root = tmp_path / "class"
    _write(root / "carol" / "answers.json", _correct_sheet(), 1_000_000)
    _write(root / "carol" / "solution.py", PYTHON_CORRECT.read_bytes(), 2_000_000)
    for policy in ([], ["--policy", "best"], ["--policy", "latest"]):
        done, rows = _batch(root, tmp_path, *policy)
        assert done.returncode == 0, done.stdout + done.stderr
        carol = rows["carol"]
        assert float(carol["total"]) == float(carol["max"]) == 100, carol
        assert float(carol["python_total"]) == float(carol["python_max"]) == 10, carol
        assert float(carol["overall"]) == 110 and float(carol["overall_percent"]) == 100
        assert all(carol[f"ex{i}"] != "" for i in range(1, 12)), carol
        assert carol["python.window_aggregate"] != ""
        assert carol["sheet_attempts"] == "1" and carol["python_attempts"] == "1"
    # The summary gives each assignment its own figures, in percent.
    assert "Sheet (JSON/YAML answers): 1 student" in done.stdout
    assert "Python exercise: 1 student" in done.stdout
    assert done.stdout.count("mean 100.0%") == 2, done.stdout


def test_a_worse_resubmission_never_lowers_the_default_grade(tmp_path):
    root = tmp_path / "class"
    _write(root / "alice" / "first.json", _correct_sheet(), 1_000_000)
    _write(root / "alice" / "second.yaml", "answers:\n  ex7:\n    correct_sum: 8\n", 2_000_000)
    done, rows = _batch(root, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    alice = rows["alice"]
    assert alice["policy"] == "best_per_exercise"
    assert float(alice["total"]) == 100, alice
    assert alice["sheet_attempts"] == "2"
    assert "alice/first.json" in alice["counted_attempts"]
    # The other policies, asked for by name: latest takes the worse one, best_total the better.
    _, latest = _batch(root, tmp_path, "--policy", "latest")
    assert latest["alice"]["policy"] == "latest" and float(latest["alice"]["total"]) < 100
    assert latest["alice"]["counted_attempts"] == "alice/second.yaml"
    _, best = _batch(root, tmp_path, "--policy", "best_total")
    assert float(best["alice"]["total"]) == 100 and best["alice"]["counted_attempts"] == "alice/first.json"


def test_best_per_exercise_takes_each_exercise_from_its_best_attempt(tmp_path):
    correct = json.loads(_correct_sheet())
    half_a = {"answers": {k: v for k, v in correct["answers"].items() if k in ("ex1", "ex2", "ex3")}}
    half_b = {"answers": {k: v for k, v in correct["answers"].items() if k not in ("ex1", "ex2", "ex3")}}
    root = tmp_path / "class"
    _write(root / "dan" / "a.json", json.dumps(half_a), 1_000_000)
    _write(root / "dan" / "b.json", json.dumps(half_b), 2_000_000)
    _, rows = _batch(root, tmp_path)
    assert float(rows["dan"]["total"]) == 100, rows["dan"]
    assert rows["dan"]["counted_attempts"] == "dan/a.json; dan/b.json"
    _, best = _batch(root, tmp_path, "--policy", "best_total")
    assert float(best["dan"]["total"]) < 100


def test_a_folder_is_its_students_grade_whatever_the_file_says(tmp_path):
    root = tmp_path / "class"
    mine = json.loads(_correct_sheet())
    mine["student_id"] = "bob"
    _write(root / "alice" / "answers.json", json.dumps(mine))
    _write(root / "bob" / "answers.json", json.dumps({"student_id": "bob", "answers": {}}))
    done, rows = _batch(root, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert float(rows["alice"]["total"]) == 100
    assert float(rows["bob"]["total"]) == 0  # bob's own answer, not alice's
    assert "'bob'" in rows["alice"]["warnings"] and "alice/answers.json" in rows["alice"]["warnings"]
    assert rows["bob"]["warnings"] == ""
    assert "alice/answers.json" in done.stdout and "Warnings" in done.stdout

    # Taking the id from the file is asked for by name; then two folders claiming bob is an error.
    done, rows = _batch(root, tmp_path, "--id-from", "content")
    assert done.returncode == 1
    assert "alice/answers.json" in done.stdout and "bob/answers.json" in done.stdout
    assert "bob" not in rows and "alice" not in rows


def test_id_from_content_takes_the_files_id_when_nobody_else_claims_it(tmp_path):
    root = tmp_path / "class"
    _write(root / "upload-1" / "answers.json", json.dumps({"student_id": "s1", "answers": {}}))
    _write(root / "upload-2" / "answers.json", json.dumps({"answers": {}}))
    done, rows = _batch(root, tmp_path, "--id-from", "content")
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(rows) == {"s1", "upload-2"}


def test_gradescope_puts_the_sheet_and_the_python_answer_of_one_submission_side_by_side(tmp_path, sandbox):
    # A Gradescope assignment that takes both files: one results.json, neither replacing the other.
    sheet, python = tmp_path / "answers.json", tmp_path / "solution.py"
    sheet.write_bytes(_correct_sheet())
    python.write_bytes(PYTHON_CORRECT.read_bytes())
    done = subprocess.run([sys.executable, "-m", "grader.cli", "grade", str(sheet), str(python), "--format",
                           "gradescope", "--student", "carol"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["score"] == 110
    assert document["extra_data"]["assignments"] == {"sheet": {"score": 100, "max_score": 100},
                                                     "python": {"score": 10, "max_score": 10}}
    names = [t["name"].split(":")[0] for t in document["tests"]]
    assert names == [f"ex{i}" for i in range(1, 12)] + ["python.assign_window", "python.is_late",
                                                        "python.window_aggregate", "python.upsert"]
    assert [t["number"] for t in document["tests"]] == [str(i) for i in range(1, 16)]
    from jsonschema import Draft202012Validator

    from grader.reports.gradescope import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(document)) == []

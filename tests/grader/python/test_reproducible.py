"""A Python grading is replayable: its hidden streams' seed is derived from the set, the
student and the file's bytes, recorded on the result, and ``--seed`` replays it.

Run as an instructor meets it: ``streamgrade grade FILE.py --format json`` in a process of
its own each time, each with another hash seed (so no dict or set order can hide).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.exercises.load import PACKAGED_SETS
from grader.python.exercise import load_python_exercise
from grader.python.seeds import hidden_seed
from tests.grader.python.samples import DROPS_OUTLIERS, require_sandbox
from tests.paths import EXAMPLES, ROOT


@pytest.fixture(scope="module", autouse=True)
def _sandbox() -> None:
    require_sandbox()


def streamgrade(*args: str, hash_seed: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def graded(path: Path, *args: str, hash_seed: int = 0) -> dict:
    done = streamgrade("grade", str(path), "--format", "json", *args, hash_seed=hash_seed)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _without_timings(doc: dict) -> dict:
    meta = {k: v for k, v in doc["meta"].items() if k != "timings"}
    return {**doc, "meta": meta}


@pytest.fixture(scope="module")
def outliers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reproducible") / "solution.py"
    path.write_text(DROPS_OUTLIERS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def five_gradings(outliers: Path) -> list[dict]:
    return [graded(outliers, "--student", "s1", hash_seed=n) for n in range(1, 6)]


def test_the_same_file_of_the_same_student_graded_five_times_gets_one_seed_one_score_one_feedback(five_gradings):
    seeds = {doc["meta"]["seed"] for doc in five_gradings}
    assert len(seeds) == 1 and all(doc["meta"]["seed_from"] == "derived" for doc in five_gradings)
    assert len({doc["score"] for doc in five_gradings}) == 1
    first = five_gradings[0]
    # The bug shows (so feedback carries a counterexample, shrunk): there is something to vary.
    window_aggregate = next(p for p in first["exercises"][0]["parts"] if p["id"] == "window_aggregate")
    assert window_aggregate["status"] == "partial"
    assert "Smallest failing input" in " ".join(window_aggregate["feedback"])
    for doc in five_gradings[1:]:
        assert doc["exercises"] == first["exercises"]  # every score, status, feedback line and finding
        assert _without_timings(doc) == _without_timings(first)
    assert f"seed {seeds.pop()}" in first["exercises"][0]["feedback"][0]


def test_another_student_or_a_one_byte_change_gets_another_seed(outliers: Path, five_gradings, tmp_path: Path):
    seed = five_gradings[0]["meta"]["seed"]
    other_student = graded(outliers, "--student", "s2")
    changed = tmp_path / "solution.py"
    changed.write_bytes(outliers.read_bytes() + b"\n")
    one_byte_more = graded(changed, "--student", "s1")
    no_student = graded(outliers)
    seeds = [seed, other_student["meta"]["seed"], one_byte_more["meta"]["seed"], no_student["meta"]["seed"]]
    assert len(set(seeds)) == 4, seeds
    assert all(doc["meta"]["seed_from"] == "derived" for doc in (other_student, one_byte_more, no_student))


def test_seed_replays_a_grading_exactly_whoever_the_student(outliers: Path, five_gradings):
    original = five_gradings[0]
    seed = original["meta"]["seed"]
    replay = graded(outliers, "--student", "s2", "--seed", str(seed), hash_seed=7)
    assert replay["meta"]["seed"] == seed and replay["meta"]["seed_from"] == "given"
    assert replay["score"] == original["score"]
    assert replay["exercises"] == original["exercises"]
    assert replay["meta"]["tests"] == original["meta"]["tests"]
    # and another seed is another suite
    other = graded(outliers, "--student", "s1", "--seed", str(seed ^ 1))
    assert other["meta"]["seed"] == seed ^ 1
    assert other["exercises"][0]["feedback"] != original["exercises"][0]["feedback"]


def test_a_seed_given_with_a_json_answer_is_ignored_with_a_warning():
    done = streamgrade("grade", str(EXAMPLES / "correct.json"), "--format", "json", "--seed", "5")
    assert done.returncode == 0, done.stderr
    assert "--seed applies to Python answers only; ignored" in done.stderr
    assert "seed" not in json.loads(done.stdout).get("meta", {})


def test_a_negative_seed_is_a_usage_error():
    done = streamgrade("grade", str(EXAMPLES / "python" / "correct.py"), "--seed", "-1")
    assert done.returncode == 2 and "--seed" in done.stderr and "Traceback" not in done.stderr


def test_the_derivation_takes_the_set_the_exercise_the_student_and_the_bytes():
    base = hidden_seed("set", "python", "s1", b"source")
    assert 0 <= base < 2**32
    assert base == hidden_seed("set", "python", "s1", b"source")
    others = {hidden_seed("set2", "python", "s1", b"source"), hidden_seed("set", "python2", "s1", b"source"),
              hidden_seed("set", "python", "s2", b"source"), hidden_seed("set", "python", "s1", b"source ")}
    assert base not in others and len(others) == 4
    assert hidden_seed("set", "python", None, b"x") == hidden_seed("set", "python", "", b"x")
    # delimited: moving text from one field to the next is another input
    assert hidden_seed("ab", "c", "s1", b"x") != hidden_seed("a", "bc", "s1", b"x")


def test_editing_python_yaml_changes_the_exercise_fingerprint_and_so_the_seeds(tmp_path: Path):
    import shutil

    kept, edited = tmp_path / "kept" / "week10", tmp_path / "edited" / "week10"
    shutil.copytree(PACKAGED_SETS / "week10", kept)
    shutil.copytree(PACKAGED_SETS / "week10", edited)
    text = (edited / "python.yaml").read_text(encoding="utf-8")
    assert "  streams: 200\n" in text
    (edited / "python.yaml").write_text(text.replace("  streams: 200\n", "  streams: 201\n"), encoding="utf-8")
    before, after = load_python_exercise(kept / "python.yaml"), load_python_exercise(edited / "python.yaml")
    assert before.fingerprint == load_python_exercise(PACKAGED_SETS / "week10" / "python.yaml").fingerprint
    assert before.fingerprint != after.fingerprint
    assert hidden_seed("set", before.fingerprint, "s1", b"x") != hidden_seed("set", after.fingerprint, "s1", b"x")

"""Grading picks each student's own variant from their id when variants are on (issue 7).

The correct answers of each student are built from the engine's canonical answers of
their own variant, never typed in.
"""

from __future__ import annotations

import json

from grader import grading
from grader.cli import main
from grader.solutions.render import answer_object
from grader.solutions.solve import solve
from grader.variants.generate import variant_for


def submission(student: str, exercise_set) -> bytes:
    canonical = solve(exercise_set)
    answers = {ex.id: answer_object(ex, canonical[ex.id]) for ex in exercise_set.exercises}
    return json.dumps({"student_id": student, "exercise_set": "week10", "answers": answers}).encode()


def test_grade_bytes_uses_the_students_variant_when_switched_on(week10, monkeypatch):
    monkeypatch.setenv("STREAMGRADE_VARIANTS", "1")
    alice = variant_for(week10, "alice").exercise_set
    bob = variant_for(week10, "bob").exercise_set
    own = grading.grade_bytes(submission("alice", alice), "alice.json")
    copied = grading.grade_bytes(submission("alice", bob), "alice.json")
    assert own.score == own.max_score == 100
    assert copied.score < 100


def test_the_authenticated_id_chooses_the_variant_not_the_file(week10, monkeypatch):
    monkeypatch.setenv("STREAMGRADE_VARIANTS", "1")
    bob = variant_for(week10, "bob").exercise_set
    # bob's own answers, submitted under alice's login (the service passes student_id)
    result = grading.grade_bytes(submission("bob", bob), "x.json", student_id="alice")
    assert result.student_id == "alice" and result.score < 100


def test_with_variants_off_everyone_is_graded_on_the_sheet(week10, monkeypatch):
    monkeypatch.setenv("STREAMGRADE_VARIANTS", "0")
    result = grading.grade_bytes(submission("alice", week10), "alice.json")
    assert result.score == 100


def test_cli_grade_variants_flag(week10, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STREAMGRADE_VARIANTS", "")  # restored after the test, whatever the CLI sets
    alice = variant_for(week10, "alice").exercise_set
    path = tmp_path / "alice.json"
    path.write_bytes(submission("alice", alice))
    assert main(["grade", str(path), "--format", "json", "--variants"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == 100
    assert main(["grade", str(path), "--format", "json", "--no-variants"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] < 100


def test_batch_flags_answers_that_fit_another_students_variant(week10, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STREAMGRADE_VARIANTS", "")  # restored after the test, whatever the CLI sets
    folder = tmp_path / "subs"
    folder.mkdir()
    alice = variant_for(week10, "alice").exercise_set
    carol = variant_for(week10, "carol").exercise_set
    (folder / "alice.json").write_bytes(submission("alice", alice))
    (folder / "carol.json").write_bytes(submission("carol", carol))
    (folder / "bob.json").write_bytes(submission("bob", alice))  # bob hands in alice's answers
    code = main(["batch", str(folder), "--gradebook", str(tmp_path / "grades.csv"), "--jobs", "1",
                 "--no-progress", "--variants"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "bob.json: bob's answers fit alice's variant" in out
    assert "carol.json" not in out.split("possible copies")[1]


def test_batch_without_variants_does_not_look_for_copies(week10, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STREAMGRADE_VARIANTS", "")  # restored after the test, whatever the CLI sets
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "alice.json").write_bytes(submission("alice", week10))
    assert main(["batch", str(folder), "--gradebook", str(tmp_path / "g.csv"), "--jobs", "1", "--no-progress",
                 "--no-variants"]) == 0
    assert "possible copies" not in capsys.readouterr().out

"""``streamgrade batch`` and :mod:`grader.batch`: collecting, parallel grading, failures, resuming, summary.

The grader is a stand-in (:mod:`tests.grader.fake_grading`) whose scores, diagnoses and
crashes are written in the submissions themselves.  Worker processes are forked, so
they see the monkeypatched ``grader.grading.grade_bytes``.  No test asserts on time.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import stat
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from grader import grading
from grader.attempts import Assignment, Attempt
from grader.batch.collect import READ_CAP, collect
from grader.batch.run import Progress, chunk_size, result_file_name, run_batch
from grader.batch.state import RecordStatus, read_state
from grader.batch.summary import histogram_bins, render_summary, summarize
from grader.cli import main
from grader.errors import UsageProblem
from grader.results import ExerciseResult, GradeResult, Status, result_from_dict
from tests.grader.fake_grading import fake_grade_bytes
from tests.paths import EXAMPLES


@pytest.fixture()
def fake(monkeypatch):
    monkeypatch.setattr(grading, "grade_bytes", fake_grade_bytes)


def answers(student: str | None, points: float = 0, ok: bool = False, mistake: str | None = None, **extra) -> str:
    ex1 = {"points": points, **({"mistake": mistake} if mistake else {})}
    doc = {"answers": {"ex1": ex1, "ex2": {"ok": ok}, **extra}}
    if student:
        doc["student_id"] = student
    return json.dumps(doc)


def make_class(root: Path) -> Path:
    """A folder like an LMS export: a good JSON, a bad JSON, a YAML in a student folder, a Python file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "good.json").write_text(answers("s1", 4, True), encoding="utf-8")
    (root / "bad.json").write_text('{"student_id": "s2", "answers": {', encoding="utf-8")
    (root / "carol").mkdir()
    (root / "carol" / "answers.yaml").write_text("answers:\n  ex1: {points: 2, mistake: inclusive_window_end}\n",
                                                 encoding="utf-8")
    (root / "dave.py").write_text("def assign_window(t, size_minutes=5):\n    return t\n", encoding="utf-8")
    (root / "good.expect.json").write_text('{"score": 10}', encoding="utf-8")  # a fixture, not a submission
    (root / "notes.txt").write_text("not a submission", encoding="utf-8")
    (root / ".hidden.json").write_text(answers("ghost", 4, True), encoding="utf-8")
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


# -- collecting -----------------------------------------------------------------------------------


def test_folder_is_collected_recursively_skipping_fixtures_hidden_and_other_files(tmp_path):
    collection = collect(make_class(tmp_path / "class"))
    assert sorted(e.source for e in collection.entries) == ["bad.json", "carol/answers.yaml", "dave.py", "good.json"]
    students = {e.source: e.path_student for e in collection.entries}
    assert students["carol/answers.yaml"] == "carol" and students["dave.py"] == "dave"


def test_not_a_folder_or_zip_is_a_usage_problem(tmp_path):
    text = tmp_path / "x.txt"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(UsageProblem, match="not a folder or a ZIP"):
        collect(text)
    with pytest.raises(UsageProblem, match="no such"):
        collect(tmp_path / "missing")


def test_zip_entries_that_climb_out_are_skipped_and_never_written(fake, tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("export/", "")
        zf.writestr("export/alice/answers.json", answers(None, 4, True))
        zf.writestr("../evil.json", answers("evil", 4, True))
        zf.writestr("export/../../evil2.json", answers("evil2", 4, True))
        zf.writestr("/etc/abs.json", answers("abs", 4, True))
        zf.writestr("C:/win.json", answers("win", 4, True))
        link = zipfile.ZipInfo("export/link.json")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("__MACOSX/export/._answers.json", "junk")
    collection = collect(archive)
    assert [e.source for e in collection.entries] == ["export/alice/answers.json"]
    assert collection.entries[0].path_student == "alice"  # the archive's common top folder is passed over
    assert sum("climbs out" in note for note in collection.skipped) == 4
    assert any("symbolic link" in note for note in collection.skipped)
    collection.close()

    before = set(tmp_path.parent.iterdir())
    outcome = run_batch(archive, state_path=tmp_path / "out" / "state.jsonl", jobs=1, progress=False,
                        results_dir=tmp_path / "out" / "results")
    assert set(tmp_path.parent.iterdir()) == before  # nothing written next to the temp folder
    assert [r.source for r in outcome.new] == ["export/alice/answers.json"]
    assert [p.name for p in (tmp_path / "out" / "results").iterdir()] == ["export__alice__answers.json.result.json"]
    assert any("evil.json" in note for note in outcome.notes)


def test_zip_entry_is_read_only_up_to_the_cap(fake, tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.json", b" " * (READ_CAP * 3))
    collection = collect(archive)
    assert len(collection.entries[0].read()) == READ_CAP
    collection.close()
    outcome = run_batch(archive, state_path=tmp_path / "s.jsonl", jobs=1, progress=False)
    (record,) = outcome.new
    assert record.status is RecordStatus.UNREADABLE and "larger than the limit" in record.error


def test_student_from_path_passes_over_folders_every_submission_shares(tmp_path):
    root = tmp_path / "class"
    for path in ("export/2024/alice/a.json", "export/2024/bob/b.json", "export/2024/bob/old/b.json"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("{}", encoding="utf-8")
    students = {e.source: e.path_student for e in collect(root).entries}
    assert students == {"export/2024/alice/a.json": "alice", "export/2024/bob/b.json": "bob",
                        "export/2024/bob/old/b.json": "bob"}


def test_a_single_student_folder_is_that_student(tmp_path):
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    for name in ("a.json", "b.json"):
        (root / "alice" / name).write_text("{}", encoding="utf-8")
    assert {e.path_student for e in collect(root).entries} == {"alice"}


def test_symlink_out_of_the_folder_is_skipped(tmp_path):
    outside = tmp_path / "secret.json"
    outside.write_text(answers("x", 4), encoding="utf-8")
    root = tmp_path / "class"
    root.mkdir()
    (root / "a.json").write_text(answers("a", 1), encoding="utf-8")
    (root / "link.json").symlink_to(outside)
    (root / "inside.json").symlink_to(root / "a.json")
    collection = collect(root)
    assert sorted(e.source for e in collection.entries) == ["a.json", "inside.json"]
    assert any("link.json" in note and "out of the folder" in note for note in collection.skipped)


def test_results_dir_holds_the_whole_result_and_the_state_stays_compact(fake, tmp_path):
    root = make_class(tmp_path / "class")
    run_batch(root, state_path=tmp_path / "state.jsonl", jobs=1, progress=False, results_dir=tmp_path / "results")
    full = json.loads((tmp_path / "results" / "good.json.result.json").read_text(encoding="utf-8"))
    assert full["score"] == 10 and full["exercises"][0]["feedback"] == ["ex1 feedback"]
    assert full["exercises"][0]["parts"][0]["id"] == "value"
    records = {r.source: r for r in read_state(tmp_path / "state.jsonl")}
    assert records["good.json"].result["exercises"][0][:4] == ["ex1", 4.0, 4.0, "correct"]
    assert "feedback" not in (tmp_path / "state.jsonl").read_text(encoding="utf-8")


def test_result_file_names_are_flat_and_safe():
    assert result_file_name("alice/ex.json") == "alice__ex.json.result.json"
    assert "/" not in result_file_name("../../x.json") and not result_file_name("..x.json").startswith(".")


# -- grading a folder -----------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_folder_with_good_bad_and_python_files_is_graded(fake, tmp_path, jobs):
    outcome = run_batch(make_class(tmp_path / "class"), state_path=tmp_path / "state.jsonl", jobs=jobs,
                        progress=False)
    by_source = {r.source: r for r in outcome.new}
    assert set(by_source) == {"bad.json", "carol/answers.yaml", "dave.py", "good.json"}
    assert by_source["good.json"].status is RecordStatus.GRADED
    assert by_source["good.json"].result["score"] == 10
    assert by_source["bad.json"].status is RecordStatus.UNREADABLE
    assert "bad.json" in by_source["bad.json"].error and "line 1" in by_source["bad.json"].error
    # the path names the student: its first folder, else the file's stem (good.json says s1)
    assert by_source["carol/answers.yaml"].result["student_id"] == "carol"
    assert by_source["dave.py"].result["student_id"] == "dave"
    assert by_source["good.json"].result["identity"] == {"from": "path", "path": "good", "claimed": "s1"}
    assert sorted(r.student_id for r in outcome.results()) == ["bad", "carol", "dave", "good"]


def test_a_crash_while_grading_one_file_does_not_stop_the_others(fake, tmp_path):
    root = make_class(tmp_path / "class")
    (root / "crash.json").write_text(answers("s9", crash=True), encoding="utf-8")
    outcome = run_batch(root, state_path=tmp_path / "state.jsonl", jobs=2, progress=False)
    by_source = {r.source: r for r in outcome.new}
    assert by_source["crash.json"].status is RecordStatus.FAILED
    assert "RuntimeError: boom in the grader" in by_source["crash.json"].error
    assert by_source["good.json"].status is RecordStatus.GRADED
    assert len(outcome.new) == 5 and [r.source for r in outcome.failed] == ["crash.json"]


def test_a_worker_that_dies_fails_only_its_own_submission(fake, tmp_path):
    root = tmp_path / "class"
    root.mkdir()
    for i in range(12):
        (root / f"s{i:02d}.json").write_text(answers(f"s{i:02d}", i % 5), encoding="utf-8")
    (root / "s05.json").write_text(answers("s05", die=True), encoding="utf-8")
    outcome = run_batch(root, state_path=tmp_path / "state.jsonl", jobs=2, progress=False)
    statuses = {r.source: r.status for r in outcome.records}
    assert statuses.pop("s05.json") is RecordStatus.FAILED
    assert set(statuses.values()) == {RecordStatus.GRADED} and len(statuses) == 11


def test_rerun_skips_what_was_graded_by_content_hash(fake, tmp_path):
    root = make_class(tmp_path / "class")
    state = tmp_path / "state.jsonl"
    first = run_batch(root, state_path=state, jobs=1, progress=False)
    assert len(first.new) == 4
    (root / "carol" / "answers.yaml").rename(root / "carol" / "final.yaml")  # same content and student: known
    second = run_batch(root, state_path=state, jobs=1, progress=False)
    assert second.new == [] and second.skipped_known == 4
    assert len(second.records) == 4
    (root / "new.json").write_text(answers("s5", 1), encoding="utf-8")
    third = run_batch(root, state_path=state, jobs=1, progress=False)
    assert [r.source for r in third.new] == ["new.json"] and third.skipped_known == 4


def test_rerun_retries_failed_submissions(fake, tmp_path, monkeypatch):
    root = make_class(tmp_path / "class")
    (root / "crash.json").write_text(answers("s9", crash=True), encoding="utf-8")
    state = tmp_path / "state.jsonl"
    run_batch(root, state_path=state, jobs=1, progress=False)

    def fixed(raw, filename=None, student_id=None, exercise_set="week10", **options):
        return fake_grade_bytes(raw.replace(b'"crash": true', b'"crash": false'), filename, student_id, exercise_set)

    monkeypatch.setattr(grading, "grade_bytes", fixed)
    second = run_batch(root, state_path=state, jobs=1, progress=False)
    assert [(r.source, r.status) for r in second.new] == [("crash.json", RecordStatus.GRADED)]
    assert second.failed == []


def test_killed_batch_loses_nothing_and_a_torn_last_line_is_regraded(fake, tmp_path):
    root = make_class(tmp_path / "class")
    state = tmp_path / "state.jsonl"
    run_batch(root, state_path=state, jobs=1, progress=False)
    lines = state.read_text(encoding="utf-8").splitlines(keepends=True)
    state.write_text(lines[0] + lines[1] + lines[2][:25], encoding="utf-8")  # killed mid-write
    resumed = run_batch(root, state_path=state, jobs=1, progress=False)
    assert len(resumed.new) == 2 and resumed.skipped_known == 2
    assert len(resumed.records) == 4


def test_corrupt_state_file_is_a_usage_problem(fake, tmp_path):
    state = tmp_path / "state.jsonl"
    state.write_text("this is not json\n", encoding="utf-8")
    with pytest.raises(UsageProblem, match="state file"):
        read_state(state)


def test_restart_forgets_the_state(fake, tmp_path):
    root = make_class(tmp_path / "class")
    state = tmp_path / "state.jsonl"
    run_batch(root, state_path=state, jobs=1, progress=False)
    again = run_batch(root, state_path=state, jobs=1, progress=False, restart=True)
    assert len(again.new) == 4 and again.skipped_known == 0


def test_state_and_results_inside_the_folder_are_not_graded(fake, tmp_path):
    root = make_class(tmp_path / "class")
    run_batch(root, state_path=root / "state.json", jobs=1, progress=False, results_dir=root / "results")
    again = run_batch(root, state_path=root / "state.json", jobs=1, progress=False, results_dir=root / "results")
    assert again.new == [] and again.skipped_known == 4


def test_the_path_decides_the_student_unless_content_is_asked_for(fake, tmp_path):
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    (root / "alice" / "a.json").write_text(answers("bob", 4, True), encoding="utf-8")  # claims to be bob
    outcome = run_batch(root, state_path=tmp_path / "s.jsonl", jobs=1, progress=False)
    [result] = outcome.results()
    assert result.student_id == "alice"
    assert outcome.attempts()[0].warnings == ("alice/a.json: the file says student_id 'bob', but its path names "
                                              "'alice': graded as 'alice' (use --id-from content to take the "
                                              "file's id)",)
    outcome = run_batch(root, state_path=tmp_path / "s.jsonl", jobs=1, progress=False, id_from="content",
                        restart=True)
    assert [r.student_id for r in outcome.results()] == ["bob"]


def test_chunks_spread_the_work_and_stay_small():
    assert chunk_size(10, 2) == 1
    assert chunk_size(10_000, 2) == 64
    assert chunk_size(800, 4) == 25


def test_progress_bar_only_when_enabled():
    stream = io.StringIO()
    bar = Progress(4, stream, enabled=True, width=8)
    for _ in range(4):
        bar.advance()
    bar.close()
    assert "[########] 4/4 100%" in stream.getvalue() and stream.getvalue().endswith("\n")
    quiet = io.StringIO()
    bar = Progress(4, quiet)  # a StringIO is not a terminal
    bar.advance()
    bar.close()
    assert quiet.getvalue() == ""


# -- the command ----------------------------------------------------------------------------------


def test_batch_command_writes_gradebook_state_histogram_and_summary(fake, tmp_path, capsys):
    root = make_class(tmp_path / "class")
    book = tmp_path / "out" / "grades.csv"
    code = main(["batch", str(root), "--gradebook", str(book), "--jobs", "2", "--results-dir",
                 str(tmp_path / "out" / "results")])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = read_csv(book)
    assert [r["student_id"] for r in rows] == ["bad", "carol", "dave", "good"]  # one row per student
    by_id = {r["student_id"]: r for r in rows}
    assert by_id["good"]["total"] == "10" and by_id["good"]["ex1"] == "4" and by_id["good"]["ex2"] == "6"
    assert by_id["bad"]["total"] == "0" and "could not be read" in by_id["bad"]["warnings"]
    assert by_id["dave"]["python_total"] == "5" and by_id["dave"]["total"] == ""
    assert (tmp_path / "out" / "grades.csv.state.jsonl").is_file()
    assert len(list((tmp_path / "out" / "results").glob("*.result.json"))) == 4
    with Image.open(tmp_path / "out" / "grades.histogram.png") as png:
        assert (png.format, png.size) == ("PNG", (640, 360))
    with Image.open(tmp_path / "out" / "grades.histogram.python.png") as png:  # the Python exercise's, beside it
        assert (png.format, png.size) == ("PNG", (640, 360))
    assert "Graded 4 submissions (1 unreadable, 0 failed): 4 students" in out
    assert "inclusive_window_end" in out and "grades.histogram.png" in out
    assert "Traceback" not in err


def test_batch_command_rerun_reports_skipped_and_keeps_every_row(fake, tmp_path, capsys):
    root = make_class(tmp_path / "class")
    book = tmp_path / "grades.csv"
    assert main(["batch", str(root), "--gradebook", str(book), "--jobs", "1"]) == 0
    capsys.readouterr()
    assert main(["batch", str(root), "--gradebook", str(book), "--jobs", "1"]) == 0
    out, _ = capsys.readouterr()
    assert "4 already graded and skipped" in out
    assert len(read_csv(book)) == 4


def test_batch_command_exits_1_when_a_submission_could_not_be_graded(fake, tmp_path, capsys):
    root = make_class(tmp_path / "class")
    (root / "crash.json").write_text(answers("s9", crash=True), encoding="utf-8")
    book = tmp_path / "grades.csv"
    code = main(["batch", str(root), "--gradebook", str(book), "--jobs", "2"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "crash.json: grading failed: RuntimeError" in out and "run the same command again" in err
    assert [r["student_id"] for r in read_csv(book)] == ["bad", "carol", "dave", "good"]


def test_batch_command_policy_best_and_latest(fake, tmp_path, capsys):
    root = tmp_path / "class"
    (root / "s1").mkdir(parents=True)
    (root / "s2").mkdir()
    (root / "s2" / "a.json").write_text(answers(None, 1), encoding="utf-8")
    first, second = root / "s1" / "try1.json", root / "s1" / "try2.json"
    first.write_text(answers("s1", 4, True), encoding="utf-8")
    second.write_text(answers("s1", 1), encoding="utf-8")
    os.utime(first, (1_000_000, 1_000_000))
    os.utime(second, (2_000_000, 2_000_000))  # the later upload scores less
    book = tmp_path / "grades.csv"
    assert main(["batch", str(root), "--gradebook", str(book), "--jobs", "1", "--policy", "latest"]) == 0
    assert [r["total"] for r in read_csv(book)] == ["1", "1"]
    assert main(["batch", str(root), "--gradebook", str(book), "--jobs", "1", "--policy", "best"]) == 0
    assert next((r["total"], r["policy"]) for r in read_csv(book)) == ("10", "best_total")
    assert main(["batch", str(root), "--gradebook", str(book), "--jobs", "1"]) == 0
    assert next((r["total"], r["policy"]) for r in read_csv(book)) == ("10", "best_per_exercise")
    # Two folders claiming one student, with --id-from content: an error naming both files.
    (root / "s2" / "a.json").write_text(answers("s1", 1), encoding="utf-8")
    assert main(["batch", str(root), "--gradebook", str(book), "--jobs", "1", "--id-from", "content"]) == 1
    out, _ = capsys.readouterr()
    assert "s1/try1.json" in out and "s2/a.json" in out and read_csv(book) == []
    capsys.readouterr()


def test_batch_command_svg_histogram(fake, tmp_path, capsys):
    root = make_class(tmp_path / "class")
    svg = tmp_path / "hist.svg"
    assert main(["batch", str(root), "--gradebook", str(tmp_path / "g.csv"), "--jobs", "1",
                 "--histogram", str(svg)]) == 0
    out, _ = capsys.readouterr()
    tree = ET.fromstring(svg.read_text(encoding="utf-8"))
    assert tree.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in tree.iter("{http://www.w3.org/2000/svg}text")]
    sheet = next(ln for ln in out.splitlines() if ln.startswith(Assignment.SHEET.title))
    assert sheet.startswith(f"{Assignment.SHEET.title}: 3 students, 10 points")  # good, bad, carol
    assert f"{Assignment.SHEET.title}: total scores of 3 students" in texts
    assert "Score, % of 10 points" in texts and "Students" in texts
    counts = ["".join(t.text for t in g.iter("{http://www.w3.org/2000/svg}text"))
              for g in tree.iter("{http://www.w3.org/2000/svg}g") if g.get("id", "").startswith("bar-count-")]
    assert sum(int(c) for c in counts) == 3 and "0" not in counts  # a count on each non-empty bar only
    assert ET.fromstring((tmp_path / "hist.python.svg").read_text(encoding="utf-8")).tag.endswith("svg")


def test_batch_command_missing_source_exits_2(capsys, tmp_path):
    code = main(["batch", str(tmp_path / "nope"), "--gradebook", str(tmp_path / "g.csv")])
    _, err = capsys.readouterr()
    assert code == 2 and "nope" in err


# -- summary and histogram -----------------------------------------------------------------------


def _result(student: str, ex1: float, ex2: float, diagnosis: tuple[str, ...] = ()) -> GradeResult:
    exercises = (
        ExerciseResult("ex1", "One", ex1, 4, Status.CORRECT if ex1 == 4 else Status.PARTIAL if ex1 else
                       Status.INCORRECT, diagnosis=diagnosis),
        ExerciseResult("ex2", "Two", ex2, 6, Status.CORRECT if ex2 == 6 else Status.NOT_ANSWERED),
    )
    return GradeResult(student, "week10", ex1 + ex2, 10, exercises)


def _summarize(results, *, policy="latest", python=(), **options):
    """The summary of sheet ``results`` and ``python`` results as attempts in the order given."""
    attempts = [Attempt.of(r, ref=f"a{i}", order=(i,), assignment=Assignment.SHEET) for i, r in enumerate(results)]
    attempts += [Attempt.of(r, ref=f"p{i}", order=(i,), assignment=Assignment.PYTHON) for i, r in enumerate(python)]
    by_ref = {a.ref: r for a, r in zip(attempts, [*results, *python], strict=True)}
    return summarize(attempts, by_ref, policy=policy, **options)


def test_summary_means_distributions_and_common_diagnoses():
    results = [
        _result("a", 4, 6), _result("b", 2, 0, ("inclusive_window_end",)),
        _result("c", 0, 6, ("inclusive_window_end", "late_event_counted")),
        _result("c", 1, 6, ("inclusive_window_end",)),  # c's latest replaces the previous one
        _result("d", 1, 0, ("late_event_counted", "late_event_counted")),
    ]
    summary = _summarize(results, failed=["x.json: grading failed: boom"], skipped_known=3)
    assert summary.students == 4 and summary.submissions == 6 and summary.failed == 1
    [sheet] = summary.assignments
    assert sheet.mean == pytest.approx((100 + 20 + 70 + 10) / 4) and sheet.median == 45  # percent
    ex1, ex2 = sheet.exercises
    assert ex1.mean == pytest.approx(2.0) and ex1.statuses == {"correct": 1, "partial": 3}
    assert ex1.quarters == (0, 2, 1, 1)  # 1/4 is the start of the second quarter
    assert ex2.statuses == {"correct": 2, "not_answered": 2}
    assert sheet.diagnoses == (("inclusive_window_end", 2, ("ex1",)), ("late_event_counted", 1, ("ex1",)))
    assert sheet.histogram == (0, 1, 1, 0, 0, 0, 0, 1, 0, 1)
    text = render_summary(summary, histogram_paths={Assignment.SHEET: "h.png"}, gradebook="g.csv")
    assert "Graded 6 submissions (0 unreadable, 1 failed, 3 already graded and skipped): 4 students in g.csv" in text
    assert "mean 50.0%, median 45.0%" in text and "Which attempt counts: latest" in text
    assert "inclusive_window_end" in text and "x.json: grading failed" in text
    assert json.loads(json.dumps(summary.to_dict()))["assignments"][0]["exercises"][0]["id"] == "ex1"
    # Under the default policy c's better ex1 counts: the mean moves.
    assert _summarize(results, policy="best_per_exercise").assignments[0].mean == pytest.approx(50)


def test_summary_keeps_each_assignment_apart_in_percent():
    # A 2/10 Python score is not averaged with 100-point sheets: each has its own figures.
    sheets = [GradeResult(s, "week10", 100, 100, (ExerciseResult("ex1", "", 100, 100, Status.CORRECT),))
              for s in ("a", "b")]
    python = [GradeResult("a", "week10", 2, 10, (ExerciseResult("python", "", 2, 10, Status.PARTIAL),))]
    summary = _summarize(sheets, python=python)
    sheet, py = summary.assignments
    assert (sheet.assignment, sheet.students, sheet.mean) == (Assignment.SHEET, 2, 100)
    assert (py.assignment, py.students, py.mean) == (Assignment.PYTHON, 1, 20)
    text = render_summary(summary)
    assert "Sheet (JSON/YAML answers): 2 students" in text and "Python exercise: 1 student" in text


def test_summary_of_nothing():
    summary = _summarize([])
    assert summary.students == 0 and summary.assignments == ()
    assert render_summary(summary).startswith("Graded 0 submissions")


def test_summary_counts_finding_codes_from_parts(fake):
    results = [fake_grade_bytes(answers(s, 1, mistake="wrong_sum").encode(), "a.json") for s in ("a", "b")]
    summary = _summarize([result_from_dict(r.to_dict()) for r in results])
    assert summary.assignments[0].findings == (("wrong_sum", 2),)


def test_histogram_bins_put_full_marks_in_the_last_bin():
    assert histogram_bins([0, 9.99, 10, 55, 100, 100], 100) == (2, 1, 0, 0, 0, 1, 0, 0, 0, 2)


def test_result_from_dict_round_trips_what_gradebooks_need(fake):
    original = fake_grade_bytes(answers("s1", 3, mistake="inclusive_window_end").encode(), "a.json")
    rebuilt = result_from_dict(json.loads(json.dumps(original.to_dict())))
    assert rebuilt.to_dict()["exercises"][0]["diagnosis"] == ["inclusive_window_end"]
    assert (rebuilt.student_id, rebuilt.score, rebuilt.max_score) == ("s1", 3, 10)
    assert [e.status for e in rebuilt.exercises] == [e.status for e in original.exercises]


# -- with the real grader -------------------------------------------------------------------------



def _real_grader_or_skip() -> None:
    try:
        grading.grade_bytes(b'{"answers": {}}', "probe.json", "probe", "week10")
    except NotImplementedError:
        pytest.skip("grader.grading is not implemented yet")


def test_examples_batch_matches_their_expectations(tmp_path, capsys):
    """Every JSON example graded in a batch gets the score and diagnoses its .expect.json declares."""
    _real_grader_or_skip()
    root = tmp_path / "class"
    root.mkdir()
    expected = {}
    for example in sorted(EXAMPLES.glob("*.expect.json")):
        submission = example.with_name(example.name.replace(".expect.json", ".json"))
        if submission.is_file():
            (root / submission.name).write_bytes(submission.read_bytes())
            expected[submission.stem] = json.loads(example.read_text(encoding="utf-8"))  # the path's student
    assert len(expected) >= 5
    book = tmp_path / "grades.csv"
    assert main(["batch", str(root), "--gradebook", str(book), "--jobs", "2"]) == 0
    out, _ = capsys.readouterr()
    rows = {r["student_id"]: r for r in read_csv(book)}
    assert set(rows) == set(expected)
    for student, expect in expected.items():
        assert float(rows[student]["total"]) == pytest.approx(expect["score"]), student
    codes = {code for expect in expected.values() for codes in expect.get("diagnosis", {}).values() for code in codes}
    listed = out.split("Most common diagnoses (students)\n")[1].splitlines()
    top = {line.split()[0] for line in itertools.takewhile(lambda line: line.startswith("    "), listed)}
    assert top & codes


def test_zip_batch_through_the_cli_with_the_real_grader(tmp_path, capsys):
    _real_grader_or_skip()
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export/alice/answers.json", (EXAMPLES / "correct.json").read_text(encoding="utf-8")
                    .replace("example-correct", "alice"))
        zf.writestr("export/bob/answers.json", '{"answers": {"ex3": ')
        zf.writestr("../evil.json", "{}")
    book = tmp_path / "grades.csv"
    assert main(["batch", str(archive), "--gradebook", str(book), "--jobs", "2"]) == 0
    out, _ = capsys.readouterr()
    assert {r["student_id"]: r["total"] for r in read_csv(book)} == {"alice": "100", "bob": "0"}
    assert "1 unreadable" in out and "../evil.json" in out


def test_the_same_file_twice_in_one_folder_is_graded_once(fake, tmp_path):
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    for name in ("a.json", "copy.json"):
        (root / "alice" / name).write_text(answers("alice", 2), encoding="utf-8")
    outcome = run_batch(root, state_path=tmp_path / "s.jsonl", jobs=1, progress=False)
    assert len(outcome.new) == 1 and outcome.skipped_known == 1


def test_the_summary_counts_the_codes_of_schema_problems_per_student():
    from grader.results import Problem, Severity

    def result(student: str, *codes: str) -> GradeResult:
        problems = tuple(Problem(f"answers.ex{i}", code, "m", Severity.ERROR) for i, code in enumerate(codes))
        return GradeResult(student, "week10", 1, 10, (ExerciseResult("ex1", "", 1, 10, Status.PARTIAL),), (),
                           tuple(str(p) for p in problems), problems=problems)

    summary = _summarize([result("a", "wrong_type", "wrong_type"), result("b", "wrong_type", "missing_field"),
                          result("c")])
    assert summary.assignments[0].problems == (("wrong_type", 2), ("missing_field", 1))
    assert summary.to_dict()["assignments"][0]["problems"] == [{"code": "wrong_type", "students": 2},
                                                               {"code": "missing_field", "students": 1}]
    assert "Most common problems with the submissions' shape" in render_summary(summary)

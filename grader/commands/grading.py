"""Commands of the grading area: ``streamgrade grade`` and ``streamgrade batch``.

Thin, as click teaches: they parse flags, call :mod:`grader.grading`, :mod:`grader.batch`
and :mod:`grader.batch.summary`, and format what comes back with :mod:`grader.reports`.
A submission that cannot be read is one message on stderr naming the file, line and
column, and exit status 2; never a traceback.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import click

from grader.attempts import POLICY_SPELLINGS, Assignment, assignment_for
from grader.errors import GraderError, SubmissionUnreadable, UsageProblem
from grader.exercises.load import DEFAULT_SET, available_sets
from grader.reports import FORMATS, render, render_gradebook, render_junit
from grader.results import GradeResult


def _check_set(name: str) -> None:
    known = available_sets()
    if name not in known:
        raise click.BadParameter(f"unknown exercise set {name!r}; known: {', '.join(known) or 'none'}",
                                 param_hint="--set")


def _read(path: str) -> tuple[bytes, str | None, str]:
    """The bytes of ``path`` (``-``: stdin), the file name that picks the format, and the name shown."""
    from grader.batch.collect import READ_CAP

    if path == "-":
        return sys.stdin.buffer.read(READ_CAP), None, "<stdin>"
    try:
        with open(path, "rb") as stream:
            return stream.read(READ_CAP), path, path
    except IsADirectoryError:
        raise UsageProblem(f"{path}: a folder; `streamgrade batch` grades a folder of submissions") from None
    except OSError as exc:
        raise UsageProblem(f"{path}: cannot read the file: {exc.strerror or exc}") from None


def _use_color(choice: bool | None, output: str | None) -> bool:
    if choice is not None:
        return choice
    if output not in (None, "-") or os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _document(results: list[GradeResult], fmt: str, color: bool, assignments: list[Assignment]) -> str:
    if fmt == "gradescope":
        import json

        from grader.reports.gradescope import gradescope_submission
        from grader.reports.text import json_default

        document = gradescope_submission(list(zip(assignments, results, strict=True)))
        return json.dumps(document, indent=2, ensure_ascii=False, default=json_default) + "\n"
    if fmt == "junit":
        return render_junit(results)
    if fmt == "json" and len(results) > 1:
        from grader.reports import render_json

        return "[\n" + ",\n".join(render_json(r).rstrip("\n") for r in results) + "\n]\n"
    if fmt == "text":
        return "\n".join(render(r, "text", color=color) for r in results)
    return render(results[0], fmt, color=color)


def _write(text: str, output: str | None, color: bool) -> None:
    if output in (None, "-"):
        click.echo(text, nl=False, color=color)  # click would strip the colour of a non-terminal otherwise
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageProblem(f"{output}: cannot write: {exc.strerror or exc}") from None


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Report format; json is the result format, gradescope is Gradescope's results.json.")
@click.option("-o", "--output", metavar="OUT", help="Write the report to OUT instead of stdout.")
@click.option("--student", "student_id", metavar="ID", help="Student id (overrides the one in the file).")
@click.option("--set", "exercise_set", default=DEFAULT_SET, show_default=True, help="Exercise set to grade against.")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: when stdout is a terminal).")
@click.option("--variants/--no-variants", default=None,
              help="Grade each student against their own variant (default: STREAMGRADE_VARIANTS, else the set's "
                   "variation.yaml).")
@click.option("--seed", type=click.IntRange(min=0), default=None, metavar="N",
              help="Seed of a Python answer's hidden streams, to replay a grading (a result's meta.seed). Default: "
                   "derived from the set, the student and the file's bytes. JSON and YAML answers have no hidden "
                   "tests: for them it is ignored, with a warning on stderr.")
def grade(files: tuple[str, ...], fmt: str, output: str | None, student_id: str | None, exercise_set: str,
          color: bool | None, variants: bool | None, seed: int | None) -> None:
    """Grade submissions (JSON, YAML or Python; - reads stdin) and print the report.

    Exit status 0 when every file was graded, whatever the score; 2 when a file could not
    be read (the message names the file, line and column).  The same Python file of the
    same student always gets the same hidden tests, so the same score and feedback;
    ``--seed`` replays any grading exactly.
    """
    from grader import grading
    from grader.submissions.read import SubmissionFormat, format_for_name

    _check_set(exercise_set)
    if fmt == "gradescope":
        _one_per_assignment(files)
    if files.count("-") > 1:
        raise click.UsageError("stdin (-) can be read once")
    results: list[GradeResult] = []
    assignments: list[Assignment] = []
    unreadable: list[str] = []
    for path in files:
        raw, name, shown = _read(path)
        python = format_for_name(name if name is not None else shown) is SubmissionFormat.PYTHON
        if seed is not None and not python:
            click.echo(f"streamgrade: warning: {shown}: --seed applies to Python answers only; ignored", err=True)
        result = grading.grade_bytes(raw, name if name is not None else shown, student_id, exercise_set,
                                     variants=variants, seed=seed if python else None)
        if not result.readable:
            unreadable.extend(result.errors or (f"{shown}: the submission could not be read",))
            if fmt == "text":
                continue  # the message on stderr is the whole report
        results.append(result)
        assignments.append(assignment_for(name))
    if results:
        use_color = _use_color(color, output)
        _write(_document(results, fmt, use_color, assignments), output, use_color)
    for message in unreadable[:-1]:
        click.echo(f"streamgrade: {message}", err=True)
    if unreadable:
        # the last message goes through the CLI's error handler, which sets exit status 2
        raise SubmissionUnreadable(unreadable[-1])


def _one_per_assignment(files: tuple[str, ...]) -> None:
    """``--format gradescope`` writes one results.json: at most one file of each assignment (the
    sheet's JSON/YAML, the Python answer), which it puts side by side."""
    by: dict[Assignment, list[str]] = {}
    for path in files:
        by.setdefault(assignment_for(None if path == "-" else path), []).append(path)
    doubled = {a: paths for a, paths in by.items() if len(paths) > 1}
    if doubled:
        listed = "; ".join(f"{a.value}: {', '.join(paths)}" for a, paths in doubled.items())
        raise click.UsageError(f"--format gradescope writes one results.json for one submission: give at most one "
                               f"file of the sheet (JSON/YAML) and one Python file ({listed})")


@click.command()
@click.argument("source", metavar="DIR|ZIP", type=click.Path(exists=True))
@click.option("--gradebook", required=True, type=click.Path(dir_okay=False), help="Gradebook CSV to write.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of CPUs).")
@click.option("--policy", type=click.Choice(sorted(POLICY_SPELLINGS)), default=None,
              help="Which attempt counts: best_per_exercise (each exercise's best score), best_total (the best "
                   "attempt), latest (best is best_total). Default: the set's settings.attempts, else "
                   "best_per_exercise.")
@click.option("--results-dir", type=click.Path(file_okay=False),
              help="Also write each submission's result (JSON result format) into this folder.")
@click.option("--set", "exercise_set", default=DEFAULT_SET, show_default=True, help="Exercise set to grade against.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False),
              help="Resume file of graded submissions (default: GRADEBOOK.state.jsonl).")
@click.option("--restart", is_flag=True, help="Forget the resume file and grade everything again.")
@click.option("--histogram", type=click.Path(dir_okay=False),
              help="Histogram image of total scores, .png or .svg (default: GRADEBOOK.histogram.png).")
@click.option("--id-from", type=click.Choice(["path", "content", "submission"]), default="path", show_default=True,
              help="Who a file belongs to: its path (the first folder below the root, else the file's stem; a "
                   "student_id in the file that disagrees is a warning), or the student_id in the file (content; "
                   "submission is another name for it; the path when it has none).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
@click.option("--variants/--no-variants", default=None,
              help="Grade each student against their own variant (default: STREAMGRADE_VARIANTS, else the set's "
                   "variation.yaml).")
def batch(source: str, gradebook: str, jobs: int | None, policy: str | None, results_dir: str | None,
          exercise_set: str, state_path: str | None, restart: bool, histogram: str | None, id_from: str,
          progress: bool | None, variants: bool | None) -> None:
    """Grade every submission in a folder or ZIP file in parallel; write the gradebook; print a summary.

    One row per student: the sheet's exercises and total, the Python functions and total,
    and the overall score, under the attempt policy.  Resumable: finished submissions are
    recorded as they finish, and a rerun skips those already graded (by content hash).
    One submission failing never stops the batch; exit status 1 when any could not be
    graded (run again to retry them) or when, with ``--id-from content``, two paths claim
    one student (both listed; that student is left out of the gradebook).
    """
    from grader.attempts import layout_of, policy_of, standings
    from grader.batch.run import IdSource, identity_conflicts, run_batch
    from grader.batch.summary import histogram_paths, render_summary, summarize, write_histogram
    from grader.exercises.load import load_set

    _check_set(exercise_set)
    base = load_set(exercise_set)
    chosen = policy_of(base, policy)
    book = Path(gradebook)
    state = Path(state_path) if state_path else book.with_name(book.name + ".state.jsonl")
    image = Path(histogram) if histogram else book.with_name(book.stem + ".histogram.png")
    outcome = run_batch(source, state_path=state, exercise_set=exercise_set, jobs=jobs,
                        id_from=IdSource.PATH if id_from == "path" else IdSource.CONTENT, restart=restart,
                        results_dir=results_dir, progress=progress, variants=variants)
    # The records live until the command ends: frozen out of the collector's sight, they are not
    # walked again by every collection the gradebook and the summary set off (a third of a
    # 2,000-submission batch's time went to that).
    gc.freeze()
    attempts = outcome.attempts()
    conflicts = identity_conflicts(outcome.records)
    errors = [f"student_id {student!r} is claimed by files under different folders: {', '.join(files)}"
              for student, files in conflicts.items()]
    kept = [s for s in standings(attempts, chosen) if s.student_id not in conflicts]
    try:
        book.parent.mkdir(parents=True, exist_ok=True)
        partial = book.with_name(book.name + ".partial")
        partial.write_text(render_gradebook(kept, layout_of(base)), encoding="utf-8", newline="")
        os.replace(partial, book)  # a reader never sees half a gradebook
    except OSError as exc:
        raise UsageProblem(f"{gradebook}: cannot write the gradebook: {exc.strerror or exc}") from None
    failures = [f"{r.source}: {r.error}" for r in outcome.failed]
    results = {r.source: r.grade_result for r in outcome.graded() if r.grade_result is not None}
    summary = summarize(attempts, results, policy=chosen, submissions=len(outcome.records), failed=failures,
                        skipped_known=outcome.skipped_known, notes=outcome.notes, errors=errors,
                        left_out=conflicts, kept=kept)
    try:
        write_histogram(summary, image)
    except OSError as exc:
        raise UsageProblem(f"{image}: cannot write the histogram: {exc.strerror or exc}") from None
    paths = {k: str(v) for k, v in histogram_paths(summary, image).items()}
    click.echo(render_summary(summary, histogram_paths=paths, gradebook=str(book)), nl=False)
    _report_copies(source, outcome.records, exercise_set, variants)
    if failures:
        raise GraderError(f"{len(failures)} submission{'s' if len(failures) != 1 else ''} could not be graded "
                          "(listed above); run the same command again to retry them")
    if errors:
        raise GraderError(f"{len(errors)} student id{'s are' if len(errors) != 1 else ' is'} claimed by files of "
                          "different folders (listed above); those students are not in the gradebook")


def _report_copies(source: str, records: list, exercise_set: str, variants: bool | None) -> None:
    """With variants on, name submissions whose answers fit another student's variant."""
    from grader.batch.copies import find_copies, render_copies
    from grader.exercises.load import load_set
    from grader.variants.policy import policy_for

    base = load_set(exercise_set)
    if not policy_for(base, override=variants).active:
        return
    click.echo(render_copies(find_copies(source, records, base)), nl=False)


def register(group: click.Group) -> None:
    """Add this area's commands to ``group``."""
    group.add_command(grade)
    group.add_command(batch)

"""Commands of the exercises area: ``exercises``, ``template``, ``solve``, ``verify``, ``diagram``.

Thin, as click recommends: each command parses its options, calls a library function
(:mod:`grader.submissions.template`, :mod:`grader.solutions.render`, :mod:`grader.verify`,
:mod:`reference.diagrams`) and prints the result.  A problem a user can fix (unknown set
or exercise, bad exercise data, an exercise with nothing to draw) is a
:class:`grader.errors.UsageProblem`: one line, exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from grader.errors import ExerciseDataError, GraderError, UsageProblem
from grader.exercises.load import DEFAULT_SET, available_sets, find_set, load_exercise_set
from grader.exercises.model import ExerciseSet


def set_argument(name_or_path: str) -> ExerciseSet:
    """The exercise set a command names (by name, or by folder for authors).

    Unknown names and invalid data become a :class:`UsageProblem` (one line, exit 2);
    ``verify`` instead reports invalid data as a failed check.
    """
    try:
        return find_set(name_or_path)
    except ExerciseDataError as exc:
        if len(exc.problems) == 1:
            raise UsageProblem(exc.problems[0]) from None
        raise UsageProblem(f"invalid exercise set {exc.where}: {len(exc.problems)} problems "
                           f"(run `streamgrade verify --set {name_or_path}` to list them)") from None


def _verify_variants(report, n: int) -> list:
    """Check ``n`` generated variants of every valid set in ``report`` that declares a variation."""
    if n <= 0:
        return []
    from grader.errors import VariationError
    from grader.variants.declaration import load_variation
    from grader.variants.verify import verify_variants

    reports = []
    for set_report in report.sets:
        if set_report.problems:
            continue
        base = load_exercise_set(set_report.path)
        try:
            if load_variation(base) is None:
                continue
        except VariationError as exc:
            raise GraderError(f"verify failed: {exc.message}") from None
        reports.append(verify_variants(base, n))
    return reports


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# -- exercises -------------------------------------------------------------------------------------


@click.command("exercises")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def exercises_command(fmt: str) -> None:
    """List the exercise sets and their exercises with points."""
    sets = [set_argument(name) for name in available_sets()]
    if fmt == "json":
        doc = [{"id": s.id, "title": s.title, "points": s.total_points,
                "exercises": [{"id": ex.id, "title": ex.title, "points": ex.points,
                               "parts": [{"id": p.id, "field": p.field, "points": p.points} for p in ex.parts]}
                              for ex in s.exercises]}
               for s in sets]
        click.echo(json.dumps({"sets": doc}, indent=2, ensure_ascii=False))
        return
    if not sets:
        click.echo("no exercise sets")
        return
    for s in sets:
        click.echo(f"{s.id}  {s.title}")
        width = max(len(ex.id) for ex in s.exercises)
        for ex in s.exercises:
            parts = ", ".join(f"{p.id} {_num(p.points)}" for p in ex.parts)
            click.echo(f"  {ex.id:<{width}}  {_num(ex.points):>3} pts  {ex.title}  ({parts})")
        click.echo(f"  {'total':<{width}}  {_num(s.total_points):>3} pts  "
                   f"{len(s.exercises)} exercises, {sum(len(ex.parts) for ex in s.exercises)} parts")


# -- template --------------------------------------------------------------------------------------


@click.command("template")
@click.option("--python", "python", is_flag=True, help="Print the Python skeleton instead of the JSON template.")
@click.option("--set", "set_name", default=DEFAULT_SET, show_default=True, help="Exercise set name or folder.")
def template_command(python: bool, set_name: str) -> None:
    """Print a blank submission (every field present, every value empty)."""
    from grader.submissions.template import blank_submission, python_template

    exercise_set = set_argument(set_name)
    if python:
        try:
            click.echo(python_template(exercise_set), nl=False)
        except FileNotFoundError as exc:
            raise UsageProblem(str(exc)) from None
        return
    click.echo(json.dumps(blank_submission(exercise_set), indent=2, ensure_ascii=False))


# -- solve ------------------------------------------------------------------------------------------


@click.command("solve")
@click.argument("exercise_ids", nargs=-1, metavar="[EX]...")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="markdown: a complete solutions sheet to publish.")
@click.option("--set", "set_name", default=DEFAULT_SET, show_default=True, help="Exercise set name or folder.")
def solve_command(exercise_ids: tuple[str, ...], fmt: str, set_name: str) -> None:
    """Print the canonical answers (all exercises, or EX... such as ex6 ex11) with their derivations."""
    from grader.solutions.job import SolutionError
    from grader.solutions.render import render, selected_exercises
    from grader.solutions.solve import solve

    exercise_set = set_argument(set_name)
    try:
        chosen = selected_exercises(exercise_set, exercise_ids)
    except KeyError as exc:
        raise UsageProblem(str(exc.args[0])) from None
    try:
        solutions = solve(exercise_set)
    except SolutionError as exc:
        raise UsageProblem(exc.message) from None
    diagrams = None
    if fmt == "markdown":
        from grader.solutions.diagrams import exercise_diagram

        # An exercise that asks for a diagram gets the one drawn from its runs.
        diagrams = {ex.id: exercise_diagram(exercise_set, ex.id, "puml", solutions) for ex in chosen
                    if any(p.field == "diagram" for p in ex.parts)}
    click.echo(render(fmt, exercise_set, solutions, chosen, diagrams), nl=False)


# -- verify -------------------------------------------------------------------------------------------


@click.command("verify")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--set", "set_names", multiple=True, metavar="NAME|DIR",
              help="Exercise set to verify, by name or folder (repeatable; default: every set).")
@click.option("--examples", "examples_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of example submissions with X.expect.json files [default: submissions/examples].")
@click.option("--no-examples", is_flag=True, help="Skip grading the example submissions.")
@click.option("--variants", "n_variants", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also generate N per-student variants of each set that declares a variation and check each "
                   "has a complete canonical answer set and meets its constraints.")
def verify_command(fmt: str, set_names: tuple[str, ...], examples_dir: Path | None, no_examples: bool,
                   n_variants: int) -> None:
    """Check the exercise data, the canonical answers, the published key and the examples (for CI).

    Every disagreement between the published key and the engine is listed as an
    erratum.  Exit status 0 only when each is acknowledged in the exercise data, none
    is stale, and every example gets the score it declares; 1 otherwise.
    """
    from grader.verify import EXAMPLES_DIR, report_text, verify

    known = available_sets()
    for name in set_names:
        if name not in known and not Path(name).is_dir():
            raise UsageProblem(f"unknown exercise set {name!r}; known sets: {', '.join(known) or 'none'} "
                               "(or give a set's folder)")
    examples = None if no_examples else (examples_dir or EXAMPLES_DIR)
    report = verify(list(set_names) or None, examples_dir=examples)
    variant_reports = _verify_variants(report, n_variants)
    if fmt == "json":
        data = report.to_dict()
        data["variants"] = [v.to_dict() for v in variant_reports]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(report_text(report), nl=False)
        for v in variant_reports:
            click.echo(f"variants {v.summary()}")
    if bad_variants := [v.set_id for v in variant_reports if not v.ok]:
        problems = [f"variants with problems ({', '.join(bad_variants)})"]
    else:
        problems = []
    if not report.ok or problems:
        if invalid := [s.id for s in report.sets if s.problems]:
            problems.append(f"invalid exercise data ({', '.join(invalid)})")
        if report.new_errata:
            problems.append(f"{len(report.new_errata)} unacknowledged erratum/errata: "
                            + ", ".join(f"{e.exercise}.{e.part}" for e in report.new_errata))
        if report.stale_errata:
            problems.append(f"{len(report.stale_errata)} stale erratum/errata: "
                            + ", ".join(f"{e.exercise}.{e.part}" for e in report.stale_errata))
        if report.failed_examples:
            problems.append(f"{len(report.failed_examples)} example(s) not graded as declared: "
                            + ", ".join(x.path for x in report.failed_examples))
        raise GraderError("verify failed: " + "; ".join(problems))


# -- diagram ------------------------------------------------------------------------------------------


@click.command("diagram")
@click.argument("exercise_id", metavar="EX")
@click.option("--format", "fmt", type=click.Choice(["puml", "svg", "png"]), default="puml", show_default=True,
              help="puml: PlantUML source (the slide-18 diagram); svg: a picture; png: a picture "
                   "(needs --renderer plantuml).")
@click.option("--renderer", type=click.Choice(["builtin", "plantuml"]), default="builtin", show_default=True,
              help="builtin: the engine's own SVG timeline, no Java needed; plantuml: the .puml drawn by "
                   "PlantUML (svg or png). Without plantuml an svg falls back to the builtin one with a warning; "
                   "a png is exit 2.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE instead of standard output.")
@click.option("--set", "set_name", default=DEFAULT_SET, show_default=True, help="Exercise set name or folder.")
def diagram_command(exercise_id: str, fmt: str, renderer: str, output: Path | None, set_name: str) -> None:
    """Draw the engine runs behind a window exercise (ex11: the slide-18 late-data diagram)."""
    from grader.solutions.diagrams import exercise_diagram
    from grader.solutions.job import SolutionError
    from grader.solutions.plantuml_render import RenderError, render_plantuml
    from grader.solutions.render import canonical_exercise_id

    exercise_set = set_argument(set_name)
    ex_id = canonical_exercise_id(exercise_id)
    if ex_id not in exercise_set.exercise_ids:
        raise UsageProblem(f"no exercise {exercise_id!r} in {exercise_set.id}; exercises: "
                           f"{', '.join(exercise_set.exercise_ids)}")
    if fmt == "png" and renderer == "builtin":
        raise UsageProblem("--format png needs --renderer plantuml (the builtin renderer draws svg)")
    try:
        if fmt == "puml" or renderer == "builtin":
            data = exercise_diagram(exercise_set, ex_id, fmt).encode("utf-8")
        else:
            source = exercise_diagram(exercise_set, ex_id, "puml")
            try:
                data = render_plantuml(source, fmt)
            except RenderError as exc:
                if fmt == "png":
                    raise UsageProblem(str(exc)) from None
                click.echo(f"warning: {exc}; drawing the builtin SVG instead", err=True)
                data = exercise_diagram(exercise_set, ex_id, "svg").encode("utf-8")
    except KeyError as exc:
        raise UsageProblem(str(exc.args[0])) from None
    except SolutionError as exc:
        raise UsageProblem(exc.message) from None
    if output is None:
        if fmt == "png":
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        else:
            click.echo(data.decode("utf-8"), nl=False)
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise UsageProblem(f"{output}: cannot write: {exc.strerror or exc}") from None
    click.echo(f"wrote {output} ({fmt}, {renderer}, {exercise_set.id} {ex_id})", err=True)


def register(group: click.Group) -> None:
    """Add this area's commands to ``group``."""
    for command in (exercises_command, template_command, solve_command, verify_command, diagram_command):
        group.add_command(command)

"""Commands of the variants area: ``streamgrade variant STUDENT_ID`` prints that student's sheet.

The command is thin: it loads the set, asks :mod:`grader.variants` for the student's
variant and prints :func:`~grader.variants.sheet_markdown` or
:func:`~grader.variants.sheet_document` (which never holds canonical answers).  It works
whether or not variants are switched on for grading, so an instructor can preview a
student's sheet before turning them on.
"""

from __future__ import annotations

import json

import click

from grader.errors import UsageProblem
from grader.exercises.load import DEFAULT_SET


@click.command("variant")
@click.argument("student_id")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("--reissue", type=click.IntRange(min=0), default=None,
              help="Re-issue number (default: the one recorded for the student in variation.yaml, else 0).")
@click.option("--set", "set_name", default=DEFAULT_SET, show_default=True, help="Exercise set.")
def variant_command(student_id: str, fmt: str, reissue: int | None, set_name: str) -> None:
    """Print STUDENT_ID's own sheet: the prompts with their own events and parameters."""
    from grader.exercises.load import available_sets, load_set
    from grader.variants.generate import variant_from
    from grader.variants.policy import policy_for
    from grader.variants.sheets import sheet_document, sheet_markdown

    if not student_id.strip():
        raise click.BadParameter("a student id cannot be empty", param_hint="STUDENT_ID")
    if set_name not in available_sets():
        raise UsageProblem(f"unknown exercise set {set_name!r}; known sets: {', '.join(available_sets()) or 'none'}")
    base = load_set(set_name)
    policy = policy_for(base, override=True)
    if policy.variation is None:
        raise UsageProblem(f"exercise set {set_name!r} declares no variants (no variation.yaml)")
    if reissue is not None:
        variant = variant_from(base, policy.variation, student_id, reissue)
    else:
        variant = policy.variant_of(student_id)
    if fmt == "json":
        click.echo(json.dumps(sheet_document(variant), indent=2, ensure_ascii=False))
    else:
        click.echo(sheet_markdown(variant), nl=False)


def register(group: click.Group) -> None:
    """Add this area's commands to ``group``."""
    group.add_command(variant_command)

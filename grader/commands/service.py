"""Commands of the service area: ``streamgrade serve`` and ``streamgrade roster add``.

Thin wrappers: they parse flags and call :mod:`grader.web.cli_commands`, which does the
work (and raises :class:`grader.errors.UsageProblem` for bad values: exit 2, one line).
"""

from __future__ import annotations

import click

DB_HELP = "Store URL: sqlite:///PATH or postgresql://... (default: $STREAMGRADE_DB, else var/streamgrade.db)."


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option("--db", metavar="URL", help=DB_HELP)
@click.option("--workers", type=int, metavar="N",
              help="gunicorn worker processes (default: gunicorn.conf.py's, one per core, at least 2).")
@click.option("--dev", is_flag=True, help="Flask's development server with the reloader instead of gunicorn.")
def serve(host: str, port: int, db: str | None, workers: int | None, dev: bool) -> None:
    """Run the submission service (web page and JSON API) under gunicorn."""
    from grader.web.cli_commands import serve as run_service

    run_service(host, port, db=db, workers=workers, dev=dev)


@click.group()
def roster() -> None:
    """Manage who may submit: students and instructors, each with a token."""


@roster.command("add", short_help="Add a student (or an instructor) and print its token.")
@click.argument("student_id", metavar="ID")
@click.option("--instructor", is_flag=True, help="Give the token the instructor role (gradebook, regrade, reviews).")
@click.option("--db", metavar="URL", help=DB_HELP)
def roster_add(student_id: str, instructor: bool, db: str | None) -> None:
    """Put ID on the roster and print its new token (shown only once; an old token stops working)."""
    from grader.web.cli_commands import roster_add as add

    click.echo(add(student_id, instructor=instructor, db=db))


def register(group: click.Group) -> None:
    """Add this area's commands to ``group``."""
    group.add_command(serve)
    group.add_command(roster)

"""The ``streamgrade`` command line.

Commands are thin (click's lesson): they parse, call a library function and format the
result.  Every error a user can cause is a :class:`grader.errors.GraderError` or a
click usage error, shown as one message with exit status 2; never a traceback.
"""

from __future__ import annotations

import sys

import click

from grader.commands import exercises, grading, service, simulate, variants
from grader.errors import GraderError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="streamgrade")
def cli() -> None:
    """streamgrade: reference streaming engine and autograder for the streaming-data unit."""


for area in (exercises, grading, service, simulate, variants):
    area.register(cli)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn every known error into one message and an exit code."""
    try:
        cli.main(args=argv, prog_name="streamgrade", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except GraderError as exc:
        click.echo(f"streamgrade: {exc.message}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The error hierarchy: each error carries its CLI exit code and HTTP status.

One handler per edge (the CLI's ``main``, the Flask app's error handler) maps them, so
a user sees one clear message and never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class GraderError(Exception):
    """Base of every error a user can act on."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageProblem(GraderError):
    """Bad flags or bad input files: exit 2, HTTP 400 (click's convention)."""

    exit_code = 2
    http_status = 400


class SubmissionUnreadable(UsageProblem):
    """A submission that cannot be read at all (not JSON, not UTF-8, wrong shape)."""


class SandboxUnavailable(GraderError):
    """A sandbox layer is missing and the operator has not accepted a weaker one."""

    exit_code = 3
    http_status = 503


class ExerciseDataError(GraderError):
    """Exercise data that cannot be used: every problem found, each naming file and path.

    ``problems`` holds one line per problem; the message lists them all.
    """

    def __init__(self, where: str, problems: Sequence[str]) -> None:
        self.where = where
        self.problems = tuple(problems)
        count = len(self.problems)
        header = f"invalid exercise set {where}: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n  ".join([header, *self.problems]))


class VariationError(GraderError):
    """A ``variation.yaml`` that cannot be used: every problem found, each with its path."""

    def __init__(self, where: str, problems: Sequence[str]) -> None:
        self.where = where
        self.problems = tuple(problems)
        count = len(self.problems)
        header = f"invalid variation {where}: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n  ".join([header, *self.problems]))


class VariantGenerationError(GraderError):
    """No candidate satisfied the constraints within ``max_tries``; names the constraints that failed."""

"""Settings of the web service: one frozen value read from the environment and overrides.

Every setting has the name of its environment variable (``STREAMGRADE_DB``...), and the
same name is the key of the mapping given to :func:`grader.web.app.create_app`, so a test
or a caller states configuration as data.  Defaults are safe for a single machine: a
SQLite store in ``<project>/var/``, registration closed, modest size and rate limits.
A bad value stops the service at start with a message that names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import UsageProblem
from grader.exercises.load import DEFAULT_SET, sets_folder

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_DB = f"sqlite:///{PROJECT_DIR / 'var' / 'streamgrade.db'}"


class ConfigError(UsageProblem):
    """A setting that cannot be used; the message names the variable and what it accepts."""


@dataclass(frozen=True)
class Settings:
    """What the service needs to know, fixed when the app is created.

    ``rate_burst`` submissions may be made at once, then ``rate_per_minute`` more each
    minute (a token bucket per student and per worker process, see :mod:`.ratelimit`);
    ``rate_burst == 0`` turns the limit off.  ``cookie_secure`` is ``"auto"`` (Secure
    when the request came over HTTPS), ``"always"`` or ``"never"``.

    ``sqlite_synchronous`` is ``"NORMAL"`` by default: in WAL mode a commit is then
    written to the WAL without an ``fsync`` (the WAL is synced at checkpoints), so a
    committed submission survives any crash of the service's processes (a killed worker,
    the whole service) but the last commits may be lost if the machine itself loses power
    or the kernel crashes.  ``"FULL"`` syncs every commit: safe against that too, at two
    fsyncs per submission (about 3.5 ms each on the test machine's disk, serialised by
    SQLite's single writer), which caps a SQLite store at roughly 140 submissions/s.
    """

    db: str = DEFAULT_DB
    max_bytes: int = 256 * 1024
    rate_burst: int = 10
    rate_per_minute: float = 20.0
    open_registration: bool = False
    exercises_dir: Path = field(default_factory=sets_folder)
    default_set: str = DEFAULT_SET
    cookie_secure: str = "auto"
    trust_proxy: int = 0
    sqlite_synchronous: str = "NORMAL"
    regrade_batch: int = 200


# Environment variable -> (field, parser).  The parsers raise ValueError on bad input.
def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def _non_negative_int(text: str) -> int:
    value = int(str(text).strip())
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive_int(text: str) -> int:
    value = int(str(text).strip())
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _non_negative_float(text: str) -> float:
    value = float(str(text).strip())
    if not value >= 0:
        raise ValueError("must not be negative")
    return value


def _choice(*choices: str):
    def parse(text: str) -> str:
        value = str(text).strip()
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        raise ValueError(f"expected one of {', '.join(choices)}")

    return parse


def _db_url(text: str) -> str:
    value = str(text).strip()
    if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ValueError("expected sqlite:///PATH or postgresql://...")
    return value


VARIABLES: dict[str, tuple[str, Any]] = {
    "STREAMGRADE_DB": ("db", _db_url),
    "STREAMGRADE_MAX_BYTES": ("max_bytes", _positive_int),
    "STREAMGRADE_RATE_BURST": ("rate_burst", _non_negative_int),
    "STREAMGRADE_RATE_PER_MINUTE": ("rate_per_minute", _non_negative_float),
    "STREAMGRADE_OPEN_REGISTRATION": ("open_registration", _bool),
    "STREAMGRADE_EXERCISES": ("exercises_dir", lambda text: Path(str(text)).expanduser().resolve()),
    "STREAMGRADE_DEFAULT_SET": ("default_set", lambda text: str(text).strip()),
    "STREAMGRADE_COOKIE_SECURE": ("cookie_secure", _choice("auto", "always", "never")),
    "STREAMGRADE_TRUST_PROXY": ("trust_proxy", _non_negative_int),
    "STREAMGRADE_SQLITE_SYNCHRONOUS": ("sqlite_synchronous", _choice("FULL", "NORMAL")),
    "STREAMGRADE_REGRADE_BATCH": ("regrade_batch", _positive_int),
}


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``environ`` (default ``os.environ``), then ``overrides`` on top.

    Keys are the environment variable names.  An unknown ``STREAMGRADE_*`` key in
    ``overrides`` is an error (a typo would otherwise be ignored silently); other keys
    are left for Flask's own configuration.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    sources = [(name, environ[name]) for name in VARIABLES if name in environ]
    for key, value in (overrides or {}).items():
        if key.startswith("STREAMGRADE_") and key not in VARIABLES:
            problems.append(f"{key}: unknown setting; known: {', '.join(sorted(VARIABLES))}")
        elif key in VARIABLES:
            sources.append((key, value))
    for name, raw in sources:
        field, parse = VARIABLES[name]
        try:
            # Overrides may be Python values (1024, True, a Path): their text goes through the same checks.
            values[field] = parse(str(raw))
        except (TypeError, ValueError) as exc:
            problems.append(f"{name}={raw!r}: {exc}")
    if problems:
        raise ConfigError("invalid service settings: " + "; ".join(problems))
    return Settings(**values)


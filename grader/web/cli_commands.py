"""What ``streamgrade serve`` and ``streamgrade roster add`` do, as plain functions.

The click commands are thin: they parse flags, call these, and print the result.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from grader.errors import UsageProblem
from grader.web.auth import Roster
from grader.web.errors import BadRequest
from grader.web.records import Role
from grader.web.settings import PROJECT_DIR, load_settings
from grader.web.store import Store

GUNICORN_CONFIG = PROJECT_DIR / "gunicorn.conf.py"
APP_FACTORY = "grader.web.app:create_app()"
# Used only when the package runs without its source tree (no gunicorn.conf.py beside it).
FALLBACK_FLAGS = ("--worker-class", "gthread", "--threads", "4", "--timeout", "60", "--preload")


def gunicorn_argv(host: str, port: int, workers: int | None = None,
                  config: Path | None = GUNICORN_CONFIG) -> list[str]:
    """The command line that runs the service under gunicorn (``python -m gunicorn ...``)."""
    argv = [sys.executable, "-m", "gunicorn"]
    if config is not None and config.is_file():
        argv += ["--config", str(config)]
    else:
        argv += list(FALLBACK_FLAGS)
    argv += ["--bind", f"{host}:{port}"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    return [*argv, APP_FACTORY]


def serve(host: str = "127.0.0.1", port: int = 8000, db: str | None = None, workers: int | None = None,
          dev: bool = False) -> None:
    """Run the service on ``host:port`` until interrupted.

    gunicorn runs it (this process becomes gunicorn, so signals reach it directly);
    ``dev`` runs Flask's development server with the reloader instead.  ``db`` overrides
    ``STREAMGRADE_DB``.  Settings are checked first, so a bad one
    is a usage error (exit 2), not a crashed master or worker.
    """
    if not 0 < port < 65536:
        raise UsageProblem(f"--port {port}: expected 1 to 65535")
    if workers is not None and workers < 1:
        raise UsageProblem(f"--workers {workers}: expected at least 1")
    load_settings({"STREAMGRADE_DB": db} if db else None)  # a bad value stops here, before any change
    if db:
        os.environ["STREAMGRADE_DB"] = db  # for the gunicorn this process becomes (and the --dev app)
    if dev:
        from grader.web.app import create_app

        create_app().run(host=host, port=port, debug=True, use_reloader=True, use_debugger=False)
        return
    argv = gunicorn_argv(host, port, workers)
    os.execv(argv[0], argv)


def roster_add(student_id: str, instructor: bool = False, db: str | None = None) -> str:
    """Put a student (or an instructor) on the roster and return the new token.

    The token is shown only now: the store keeps its hash.  Adding an id that is already
    there replaces its token (and role), which makes the old token useless.
    """
    settings = load_settings({"STREAMGRADE_DB": db} if db else None)
    store = Store(settings.db, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        store.create_schema()
        return Roster(store).add(student_id, Role.INSTRUCTOR if instructor else Role.STUDENT)
    except BadRequest as exc:
        raise UsageProblem(exc.message) from None
    finally:
        store.close()

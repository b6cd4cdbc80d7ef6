"""Fixtures shared by the whole suite.

``pg_dsn``: the PostgreSQL server named by ``STREAMGRADE_PG_DSN`` (``make test`` sets it
when 127.0.0.1:5432 answers).  A test that needs it skips, saying why, when the
variable is unset or the server does not accept a connection; it never fails for lack
of a server.
"""

from __future__ import annotations

import os

import pytest

PG_NOT_CONFIGURED = (
    "PostgreSQL not configured: set STREAMGRADE_PG_DSN (make test does it when 127.0.0.1:5432 answers)"
)


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The DSN of a PostgreSQL server that answers, or a clear skip."""
    dsn = os.environ.get("STREAMGRADE_PG_DSN")
    if not dsn:
        pytest.skip(PG_NOT_CONFIGURED)
    try:
        import psycopg

        psycopg.connect(dsn, connect_timeout=3).close()
    except Exception as exc:  # any driver or network error means: no usable server
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        pytest.skip(f"PostgreSQL at STREAMGRADE_PG_DSN does not accept a connection: {first}")
    return dsn

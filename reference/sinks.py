"""Sinks as real SQL tables: upsert, append and changelog, on SQLite or PostgreSQL.

The sheet's sink is ``window_agg(window_start, user_id, sum_amount, PRIMARY KEY
(window_start, user_id))`` (SEMANTICS.md, "Sinks and delivery").  One :class:`SqlSink`
owns four tables in one database, so a single transaction can touch all of them:

- the **upsert** table (the sheet's table, with its primary key), written with
  ``INSERT ... ON CONFLICT (window_start, user_id) DO UPDATE``; a retraction deletes
  the row.  Writing the same row twice leaves one row: the sink is idempotent.
- the **append** table: the same columns without a key, one new row per insert or
  update emission, so a replayed write is visible as a duplicate row.  An append-only
  table cannot withdraw a row, so retractions are not written there (the changelog
  records them).
- the **changelog** table: every emission as ``(seq, op, window_start, user_id,
  sum_amount, emission_seq)``; ``seq`` is the order in which the sink received the
  record, ``emission_seq`` the record's position in the job's (deterministic) output,
  so a replayed record shows up as a second ``seq`` with the same ``emission_seq``.
- ``source_offsets(consumer, committed_offset)``: the consumer's committed offset, kept
  beside the results so that exactly-once can commit it in the same transaction as the
  writes.

Every value is stored as text: times as the sheet writes them (``10:00``), amounts as
the exact decimal text (``7``, ``0.3``), never through a float.  Transactions are
explicit (:meth:`SqlSink.begin` / :meth:`~SqlSink.commit` / :meth:`~SqlSink.rollback`):
both drivers run in autocommit mode and the sink issues ``BEGIN``/``COMMIT``/``ROLLBACK``
itself, so what is atomic is visible in the code.  Writes outside a transaction are
refused.

This is one of the two modules of ``reference`` that do I/O (the other is
:mod:`reference.streams`); nothing happens at import: ``psycopg`` is imported only
when a PostgreSQL sink is opened.
"""

from __future__ import annotations

import enum
import re
import secrets
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reference.events import decimal_text
from reference.results import Emission, EmissionKind, Row, row_text
from reference.timestamps import Ticks, format_time, parse_time

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
COLUMNS = ("window_start", "user_id", "sum_amount")


class SinkURLError(ValueError):
    """A sink URL that cannot be used; the message quotes it and lists the accepted forms."""


class SinkError(RuntimeError):
    """A sink used the wrong way (a write outside a transaction, a closed sink)."""


class SinkMode(enum.StrEnum):
    """The three ways a window result can be written to a table."""

    UPSERT = "upsert"
    APPEND = "append"
    CHANGELOG = "changelog"


_ACCEPTED = "sqlite:PATH, sqlite:///PATH, sqlite::memory:, sqlite: (in memory) or postgresql://USER@HOST:PORT/DB"


@dataclass(frozen=True)
class SinkTarget:
    """Where a sink lives: a SQLite file (or memory) or a PostgreSQL database.

    ``database`` is the SQLite path (``:memory:`` for memory) or the libpq connection
    string given to psycopg; ``schema`` is the PostgreSQL schema asked for with
    ``?schema=NAME`` (``None``: a fresh schema per sink).
    """

    dialect: str
    database: str
    url: str
    schema: str | None = None

    def describe(self) -> str:
        if self.dialect == "sqlite":
            return "SQLite in memory" if self.database == ":memory:" else f"SQLite file {self.database}"
        parts = urlsplit(self.database)
        host = parts.hostname or "localhost"
        return f"PostgreSQL {host}:{parts.port or 5432}{parts.path}"


def parse_sink_url(url: str) -> SinkTarget:
    """Read a sink URL.

    ``sqlite:PATH`` and ``sqlite:///PATH`` (SQLAlchemy's spelling: ``sqlite:////abs.db``
    is the absolute path ``/abs.db``) name a file; ``sqlite::memory:`` and ``sqlite:``
    an in-memory database; ``postgresql://`` (or ``postgres://``) a PostgreSQL database,
    optionally with ``?schema=NAME`` to choose the schema of the tables.  Anything else
    raises :class:`SinkURLError` naming the accepted forms.
    """
    if not isinstance(url, str) or not url.strip():
        raise SinkURLError(f"empty sink URL; use {_ACCEPTED}")
    text = url.strip()
    scheme, sep, rest = text.partition(":")
    scheme = scheme.lower()
    if not sep:
        raise SinkURLError(f"bad sink URL {url!r}: no scheme; use {_ACCEPTED}")
    if scheme == "sqlite":
        if rest in ("", ":memory:", "///:memory:"):
            return SinkTarget("sqlite", ":memory:", text)
        path = rest[3:] if rest.startswith("///") else rest
        if rest.startswith("//") and not rest.startswith("///"):
            raise SinkURLError(f"bad sink URL {url!r}: a SQLite URL has no host; use sqlite:PATH or sqlite:///PATH")
        if not path or path.endswith("/"):
            raise SinkURLError(f"bad sink URL {url!r}: no database file named; use {_ACCEPTED}")
        return SinkTarget("sqlite", path, text)
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(text)
        if not rest.startswith("//") or not parts.hostname:
            raise SinkURLError(f"bad sink URL {url!r}: expected postgresql://USER@HOST:PORT/DB")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise SinkURLError(f"bad sink URL {url!r}: the port is not a number") from None
        query = parse_qsl(parts.query, keep_blank_values=True)
        schema = next((v for k, v in query if k == "schema"), None)
        if schema is not None and not _IDENT.match(schema):
            raise SinkURLError(f"bad sink URL {url!r}: schema {schema!r} is not a plain SQL identifier")
        dsn = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "schema"])))
        return SinkTarget("postgresql", dsn, text, schema)
    raise SinkURLError(f"unsupported sink URL {url!r}: scheme {scheme!r} is not sqlite or postgresql; use {_ACCEPTED}")


@dataclass(frozen=True)
class SinkTable:
    """The upsert table's name and primary key (the data context's ``sink:``)."""

    name: str = "window_agg"
    primary_key: tuple[str, ...] = ("window_start", "user_id")

    def __post_init__(self) -> None:
        if not _IDENT.match(self.name):
            raise ValueError(f"sink table name {self.name!r} is not a plain SQL identifier")
        if not self.primary_key or any(c not in COLUMNS for c in self.primary_key):
            raise ValueError(f"the sink's primary key must be columns of {', '.join(COLUMNS)}; got {self.primary_key}")


@dataclass(frozen=True, slots=True, order=True)
class StoredRow:
    """A row as the sink table holds it: ``(window_start, user_id, sum_amount)``."""

    window_start: Ticks
    user_id: str
    sum_amount: Decimal

    @classmethod
    def of(cls, row: Row) -> StoredRow:
        return cls(row.window_start, row.user_id, row.sum_amount)

    @property
    def key(self) -> tuple[Ticks, str]:
        return (self.window_start, self.user_id)

    def describe(self) -> str:
        """The sheet's notation: ``(10:00, A, 7)``."""
        return row_text(self.window_start, self.user_id, self.sum_amount)


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """A row of the changelog table."""

    seq: int
    op: EmissionKind
    row: StoredRow
    emission_seq: int


def _stored(window_start: str, user_id: str, sum_amount: str) -> StoredRow:
    return StoredRow(parse_time(window_start), user_id, Decimal(sum_amount))


class SqlSink:
    """The sheet's sink tables in one SQLite or PostgreSQL database, written in explicit transactions.

    ``namespace`` keeps parallel runs apart: on PostgreSQL it is the schema holding the
    tables (default: the URL's ``?schema=``, else a fresh ``streamgrade_<hex>``); on
    SQLite it prefixes the table names (``ns_window_agg``).  ``reset`` drops and
    recreates the tables when the sink opens (the simulation owns them: rows from an
    earlier run would falsify its outcome).  ``drop_on_close`` removes them (and a
    PostgreSQL schema this sink created) when it closes.
    """

    def __init__(self, target: SinkTarget | str = "sqlite::memory:", *, table: SinkTable | None = None,
                 namespace: str | None = None, reset: bool = True, drop_on_close: bool = False) -> None:
        self.target = parse_sink_url(target) if isinstance(target, str) else target
        self.table = table or SinkTable()
        self.dialect = self.target.dialect
        self.drop_on_close = drop_on_close
        if namespace is not None and not _IDENT.match(namespace):
            raise ValueError(f"sink namespace {namespace!r} is not a plain SQL identifier")
        self._in_tx = False
        self._closed = False
        self._created_schema = False
        if self.dialect == "sqlite":
            self.namespace = namespace
            self._ph = "?"
            self._conn: Any = sqlite3.connect(self.target.database, isolation_level=None)
        else:
            import psycopg

            self.namespace = namespace or self.target.schema or f"streamgrade_{secrets.token_hex(4)}"
            self._ph = "%s"
            self._conn = psycopg.connect(self.target.database, autocommit=True, connect_timeout=5)
        try:
            self._create(reset)
        except BaseException:
            self._conn.close()
            raise

    @property
    def connection(self) -> Any:
        """The driver connection (sqlite3 or psycopg, autocommit mode), for inspection by tests and tools."""
        return self._conn

    # -- names -------------------------------------------------------------------------

    def qualified(self, name: str) -> str:
        """The quoted name of one of this sink's tables (schema- or prefix-qualified)."""
        if self.dialect == "postgresql":
            return f'"{self.namespace}"."{name}"'
        return f'"{self.namespace}_{name}"' if self.namespace else f'"{name}"'

    @property
    def upsert_table(self) -> str:
        return self.qualified(self.table.name)

    @property
    def table_label(self) -> str:
        """The upsert table's name as a user would type it (``window_agg``, ``schema.window_agg``)."""
        return self.upsert_table.replace('"', "")

    @property
    def append_table(self) -> str:
        return self.qualified(f"{self.table.name}_append")

    @property
    def changelog_table(self) -> str:
        return self.qualified(f"{self.table.name}_changelog")

    @property
    def offsets_table(self) -> str:
        return self.qualified("source_offsets")

    def describe(self) -> str:
        where = f" (schema {self.namespace})" if self.dialect == "postgresql" else (
            f" (tables prefixed {self.namespace}_)" if self.namespace else "")
        return f"{self.target.describe()}{where}"

    # -- schema ------------------------------------------------------------------------

    def _tables(self) -> list[str]:
        return [self.upsert_table, self.append_table, self.changelog_table, self.offsets_table]

    def _create(self, reset: bool) -> None:
        cols = ", ".join(f"{c} TEXT NOT NULL" for c in COLUMNS)
        key = ", ".join(self.table.primary_key)
        seq = "INTEGER PRIMARY KEY AUTOINCREMENT" if self.dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"
        statements = []
        if self.dialect == "postgresql":
            exists = self._conn.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (self.namespace,)).fetchone()
            if not exists:
                statements.append(f'CREATE SCHEMA "{self.namespace}"')
                self._created_schema = True
        if reset:
            statements += [f"DROP TABLE IF EXISTS {t}" for t in self._tables()]
        statements += [
            f"CREATE TABLE IF NOT EXISTS {self.upsert_table} ({cols}, PRIMARY KEY ({key}))",
            f"CREATE TABLE IF NOT EXISTS {self.append_table} ({cols})",
            f"CREATE TABLE IF NOT EXISTS {self.changelog_table} (seq {seq}, op TEXT NOT NULL, {cols}, "
            "emission_seq INTEGER NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.offsets_table} (consumer TEXT PRIMARY KEY, "
            "committed_offset INTEGER NOT NULL)",
        ]
        self.begin()
        try:
            for statement in statements:
                self._conn.execute(statement)
        except BaseException:
            self.rollback()
            raise
        self.commit()

    # -- transactions ------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self._in_tx

    def begin(self) -> None:
        """Open a transaction; every write must happen inside one."""
        self._check_open()
        if self._in_tx:
            raise SinkError("a transaction is already open")
        self._conn.execute("BEGIN")
        self._in_tx = True

    def commit(self) -> None:
        self._check_open()
        if not self._in_tx:
            raise SinkError("commit without an open transaction")
        self._conn.execute("COMMIT")
        self._in_tx = False

    def rollback(self) -> None:
        """Undo the open transaction: what the database does when the writing client dies."""
        self._check_open()
        if self._in_tx:
            self._conn.execute("ROLLBACK")
            self._in_tx = False

    def _check_open(self) -> None:
        if self._closed:
            raise SinkError("the sink is closed")

    def _write(self, sql: str, params: tuple) -> None:
        self._check_open()
        if not self._in_tx:
            raise SinkError("sink writes need an open transaction: call begin() first")
        self._conn.execute(sql.replace("?", self._ph), params)

    # -- writes ------------------------------------------------------------------------

    def upsert(self, row: StoredRow) -> None:
        """``INSERT ... ON CONFLICT (key) DO UPDATE``: a repeated key overwrites its row."""
        key = ", ".join(self.table.primary_key)
        others = [c for c in COLUMNS if c not in self.table.primary_key]
        action = "UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in others) if others else "NOTHING"
        self._write(
            f"INSERT INTO {self.upsert_table} ({', '.join(COLUMNS)}) VALUES (?, ?, ?) ON CONFLICT ({key}) DO {action}",
            self._values(row),
        )

    def delete(self, row: StoredRow) -> None:
        """A retraction: remove the row with this key from the upsert table."""
        where = " AND ".join(f"{c} = ?" for c in self.table.primary_key)
        values = dict(zip(COLUMNS, self._values(row), strict=True))
        self._write(f"DELETE FROM {self.upsert_table} WHERE {where}", tuple(values[c] for c in self.table.primary_key))

    def append(self, row: StoredRow) -> None:
        """A plain ``INSERT`` into the table without a key: every call adds a row."""
        self._write(f"INSERT INTO {self.append_table} ({', '.join(COLUMNS)}) VALUES (?, ?, ?)", self._values(row))

    def log_change(self, op: EmissionKind, row: StoredRow, emission_seq: int) -> None:
        self._write(
            f"INSERT INTO {self.changelog_table} (op, {', '.join(COLUMNS)}, emission_seq) VALUES (?, ?, ?, ?, ?)",
            (op.value, *self._values(row), emission_seq),
        )

    def write(self, emission: Emission, emission_seq: int) -> None:
        """Send one emission to all three tables (inside the open transaction)."""
        row = StoredRow.of(emission.row)
        if emission.kind is EmissionKind.RETRACT:
            self.delete(row)
        else:
            self.upsert(row)
            self.append(row)
        self.log_change(emission.kind, row, emission_seq)

    def commit_offset(self, consumer: str, offset: int) -> None:
        """Record ``offset`` (the next offset to read) as the consumer's committed offset."""
        self._write(
            f"INSERT INTO {self.offsets_table} (consumer, committed_offset) VALUES (?, ?) "
            "ON CONFLICT (consumer) DO UPDATE SET committed_offset = excluded.committed_offset",
            (consumer, offset),
        )

    @staticmethod
    def _values(row: StoredRow) -> tuple[str, str, str]:
        return (format_time(row.window_start), row.user_id, decimal_text(row.sum_amount))

    # -- reads -------------------------------------------------------------------------

    def _select(self, sql: str, params: tuple = ()) -> list[tuple]:
        self._check_open()
        return list(self._conn.execute(sql.replace("?", self._ph), params).fetchall())

    def committed_offset(self, consumer: str) -> int:
        """The consumer's committed offset (0, the start of the log, when it never committed)."""
        found = self._select(f"SELECT committed_offset FROM {self.offsets_table} WHERE consumer = ?", (consumer,))
        return int(found[0][0]) if found else 0

    def rows(self, mode: SinkMode = SinkMode.UPSERT) -> tuple[StoredRow, ...]:
        """The rows of the upsert or append table, sorted (the append table keeps duplicates)."""
        if mode is SinkMode.CHANGELOG:
            return tuple(sorted(c.row for c in self.changelog()))
        table = self.upsert_table if mode is SinkMode.UPSERT else self.append_table
        return tuple(sorted(_stored(*r) for r in self._select(f"SELECT {', '.join(COLUMNS)} FROM {table}")))

    def changelog(self) -> tuple[ChangeRecord, ...]:
        found = self._select(
            f"SELECT seq, op, {', '.join(COLUMNS)}, emission_seq FROM {self.changelog_table} ORDER BY seq")
        return tuple(
            ChangeRecord(int(s), EmissionKind(op), _stored(ws, u, a), int(es)) for s, op, ws, u, a, es in found
        )

    # -- closing -----------------------------------------------------------------------

    def close(self) -> None:
        """Roll back anything open, drop the tables if asked, and close the connection."""
        if self._closed:
            return
        try:
            self.rollback()
            if self.drop_on_close:
                if self.dialect == "postgresql" and self._created_schema:
                    self._conn.execute(f'DROP SCHEMA IF EXISTS "{self.namespace}" CASCADE')
                else:
                    for t in self._tables():
                        self._conn.execute(f"DROP TABLE IF EXISTS {t}")
        finally:
            self._closed = True
            self._conn.close()

    def __enter__(self) -> SqlSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_sink(url: str, *, table: SinkTable | None = None, namespace: str | None = None, reset: bool = True,
              drop_on_close: bool = False) -> SqlSink:
    """Open the sink tables at ``url`` (see :func:`parse_sink_url`)."""
    return SqlSink(parse_sink_url(url), table=table, namespace=namespace, reset=reset, drop_on_close=drop_on_close)


__all__ = [
    "COLUMNS",
    "ChangeRecord",
    "SinkError",
    "SinkMode",
    "SinkTable",
    "SinkTarget",
    "SinkURLError",
    "SqlSink",
    "StoredRow",
    "open_sink",
    "parse_sink_url",
]

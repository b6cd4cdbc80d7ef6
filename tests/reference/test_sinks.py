"""The sink tables on SQLite and PostgreSQL: upsert idempotence, the primary key, append, changelog, transactions.

Hand-worked on the sheet (exercises/week10/context.yaml): with a 2-minute delay and
3 minutes of lateness (flink) e7 is dropped and the table holds (10:00, A, 7),
(10:00, B, 3), (10:05, A, 4), (10:05, B, 1), (10:10, B, 2); with 4 minutes and the
retract policy e7 is admitted and (10:00, A, 7) becomes (10:00, A, 8).
"""

from __future__ import annotations

import secrets
import sqlite3
from decimal import Decimal

import pytest

from reference.config import LatePolicy, RunConfig
from reference.engine import run
from reference.results import EmissionKind
from reference.sinks import SinkError, SinkMode, SinkTable, SinkURLError, SqlSink, StoredRow, parse_sink_url
from reference.timestamps import MINUTE, parse_time
from tests.reference.sheet import sheet_events

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def row(start: str, user: str, amount: str | int) -> StoredRow:
    return StoredRow(parse_time(start), user, Decimal(amount))


SHEET_ROWS_3M = (row("10:00", "A", 7), row("10:00", "B", 3), row("10:05", "A", 4), row("10:05", "B", 1),
                 row("10:10", "B", 2))


@pytest.fixture(params=BACKENDS)
def make_sink(request):
    """Open fresh sink tables on the backend under a unique namespace; drop them afterwards."""
    opened: list[SqlSink] = []

    def make(**kwargs) -> SqlSink:
        url = request.getfixturevalue("pg_dsn") if request.param == "postgres" else "sqlite::memory:"
        sink = SqlSink(url, namespace=f"t_{secrets.token_hex(4)}", drop_on_close=True, **kwargs)
        opened.append(sink)
        return sink

    yield make
    for sink in opened:
        sink.close()


def integrity_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    return (sqlite3.IntegrityError, psycopg.errors.UniqueViolation)


def test_writing_the_same_row_twice_leaves_one_row(make_sink):
    sink = make_sink()
    sink.begin()
    sink.upsert(row("10:00", "A", 7))
    sink.upsert(row("10:00", "A", 7))
    sink.commit()
    assert sink.rows() == (row("10:00", "A", 7),)


def test_upsert_with_a_new_value_overwrites_the_row_of_the_same_key(make_sink):
    sink = make_sink()
    sink.begin()
    sink.upsert(row("10:00", "A", 7))
    sink.upsert(row("10:00", "B", 3))
    sink.upsert(row("10:00", "A", 8))
    sink.commit()
    assert sink.rows() == (row("10:00", "A", 8), row("10:00", "B", 3))


def test_primary_key_rejects_a_duplicate_plain_insert(make_sink):
    sink = make_sink()
    sink.begin()
    sink.upsert(row("10:00", "A", 7))
    sink.commit()
    ph = "?" if sink.dialect == "sqlite" else "%s"
    insert = f"INSERT INTO {sink.upsert_table} (window_start, user_id, sum_amount) VALUES ({ph}, {ph}, {ph})"
    with pytest.raises(integrity_errors()):
        sink.connection.execute(insert, ("10:00", "A", "7"))
    # A different key is accepted: the constraint is on (window_start, user_id), not on user_id alone.
    sink.connection.execute(insert, ("10:05", "A", "4"))
    assert sink.rows() == (row("10:00", "A", 7), row("10:05", "A", 4))


def test_append_table_has_no_key_so_a_repeated_write_is_a_duplicate_row(make_sink):
    sink = make_sink()
    sink.begin()
    sink.append(row("10:00", "A", 7))
    sink.append(row("10:00", "A", 7))
    sink.commit()
    assert sink.rows(SinkMode.APPEND) == (row("10:00", "A", 7), row("10:00", "A", 7))


def test_retraction_deletes_the_row_and_is_recorded_in_the_changelog_only(make_sink):
    run_ = run(sheet_events(), RunConfig(watermark_delay=2 * MINUTE, allowed_lateness=4 * MINUTE,
                                         late_policy=LatePolicy.RETRACT))
    sink = make_sink()
    sink.begin()
    for seq, e in enumerate(run_.emissions):
        sink.write(e, seq)
    sink.commit()
    assert sink.rows() == tuple(sorted((row("10:00", "A", 8), *SHEET_ROWS_3M[1:])))
    # The append table cannot withdraw (10:00, A, 7): it keeps the old and the new value.
    assert sink.rows(SinkMode.APPEND).count(row("10:00", "A", 7)) == 1
    assert row("10:00", "A", 8) in sink.rows(SinkMode.APPEND)
    log = sink.changelog()
    assert [c.seq for c in log] == sorted(c.seq for c in log)
    assert [c.emission_seq for c in log] == list(range(len(run_.emissions)))
    ops_for_a = [(c.op, c.row.sum_amount) for c in log if c.row.key == (parse_time("10:00"), "A")]
    assert ops_for_a == [(EmissionKind.INSERT, 7), (EmissionKind.RETRACT, 7), (EmissionKind.INSERT, 8)]


@pytest.mark.parametrize(("lateness", "policy"), [(3, LatePolicy.UPDATE), (3, LatePolicy.RETRACT),
                                                  (4, LatePolicy.RETRACT), (4, LatePolicy.UPDATE)])
def test_sheet_emissions_written_in_order_give_the_runs_final_rows(make_sink, lateness, policy):
    run_ = run(sheet_events(), RunConfig(watermark_delay=2 * MINUTE, allowed_lateness=lateness * MINUTE,
                                         late_policy=policy))
    sink = make_sink()
    sink.begin()
    for seq, e in enumerate(run_.emissions):
        sink.write(e, seq)
    sink.commit()
    assert sink.rows() == tuple(StoredRow.of(r) for r in run_.final_rows())
    if lateness == 3:
        assert sink.rows() == SHEET_ROWS_3M


def test_rollback_discards_the_writes_and_the_offset_together(make_sink):
    sink = make_sink()
    sink.begin()
    sink.upsert(row("10:00", "A", 7))
    sink.commit_offset("job", 5)
    sink.rollback()
    assert sink.rows() == () and sink.committed_offset("job") == 0
    sink.begin()
    sink.upsert(row("10:00", "A", 7))
    sink.commit_offset("job", 5)
    sink.commit()
    assert sink.rows() == (row("10:00", "A", 7),) and sink.committed_offset("job") == 5


def test_writes_outside_a_transaction_are_refused(make_sink):
    sink = make_sink()
    with pytest.raises(SinkError, match="begin"):
        sink.upsert(row("10:00", "A", 7))
    sink.begin()
    with pytest.raises(SinkError, match="already open"):
        sink.begin()
    sink.rollback()


def test_amounts_are_stored_as_exact_decimal_text(make_sink):
    sink = make_sink()
    sink.begin()
    sink.upsert(StoredRow(parse_time("10:00"), "A", Decimal("0.1") + Decimal("0.2")))
    sink.upsert(StoredRow(parse_time("10:00"), "B", Decimal("7.000")))
    sink.commit()
    raw = sorted(sink.connection.execute(f"SELECT user_id, sum_amount FROM {sink.upsert_table}").fetchall())
    assert [tuple(r) for r in raw] == [("A", "0.3"), ("B", "7")]


def test_the_table_follows_the_data_contexts_name_and_key(make_sink):
    sink = make_sink(table=SinkTable("window_agg", ("window_start", "user_id")))
    assert sink.upsert_table.endswith('"window_agg"') or sink.upsert_table.endswith('_window_agg"')
    with pytest.raises(ValueError, match="primary key"):
        SinkTable("window_agg", ("window_end",))


def test_reopening_a_sqlite_file_resets_the_simulations_tables(tmp_path):
    url = f"sqlite:{tmp_path / 'sink.db'}"
    with SqlSink(url) as sink:
        sink.begin()
        sink.upsert(row("10:00", "A", 7))
        sink.commit_offset("job", 3)
        sink.commit()
    with SqlSink(url, reset=False) as sink:
        assert sink.rows() == (row("10:00", "A", 7),) and sink.committed_offset("job") == 3
    with SqlSink(url) as sink:
        assert sink.rows() == () and sink.committed_offset("job") == 0


@pytest.mark.postgres
def test_postgres_namespaces_keep_parallel_runs_apart_and_are_dropped(pg_dsn):
    import psycopg

    a, b = SqlSink(pg_dsn, drop_on_close=True), SqlSink(pg_dsn, drop_on_close=True)
    try:
        assert a.namespace != b.namespace
        a.begin()
        a.upsert(row("10:00", "A", 7))
        a.commit()
        assert b.rows() == () and a.rows() == (row("10:00", "A", 7),)
    finally:
        a.close()
        b.close()
    with psycopg.connect(pg_dsn) as conn:
        left = conn.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name IN (%s, %s)",
                            (a.namespace, b.namespace)).fetchone()[0]
    assert left == 0


@pytest.mark.parametrize(
    ("url", "dialect", "database"),
    [
        ("sqlite:/tmp/x.db", "sqlite", "/tmp/x.db"),
        ("sqlite:rel.db", "sqlite", "rel.db"),
        ("sqlite:///rel.db", "sqlite", "rel.db"),
        ("sqlite:////abs/x.db", "sqlite", "/abs/x.db"),
        ("sqlite::memory:", "sqlite", ":memory:"),
        ("sqlite:", "sqlite", ":memory:"),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql", "postgresql://postgres@127.0.0.1:5432/test"),
        ("postgres://u@h/db?schema=s1&sslmode=disable", "postgresql", "postgres://u@h/db?sslmode=disable"),
    ],
)
def test_sink_url_forms(url, dialect, database):
    target = parse_sink_url(url)
    assert (target.dialect, target.database) == (dialect, database)


def test_postgres_schema_comes_from_the_url():
    assert parse_sink_url("postgresql://u@h/db?schema=s1").schema == "s1"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty sink URL"),
        ("window_agg.db", "no scheme"),
        ("mysql://u@h/db", "not sqlite or postgresql"),
        ("sqlite://host/x.db", "no host"),
        ("sqlite:///", "no database file"),
        ("postgresql://", "expected postgresql://"),
        ("postgresql://u@h:port/db", "port is not a number"),
        ("postgresql://u@h/db?schema=a;drop", "not a plain SQL identifier"),
    ],
)
def test_bad_sink_urls_raise_a_value_error_naming_the_url(url, message):
    with pytest.raises(SinkURLError, match=message) as info:
        parse_sink_url(url)
    assert isinstance(info.value, ValueError)
    if url:
        assert repr(url) in str(info.value)

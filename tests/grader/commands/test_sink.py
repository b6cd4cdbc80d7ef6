"""``streamgrade simulate --sink/--crash-at``: the delivery document, the table left behind, bad flags.

Hand-worked on the sheet with 3 minutes of lateness (see tests/reference/test_delivery.py):
at-least-once with a crash after e5's write writes (10:00, A, 7) and (10:00, B, 3) twice;
the upsert table still has five rows, the append table seven.
"""

from __future__ import annotations

import json
import secrets
import sqlite3

import pytest

from grader.cli import main
from grader.errors import UsageProblem
from grader.simulate.delivery import attach_delivery
from reference.config import RunConfig
from reference.engine import run
from reference.timestamps import MINUTE
from tests.reference.sheet import sheet_events

ROWS = {("10:00", "A"): 7, ("10:00", "B"): 3, ("10:05", "A"): 4, ("10:05", "B"): 1, ("10:10", "B"): 2}


def simulate(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["simulate", "--sheet", "week10", "--allowed-lateness", "3m", *args])
    out, err = capsys.readouterr()
    return code, out, err


def keyed(rows: list[dict]) -> dict[tuple[str, str], object]:
    return {(r["window_start"], r["user_id"]): r["sum_amount"] for r in rows}


def test_at_least_once_crash_after_e5_write_json_and_the_sqlite_table(capsys, tmp_path):
    db = tmp_path / "sink.db"
    code, out, err = simulate(capsys, "--sink", f"sqlite:{db}", "--crash-at", "e5:after_write",
                              "--delivery", "at-least-once", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)["delivery"]
    assert {"sink", "delivery", "crash_at", "rows", "duplicates", "losses", "matches_crash_free", "explanation",
            "text"} <= set(doc)
    assert (doc["delivery"], doc["crash_at"], doc["duplicates"], doc["losses"]) == ("at-least-once",
                                                                                    "e5:after_write", 2, 0)
    assert doc["matches_crash_free"] is True and keyed(doc["rows"]) == ROWS
    assert [(w["event_id"], w["offset"], w["attempt"]) for w in doc["duplicate_writes"]] == [("e5", 4, 2)] * 2
    assert [a["start_offset"] for a in doc["attempts"]] == [0, 4]
    assert any("before committing offset 5" in line for line in doc["explanation"])
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM window_agg").fetchone()[0] == 5
        assert conn.execute("SELECT count(*) FROM window_agg_append").fetchone()[0] == 7
        assert conn.execute("SELECT committed_offset FROM source_offsets").fetchone()[0] == 7


def test_text_format_prints_the_delivery_after_the_trace(capsys, tmp_path):
    code, out, _ = simulate(capsys, "--sink", f"sqlite:///{tmp_path / 'sink.db'}", "--crash-at", "e5:before_write",
                            "--delivery", "at-most-once")
    assert code == 0
    trace, _, delivery = out.partition("Sink and delivery")
    assert "(10:00, A, 7)" in trace
    assert "Lost: (10:00, A, 7) of e5 (offset 4)" in delivery
    assert "duplicates: 0, losses: 2, matches the crash-free run: no" in delivery


def test_exactly_once_crash_never_duplicates_or_loses(capsys):
    code, out, _ = simulate(capsys, "--crash-at", "e5:after_write", "--delivery", "exactly-once", "--format", "json")
    assert code == 0
    doc = json.loads(out)["delivery"]
    assert doc["sink"] == "sqlite::memory:"
    assert (doc["duplicates"], doc["losses"], doc["matches_crash_free"]) == (0, 0, True)


def test_sink_alone_writes_the_crash_free_rows(capsys, tmp_path):
    code, out, _ = simulate(capsys, "--sink", f"sqlite:{tmp_path / 'x.db'}", "--format", "json")
    assert code == 0
    doc = json.loads(out)["delivery"]
    assert doc["crash_at"] is None and len(doc["attempts"]) == 1
    assert keyed(doc["rows"]) == ROWS and doc["duplicates"] == 0


def test_without_a_delivery_flag_the_library_defaults_to_exactly_once_without_crash():
    events = sheet_events()
    config = RunConfig(watermark_delay=2 * MINUTE, allowed_lateness=3 * MINUTE)
    doc = attach_delivery(run(events, config), events, config, sink="sqlite::memory:", crash_at=None, delivery=None,
                          commit_every=1)
    assert doc["delivery"] == "exactly-once" and doc["losses"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sink", "mysql://u@h/db"], "--sink 'mysql://u@h/db': unsupported sink URL"),
        (["--sink", "window_agg.db"], "--sink 'window_agg.db'"),
        (["--sink", "sqlite:/definitely/missing/dir/x.db"], "cannot open the SQLite database"),
        (["--crash-at", "e5:during"], "--crash-at 'e5:during': bad crash phase 'during'"),
        (["--crash-at", "e99"], "--crash-at 'e99': no event 'e99'"),
    ],
)
def test_bad_sink_and_crash_flags_exit_2_with_one_line(capsys, args, message):
    code, _, err = simulate(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_flags_raise_usage_problem_from_the_library():
    events = sheet_events()
    config = RunConfig()
    with pytest.raises(UsageProblem, match="--crash-at"):
        attach_delivery(run(events, config), events, config, sink=None, crash_at="e5:sometime",
                        delivery="at-least-once", commit_every=1)


@pytest.mark.postgres
def test_postgres_sink_keeps_its_tables_in_the_named_schema(capsys, pg_dsn):
    import psycopg

    schema = f"cli_{secrets.token_hex(4)}"
    url = pg_dsn + ("&" if "?" in pg_dsn else "?") + f"schema={schema}"
    try:
        code, out, err = simulate(capsys, "--sink", url, "--crash-at", "e5", "--delivery", "at-least-once",
                                  "--format", "json")
        assert code == 0, err
        doc = json.loads(out)["delivery"]
        assert doc["schema"] == schema and doc["duplicates"] == 2 and keyed(doc["rows"]) == ROWS
        with psycopg.connect(pg_dsn) as conn:
            assert conn.execute(f'SELECT count(*) FROM "{schema}".window_agg').fetchone()[0] == 5
            assert conn.execute(f'SELECT count(*) FROM "{schema}".window_agg_append').fetchone()[0] == 7
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_unreachable_postgres_is_one_line_not_a_traceback(capsys):
    code, _, err = simulate(capsys, "--sink", "postgresql://postgres@127.0.0.1:1/none")
    assert code == 1 and "--sink" in err and "cannot use the PostgreSQL database" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

"""Crash, restart and replay into the sink tables, under the three delivery guarantees.

Hand-worked on the sheet (exercises/week10/context.yaml, flink, 2-minute delay, 3 minutes
of lateness): the log is e1..e7 at offsets 0..6.  Window [10:00, 10:05) fires on e5
(offset 4, watermark 10:05:59.999) with (10:00, A, 7) and (10:00, B, 3); e6 and e7
write nothing (e7 is dropped); the end of input, read with e7, fires (10:05, A, 4),
(10:05, B, 1) and (10:10, B, 2).  So the crash-free table has those five rows.

At-least-once, commit every record, crash at e5 after the write: offsets 1..4 are
committed (the committed offset is the next to read), the crash comes before committing
5, the restart recomputes e1..e4 without writing and replays from offset 4, writing
e5's two rows again: two duplicates in the append table, none in the upsert table.
"""

from __future__ import annotations

import secrets
from collections import Counter
from decimal import Decimal

import pytest

from reference.config import LatePolicy, RunConfig
from reference.delivery import CrashPhase, CrashPoint, DeliveryError, Guarantee, deliver
from reference.engine import run
from reference.results import EmissionKind
from reference.sinks import SqlSink, StoredRow
from reference.timestamps import MINUTE, parse_time
from tests.reference.sheet import sheet_events

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SHEET = RunConfig(watermark_delay=2 * MINUTE, allowed_lateness=3 * MINUTE)
# 4 minutes of lateness admit e7 and the retract policy sends a retraction: the harder case.
SHEET_RETRACT = RunConfig(watermark_delay=2 * MINUTE, allowed_lateness=4 * MINUTE, late_policy=LatePolicy.RETRACT)
EVENT_IDS = [e.event_id for e in sheet_events()]
CRASH_POINTS = [CrashPoint(e, p) for e in EVENT_IDS for p in CrashPhase]


def row(start: str, user: str, amount: int) -> StoredRow:
    return StoredRow(parse_time(start), user, Decimal(amount))


CRASH_FREE = (row("10:00", "A", 7), row("10:00", "B", 3), row("10:05", "A", 4), row("10:05", "B", 1),
              row("10:10", "B", 2))


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.getfixturevalue("pg_dsn") if request.param == "postgres" else "sqlite::memory:"


def simulate(url: str, guarantee: str, crash: str | CrashPoint | None, commit_every: int = 1, config=SHEET):
    with SqlSink(url, namespace=f"d_{secrets.token_hex(4)}", drop_on_close=True) as sink:
        return deliver(sheet_events(), config, sink, guarantee, crash, commit_every)


# -- hand-worked cases -----------------------------------------------------------------


def test_at_least_once_crash_after_writing_e5_replays_e5_and_duplicates_its_rows(backend):
    out = simulate(backend, "at-least-once", "e5:after_write")
    first, second = out.attempts
    assert first.commits == (1, 2, 3, 4) and first.committed_offset == 4
    assert [w.row for w in first.writes] == [row("10:00", "A", 7), row("10:00", "B", 3)]
    assert all(w.durable and w.event_id == "e5" and w.offset == 4 for w in first.writes)
    assert (second.start_offset, second.recomputed, second.crash) == (4, 4, None)
    assert [(w.event_id, w.row) for w in second.writes] == [
        ("e5", row("10:00", "A", 7)), ("e5", row("10:00", "B", 3)),
        ("e7", row("10:05", "A", 4)), ("e7", row("10:05", "B", 1)), ("e7", row("10:10", "B", 2))]
    assert [w.row for w in out.duplicates] == [row("10:00", "A", 7), row("10:00", "B", 3)]
    assert out.losses == ()
    assert out.rows == CRASH_FREE and out.matches_crash_free
    assert len(out.append_rows) == 7 and out.append_duplicates == 2
    assert Counter(out.append_rows)[row("10:00", "A", 7)] == 2
    assert out.committed_offset == 7
    text = out.text()
    assert "before committing offset 5" in text and "committed offset is 4" in text
    assert "recomputing e1..e4 (offsets 0..3) without writing" in text and "replays from offset 4" in text


def test_at_most_once_crash_before_writing_e5_loses_its_rows(backend):
    out = simulate(backend, "at-most-once", "e5:before_write")
    first, second = out.attempts
    assert first.writes == () and first.committed_offset == 5
    assert second.start_offset == 5
    assert [(x.event_id, x.offset, x.row) for x in out.losses] == [
        ("e5", 4, row("10:00", "A", 7)), ("e5", 4, row("10:00", "B", 3))]
    assert out.duplicates == ()
    assert out.rows == CRASH_FREE[2:] and not out.matches_crash_free
    assert "Lost: (10:00, A, 7) of e5 (offset 4)" in out.text()


def test_exactly_once_crash_after_writing_e5_rolls_back_and_writes_once(backend):
    out = simulate(backend, "exactly-once", "e5:after_write")
    first, second = out.attempts
    assert [w.durable for w in first.writes] == [False, False]
    assert first.committed_offset == 4 and second.start_offset == 4
    assert out.duplicates == () and out.losses == ()
    assert out.rows == CRASH_FREE and out.append_rows == tuple(sorted(CRASH_FREE))
    assert "rolls the transaction back" in out.text()


def test_exactly_once_crash_after_committing_e5_does_not_replay_it(backend):
    out = simulate(backend, "exactly-once", "e5:after_commit")
    assert out.attempts[0].committed_offset == 5 and out.attempts[1].start_offset == 5
    assert out.duplicates == () and out.losses == () and out.rows == CRASH_FREE


def test_exercise_10_story_nothing_committed_so_the_restart_reads_e1_again():
    # Commit only once per 7 records: at the crash nothing is committed, and the restart
    # reads the whole log again from offset 0, as the sheet's Exercise 10 tells it.
    out = simulate("sqlite::memory:", "at-least-once", "e5", commit_every=7)
    assert out.attempts[0].commits == () and out.attempts[1].start_offset == 0
    assert out.attempts[1].recomputed == 0
    assert len(out.duplicates) == 2 and out.rows == CRASH_FREE
    assert "starts with empty window state and replays the log from offset 0" in out.text()


def test_at_least_once_with_a_batch_of_three_replays_the_uncommitted_batch():
    # Batches are offsets 0..2 (committed 3) and 3..5 (e4, e5, e6): a crash after e5's
    # write leaves offset 3 committed, so the replay starts at e4.
    out = simulate("sqlite::memory:", "at-least-once", "e5:after_write", commit_every=3)
    assert out.attempts[0].commits == (3,) and out.attempts[1].start_offset == 3
    assert len(out.duplicates) == 2 and out.rows == CRASH_FREE


def test_exactly_once_batch_rolls_back_every_record_of_the_open_transaction():
    out = simulate("sqlite::memory:", "exactly-once", "e6:after_write", commit_every=3)
    first = out.attempts[0]
    assert first.commits == (3,) and [w.event_id for w in first.rolled_back] == ["e5", "e5"]
    assert out.duplicates == () and out.losses == () and out.rows == CRASH_FREE


def test_without_a_crash_every_guarantee_writes_the_crash_free_rows_once():
    for g in Guarantee:
        out = simulate("sqlite::memory:", g, None)
        assert len(out.attempts) == 1 and out.duplicates == () and out.losses == ()
        assert out.rows == CRASH_FREE


def test_replayed_writes_are_the_crash_free_emissions_from_the_committed_offset():
    # Determinism is what makes the recomputation a valid checkpoint: the replay emits
    # exactly what the crash-free run emits from that offset on, with the same sequence numbers.
    reference = run(sheet_events(), SHEET_RETRACT)
    for offset_event in EVENT_IDS:
        out = simulate("sqlite::memory:", "at-least-once", f"{offset_event}:after_write", config=SHEET_RETRACT)
        replay = out.attempts[1]
        expected = [(seq, StoredRow.of(e.row), e.kind) for seq, e in enumerate(reference.emissions)
                    if (e.on_arrival if e.on_arrival is not None else len(EVENT_IDS) - 1) >= replay.start_offset]
        assert [(w.emission_seq, w.row, w.kind) for w in replay.writes] == expected


# -- properties over every crash point ---------------------------------------------------


@pytest.mark.parametrize("commit_every", [1, 2, 3, 7])
@pytest.mark.parametrize("config", [SHEET, SHEET_RETRACT], ids=["lateness3m", "lateness4m-retract"])
@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_replay_gives_the_crash_free_upsert_table_for_every_crash_point(guarantee, config, commit_every):
    crash_free = tuple(StoredRow.of(r) for r in run(sheet_events(), config).final_rows())
    for crash in CRASH_POINTS:
        out = simulate("sqlite::memory:", guarantee, crash, commit_every, config)
        assert out.rows == crash_free, crash
        assert out.losses == (), crash
        if guarantee == "exactly-once":
            assert out.duplicates == () and out.append_rows == out.crash_free_append_rows, crash
        else:
            # A retraction is not a row of the append table, so its repeat is not visible there.
            repeated_rows = [w for w in out.duplicates if w.kind is not EmissionKind.RETRACT]
            assert out.append_duplicates == len(repeated_rows), crash


@pytest.mark.parametrize("commit_every", [1, 2, 7])
def test_at_most_once_never_duplicates_and_can_lose(commit_every):
    lost_somewhere = False
    for crash in CRASH_POINTS:
        out = simulate("sqlite::memory:", "at-most-once", crash, commit_every, SHEET_RETRACT)
        assert out.duplicates == () and out.append_duplicates == 0, crash
        assert out.matches_crash_free == (out.losses == ()), crash
        lost_somewhere = lost_somewhere or bool(out.losses)
    assert lost_somewhere


def test_append_sink_under_at_least_once_shows_duplicates_when_a_write_precedes_the_crash():
    duplicated = {c.describe() for c in CRASH_POINTS
                  if simulate("sqlite::memory:", "at-least-once", c).append_duplicates}
    # Only e5 (the window firing) and e7 (end of input) write; a crash after their write,
    # before their offset commit, repeats them.
    assert duplicated == {"e5:after_write", "e7:after_write"}


@pytest.mark.postgres
@pytest.mark.parametrize("guarantee", list(Guarantee))
def test_postgres_gives_the_same_outcome_as_sqlite_for_every_crash_point(pg_dsn, guarantee):
    for crash in CRASH_POINTS:
        lite = simulate("sqlite::memory:", guarantee, crash, 2, SHEET_RETRACT)
        pg = simulate(pg_dsn, guarantee, crash, 2, SHEET_RETRACT)
        assert (pg.rows, pg.append_rows, len(pg.duplicates), len(pg.losses)) == (
            lite.rows, lite.append_rows, len(lite.duplicates), len(lite.losses)), crash
        assert [c.op for c in pg.changelog] == [c.op for c in lite.changelog], crash


# -- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "event_id", "phase"),
    [("e5:after_write", "e5", CrashPhase.AFTER_WRITE), ("e5", "e5", CrashPhase.AFTER_WRITE),
     ("e3:before_write", "e3", CrashPhase.BEFORE_WRITE), ("e7:after-commit", "e7", CrashPhase.AFTER_COMMIT),
     (" e1 : AFTER_COMMIT ", "e1", CrashPhase.AFTER_COMMIT)],
)
def test_crash_point_forms(text, event_id, phase):
    assert CrashPoint.parse(text) == CrashPoint(event_id, phase)


@pytest.mark.parametrize("text", ["", "e5:during", "e5:after_write:x", ":after_write"])
def test_bad_crash_points_name_the_allowed_forms(text):
    with pytest.raises(DeliveryError, match="before_write") as info:
        CrashPoint.parse(text)
    assert isinstance(info.value, ValueError)


def test_a_crash_at_an_unknown_event_names_the_events_of_the_log():
    with pytest.raises(DeliveryError, match=r"'e9'.*e1, e2"):
        simulate("sqlite::memory:", "at-least-once", "e9")


def test_guarantee_spellings_and_errors():
    assert Guarantee.parse("exactly_once") is Guarantee.EXACTLY_ONCE
    assert Guarantee.parse("At Least Once") is Guarantee.AT_LEAST_ONCE
    with pytest.raises(DeliveryError, match="at-most-once, at-least-once, exactly-once"):
        Guarantee.parse("twice")


def test_commit_every_must_be_at_least_one():
    with pytest.raises(DeliveryError, match="at least 1"):
        simulate("sqlite::memory:", "at-least-once", None, commit_every=0)

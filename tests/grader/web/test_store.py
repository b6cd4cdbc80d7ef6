"""The submissions store on SQLite and PostgreSQL: two-step writes, the idempotency constraint."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.web.errors import StoreUnavailable
from grader.web.records import NewSubmission, Role, SubmissionState
from grader.web.store import Store
from tests.grader.web.conftest import PG_DSN, PG_SKIP, drop_pg_schema, pg_test_schema


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        if not PG_DSN:
            pytest.skip(PG_SKIP)
        schema, url = pg_test_schema(PG_DSN)
    store = Store(url)
    store.create_schema()
    store.create_schema()  # idempotent
    try:
        yield store
    finally:
        store.close()
        if schema and PG_DSN:
            drop_pg_schema(PG_DSN, schema)


def _new(key: str | None = "k1", raw: bytes = b'{"answers": {}}') -> NewSubmission:
    return NewSubmission("s1", "week10", "submission.json", raw, key)


def test_a_submission_is_pending_until_completed_once(store: Store):
    stored, created = store.begin_submission(_new())
    assert created and stored.state is SubmissionState.PENDING and stored.result is None
    assert store.submission_raw(stored.id) == b'{"answers": {}}'
    done = store.complete_submission(stored.id, SubmissionState.GRADED, {"score": 5, "max_score": 10}, "v1")
    assert done.state is SubmissionState.GRADED and done.score == 5 and done.grader_version == "v1"
    again = store.complete_submission(stored.id, SubmissionState.GRADED, {"score": 9, "max_score": 10}, "v2")
    assert again.score == 5 and again.grader_version == "v1"  # the first result stays


def test_the_idempotency_key_is_unique_per_student(store: Store):
    first, created = store.begin_submission(_new())
    same, created_again = store.begin_submission(_new())
    assert created and not created_again and same.id == first.id
    other_student, created_other = store.begin_submission(NewSubmission("s2", "week10", "a.json", b"{}", "k1"))
    assert created_other and other_student.id != first.id
    assert store.begin_submission(_new(None))[1] and store.begin_submission(_new(None))[1]  # no key: no dedup
    assert store.count_by_idempotency_key("s1", "k1") == 1


def test_concurrent_inserts_with_one_key_make_one_row(store: Store):
    ids: list[int] = []
    barrier = threading.Barrier(8)

    def insert() -> None:
        barrier.wait()
        ids.append(store.begin_submission(_new("race"))[0].id)

    threads = [threading.Thread(target=insert) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 8
    assert store.count_by_idempotency_key("s1", "race") == 1


def test_roster_entries_are_replaced_and_looked_up_by_hash(store: Store):
    store.put_roster_entry("s1", Role.STUDENT, "h1")
    store.put_roster_entry("s1", Role.INSTRUCTOR, "h2")
    assert store.roster_entry_by_token_hash("h1") is None
    entry = store.roster_entry_by_token_hash("h2")
    assert entry is not None and entry.role is Role.INSTRUCTOR
    assert not store.add_roster_entry_if_absent("s1", Role.STUDENT, "h3")


def test_regrades_and_settlements_are_new_records(store: Store):
    sub, _ = store.begin_submission(_new())
    store.complete_submission(sub.id, SubmissionState.GRADED, {"score": 1, "max_score": 2, "exercises": []}, "v1")
    store.add_regrade(sub.id, {"score": 2, "max_score": 2, "exercises": []}, "v2", "prof")
    store.add_settlement(sub.id, "ex1", 1.5, "fair", "prof")
    store.add_settlement(sub.id, "ex1", 2.0, "fairer", "prof")
    assert store.latest_regrades([sub.id])[sub.id].result["score"] == 2
    assert [s.reason for s in store.settlements([sub.id])[sub.id]] == ["fair", "fairer"]
    assert store.submission(sub.id).score == 1  # the original result is untouched


def test_an_unreachable_database_is_store_unavailable(tmp_path: Path):
    (tmp_path / "nope").write_text("a file where a folder should be")
    store = Store(f"sqlite:///{tmp_path}/nope/x.db")
    with pytest.raises(StoreUnavailable, match="unavailable"):
        store.ping()


def test_an_unreachable_postgresql_server_is_store_unavailable():
    store = Store("postgresql://postgres@127.0.0.1:9/none?connect_timeout=2")
    with pytest.raises(StoreUnavailable, match="unavailable"):
        store.ping()

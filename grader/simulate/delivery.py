"""``simulate --sink/--crash-at``: run the delivery model into a real table and describe the outcome.

The CLI stays thin: it hands the flags to :func:`attach_delivery`, which parses them,
opens the sink, calls :func:`reference.delivery.deliver` and turns the outcome into a
JSON-ready dict (under ``"delivery"``) whose ``"text"`` the text format prints after
the trace.  Every flag a user can get wrong becomes a :class:`UsageProblem` naming the
flag and the value (exit 2, one line).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from grader.errors import GraderError, UsageProblem
from reference.config import RunConfig
from reference.delivery import CrashPoint, DeliveryError, DeliveryOutcome, Guarantee, Write, deliver
from reference.events import Event
from reference.results import Run
from reference.serialize import decimal_json
from reference.sinks import SinkURLError, SqlSink, StoredRow, parse_sink_url
from reference.timestamps import format_time

#: With ``--crash-at`` and no ``--sink`` the job writes to a throw-away in-memory table.
MEMORY_SINK = "sqlite::memory:"


def _stored_dict(row: StoredRow) -> dict[str, object]:
    return {"window_start": format_time(row.window_start), "user_id": row.user_id,
            "sum_amount": decimal_json(row.sum_amount)}


def _write_dict(w: Write) -> dict[str, object]:
    return {"attempt": w.attempt, "offset": w.offset, "event_id": w.event_id, "emission_seq": w.emission_seq,
            "kind": w.kind.value, **_stored_dict(w.row), "end_of_input": w.end_of_input, "durable": w.durable}


def _safe_url(url: str) -> str:
    """The URL without its password, for output."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def outcome_dict(outcome: DeliveryOutcome, url: str, namespace: str | None) -> dict[str, object]:
    """The JSON view of a delivery outcome (without ``text``)."""
    return {
        "sink": _safe_url(url),
        "sink_description": outcome.sink,
        "table": outcome.table,
        "schema": namespace,
        "delivery": outcome.guarantee.value,
        "crash_at": outcome.crash.describe() if outcome.crash else None,
        "commit_every": outcome.commit_every,
        "rows": [_stored_dict(r) for r in outcome.rows],
        "append_rows": [_stored_dict(r) for r in outcome.append_rows],
        "crash_free_rows": [_stored_dict(r) for r in outcome.crash_free_rows],
        "duplicates": len(outcome.duplicates),
        "losses": len(outcome.losses),
        "duplicate_writes": [_write_dict(w) for w in outcome.duplicates],
        "lost_emissions": [
            {"offset": x.offset, "event_id": x.event_id, "emission_seq": x.emission_seq, "kind": x.kind.value,
             **_stored_dict(x.row)}
            for x in outcome.losses
        ],
        "matches_crash_free": outcome.matches_crash_free,
        "committed_offset": outcome.committed_offset,
        "attempts": [
            {"attempt": a.number, "start_offset": a.start_offset, "recomputed": a.recomputed,
             "commits": list(a.commits), "crash": a.crash.describe() if a.crash else None,
             "committed_offset": a.committed_offset, "writes": [_write_dict(w) for w in a.writes]}
            for a in outcome.attempts
        ],
        "explanation": list(outcome.explanation),
    }


def _text(outcome: DeliveryOutcome) -> str:
    crash = outcome.crash.describe() if outcome.crash else "none"
    lines = [f"Sink and delivery ({outcome.guarantee.value}, crash at {crash}, commit every {outcome.commit_every}):"]
    lines += [f"  {line}" for line in outcome.explanation]
    lines.append(f"  duplicates: {len(outcome.duplicates)}, losses: {len(outcome.losses)}, "
                 f"matches the crash-free run: {'yes' if outcome.matches_crash_free else 'no'}")
    return "\n".join(lines)


def attach_delivery(result: Run, events: Sequence[Event], config: RunConfig, *, sink: str | None,
                    crash_at: str | None, delivery: str | None, commit_every: int = 1) -> dict[str, object]:
    """Run ``events`` into the sink at ``sink`` under ``delivery``, crashing at ``crash_at``, and describe it.

    Without ``--sink`` the table is an in-memory SQLite one.  Without ``--delivery``
    the job is exactly-once when it does not crash (every guarantee writes the same
    rows then) and at-least-once when it does (the sheet's Exercise 10 scenario); the
    CLI's ``--delivery`` has a click default of at-least-once, so from the command line
    ``delivery`` is never ``None`` (without a crash the outcome is the same).  A
    SQLite file's tables are recreated and kept for inspection; on PostgreSQL the tables
    live in the URL's ``?schema=`` or a fresh ``streamgrade_<hex>`` schema, kept and
    named in the output.
    """
    url = sink or MEMORY_SINK
    try:
        target = parse_sink_url(url)
    except SinkURLError as exc:
        raise UsageProblem(f"--sink {url!r}: {exc}") from None
    crash = None
    if crash_at is not None:
        try:
            crash = CrashPoint.parse(crash_at)
        except DeliveryError as exc:
            raise UsageProblem(f"--crash-at {crash_at!r}: {exc}") from None
        known = {e.event_id for e in events}
        if crash.event_id not in known:
            shown = ", ".join(e.event_id for e in list(events)[:12]) + (", ..." if len(events) > 12 else "")
            raise UsageProblem(f"--crash-at {crash_at!r}: no event {crash.event_id!r} in the stream (events: {shown})")
    if delivery is None:
        guarantee = Guarantee.AT_LEAST_ONCE if crash is not None else Guarantee.EXACTLY_ONCE
    else:
        try:
            guarantee = Guarantee.parse(delivery)
        except DeliveryError as exc:
            raise UsageProblem(f"--delivery {delivery!r}: {exc}") from None
    if not isinstance(commit_every, int) or commit_every < 1:
        raise UsageProblem(f"--commit-every {commit_every!r}: must be a whole number of records, at least 1")
    try:
        table = SqlSink(target)
    except sqlite3.Error as exc:
        raise UsageProblem(f"--sink {_safe_url(url)!r}: cannot open the SQLite database: {exc}") from None
    except Exception as exc:  # psycopg's OperationalError and friends: the server, not the flag
        if target.dialect != "postgresql":
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GraderError(f"--sink {_safe_url(url)!r}: cannot use the PostgreSQL database: {first}") from None
    try:
        try:
            outcome = deliver(tuple(events), config, table, guarantee, crash, commit_every)
        except DeliveryError as exc:
            raise UsageProblem(str(exc)) from None
        if outcome.crash_free_rows != tuple(StoredRow.of(r) for r in result.final_rows()):
            raise GraderError("the delivery model's crash-free rows differ from the run's final rows (a bug)")
        document = outcome_dict(outcome, url, table.namespace if table.dialect == "postgresql" else None)
    finally:
        table.close()
    document["text"] = _text(outcome)
    return document


__all__ = ["MEMORY_SINK", "attach_delivery", "outcome_dict"]

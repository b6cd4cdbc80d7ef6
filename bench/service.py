"""Benchmark of the submission service: gunicorn on 127.0.0.1, N concurrent clients.

Each client is a thread with its own keep-alive ``http.client`` connection and its own
roster token; it posts JSON submissions (each with a fresh ``Idempotency-Key``) back to
back for ``--seconds``.  Printed: requests/s, latency percentiles, status counts; then a
check that the store holds exactly the accepted submissions (every 201's id, graded,
nothing else).  The last line is one JSON object:
``{"rps", "p50_ms", "p95_ms", "p99_ms", "accepted", "stored", "clients"}``.

The clients are closed-loop (each sends its next request when the previous answer
arrives), so at saturation latency is ``clients / throughput`` by Little's law; they run
in this process, on the same cores as the server.  The per-student rate limit is turned
off for the run.  Until ``grader.grading.grade_bytes`` is implemented, the service runs
with the test suite's stand-in grader (and says so); pass ``--grader`` to choose.

    python bench/service.py [--clients 50] [--seconds 10] [--workers N] [--db URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.web.cli_commands import roster_add  # noqa: E402
from grader.web.store import Store, SubmissionState  # noqa: E402

REAL_GRADER = "grader.grading:grade_bytes"
STAND_IN_GRADER = "tests.web.fake_grading:grade_bytes"
SUBMISSION = {
    "student_id": "bench",
    "exercise_set": "week10",
    "answers": {
        "ex3": {"semantics": ["at-most-once", "at-least-once", "exactly-once"],
                "idempotent_sink_needed_for": "at-least-once"},
        "ex6": {"rows": [{"window_start": "10:00", "user_id": "A", "sum_amount": 7},
                         {"window_start": "10:00", "user_id": "B", "sum_amount": 3},
                         {"window_start": "10:05", "user_id": "A", "sum_amount": 4},
                         {"window_start": "10:05", "user_id": "B", "sum_amount": 1}]},
        "ex10": {"key_columns": ["window_start", "user_id"], "duplicate_rows": 0, "explanation": "upsert key"},
    },
}


def choose_grader(requested: str | None) -> str:
    if requested:
        return requested
    from grader.grading import grade_bytes

    try:
        grade_bytes(json.dumps(SUBMISSION).encode(), "submission.json", "probe", "week10")
    except NotImplementedError:
        print(f"note: {REAL_GRADER} is not implemented yet; using the stand-in {STAND_IN_GRADER}")
        return STAND_IN_GRADER
    return REAL_GRADER


def start_gunicorn(db: str, grader: str, workers: int | None, log: Path) -> tuple[subprocess.Popen, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    env = {**os.environ, "STREAMGRADE_DB": db, "STREAMGRADE_GRADER": grader, "STREAMGRADE_RATE_BURST": "0",
           "PYTHONPATH": str(ROOT), "STREAMGRADE_ACCESS_LOG": os.environ.get("STREAMGRADE_ACCESS_LOG", "")}
    argv = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"fd://{sock.fileno()}"]
    if workers:
        argv += ["--workers", str(workers)]
    argv.append("grader.web.app:create_app()")
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   pass_fds=(sock.fileno(),))
    sock.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"gunicorn did not become healthy:\n{log.read_text()}")


class Client(threading.Thread):
    def __init__(self, index: int, port: int, token: str, key_prefix: str, start_at: float, stop_at: float,
                 think: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.index, self.port, self.token, self.key_prefix, self.think = index, port, token, key_prefix, think
        self.start_at, self.stop_at = start_at, stop_at
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.accepted_ids: list[int] = []

    def run(self) -> None:
        body = json.dumps(SUBMISSION).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        n = 0
        while time.monotonic() < self.start_at:
            time.sleep(0.001)
        while time.monotonic() < self.stop_at:
            n += 1
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}",
                       "Idempotency-Key": f"{self.key_prefix}{self.index}-{n}"}
            began = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/submissions", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.statuses[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            self.latencies.append(time.perf_counter() - began)
            self.statuses[str(response.status)] += 1
            if response.status == 201:
                self.accepted_ids.append(json.loads(data)["id"])
            if self.think:
                time.sleep(self.think)
        conn.close()


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file)")
    parser.add_argument("--grader", default=None, help=f"grading function (default: {REAL_GRADER})")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="pause of each client between requests (default 0: back to back, the worst case)")
    args = parser.parse_args()
    # 50 client threads share this process's GIL: hand it over often, so that a reply that has
    # arrived is timed when it arrives, not when the thread next gets the GIL.
    sys.setswitchinterval(0.0005)

    folder = Path(tempfile.mkdtemp(prefix="streamgrade-bench-"))
    db = args.db or f"sqlite:///{folder / 'bench.db'}"
    grader = choose_grader(args.grader)
    students = [f"bench{i:03d}" for i in range(args.clients)]
    tokens = [roster_add(student, db=db) for student in students]
    key_prefix = f"bench-{secrets.token_hex(4)}-"  # this run's submissions, even in a store used before
    process, port = start_gunicorn(db, grader, args.workers, folder / "gunicorn.log")
    try:
        start_at = time.monotonic() + 0.5
        stop_at = start_at + args.seconds
        clients = [Client(i, port, tokens[i], key_prefix, start_at + i * args.think_ms / 1000 / args.clients, stop_at,
                          args.think_ms / 1000) for i in range(args.clients)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        elapsed = args.seconds
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()

    latencies = sorted(x for c in clients for x in c.latencies)
    statuses = sum((c.statuses for c in clients), Counter())
    accepted = {i for c in clients for i in c.accepted_ids}
    store = Store(db)
    rows = [s for student in students for s in store.submissions_of(student, limit=10**9)
            if (s.idempotency_key or "").startswith(key_prefix)]
    store.close()
    stored_ids = {s.id for s in rows}
    graded = sum(1 for s in rows if s.state is SubmissionState.GRADED)

    rps = len(latencies) / elapsed
    p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (50, 95, 99))
    print(f"grader: {grader}; store: {db.split('://')[0]}; clients: {args.clients}, think {args.think_ms:g} ms; "
          f"{elapsed:g} s")
    print(f"requests: {len(latencies)}  ({rps:.0f}/s)   statuses: {dict(statuses)}")
    print(f"latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {latencies[-1] * 1000:.1f}")
    missing, extra = accepted - stored_ids, stored_ids - accepted
    print(f"store: {len(rows)} rows ({graded} graded), {len(accepted)} accepted; "
          f"missing {len(missing)}, unexpected {len(extra)}")
    ok = not missing and not extra and graded == len(rows) == len(accepted)
    print("check: " + ("the store holds exactly the accepted submissions" if ok else "MISMATCH"))
    print(json.dumps({"rps": round(rps, 1), "p50_ms": round(p50, 2), "p95_ms": round(p95, 2),
                      "p99_ms": round(p99, 2), "accepted": len(accepted), "stored": len(stored_ids),
                      "clients": args.clients}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the submission service: gunicorn on 127.0.0.1, N concurrent clients.

Each client is a thread with its own keep-alive ``http.client`` connection and its own
roster token; it posts JSON submissions (each with a fresh ``Idempotency-Key``) back to
back for ``--seconds``.  Printed: requests/s, latency percentiles, status counts; then a
check that the store holds exactly the accepted submissions (every 201's id, graded,
nothing else).  The last line is one JSON object:
``{"rps", "p50_ms", "p95_ms", "p99_ms", "accepted", "stored", "clients"}``.

The clients are closed-loop (each sends its next request when the previous answer
arrives), so at saturation latency is ``clients / throughput`` by Little's law; they run
in this process, on the same cores as the server.  ``--think-ms`` makes each client pause
between requests (students do not resubmit back to back), which bounds the offered load
at ``clients / think`` requests/s.  The per-student rate limit is turned off for the run.

Also printed: the CPU time per request of the server (master and workers, from /proc) and
of the clients (this process), which bounds the throughput the machine can reach (at low
load it includes the workers' idle polling, so read it at saturation); how evenly the
clients were served (requests per client); and with ``--baseline`` the same load first
against the test suite's stand-in grader, to separate the service's cost from grading.
Until ``grader.grading.grade_bytes`` is implemented the stand-in is used (and named).

    python bench/service.py [--clients 50] [--seconds 10] [--think-ms 0] [--baseline]
                            [--workers N] [--db URL] [--grader module:factory()]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import runpy
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

from grader.exercises.load import DEFAULT_SET, load_set  # noqa: E402
from grader.solutions.render import answer_object  # noqa: E402
from grader.solutions.solve import solve  # noqa: E402
from grader.web.cli_commands import roster_add  # noqa: E402
from grader.web.records import SubmissionState  # noqa: E402
from grader.web.settings import load_settings  # noqa: E402
from grader.web.store import Store  # noqa: E402

#: The apps gunicorn runs: the service as shipped, and with the test suite's stand-in grader.
REAL_GRADER = "grader.web.app:create_app()"
STAND_IN_GRADER = "tests.grader.web.apps:create_stand_in_app()"
#: The exercises the benchmark's submission answers (a JSON body of a realistic size).
ANSWERED = ("ex3", "ex6", "ex10")


def bench_submission() -> dict:
    """The submission every client posts: the answered exercises with the engine's canonical
    values (computed, never typed in), so the real grader gives them full marks."""
    base = load_set(DEFAULT_SET)
    solved = solve(base)
    answers = {ex.id: answer_object(ex, solved[ex.id]) for ex in base.exercises if ex.id in ANSWERED}
    return {"student_id": "bench", "exercise_set": base.id, "answers": answers}


def choose_grader(requested: str | None) -> str:
    return requested or REAL_GRADER


def start_gunicorn(db: str, grader: str, workers: int | None, log: Path) -> tuple[subprocess.Popen, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    env = {**os.environ, "STREAMGRADE_DB": db, "STREAMGRADE_RATE_BURST": "0",
           "PYTHONPATH": str(ROOT), "STREAMGRADE_ACCESS_LOG": os.environ.get("STREAMGRADE_ACCESS_LOG", "")}
    argv = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"fd://{sock.fileno()}"]
    if workers:
        argv += ["--workers", str(workers)]
    argv.append(grader)
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
                 body: bytes, think: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.index, self.port, self.token, self.key_prefix, self.think = index, port, token, key_prefix, think
        self.body = body
        self.start_at, self.stop_at = start_at, stop_at
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.accepted_ids: list[int] = []

    def run(self) -> None:
        body = self.body
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


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes ``pids`` (from /proc; 0 for one that is gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def server_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [master, *(int(p) for p in children.read_text().split())] if children.exists() else [master]


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def run(args: argparse.Namespace, grader: str, label: str) -> tuple[dict, bool]:
    """One measured run against a fresh gunicorn: the figures and whether the store check passed."""
    folder = Path(tempfile.mkdtemp(prefix="streamgrade-bench-"))
    db = args.db or f"sqlite:///{folder / 'bench.db'}"
    students = [f"bench{i:03d}" for i in range(args.clients)]
    tokens = [roster_add(student, db=db) for student in students]
    key_prefix = f"bench-{secrets.token_hex(4)}-"  # this run's submissions, even in a store used before
    body = json.dumps(bench_submission()).encode()  # computed once, before the clock starts
    load_before = os.getloadavg()[0]
    process, port = start_gunicorn(db, grader, args.workers, folder / "gunicorn.log")
    try:
        pids = server_pids(process.pid)
        cpu_server_before, cpu_self_before = cpu_seconds(pids), time.process_time()
        start_at = time.monotonic() + 0.5
        stop_at = start_at + args.seconds
        clients = [Client(i, port, tokens[i], key_prefix, start_at + i * args.think_ms / 1000 / args.clients, stop_at,
                          body, args.think_ms / 1000) for i in range(args.clients)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        elapsed = args.seconds
        cpu_server = cpu_seconds(pids) - cpu_server_before
        cpu_clients = time.process_time() - cpu_self_before
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

    n = len(latencies)
    rps = n / elapsed
    p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (50, 95, 99))
    per_client = sorted(len(c.latencies) for c in clients)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    store_kind = db.split("://")[0]
    if store_kind == "sqlite":
        store_kind += f" (synchronous {load_settings().sqlite_synchronous})"
    print(f"[{label}] grader: {grader}; store: {store_kind}; gunicorn: {args.workers or conf['workers']} "
          f"{conf['worker_class']} workers x {conf['threads']} threads; clients: {args.clients}, "
          f"think {args.think_ms:g} ms; {elapsed:g} s; load average before the run: {load_before:.1f}")
    print(f"[{label}] requests: {n}  ({rps:.0f}/s)   statuses: {dict(statuses)}; "
          f"per client min {per_client[0]} / median {per_client[len(per_client) // 2]} / max {per_client[-1]}")
    print(f"[{label}] latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {latencies[-1] * 1000:.1f}")
    if n:
        cores = len(os.sched_getaffinity(0))
        print(f"[{label}] CPU per request: server {cpu_server / n * 1000:.2f} ms, clients {cpu_clients / n * 1000:.2f} "
              f"ms: {cores} cores serve at most ~{cores / ((cpu_server + cpu_clients) / n):.0f} requests/s "
              "with the clients on the same machine")
    missing, extra = accepted - stored_ids, stored_ids - accepted
    print(f"[{label}] store: {len(rows)} rows ({graded} graded), {len(accepted)} accepted; "
          f"missing {len(missing)}, unexpected {len(extra)}")
    ok = not missing and not extra and graded == len(rows) == len(accepted)
    print(f"[{label}] check: " + ("the store holds exactly the accepted submissions" if ok else "MISMATCH"))
    figures = {"rps": round(rps, 1), "p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "p99_ms": round(p99, 2),
               "accepted": len(accepted), "stored": len(stored_ids), "clients": args.clients,
               "think_ms": args.think_ms, "grader": grader}
    return figures, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file per run)")
    parser.add_argument("--grader", default=None,
                        help=f"the app gunicorn runs, module:factory() (default: {REAL_GRADER})")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="pause of each client between requests (default 0: back to back, the worst case)")
    parser.add_argument("--baseline", action="store_true",
                        help=f"first run the same load with the stand-in grader ({STAND_IN_GRADER}), "
                             "to separate the service's own cost from grading")
    args = parser.parse_args()
    # 50 client threads share this process's GIL: hand it over often, so that a reply that has
    # arrived is timed when it arrives, not when the thread next gets the GIL.
    sys.setswitchinterval(0.0005)

    grader = choose_grader(args.grader)
    baseline = None
    if args.baseline:
        baseline, _ = run(args, STAND_IN_GRADER, "baseline")
    figures, ok = run(args, grader, "run")
    if baseline is not None:
        figures["baseline"] = {k: baseline[k] for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "grader")}
    print(json.dumps(figures))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

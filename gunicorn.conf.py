"""gunicorn settings of the streamgrade service (``streamgrade serve`` passes this file).

Grading is CPU-bound inside the worker: about a millisecond for a JSON submission, while
a Python submission waits up to a few hundred milliseconds on its sandboxed child
process, during which the worker's CPU is free.

* ``workers``: one process per core (at least two, so one dying worker is no outage).
  Each request is CPU-bound Python (about 2.5 ms of CPU for a JSON submission, grading
  included), so more processes than cores do not serve more: they take turns on the
  cores, and a keep-alive connection stays with the worker that accepted it, so a
  connection on a lightly loaded extra worker overtakes the rest.  Measured with
  ``bench/service.py`` on 2 cores (50 clients, each every 250 ms): p99 51-74 ms with 2
  workers, 56-156 ms with 3 and 134 ms with 4 (a shared, noisy machine).  The waits
  (store commits, sandbox children) are covered by threads, not processes.
* ``gthread`` with 4 threads per worker: threads overlap the waits (store commits,
  sandbox children) at no CPU cost; 4 keeps each worker's queue short, so one slow
  sandbox run delays few other requests.  Slow clients and keep-alive connections wait
  in the worker's poller, not in a thread: ``grader.web.worker.BufferingThreadWorker``
  hands a connection to a thread only when its request has fully arrived, and answers
  408 to one that does not arrive in time (``STREAMGRADE_REQUEST_TIMEOUT_S``,
  ``STREAMGRADE_MIN_UPLOAD_RATE``).
* ``timeout``: in a gthread worker the main thread keeps the heartbeat, so this catches a
  wedged worker, not a slow request; the sandbox bounds each run itself.
* ``preload_app``: the master imports the grader, creates the schema and loads the
  exercise sets once; workers fork warm, and a killed worker is replaced in milliseconds.
  The store opens no connection that survives into the fork.
* ``max_requests`` (with jitter): recycle a worker now and then to bound memory growth,
  rarely enough that warm caches are seldom lost.
* ``backlog``: connections beyond the busy threads wait in the kernel's queue, not in a worker.

``STREAMGRADE_WORKERS`` (or ``WEB_CONCURRENCY``) and ``STREAMGRADE_THREADS`` override the
counts; ``--workers`` and ``--bind`` on the command line override this file.
"""

import os

_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

bind = os.environ.get("STREAMGRADE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("STREAMGRADE_WORKERS") or os.environ.get("WEB_CONCURRENCY") or max(2, _cores))
# gthread, except that a thread is committed to a connection only once its whole request
# has arrived: a slow upload holds a socket, never a thread (grader/web/worker.py).
worker_class = "grader.web.worker.BufferingThreadWorker"
threads = int(os.environ.get("STREAMGRADE_THREADS", "4"))
# Connections per worker, waiting ones included; each may buffer up to one request.
worker_connections = 256
backlog = 256
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 10_000
max_requests_jitter = 1_000
preload_app = True
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Off by default: every submission is already in the store with its student and time, and a
# synchronous access log costs about a fifth of the throughput.  STREAMGRADE_ACCESS_LOG=- turns it on.
accesslog = os.environ.get("STREAMGRADE_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("STREAMGRADE_LOG_LEVEL", "info")
proc_name = "streamgrade"
# gunicorn >= 25.1 opens a control socket at one fixed path in $HOME by default, which the
# tests, the benchmark and `make run` would share; the service does not use gunicornc.
control_socket_disable = True

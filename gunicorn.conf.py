"""gunicorn settings of the streamgrade service (``streamgrade serve`` passes this file).

Grading is CPU-bound inside the worker: about a millisecond for a JSON submission, while
a Python submission waits up to a few hundred milliseconds on its sandboxed child
process, during which the worker's CPU is free.

* ``workers``: one process per core, plus one to keep the cores busy while a worker waits
  on the store or a sandbox.  More processes would not grade faster (each grading holds
  its process's GIL) and would cost memory and context switches.
* ``gthread`` with 4 threads per worker: threads overlap the waits (store commits,
  sandbox children, slow clients, keep-alive connections) at no CPU cost; 4 keeps each
  worker's queue short, so one slow sandbox run delays few other requests.
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
workers = int(os.environ.get("STREAMGRADE_WORKERS") or os.environ.get("WEB_CONCURRENCY") or _cores + 1)
worker_class = "gthread"
threads = int(os.environ.get("STREAMGRADE_THREADS", "4"))
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

"""gunicorn's threaded worker, holding a thread only for a request that has fully arrived.

gunicorn's ``gthread`` worker reads a request in the thread that serves it: a client that
sends its headers, then trickles the body at a byte a second, holds that thread until it
is done (12 such connections took every thread of the service, ``/healthz`` included).
gunicorn's own answer is a buffering proxy in front (its deployment notes: "you must
ensure the proxy buffers slow clients"), and the README says so for a public service.
This worker makes the default safe without one, with gunicorn's own mechanism: the main
loop already parks a connection that has sent nothing yet in its poller instead of in a
thread (``gthread``'s ``_DEFER``); here it parks it until the whole request (head and
body, by ``Content-Length`` or the chunked framing) is buffered, then hands the bytes to
gunicorn's parser and a thread.  A slow client then holds a socket and a buffer, never a
thread.

Each request must arrive within a deadline, so a slow client cannot hold even a socket
for long: ``STREAMGRADE_REQUEST_TIMEOUT_S`` (default 10 s) for the head, then
``Content-Length / STREAMGRADE_MIN_UPLOAD_RATE`` more (default 4 KiB/s, so a 256 KiB
submission may take a minute).  Past it the client gets ``408 Request Timeout`` and the
connection closes; a connection that has sent nothing is closed quietly.  What is
buffered is bounded by the largest body the service accepts (``STREAMGRADE_MAX_BYTES``
plus room for the headers and a form); a request announcing more goes to a thread at
once, where the app answers 413 without reading it.

TLS connections (gunicorn's ``certfile``) and HTTP/2 are passed to ``gthread`` unchanged:
the service is served over plain HTTP/1.1 behind TLS termination, if any.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

#: The largest request head buffered (gunicorn refuses more with its own limits).
MAX_HEAD_BYTES = 64 * 1024
#: Room for multipart framing and form fields around a submission (as the app allows).
FORM_OVERHEAD = 16 * 1024


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = default
    return value if value > 0 else default


def request_complete(data: bytes, max_body: int) -> bool:
    """True when ``data`` starts with one whole HTTP/1.x request (or with something the
    parser should refuse at once: a head too long, a body announced too large, a length
    that is not a number).  False while more bytes are needed."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return len(data) > MAX_HEAD_BYTES
    length: int | None = None
    chunked = False
    for line in data[:head_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return True
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    body = data[head_end + 4:]
    if chunked:
        return _chunked_complete(body, max_body)
    if length is None or length > max_body:
        return True
    return len(body) >= length


def _chunked_complete(body: bytes, max_body: int) -> bool:
    """Whether a chunked body has arrived up to its last chunk and the trailers' end."""
    at = 0
    while True:
        line_end = body.find(b"\r\n", at)
        if line_end < 0:
            return len(body) > max_body
        try:
            size = int(body[at:line_end].split(b";", 1)[0].strip() or b"x", 16)
        except ValueError:
            return True  # malformed: the parser says so
        at = line_end + 2
        if size == 0:
            return body.find(b"\r\n\r\n", line_end) >= 0 or body[at:at + 2] == b"\r\n"
        at += size + 2
        if at > len(body):
            return at > max_body


def request_deadline(data: bytes, started: float, head_timeout: float, min_rate: float) -> float:
    """When the request that ``data`` begins must have arrived: the head within
    ``head_timeout`` of its first byte, the body ``length / min_rate`` seconds later."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return started + head_timeout
    for line in data[:head_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return started + head_timeout + int(value.strip()) / min_rate
    return started + head_timeout + MAX_HEAD_BYTES / min_rate


def _expects_continue(data: bytes) -> bool:
    """A whole HTTP/1.1 head with ``Expect: 100-continue``."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0 or not data[:head_end].split(b"\r\n", 1)[0].endswith(b"HTTP/1.1"):
        return False
    return any(line.partition(b":")[0].strip().lower() == b"expect"
               and line.partition(b":")[2].strip().lower() == b"100-continue"
               for line in data[:head_end].split(b"\r\n")[1:])


_TIMEOUT_BODY = json.dumps({"errors": ["the request did not arrive in time (a slow or stalled upload); "
                                       "send it again"]}).encode()
TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    b"Content-Length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY)


class BufferingThreadWorker(ThreadWorker):
    """``gthread`` that commits a thread to a connection only once its request is whole."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = _env_number("STREAMGRADE_REQUEST_TIMEOUT_S", 10.0)
        self.min_rate = _env_number("STREAMGRADE_MIN_UPLOAD_RATE", 4096.0)
        self.max_body = int(_env_number("STREAMGRADE_MAX_BYTES", 256 * 1024)) + FORM_OVERHEAD
        self.filling: list = []  # connections whose request is still arriving

    def _buffering(self, conn) -> bool:
        return not self.cfg.is_ssl and not getattr(conn, "is_http2", False)

    def enqueue_req(self, conn) -> None:
        """Hand ``conn`` to a thread once its request has arrived; until then, the poller."""
        if not self._buffering(conn):
            super().enqueue_req(conn)
            return
        if not hasattr(conn, "sg_buffer"):
            conn.sg_buffer = b""
            conn.sg_started = None
        if self._fill(conn):
            super().enqueue_req(conn)

    def _fill(self, conn) -> bool:
        """Read what the socket holds now; True when a whole request is buffered.  A
        connection the client closed, or that passed its deadline, is closed here."""
        leftover = conn.parser.unreader.buf.getvalue() if conn.parser is not None else b""
        closed = False
        try:
            while len(conn.sg_buffer) <= self.max_body + MAX_HEAD_BYTES:
                data = conn.sock.recv(65536)
                if not data:
                    closed = True
                    break
                conn.sg_buffer += data
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                closed = True
        pending = leftover + conn.sg_buffer
        if pending and conn.sg_started is None:
            conn.sg_started = time.monotonic()
        if pending and request_complete(pending, self.max_body):
            return True
        if not closed and not getattr(conn, "sg_continued", False) and _expects_continue(pending):
            # The client waits for this before it sends the body (curl does, for a second).
            conn.sg_continued = True
            with contextlib.suppress(OSError):
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        if closed:
            self._close(conn)
            return False
        now = time.monotonic()
        started = conn.sg_started if conn.sg_started is not None else now
        conn.sg_deadline = request_deadline(pending, started, self.head_timeout, self.min_rate)
        if now >= conn.sg_deadline:
            self._time_out(conn)
            return False
        if conn not in self.filling:
            self.filling.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        return False

    def _on_readable(self, conn, client) -> None:
        if self._fill(conn):
            self._unpark(conn)
            super().enqueue_req(conn)

    def _unpark(self, conn) -> None:
        if conn in self.filling:
            self.filling.remove(conn)
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)

    def _close(self, conn) -> None:
        self._unpark(conn)
        self.nr_conns -= 1
        conn.close()

    def _time_out(self, conn) -> None:
        """408 for a request that began and did not finish in time; silence for nothing."""
        if conn.sg_buffer or (conn.parser is not None and conn.parser.unreader.buf.getvalue()):
            with contextlib.suppress(OSError):
                conn.sock.send(TIMEOUT_RESPONSE)
        self._close(conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.filling if now >= c.sg_deadline or not self.alive]:
            self._time_out(conn)  # a stopping worker does not wait for uploads still arriving

    def handle(self, conn):
        """In the thread: give the buffered bytes to gunicorn's parser, then serve as gthread does."""
        buffered = getattr(conn, "sg_buffer", b"")
        if buffered:
            conn.sg_buffer, conn.sg_started, conn.sg_continued = b"", None, False
            conn.data_ready = True
            conn.sock.setblocking(True)
            conn.init()  # the parser, if this connection has none yet (a no-op otherwise)
            unreader = conn.parser.unreader
            unreader.buf.seek(0, os.SEEK_END)
            unreader.buf.write(buffered)
        elif hasattr(conn, "sg_buffer"):
            conn.sg_started = None
        return super().handle(conn)

"""The harness: the one program that runs inside the sandbox, around a student's file.

Standalone on purpose: it is bound read-only into the sandbox as a single file and run
with ``python -I -S -B``, where neither ``grader`` nor ``reference`` exists, so it
imports only the standard library, and only cheap modules (no ``json``, ``re``,
``enum``, ``traceback``: they would double the start-up time of every submission).  The
grader imports it too, for the value codec (:func:`encode` / :func:`decode`); nothing
runs at import.

Protocol (``grader.sandbox.runner`` is the other side):

* argv: ``--result-fd N --progress-fd M``.
* stdin: frames (8-byte big-endian length, then ``marshal`` data: trusted, so marshal
  is fine in this direction; the way back is JSON).  First the configuration, sent as
  the process starts: the submission's path and display name, the seccomp program,
  Landlock paths, forbidden imports, time budgets.  Then batches of calls
  ``[{"id", "function", "args", "fold"}]``, sent as the grader builds them (the harness
  confines itself and imports the submission meanwhile, then runs each batch as it
  arrives), and a ``None`` frame (or end of input) after the last batch.  Never an
  expected answer.
* fd N: ONE JSON document with the raw outputs, keyed by exactly the call ids received,
  bounded in bytes and values (``result_budget`` of the request).  Scoring happens
  outside, and nothing here is trusted: everything in this process is the submission's
  to change (this harness's state and code included), so the grader counts a call only
  when its outcome carries a value it checks itself; "skipped" or a missing document
  means "not run", never "passed".
* fd M: ``+ready`` once confined, ``+loaded`` after the import, then the id of each call
  as it starts, one per line, so that when the process dies the grader knows which
  input killed it.  Never used for scores.
* stdout/stderr: the student's prints, counted and discarded here (the grader caps what
  reaches it through the descriptors as well).

Order: read the request, drop every other descriptor, install Landlock (where the
kernel has it) and the seccomp filter, check the filter is live, forget the modules the
harness used for that, then load the submission by path and call its functions.
Confinement happens before any student code runs, or the submission does not run.

Over 600 lines on purpose: it is one file bound read-only into the sandbox and run
there alone, so it cannot be split into modules that import each other (nothing of the
grader is importable inside).
"""

from __future__ import annotations

import _json
import _signal
import datetime
import decimal
import io
import marshal
import os
import sys
import time

PROTOCOL = 1
MAX_DEPTH = 32
MAX_NODES_PER_VALUE = 100_000
#: Characters of text (strings, Decimal digits, big integers) one returned value may carry:
#: a 40 MB string is refused before it is encoded, never copied into the result.
MAX_CHARS_PER_VALUE = 256 * 1024
#: Bytes of JSON one call's outcome may take on the result channel.
MAX_BYTES_PER_VALUE = 512 * 1024
#: What all the outcomes of one run may take together, unless the request says less
#: (the grader sends its own figures, below what it accepts back: see ``runner``).
MAX_NODES_TOTAL = 300_000
MAX_BYTES_TOTAL = 6 << 20
MAX_MESSAGE = 2000
#: Address space held back while the submission runs and released before the result is
#: encoded, so that a submission which used up the address-space limit (memory, thread
#: stacks) still gets its result reported.  Untouched, it costs no resident memory.
RESERVE_BYTES = 32 << 20
#: The exit status when even the released reserve was not enough to encode the result.
EXIT_NO_MEMORY = 86

# -- the value codec: Python values <-> JSON, keeping the types a grader must check ------
#
# Tagged single-key objects carry what JSON cannot: {"$dt": iso} datetime, {"$date": iso},
# {"$dec": "7.50"} Decimal, {"$float": "7.0"}, {"$tuple": [...]}, {"$set": [...]},
# {"$map": [[k, v], ...]} for a dict whose keys are not all plain strings, and
# {"$obj": "TypeName", "repr": "..."} for anything else (reported as a wrong type).
# Containers are walked with the base types' own methods, so no student override runs.


class TooLarge(Exception):
    """A returned value too deep or too big to send back."""


def encode(value, _budget=None):
    """A JSON-able form of ``value`` that :func:`decode` turns back into the same types.

    ``_budget`` is ``[nodes, characters]`` left (both decremented as the value is walked);
    :class:`TooLarge` when either runs out."""
    budget = _budget if _budget is not None else [MAX_NODES_PER_VALUE, MAX_CHARS_PER_VALUE]
    return _encode(value, 0, budget, set())


def _text(budget, n):
    """Charge ``n`` characters of text to the budget."""
    budget[1] -= n
    if budget[1] < 0:
        raise TooLarge(f"more than {MAX_CHARS_PER_VALUE} characters of text")


_PLAIN = frozenset({str, int, bool, type(None)})
_BIG = 10**300
_DT, _DATE, _DEC = datetime.datetime, datetime.date, decimal.Decimal


def _encode(value, depth, budget, seen):
    budget[0] -= 1
    if budget[0] < 0:
        raise TooLarge(f"more than {MAX_NODES_PER_VALUE} values")
    cls = type(value)
    # Exact built-in types first (no student method can run on them), then subclasses.
    if cls in _PLAIN:
        if cls is str:
            _text(budget, len(value))
        elif cls is int and not -_BIG < value < _BIG:  # past Python's int-to-str digit limit
            return {"$obj": "int", "repr": "an int with more than 300 digits"}
        return value
    if cls is _DT:
        return {"$dt": value.isoformat()}
    if cls is _DEC:
        text = str(value)
        _text(budget, len(text))
        return {"$dec": text}
    if depth > MAX_DEPTH:
        raise TooLarge(f"nested deeper than {MAX_DEPTH} levels")
    if cls is dict or cls is list or cls is tuple:
        marker = id(value)
        if marker in seen:
            raise TooLarge("a container that contains itself")
        seen.add(marker)
        depth += 1
        try:
            if cls is list:
                return [_encode(v, depth, budget, seen) for v in value]
            if cls is tuple:
                return {"$tuple": [_encode(v, depth, budget, seen) for v in value]}
            for k in value:
                if type(k) is not str or k[:1] == "$":
                    return {"$map": [[_encode(k, depth, budget, seen), _encode(v, depth, budget, seen)]
                                     for k, v in value.items()]}
            return {k: _encode(v, depth, budget, seen) for k, v in value.items()}
        finally:
            seen.discard(marker)
    return _encode_other(value, depth, budget, seen)


def _encode_other(value, depth, budget, seen):
    """Subclasses of the built-in types, walked with the base types' own methods."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, int):
        return _encode(int.__index__(value), depth, budget, seen)
    if isinstance(value, str):
        text = str.__str__(value)
        _text(budget, len(text))
        return text
    if isinstance(value, float):
        return {"$float": float.__repr__(value)}
    if isinstance(value, decimal.Decimal):
        text = decimal.Decimal.__str__(value)
        _text(budget, len(text))
        return {"$dec": text}
    if isinstance(value, datetime.datetime):
        return {"$dt": datetime.datetime.isoformat(value)}
    if isinstance(value, datetime.date):
        return {"$date": datetime.date.isoformat(value)}
    marker = id(value)
    if marker in seen:
        raise TooLarge("a container that contains itself")
    if isinstance(value, list | tuple | set | frozenset | dict):
        seen.add(marker)
        depth += 1
        try:
            if isinstance(value, list):
                return [_encode(v, depth, budget, seen) for v in list.__iter__(value)]
            if isinstance(value, tuple):
                return {"$tuple": [_encode(v, depth, budget, seen) for v in tuple.__iter__(value)]}
            if isinstance(value, set | frozenset):
                items = set.__iter__(value) if isinstance(value, set) else frozenset.__iter__(value)
                return {"$set": [_encode(v, depth, budget, seen) for v in items]}
            items = list(dict.items(value))
            if all(type(k) is str and not k.startswith("$") for k, _ in items):
                return {k: _encode(v, depth, budget, seen) for k, v in items}
            return {"$map": [[_encode(k, depth, budget, seen), _encode(v, depth, budget, seen)] for k, v in items]}
        finally:
            seen.discard(marker)
    return {"$obj": _type_name(value), "repr": _short_repr(value)}


def decode(data):
    """The Python value of an :func:`encode`-d document (fresh objects on every call)."""
    cls = type(data)
    if cls is list:
        return [decode(v) for v in data]
    if cls is not dict:
        return data
    if len(data) == 1 or (len(data) == 2 and "$obj" in data):
        tag = next(iter(data))
        if tag[:1] == "$":
            raw = data[tag]
            if tag == "$dt":
                return _DT.fromisoformat(raw)
            if tag == "$dec":
                return _DEC(raw)
            if tag == "$tuple":
                return tuple([decode(v) for v in raw])
            if tag == "$map":
                return {_hashable(decode(k)): decode(v) for k, v in raw}
            if tag == "$float":
                return float(raw)
            if tag == "$date":
                return _DATE.fromisoformat(raw)
            if tag == "$set":
                return {_hashable(decode(v)) for v in raw}
            if tag == "$obj":
                return Opaque(data["$obj"], data.get("repr", ""))
    return {k: decode(v) for k, v in data.items()}


def decode_object(data):
    """:func:`decode` as a ``json.loads`` ``object_hook``: the parser calls it on every
    object, innermost first, so a document is decoded while it is parsed (the grader's
    side; the same values and types as :func:`decode` of the parsed document)."""
    if len(data) == 1 or (len(data) == 2 and "$obj" in data):
        tag = next(iter(data))
        if tag[:1] == "$":
            raw = data[tag]
            if tag == "$dt":
                return _DT.fromisoformat(raw)
            if tag == "$dec":
                return _DEC(raw)
            if tag == "$tuple":
                return tuple(raw)
            if tag == "$map":
                return {_hashable(k): v for k, v in raw}
            if tag == "$float":
                return float(raw)
            if tag == "$date":
                return _DATE.fromisoformat(raw)
            if tag == "$set":
                return {_hashable(v) for v in raw}
            if tag == "$obj":
                return Opaque(data["$obj"], data.get("repr", ""))
    return data


def _hashable(value):
    """A dict key or set member made of a decoded value; what cannot be hashed (a dict, a
    signalling-NaN Decimal) becomes an :class:`Opaque` instead of failing the document."""
    if isinstance(value, list):
        value = tuple(_hashable(v) for v in value)
    elif isinstance(value, dict):
        return Opaque("dict", _short_repr(value))
    elif isinstance(value, set):
        value = frozenset(value)
    try:
        hash(value)
    except Exception:
        return Opaque(type(value).__name__, _short_repr(value))
    return value


class Opaque:
    """A returned object of a type the codec does not carry: only its type name and repr."""

    __slots__ = ("repr", "type_name")

    def __init__(self, type_name: str, text: str) -> None:
        # a forged document may carry anything here; repr() must still give a str
        self.type_name = type_name if type(type_name) is str else "object"
        self.repr = text if type(text) is str else ""

    def __eq__(self, other):
        return isinstance(other, Opaque) and (self.type_name, self.repr) == (other.type_name, other.repr)

    def __hash__(self):
        return hash((self.type_name, self.repr))

    def __repr__(self):
        return self.repr or f"<{self.type_name}>"


def _type_name(value) -> str:
    cls = type(value)
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", "object")
    return name if module in ("builtins", "submission") else f"{module}.{name}"


def _short_repr(value) -> str:
    try:
        text = repr(value)
    except BaseException:  # a student's __repr__ may raise anything
        text = None
    return text[:200] if isinstance(text, str) else f"<{_type_name(value)}>"


def _refuse(value):
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


_DUMP = _json.make_encoder(None, _refuse, _json.encode_basestring_ascii, None, ":", ",", False, False, False)


def dumps(document) -> bytes:
    """JSON of the plain data :func:`encode` produces (the C encoder, without importing ``json``)."""
    return "".join(_DUMP(document, 0)).encode("ascii")


# -- confinement -------------------------------------------------------------------------

class ConfinementError(Exception):
    """A layer that must be in place could not be installed: the submission is not run."""


def install_seccomp(program: bytes) -> None:
    """Install the classic-BPF filter with ``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)``."""
    import ctypes

    if not program or len(program) % 8:
        raise ConfinementError("empty or malformed seccomp program")
    libc = ctypes.CDLL(None, use_errno=True)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    code = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.addressof(code))
    ulong = ctypes.c_ulong
    if libc.prctl(ctypes.c_int(38), ulong(1), ulong(0), ulong(0), ulong(0)) != 0:  # PR_SET_NO_NEW_PRIVS
        raise ConfinementError(f"PR_SET_NO_NEW_PRIVS failed: {os.strerror(ctypes.get_errno())}")
    # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    if libc.prctl(ctypes.c_int(22), ulong(2), ctypes.cast(ctypes.pointer(fprog), ctypes.c_void_p),
                  ulong(0), ulong(0)) != 0:
        raise ConfinementError(f"seccomp filter rejected: {os.strerror(ctypes.get_errno())}")
    # The filter denies execve with EPERM; without it this path fails with ENOENT.
    try:
        os.execve("/nonexistent-streamgrade-probe", ["x"], {})
    except PermissionError:
        return
    except OSError as exc:
        raise ConfinementError(f"seccomp filter not in effect (execve gave {exc.strerror})") from None
    raise ConfinementError("seccomp filter not in effect")


_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LL_EXECUTE, _LL_WRITE_FILE, _LL_READ_FILE, _LL_READ_DIR = 1, 2, 4, 8
_LL_TRUNCATE, _LL_IOCTL_DEV = 1 << 14, 1 << 15


def install_landlock(read_paths, write_paths) -> int:
    """Restrict the file system to ``read_paths`` (read, execute) and ``write_paths``.

    Returns the ABI version used, 0 when the kernel has no Landlock (nothing installed).
    """
    import ctypes
    import struct

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long

    def syscall(*args):
        return libc.syscall(*args)

    abi = syscall(ctypes.c_long(_LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return 0
    fs_all = (1 << 13) - 1
    if abi >= 2:
        fs_all |= 1 << 13  # REFER
    if abi >= 3:
        fs_all |= _LL_TRUNCATE
    if abi >= 5:
        fs_all |= _LL_IOCTL_DEV
    net_all = 3 if abi >= 4 else 0  # BIND_TCP | CONNECT_TCP: no TCP at all
    scoped = 3 if abi >= 6 else 0  # abstract unix sockets and signals stay inside the domain
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    attr = ctypes.create_string_buffer(struct.pack("=QQQ", fs_all, net_all, scoped)[:size], size)
    ruleset = syscall(ctypes.c_long(_LANDLOCK_CREATE_RULESET), attr, ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise ConfinementError(f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}")
    file_rights = _LL_EXECUTE | _LL_WRITE_FILE | _LL_READ_FILE | (_LL_TRUNCATE if abi >= 3 else 0)
    try:
        for paths, wanted in ((read_paths, _LL_EXECUTE | _LL_READ_FILE | _LL_READ_DIR), (write_paths, fs_all)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    is_dir = (os.fstat(fd).st_mode & 0o170000) == 0o040000
                    rights = wanted if is_dir else wanted & file_rights
                    rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
                    if syscall(ctypes.c_long(_LANDLOCK_ADD_RULE), ctypes.c_int(ruleset), ctypes.c_int(1), rule,
                               ctypes.c_uint32(0)) != 0:
                        raise ConfinementError(f"landlock_add_rule({path}) failed: {os.strerror(ctypes.get_errno())}")
                finally:
                    os.close(fd)
        if syscall(ctypes.c_long(_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise ConfinementError(f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)
    return int(abi)


def close_other_fds(keep) -> None:
    """Close every descriptor but ``keep`` (the sandbox may have inherited more)."""
    low = 0
    for fd in [*sorted(set(keep)), 1 << 20]:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1


# -- running student code ----------------------------------------------------------------

class CallTimeout(BaseException):
    """Raised by SIGALRM in the middle of a call that ran past its budget."""


class CpuLimit(BaseException):
    """Raised by SIGXCPU: the process is near its CPU limit and must stop calling."""


class ForbiddenImport(ImportError):
    """The submission imported a module the sandbox does not offer."""


class _Clock:
    """The deadline of the call running now.  A periodic SIGALRM checks it, so a call
    costs no system call for its timer (there are thousands of calls per run)."""

    deadline: float | None = None
    tick = 0.05
    cpu_exhausted = False


def _on_alarm(signum, frame):
    deadline = _Clock.deadline
    if deadline is not None and time.monotonic() > deadline:
        _Clock.deadline = None
        raise CallTimeout()


def _on_xcpu(signum, frame):
    # The kernel sends SIGXCPU once, at the soft limit, and kills the process a second of
    # CPU later: stop the call that is running, or, between calls (encoding a result,
    # reading the next batch), only note it, so that the harness still reports.
    _Clock.cpu_exhausted = True
    if _Clock.deadline is not None:
        raise CpuLimit()


class _Sink(io.TextIOBase):
    """A student's stdout/stderr: counted, never stored, never shown (hidden inputs could leak)."""

    def __init__(self) -> None:
        self.chars = 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        n = len(text) if isinstance(text, str) else 0
        self.chars += n
        return n


class _ImportGuard:
    """A ``sys.meta_path`` finder refusing the forbidden modules when the submission's own
    code imports them.

    A message, not a boundary: the seccomp filter and the namespaces are what stop a
    module imported some other way.
    """

    def __init__(self, forbidden, submission_path: str) -> None:
        self.forbidden = frozenset(forbidden)
        self.submission_path = submission_path

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in self.forbidden:
            return None
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            frame = frame.f_back
        if frame is not None and frame.f_code.co_filename == self.submission_path:
            raise ForbiddenImport(name)
        return None

    def invalidate_caches(self):
        pass


class Harness:
    """One run: confinement, the submission's import, then every call."""

    def __init__(self, request: dict, result_fd: int, progress_fd: int) -> None:
        self.request = request
        self.result_fd = result_fd
        self.progress_fd = progress_fd
        sub = request.get("submission") or {}
        self.path = sub.get("path", "/sandbox/submission.py")
        self.display = sub.get("display_name", "submission.py")
        self.call_timeout = float(request.get("call_timeout_s", 2.0))
        self.import_timeout = float(request.get("import_timeout_s", 2.0))
        self.stdout = _Sink()
        self.stderr = _Sink()
        self.module = None
        self.lines: list[str] = []
        self.confinement: dict = {}

    def confine(self) -> None:
        landlock = self.request.get("landlock")
        if landlock:
            self.confinement["landlock"] = install_landlock(landlock.get("read", ()), landlock.get("write", ()))
        program = self.request.get("seccomp")
        if program is None:
            raise ConfinementError("the request carries no seccomp program")
        install_seccomp(bytes.fromhex(program))
        self.confinement["seccomp"] = True
        for name in list(sys.modules):
            if name.partition(".")[0] in ("ctypes", "_ctypes"):
                del sys.modules[name]

    def load(self) -> dict:
        """Import the submission by path; the outcome as a plain dict."""
        guard = _ImportGuard(self.request.get("forbidden_imports", ()), self.path)
        sys.meta_path.insert(0, guard)
        for name in list(sys.modules):
            if name.partition(".")[0] in guard.forbidden:
                del sys.modules[name]
        sys.stdout, sys.stderr = self.stdout, self.stderr
        sys.stdin = None
        _signal.signal(_signal.SIGALRM, _on_alarm)
        _signal.signal(_signal.SIGXCPU, _on_xcpu)
        _Clock.tick = min(0.05, self.call_timeout / 4, self.import_timeout / 4)
        _signal.setitimer(_signal.ITIMER_REAL, _Clock.tick, _Clock.tick)
        try:
            with open(self.path, "rb") as f:
                source = f.read()
            self.lines = source.decode("utf-8", "replace").splitlines()
            code = compile(source, self.path, "exec", dont_inherit=True)
            module = type(sys)("submission")
            module.__file__ = self.path
            sys.modules["submission"] = module
            _Clock.deadline = time.monotonic() + self.import_timeout
            try:
                exec(code, module.__dict__)
            finally:
                _Clock.deadline = None
        except SyntaxError as exc:
            return {"ok": False, "kind": "syntax_error", "message": self._syntax_message(exc)}
        except ForbiddenImport as exc:
            line = self._student_line(exc)
            where = f"{self.display} line {line}: " if line else f"{self.display}: "
            return {"ok": False, "kind": "forbidden_import", "module": exc.args[0],
                    "message": f"{where}import of {exc.args[0]!r} is not allowed in the sandbox"}
        except CallTimeout:
            return {"ok": False, "kind": "timeout",
                    "message": f"importing {self.display} took longer than {self.import_timeout:g} s"}
        except CpuLimit:
            return {"ok": False, "kind": "cpu", "message": f"importing {self.display} used up the CPU time limit"}
        except MemoryError as exc:
            return {"ok": False, "kind": "memory",
                    "message": f"importing {self.display} ran out of memory" + self._where(exc)}
        except (ValueError, UnicodeDecodeError) as exc:
            return {"ok": False, "kind": "syntax_error", "message": f"{self.display}: {_safe_str(exc)}"}
        except BaseException as exc:
            kind = "missing_module" if isinstance(exc, ModuleNotFoundError) else "exception"
            return {"ok": False, "kind": kind, "message": f"importing {self.display} raised " + self.describe(exc)}
        self.module = module
        return {"ok": True}

    def _syntax_message(self, exc: SyntaxError) -> str:
        text = (exc.text or "").rstrip("\n")
        head = f"{self.display} line {exc.lineno}: {type(exc).__name__}: {exc.msg}"
        if text.strip():
            caret = " " * max((exc.offset or 1) - 1 - (len(text) - len(text.lstrip())), 0) + "^"
            head += f"\n    {text.strip()}\n    {caret}"
        return head[:MAX_MESSAGE]

    def _student_frames(self, exc: BaseException) -> list[tuple[int, str]]:
        """(line, function) of each traceback entry in the submission's own file."""
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename == self.path:
                frames.append((tb.tb_lineno, code.co_name))
            tb = tb.tb_next
        return frames

    def _student_line(self, exc: BaseException):
        frames = self._student_frames(exc)
        return frames[-1][0] if frames else None

    def _where(self, exc) -> str:
        line = self._student_line(exc) if exc is not None else None
        return f" ({self.display} line {line})" if line else ""

    def describe(self, exc: BaseException) -> str:
        """``KeyError: 'amount'`` and only the student's own traceback lines."""
        lines = [_exception_line(exc)]
        frames = self._student_frames(exc)
        if frames:
            lines.append("Traceback (your code only):")
            for lineno, name in frames[-8:]:
                lines.append(f'  File "{self.display}", line {lineno}, in {name}')
                if 0 < lineno <= len(self.lines) and self.lines[lineno - 1].strip():
                    lines.append(f"    {self.lines[lineno - 1].strip()[:200]}")
        return "\n".join(lines)[:MAX_MESSAGE]

    def functions(self, names) -> dict:
        found = {}
        for name in names:
            value = self.module.__dict__.get(name) if self.module is not None else None
            if value is None:
                found[name] = "missing"
            elif callable(value):
                found[name] = "function"
            else:
                found[name] = f"not callable: {_type_name(value)}"
        return found

    def begin_calls(self) -> None:
        budget = self.request.get("result_budget") or {}
        self.found: dict = {}  # function -> "function", "missing" or "not callable: T"
        self.results: dict = {}  # call id -> its outcome as JSON bytes, as the document carries it
        self.stopped: dict = {}  # function -> why its remaining calls are skipped
        self.total = [int(budget.get("nodes", MAX_NODES_TOTAL)), MAX_CHARS_PER_VALUE]
        self.bytes_left = int(budget.get("bytes", MAX_BYTES_TOTAL))
        self.halted = None  # why no later call runs at all: "cpu" or "too_large_total"

    def run_batch(self, calls) -> None:
        """Run one batch; what stops calls (a timeout, the CPU limit, the size budget)
        carries over to the batches after it, as if they were one list.

        Every outcome is written to JSON at once and charged to the run's byte budget, so
        the document stays bounded whatever the submission returns.  A skipped call is
        only ever "not run": the grader reruns it elsewhere or counts it as failed."""
        new = sorted({c["function"] for c in calls} - self.found.keys())
        if new:
            self.found.update(self.functions(new))
        functions, results, stopped, total = self.found, self.results, self.stopped, self.total
        for call in calls:
            cid, name = call["id"], call["function"]
            if functions.get(name) != "function":
                outcome = {"status": "not_defined"}
            elif _Clock.cpu_exhausted and not self.halted:
                self.halted = "cpu"
                outcome = {"status": "skipped", "reason": "cpu"}
            elif self.halted or name in stopped:
                outcome = {"status": "skipped", "reason": self.halted or stopped[name]}
            else:
                self.progress(cid)
                outcome = self._call(self.module.__dict__[name], call, total)
                if outcome["status"] in ("cpu", "too_large_total"):
                    self.halted = outcome["status"]
                elif outcome["status"] == "timeout":
                    stopped[name] = outcome["status"]
            results[cid] = self._charge(outcome)

    def _charge(self, outcome) -> bytes:
        """The outcome as JSON, within the per-value and the run's byte budget."""
        try:
            fragment = dumps(outcome)
        except Exception:
            fragment = dumps({"status": "raised", "error": "an outcome that could not be written"})
        if len(fragment) > MAX_BYTES_PER_VALUE:
            fragment = dumps({"status": "too_large", "error": f"{len(fragment)} bytes of JSON, more than "
                                                              f"{MAX_BYTES_PER_VALUE}"})
        if len(fragment) > self.bytes_left:
            self.halted = "too_large_total"
            fragment = dumps({"status": "too_large_total", "error": "the values returned so far fill the "
                                                                    "result's size limit"})
        self.bytes_left -= len(fragment)
        return fragment

    def calls_report(self) -> dict:
        return {"functions": self.found}

    def _call(self, fn, call, total) -> dict:
        try:
            args = decode(call.get("args", []))
            _Clock.deadline = time.monotonic() + self.call_timeout
            try:
                if call.get("fold"):
                    value = self._fold(fn, args, total)
                else:
                    returned = fn(*args)
                    value = self._encode_budgeted(returned, total)
            finally:
                _Clock.deadline = None
            return {"status": "ok", "value": value}
        except CallTimeout:
            return {"status": "timeout", "limit_s": self.call_timeout}
        except CpuLimit:
            return {"status": "cpu"}
        except TooLarge as exc:
            return {"status": "too_large_total" if total[0] <= 0 or self.bytes_left <= 0 else "too_large",
                    "error": str(exc)}
        except _FoldReturn as exc:
            return {"status": "bad_fold_return", "step": exc.step, "value": exc.value}
        except MemoryError as exc:
            return {"status": "memory", "error": "MemoryError" + self._where(exc)}
        except BaseException as exc:  # SystemExit, KeyboardInterrupt and any student exception
            _Clock.deadline = time.monotonic() + 1.0  # its __str__ is student code too
            try:
                return {"status": "raised", "error": self.describe(exc)}
            except BaseException:
                return {"status": "raised", "error": "an exception that could not be described"}
            finally:
                _Clock.deadline = None

    def _encode_budgeted(self, value, total):
        budget = [min(MAX_NODES_PER_VALUE, total[0]), MAX_CHARS_PER_VALUE]
        before = budget[0]
        try:
            return encode(value, budget)
        finally:
            total[0] -= before - budget[0]

    def _fold(self, fn, args, total):
        """``state = fn(state, item)`` over the items (a function may instead mutate the
        state and return None); the state after each step, encoded."""
        state, items = args
        snapshots = []
        for step, item in enumerate(items):
            returned = fn(state, item)
            if returned is not None:
                if not isinstance(returned, dict):
                    raise _FoldReturn(step, self._encode_budgeted(returned, total))
                state = returned
            snapshots.append(self._encode_budgeted(state, total))
        return snapshots

    def progress(self, marker: str) -> None:
        try:  # noqa: SIM105 (contextlib would cost start-up time in every sandbox)
            os.write(self.progress_fd, f"{marker}\n".encode())
        except OSError:
            pass

    def write_document(self, document: dict, results: dict | None = None) -> None:
        """The one result document; ``results`` maps call ids to outcomes already in JSON."""
        document = {"protocol": PROTOCOL, "python": sys.version.split()[0], **document,
                    "confinement": self.confinement,
                    "output": {"stdout_chars": self.stdout.chars, "stderr_chars": self.stderr.chars}}
        data = dumps(document)
        if results is not None:
            body = b",".join(dumps(str(cid)) + b":" + fragment for cid, fragment in results.items())
            data = data[:-1] + b',"results":{' + body + b"}}"
        view = memoryview(data)
        while view:
            view = view[os.write(self.result_fd, view):]
        os.close(self.result_fd)


class _FoldReturn(Exception):
    def __init__(self, step: int, value) -> None:
        super().__init__(step)
        self.step = step
        self.value = value


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)[:MAX_MESSAGE]
    except BaseException:
        return type(exc).__name__


def _exception_line(exc: BaseException) -> str:
    """``KeyError: 'amount'`` as the traceback module writes it, without importing it."""
    name = _type_name(exc)
    text = _safe_str(exc)
    return (f"{name}: {text}" if text else name)[:500]


# -- probing -----------------------------------------------------------------------------

#: Host paths a confined process must not see (a sample: the grader's, the system's).
HOST_PATHS = ("/etc/passwd", "/etc", "/root", "/home", "/work", "/var", "/proc/1", "/sys/fs", "/run", "/srv", "/opt")


def probe_checks() -> dict:
    """What a confined process can and cannot do, for the grader's layer probe."""
    import errno
    import resource
    import socket
    import threading

    def attempt(action):
        try:
            action()
        except OSError as exc:
            return errno.errorcode.get(exc.errno, str(exc.errno))
        except BaseException as exc:
            return type(exc).__name__
        return "allowed"

    def fork():
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)

    def thread():
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()

    def write(path):
        with open(path, "w") as f:
            f.write("x")

    limits = {}
    for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_STACK", "RLIMIT_NOFILE", "RLIMIT_FSIZE",
                 "RLIMIT_CORE"):
        soft, hard = resource.getrlimit(getattr(resource, name))
        limits[name] = [soft, hard]
    return {
        "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
        "pid": os.getpid(), "ppid": os.getppid(),
        "fork": attempt(fork),
        "exec": attempt(lambda: os.execv("/usr/bin/true", ["true"])),
        "socket": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()),
        "thread": attempt(thread),
        "setuid_root": attempt(lambda: os.setuid(0)),
        "read_etc_passwd": attempt(lambda: open("/etc/passwd").close()),
        "write_root": attempt(lambda: write("/streamgrade-probe")),
        "write_tmp": attempt(lambda: write(os.path.join(os.environ.get("TMPDIR", "/tmp"), "streamgrade-probe"))),
        "host_paths_visible": [p for p in HOST_PATHS if os.path.exists(p)],
        "rlimits": limits,
    }


# -- entry point -------------------------------------------------------------------------

def _parse_fds(argv) -> tuple[int, int]:
    fds = dict(zip(argv[::2], argv[1::2], strict=False))
    return int(fds["--result-fd"]), int(fds["--progress-fd"])


def read_frame(fd: int = 0):
    """One length-prefixed marshal frame from ``fd`` (None at end of input)."""
    head = _read_exactly(fd, 8)
    if len(head) < 8:
        return None
    return marshal.loads(_read_exactly(fd, int.from_bytes(head, "big")))


def _read_exactly(fd: int, n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def main(argv=None) -> None:
    result_fd, progress_fd = _parse_fds(sys.argv[1:] if argv is None else argv)
    request = read_frame(0)
    close_other_fds((0, 1, 2, result_fd, progress_fd))
    harness = Harness(request, result_fd, progress_fd)
    try:
        harness.confine()
    except BaseException as exc:
        harness.write_document({"fatal": f"confinement failed: {_safe_str(exc)}"})
        os._exit(3)
    harness.progress("+ready")
    if request.get("mode") == "probe":
        harness.write_document({"probe": probe_checks()})
        os._exit(0)
    reserve = bytes(RESERVE_BYTES)  # calloc: mapped, never touched (bytearray would write it)
    imported = harness.load()
    harness.progress("+loaded")
    document = {"import": imported}
    results = None
    if imported["ok"]:
        harness.begin_calls()
        while True:
            calls = read_frame(0)
            if calls is None:  # the end marker, or the end of input
                break
            harness.run_batch(calls)
        os.close(0)
        document.update(harness.calls_report())
        results = harness.results
    del reserve
    try:
        harness.write_document(document, results)
    except MemoryError:
        os._exit(EXIT_NO_MEMORY)
    os._exit(0)


if __name__ == "__main__":
    main()

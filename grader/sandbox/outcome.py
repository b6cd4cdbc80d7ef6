"""What a sandboxed run came to: the calls, their raw outcomes, and reading the result document.

Nothing on the result channel is trusted: the document is bounded in bytes and counted
in values before it is parsed, decoded with its types kept, and checked field by field;
anything the harness never writes marks it forged (``RunEnd.CORRUPT``).  Scoring happens
elsewhere (:mod:`grader.python`).
"""

from __future__ import annotations

import enum
import json
import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grader.sandbox import harness as codec
from grader.sandbox.settings import SandboxSettings, Tier

#: Call statuses the harness may report; anything else marks the document as forged.
CALL_STATUSES = frozenset({
    "ok", "raised", "timeout", "memory", "cpu", "not_defined", "skipped", "too_large",
    "too_large_total", "bad_fold_return",
})


#: The types of the details an outcome may carry (``error`` is a str); anything else is forged.
_DETAIL_TYPES = {"limit_s": (float, int), "reason": (str,), "step": (int,)}


class SandboxFailure(RuntimeError):
    """The sandbox itself did not start (a grader-side problem, never the student's)."""


@dataclass(frozen=True)
class Call:
    """One call of a submission's function; ``fold`` calls ``state = f(state, item)`` over items.

    ``args`` are Python values; ``encoded`` may carry them already in the codec's form
    (callers that build many calls produce it directly, which is faster).
    """

    id: str
    function: str
    args: tuple = ()
    fold: bool = False
    encoded: list | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        args = self.encoded if self.encoded is not None else codec.encode(list(self.args), [10**9, 10**12])
        return {"id": self.id, "function": self.function, "args": args, "fold": self.fold}


@dataclass(frozen=True)
class CallOutcome:
    """What one call did: a value (decoded, types kept) or why there is none."""

    id: str
    status: str
    value: Any = None
    error: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class RunEnd(enum.StrEnum):
    """How the sandboxed process ended."""

    COMPLETED = "completed"  # a well-formed result document arrived
    TIMEOUT = "timeout"  # the grader's wall clock ran out
    BUDGET = "budget"  # the whole grading's time budget ran out (before this run's own clock)
    OUTPUT_LIMIT = "output_limit"  # too much on stdout or stderr
    RESULT_LIMIT = "result_limit"  # the result document was too large
    KILLED = "killed"  # died of a signal (CPU limit, memory cgroup, its own kill)
    EXITED = "exited"  # ended without a result document (os._exit, sys.exit in a thread)
    CORRUPT = "corrupt"  # a document arrived but not one the harness writes


@dataclass(frozen=True)
class SandboxRun:
    """The raw outcome of one sandboxed process; scoring happens elsewhere."""

    tier: Tier
    end: RunEnd
    detail: str = ""
    imported: Mapping[str, Any] | None = None
    functions: Mapping[str, str] = field(default_factory=dict)
    outcomes: Mapping[str, CallOutcome] = field(default_factory=dict)
    started: tuple[str, ...] = ()
    wall_s: float = 0.0
    python: str | None = None
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    stderr_tail: str = ""
    confinement: Mapping[str, Any] = field(default_factory=dict)
    probe: Mapping[str, Any] | None = None

    @property
    def completed(self) -> bool:
        return self.end is RunEnd.COMPLETED

    @property
    def last_started(self) -> str | None:
        """The call that was running when the process died (None when it completed)."""
        calls = [s for s in self.started if not s.startswith("+")]
        return calls[-1] if calls and not self.completed else None


@dataclass
class Capture:
    name: str
    cap: int
    keep: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0

    def add(self, data: bytes) -> bool:
        """Record ``data``; False once the cap is passed."""
        if self.size < self.keep:
            self.chunks.append(data[: self.keep - self.size])
        self.size += len(data)
        return self.size <= self.cap

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def interpret(settings: SandboxSettings, tier: Tier, stop: RunEnd | None, returncode: int,
               captures: dict[str, Capture], call_ids: Sequence[str] | None, wall: float, oom: bool,
               probing: bool = False) -> SandboxRun:
    """What the process's end means.  Every ``detail`` is a clause that reads after "it was
    running when" or "importing the file failed:"."""
    stderr = captures["stderr"].data.decode("utf-8", "replace")
    started = tuple(line for line in captures["progress"].data.decode("ascii", "replace").splitlines() if line)
    common = {
        "tier": tier, "started": started, "wall_s": wall, "stdout_bytes": captures["stdout"].size,
        "stderr_bytes": captures["stderr"].size, "stderr_tail": stderr[-4000:],
    }
    if "+ready" not in started and stop is None and not captures["result"].size:
        raise SandboxFailure(f"the sandbox did not start (exit status {returncode}): {stderr.strip()[-500:]}")
    if stop is not None:
        return SandboxRun(end=stop, detail=_stop_detail(stop, settings), **common)
    raw = captures["result"].data
    if not raw:
        signum = _signal_of(returncode)
        if signum is not None:
            name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
            why = f"the memory limit ({settings.memory_bytes >> 20} MiB)" if oom else {
                signal.SIGKILL: f"SIGKILL (the CPU time limit of {settings.cpu_s} s, or the memory limit)",
                signal.SIGSEGV: "a crash (segmentation fault)",
                signal.SIGXCPU: f"the CPU time limit ({settings.cpu_s} s)",
            }.get(signum, f"signal {name}")
            return SandboxRun(end=RunEnd.KILLED, detail=f"the process was killed by {why}", **common)
        if returncode == codec.EXIT_NO_MEMORY:  # a submission could exit so itself: it only gets this message
            return SandboxRun(end=RunEnd.EXITED, detail=f"the process had used up its memory limit "
                              f"({settings.memory_bytes >> 20} MiB of address space, thread stacks included) and "
                              "could not report", **common)
        return SandboxRun(end=RunEnd.EXITED, detail=f"the process ended (exit status {returncode}) without reporting "
                          "(os._exit, or sys.exit outside a function call?)", **common)
    nodes = count_values(raw, settings.result_nodes)
    if nodes > settings.result_nodes:
        return SandboxRun(end=RunEnd.CORRUPT, detail=f"the submission wrote to the grader's result channel (a "
                          f"document of more than {settings.result_nodes} values, more than the harness ever "
                          "writes); everything on it is rejected", **common)
    try:
        # values are decoded as the document is parsed (tagged objects, innermost first)
        document = json.loads(raw, object_hook=codec.decode_object)
        return _from_document(document, call_ids, common, ready="+ready" in started, probing=probing)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:  # not SandboxFailure
        return SandboxRun(end=RunEnd.CORRUPT, detail=f"the submission wrote to the grader's result channel ({exc}); "
                          "everything on it is rejected", **common)


#: A JSON string (the harness writes ASCII, every other character escaped).
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def count_values(raw: bytes, limit: int) -> int:
    """An upper bound of the values a JSON document holds, found without parsing it: every
    value but the first follows a ``,`` or opens a container (a key shares its value's
    comma).  Brackets and commas inside strings count too, unless the quick count passes
    ``limit``; then the strings are taken out first.  Enough to refuse a document of
    millions of ``{}`` before ``json.loads`` builds them (a forged one took the grader to
    1.6 GiB), at a few milliseconds for the largest document accepted."""
    quick = raw.count(b",") + raw.count(b"{") + raw.count(b"[") + 1
    if quick <= limit:
        return quick
    bare = _JSON_STRING.sub(b"", raw)
    return bare.count(b",") + bare.count(b"{") + bare.count(b"[") + 1


def _signal_of(returncode: int) -> int | None:
    if returncode < 0:
        return -returncode
    if returncode > 128:  # bwrap reports a signalled child as 128 + signal
        return returncode - 128
    return None


def _stop_detail(stop: RunEnd, settings: SandboxSettings) -> str:
    return {
        RunEnd.TIMEOUT: f"the grader's wall clock ran out ({settings.wall_clock_s:g} s for all the calls together)",
        RunEnd.BUDGET: f"the time budget of the whole grading ran out ({settings.budget_s:g} s for one submission, "
                       "reruns included)",
        RunEnd.OUTPUT_LIMIT: f"the process had written more than {settings.stdout_cap >> 20} MiB to stdout or stderr "
                             "(printed output is discarded anyway)",
        RunEnd.RESULT_LIMIT: f"the returned values passed the size limit ({settings.result_cap >> 20} MiB)",
    }[stop]


def _from_document(document: Any, call_ids: Sequence[str] | None, common: dict, *, ready: bool,
                   probing: bool) -> SandboxRun:
    if not isinstance(document, dict) or document.get("protocol") != codec.PROTOCOL:
        raise ValueError("not a harness document")
    # Before "+ready" no student code has run: a "fatal" then is the harness's own.  After
    # it, a "fatal" (or a probe report outside a probe) can only be forged.
    if "fatal" in document and not ready:
        raise SandboxFailure(f"the harness could not confine the submission: {document['fatal']}")
    if "fatal" in document or ("probe" in document) != probing:
        raise ValueError("a report of another kind than requested")
    confinement = document.get("confinement") or {}
    python = document.get("python")
    if probing:
        return SandboxRun(end=RunEnd.COMPLETED, probe=document["probe"], confinement=confinement, python=python,
                          **common)
    imported = document["import"]
    if not isinstance(imported, dict) or not isinstance(imported.get("ok"), bool):
        raise ValueError("malformed import report")
    outcomes: dict[str, CallOutcome] = {}
    functions: dict[str, str] = {}
    if imported["ok"]:
        results = document["results"]
        functions = {str(k): str(v) for k, v in document["functions"].items()}
        if call_ids is not None and set(results) != set(call_ids):
            raise ValueError("the set of call ids differs from the request")
        for cid, raw in results.items():
            status = raw["status"]
            if status not in CALL_STATUSES:
                raise ValueError(f"unknown status {status!r}")
            value = raw.get("value")  # decoded by the parser
            error = raw.get("error")
            detail = {k: v for k, v in raw.items() if k in _DETAIL_TYPES}
            if (error is not None and type(error) is not str) \
                    or any(type(v) not in _DETAIL_TYPES[k] for k, v in detail.items()):
                raise ValueError(f"malformed outcome of {cid}")
            outcomes[cid] = CallOutcome(cid, status, value, error, detail)
    return SandboxRun(end=RunEnd.COMPLETED, imported=imported, functions=functions, outcomes=outcomes,
                      confinement=confinement, python=python, **common)

"""Benchmark of grading one Python submission in the sandbox.

Per-submission wall time of the correct example (``submissions/examples/python/correct.py``):
the sheet's test plus the hidden generated streams (200 by default), every call batched
into one sandboxed process.  Measured in the same run, for scale: a bare
``sys.executable -I -S -c pass`` process, and one sandboxed run of a single call (the
fixed cost of the layers).  Two per-submission figures: a fresh seed every time (the
hidden suite is generated and answered by the engine for each submission, as for every
new file: seeds are derived from the student and the file's bytes, in batch and service
alike) and a repeated seed (the suite is cached: the same file graded again, a replay or
a regrade).  Medians over interleaved repetitions, so that load on the machine affects
all alike.

The last line printed is one JSON object:
``{"per_submission_s", "bare_python_s", "hidden_streams", ...}``.  Target: per
submission <= 0.2 s.

    python bench/sandbox.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.python.exercise import load_python_exercise  # noqa: E402
from grader.python.grade import grade_python  # noqa: E402
from grader.sandbox import Call, Sandbox  # noqa: E402

CORRECT = ROOT / "submissions" / "examples" / "python" / "correct.py"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="repetitions of each measurement")
    args = parser.parse_args(argv)

    box = Sandbox()
    started = time.perf_counter()
    report = box.require()
    probe_s = time.perf_counter() - started
    exercise = load_python_exercise()
    source = CORRECT.read_bytes()
    print(f"sandbox tier {report.tier.value}, interpreter {report.interpreter.path} "
          f"(Python {report.interpreter.version}); probe {probe_s * 1000:.0f} ms")
    print("layers: " + ", ".join(x.name for x in report.layers if x.ok)
          + ("; missing: " + ", ".join(x.name for x in report.layers if not x.ok)
             if any(not x.ok for x in report.layers) else ""))

    # warm up: imports, the engine, the interpreter's page cache
    grade_python(source, "correct.py", None, seed=1, sandbox=box, exercise=exercise)

    bare, trivial, fresh, cached = [], [], [], []
    breakdown: list[dict] = []
    calls = 0
    for i in range(args.repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t)

        t = time.perf_counter()
        box.run(b"def f():\n    return 1\n", "trivial.py", [Call("c1", "f")])
        trivial.append(time.perf_counter() - t)

        t = time.perf_counter()
        result = grade_python(source, "correct.py", None, seed=1000 + i, sandbox=box, exercise=exercise)
        fresh.append(time.perf_counter() - t)
        assert result.score == result.max_score, result.to_dict()
        breakdown.append(result.meta["timings"])
        calls = sum(t["asked"] for t in result.meta["tests"].values())

        t = time.perf_counter()
        result = grade_python(source, "correct.py", None, seed=1, sandbox=box, exercise=exercise)
        cached.append(time.perf_counter() - t)
        assert result.score == result.max_score

    streams = exercise.hidden.streams
    print(f"bare {sys.executable} -I -S -c pass: median {_median(bare) * 1000:.1f} ms")
    print(f"one sandboxed call (all layers, fixed cost): median {_median(trivial) * 1000:.1f} ms")
    print(f"correct.py, sheet + {streams} hidden streams ({calls} calls in one sandboxed process):")
    print(f"  fresh seed each time: median {_median(fresh) * 1000:.1f} ms, max {max(fresh) * 1000:.1f} ms")
    for key in ("suite_s", "sandbox_s"):
        print(f"    {key[:-2]}: median {_median([b[key] for b in breakdown]) * 1000:.1f} ms")
    print(f"  cached seed (the same file again): median {_median(cached) * 1000:.1f} ms")
    per_submission = _median(fresh)
    verdict = "meets" if per_submission <= 0.2 else "misses"
    print(f"target 0.2 s per submission: {verdict} it ({per_submission:.3f} s)")
    print(json.dumps({
        "per_submission_s": round(per_submission, 4),
        "bare_python_s": round(_median(bare), 4),
        "hidden_streams": streams,
        "per_submission_cached_seed_s": round(_median(cached), 4),
        "sandbox_fixed_s": round(_median(trivial), 4),
        "calls": calls,
        "tier": report.tier.value,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

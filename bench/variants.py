"""Benchmark of per-student variants: generating one, solving it, grading against it.

For ``--students`` student ids (``bench-0000``, ...), timed one by one in this process:

* ``generate``: :func:`grader.variants.generate.generate_variant` from the student's seed: draw a
  candidate, run the engine four times on it, check every constraint of
  ``variation.yaml``, retry with the next sub-seed when one fails, build the set (the
  issue's target: under 50 ms for one variant);
* ``solve``: :func:`grader.solutions.solve.solve` on the variant's set, every part under every
  profile (a cold cache each time: each variant has its own fingerprint);
* ``grade``: :func:`grader.grading.grade_answers` of that student's correct answers against
  their own variant (first grading of a variant: builds its plan, diagnosis models included).

Baselines, in the same run: loading the base set from YAML (``load``), solving the sheet
(``solve_sheet``) and one engine run of the sheet's seven events (``engine_run``).  Then
:func:`grader.variants.verify.verify_variants` over ``--verify`` variants (0 to skip).  Figures are
p50 / p95 in milliseconds; the last line printed is one JSON object.

    python bench/variants.py [--students 200] [--verify 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.exercises.load import DEFAULT_SET, load_named_set  # noqa: E402
from grader.solutions.solve import solve  # noqa: E402
from grader.variants.declaration import load_variation  # noqa: E402
from grader.variants.generate import generate_variant, variant_seed  # noqa: E402
from grader.variants.verify import verify_variants  # noqa: E402
from reference.config import RunConfig  # noqa: E402
from reference.engine import run as run_engine  # noqa: E402
from reference.windows import Tumbling  # noqa: E402


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else 0.0


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, _ms(time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--verify", type=int, default=200)
    args = parser.parse_args(argv)

    base, load_ms = _timed(load_named_set, DEFAULT_SET)
    variation = load_variation(base)  # parsed and checked once, like a long-running service
    _, solve_sheet_ms = _timed(solve, base)
    ctx = base.context
    config = RunConfig(windows=Tumbling(ctx.window_size), watermark_delay=ctx.watermark_delay,
                       allowed_lateness=ctx.allowed_lateness, profile=ctx.profile)
    engine_runs = [_timed(run_engine, ctx.events, config)[1] for _ in range(50)]

    from grader.grading import grade_answers
    from grader.solutions.render import answer_object

    gen, solve_ms, grade_ms, tries = [], [], [], []
    for i in range(args.students):
        sid = f"bench-{i:04d}"
        seed = variant_seed(variation, sid)
        variant, ms = _timed(generate_variant, base, seed, student_id=sid)
        gen.append(ms)
        tries.append(variant.attempt + 1)
        canonical, ms = _timed(solve, variant.exercise_set)
        solve_ms.append(ms)
        answers = {ex.id: answer_object(ex, canonical[ex.id]) for ex in variant.exercise_set.exercises}
        result, ms = _timed(grade_answers, answers, variant.exercise_set)
        grade_ms.append(ms)
        if result.score != result.max_score:
            raise SystemExit(f"{sid}: own correct answers scored {result.score} of {result.max_score}")

    report = None
    verify_s = 0.0
    if args.verify:
        t0 = time.perf_counter()
        report = verify_variants(base, args.verify, student_prefix="bench-verify-")
        verify_s = round(time.perf_counter() - t0, 2)

    summary = {
        "students": args.students,
        "generate_ms_p50": _pct(gen, 0.5), "generate_ms_p95": _pct(gen, 0.95), "generate_ms_max": max(gen),
        "tries_mean": round(sum(tries) / len(tries), 2), "tries_max": max(tries),
        "solve_ms_p50": _pct(solve_ms, 0.5), "solve_ms_p95": _pct(solve_ms, 0.95),
        "grade_ms_p50": _pct(grade_ms, 0.5), "grade_ms_p95": _pct(grade_ms, 0.95),
        "baseline_load_set_ms": load_ms, "baseline_solve_sheet_ms": solve_sheet_ms,
        "baseline_engine_run_ms_p50": _pct(engine_runs, 0.5),
        "verify_variants": args.verify, "verify_ok": report.ok if report else None,
        "verify_problems": len(report.problems) if report else None,
        "verify_distinct_contexts": report.distinct_contexts if report else None,
        "verify_seconds": verify_s,
        "target_generate_ms": 50,
    }
    print(f"generate one variant: p50 {summary['generate_ms_p50']} ms, p95 {summary['generate_ms_p95']} ms, "
          f"max {summary['generate_ms_max']} ms (tries: mean {summary['tries_mean']}, max {summary['tries_max']})")
    print(f"solve one variant:    p50 {summary['solve_ms_p50']} ms, p95 {summary['solve_ms_p95']} ms")
    print(f"grade own answers:    p50 {summary['grade_ms_p50']} ms, p95 {summary['grade_ms_p95']} ms")
    print(f"baselines: load set {load_ms} ms, solve sheet {solve_sheet_ms} ms, "
          f"one engine run p50 {summary['baseline_engine_run_ms_p50']} ms")
    if report is not None:
        print(report.summary())
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

"""Benchmark of batch grading: generated submissions graded in a process pool, against a cold baseline.

The submissions are generated, never typed in: for every exercise of the set, a
submission answers it with the engine's canonical answer
(``grader.solutions.solve(load_named_set(DEFAULT_SET))``), with the answer of one of the
exercise's recognised mistakes (``solve_part(..., model=mistake.model)`` for a runnable
mistake, the mistake's own ``given`` value otherwise), or not at all.  Answers are
assembled from each part's ``field`` path (``rows``, ``options[*].policy``,
``allowed_lateness_3min.retract``), so a new exercise needs no change here.  The mix is
seeded (``--seed``): about half correct, 40 % mistaken, 10 % missing, per exercise.

Two passes, both through :mod:`grader.batch` with ``--jobs`` worker processes:

* ``batch``: :func:`grader.batch.run.run_batch` over a temporary folder of the submissions,
  end to end (collect, read, hash, grade in chunks, append the resume state), then the
  gradebook CSV and the summary.  Workers warm the canonical-answer caches once.
* ``baseline``: the same pool, but every submission clears the caches first (``cold``
  tasks: ``grader.solutions.cache_clear()`` and the grading plans built on it, see
  :func:`grader.batch.run.clear_grading_caches`), so the engine runs again for every
  submission, as a grader without caching would.  It runs on a smaller sample
  (``--baseline-sample``, default 1 % of the submissions, at least 20); its rate is
  that sample's.

The generated answers repeat (a few dozen distinct answers per exercise), and the
grader remembers part results by value, so most parts are graded from its memo; real
classes repeat numbers and choices but not free text.  ``--respell`` writes half the
values in other accepted spellings (``10:05:00``, ``"7"``, ``At Least Once``), which
must score the same and makes answers repeat less.

CPU time per submission (workers' and this process's, from ``getrusage``) is printed
too: on a shared machine it is steadier than the wall-clock rate.  With ``--repeat N``
the batch pass runs N times and the best is kept (the usual way to keep a shared
machine's noise out of a throughput figure, as ``bench/engine.py`` does).

Target (the issue): batch >= 1,000 submissions/s on 2 cores.

Measured (2026-11-30, 2 vCPUs shared with other jobs, load average 2.5 to 4, jobs=2,
10,000 submissions): batch 1,368 to 1,726 submissions/s (``--repeat 3``; 650 to 890
with the load at 4 to 6), baseline 16 to 27 submissions/s; with ``--respell`` 870 to
950 (same mean score, 78.1).  CPU per submission: workers about 0.55 ms (0.9 ms with
``--respell``), this process about 0.4 ms.  Where a worker's time goes
(``--profile``): about a third in the reader's check of the parsed document
(``grader.submissions.limits.inspect_value``: depth, digits, encodability of every value), then
JSON parsing, the scoring memo's keys and the schema check.  The last line printed is one
JSON object: ``{"batch_sps", "baseline_sps", "submissions", "jobs"}``.

    python bench/grading.py [--submissions 10000] [--jobs 2] [--seed 0] [--baseline-sample N]
                            [--repeat 1] [--respell] [--profile]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import resource
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.attempts import standings  # noqa: E402
from grader.batch.run import IdSource, Task, grade_items, run_batch  # noqa: E402
from grader.batch.state import submission_key  # noqa: E402
from grader.batch.summary import summarize  # noqa: E402
from grader.exercises.load import DEFAULT_SET, load_named_set  # noqa: E402
from grader.exercises.model import AttemptPolicy, ExerciseSet  # noqa: E402
from grader.reports import render_gradebook  # noqa: E402
from grader.solutions.solve import solve, solve_part  # noqa: E402

_LIST_FIELD = re.compile(r"^(\w+)\[\*\]$")


# -- generating submissions ---------------------------------------------------------------------


def place(answer: dict[str, Any], field: str, value: Any) -> None:
    """Put ``value`` at ``field`` in ``answer``: ``a.b`` nests objects, ``a[*].b`` spreads a list over entries.

    For ``a[*].b`` the value is a list, one item per entry; entries already there (from a
    sibling field) are kept and the list is cut to the shorter of the two, so
    ``options[*].policy`` (4 possible) and ``options[*].explanation`` (2 asked) make 2 options.
    """
    head, _, rest = field.partition(".")
    spread = _LIST_FIELD.match(head)
    if spread is None:
        if not rest:
            answer[head] = value
        else:
            place(answer.setdefault(head, {}), rest, value)
        return
    items = list(value) if isinstance(value, list | tuple) else [value]
    entries = answer.setdefault(spread.group(1), [])
    if entries:
        del entries[len(items):]
    else:
        entries.extend({} for _ in items)
    for entry, item in zip(entries, items, strict=False):
        if rest:
            place(entry, rest, item)
        else:  # a list of plain values: nothing to spread into
            answer[spread.group(1)] = items
            return


def variants(exercise_set: ExerciseSet) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Per exercise, its possible answers: ``("correct", answer)`` and ``(mistake code, answer)`` each."""
    canonical = solve(exercise_set)
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for exercise in exercise_set.exercises:
        values = {part.id: canonical[exercise.id][part.id].value for part in exercise.parts}
        options = [("correct", _answer(exercise, values))]
        for mistake in exercise.mistakes:
            wrong = dict(values)
            for part_id in mistake.parts:
                if mistake.runnable:
                    wrong[part_id] = solve_part(exercise_set, exercise.id, part_id, model=mistake.model).value
                else:
                    wrong[part_id] = _plain(mistake.given)
            options.append((mistake.code, _answer(exercise, wrong)))
        out[exercise.id] = options
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _answer(exercise: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for part in exercise.parts:
        place(answer, part.field, _plain(values[part.id]))
    return answer


_TIME = re.compile(r"^\d\d:\d\d$")
_CHOICE = re.compile(r"^[a-z]+(?:[-_][a-z]+)+$|^[a-z]+$")


def respell(value: Any, rng: random.Random) -> Any:
    """``value`` in other spellings the submission format accepts, chosen at random.

    Times ``10:05`` as ``10:05:00`` or ``2024-01-01T10:05:00``, numbers as numeric
    strings, choices (``at-least-once``) in other case and separators; free text, ids
    and keys unchanged.  Used by ``--respell`` so that answers repeat less, as in a real class.
    """
    if isinstance(value, dict):
        return {k: respell(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [respell(v, rng) for v in value]
    if isinstance(value, bool) or rng.random() < 0.5:
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and _TIME.match(value):
        return rng.choice([f"{value}:00", f"2024-01-01T{value}:00"])
    if isinstance(value, str) and len(value) > 1 and _CHOICE.match(value):
        return rng.choice([value.upper(), value.replace("-", " ").replace("_", " ").title(), value.replace("-", "_")])
    return value


def generate(exercise_set: ExerciseSet, count: int, seed: int, *, respelled: bool = False) -> list[tuple[str, bytes]]:
    """``count`` submissions as (file name, JSON bytes), one student each (``respelled``: see :func:`respell`)."""
    rng = random.Random(seed)
    spelling = random.Random(seed + 1)  # its own stream: --respell changes spellings, never which answers
    options = variants(exercise_set)
    out = []
    for n in range(count):
        student = f"s{n:06d}"
        answers: dict[str, Any] = {}
        for exercise_id, choices in options.items():
            roll = rng.random()
            if roll < 0.10:
                continue  # not answered
            if roll < 0.50 and len(choices) > 1:
                _, answer = rng.choice(choices[1:])
            else:
                _, answer = choices[0]
            answers[exercise_id] = respell(answer, spelling) if respelled else answer
        doc = {"student_id": student, "exercise_set": exercise_set.id, "answers": answers}
        out.append((f"{student}.json", json.dumps(doc).encode("utf-8")))
    return out


# -- the passes -----------------------------------------------------------------------------------


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its finished children (the pool's workers, once shut down)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def batch_pass(submissions: list[tuple[str, bytes]], jobs: int, exercise_set: str) -> tuple[float, Any, float, float]:
    """Seconds to grade every submission with :func:`run_batch` and write the gradebook; the summary;
    and the CPU seconds spent by this process and by the workers."""
    with tempfile.TemporaryDirectory(prefix="sg-bench-") as tmp:
        root = Path(tmp) / "class"
        root.mkdir()
        for name, raw in submissions:
            (root / name).write_bytes(raw)
        cpu_self, cpu_children = _cpu()
        started = time.perf_counter()
        outcome = run_batch(root, state_path=Path(tmp) / "grades.csv.state.jsonl", exercise_set=exercise_set,
                            jobs=jobs, progress=False)
        gc.freeze()  # as `streamgrade batch` does before its gradebook and summary
        attempts = outcome.attempts()
        results = {r.source: r.grade_result for r in outcome.graded()}
        kept = standings(attempts, AttemptPolicy.BEST_PER_EXERCISE)
        (Path(tmp) / "grades.csv").write_text(render_gradebook(kept), encoding="utf-8")
        summary = summarize(attempts, results, submissions=len(outcome.records),
                            failed=[r.error for r in outcome.failed], kept=kept)
        elapsed = time.perf_counter() - started
        gc.unfreeze()
        after_self, after_children = _cpu()
        return elapsed, summary, after_self - cpu_self, after_children - cpu_children


def baseline_pass(submissions: list[tuple[str, bytes]], jobs: int, exercise_set: str) -> float:
    """Seconds to grade ``submissions`` in the same pool, every one with the engine's caches cleared."""
    tasks = [Task(submission_key(raw, exercise_set, name), name, raw, 0.0, name, exercise_set, IdSource.PATH,
                  cold=True)
             for name, raw in submissions]
    failed = []

    def on_records(records: list[Any]) -> None:
        failed.extend(r.error for r in records if r is not None and r.status.value == "failed")

    started = time.perf_counter()
    grade_items(tasks, jobs=jobs, total=len(tasks), exercise_set=exercise_set, on_records=on_records)
    elapsed = time.perf_counter() - started
    if failed:
        print(f"baseline: {len(failed)} failed, e.g. {failed[0]}", file=sys.stderr)
    return elapsed


def profile_grading(submissions: list[tuple[str, bytes]], exercise_set: str) -> None:
    """cProfile of :func:`grader.batch.run.grade_task` (what a worker does per submission), warm caches."""
    import cProfile
    import pstats

    from grader.batch.run import grade_task, warm_caches

    warm_caches(exercise_set)
    tasks = [Task(submission_key(raw, exercise_set, name), name, raw, 0.0, name, exercise_set, IdSource.PATH)
             for name, raw in submissions]
    for task in tasks[:20]:
        grade_task(task)
    profiler = cProfile.Profile()
    profiler.enable()
    for task in tasks:
        grade_task(task)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(15)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submissions", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", dest="exercise_set", default=DEFAULT_SET)
    ap.add_argument("--baseline-sample", type=int, default=None,
                    help="submissions graded cold (default: 1%% of --submissions, at least 20)")
    ap.add_argument("--repeat", type=int, default=1, help="run the batch pass N times and keep the best")
    ap.add_argument("--respell", action="store_true",
                    help="write half the values in other accepted spellings (answers repeat less; see respell)")
    ap.add_argument("--profile", action="store_true",
                    help="also profile grading in this process (cProfile, 500 warm submissions, not timed)")
    args = ap.parse_args(argv)

    exercise_set = load_named_set(args.exercise_set)
    t0 = time.perf_counter()
    submissions = generate(exercise_set, args.submissions, args.seed, respelled=args.respell)
    print(f"generated {len(submissions)} submissions in {time.perf_counter() - t0:.2f}s "
          f"({sum(len(r) for _, r in submissions) / len(submissions) / 1024:.1f} KiB each), "
          f"{os.cpu_count()} CPUs, jobs={args.jobs}")

    runs = [batch_pass(submissions, args.jobs, args.exercise_set) for _ in range(max(1, args.repeat))]
    if len(runs) > 1:
        print("batch runs: " + ", ".join(f"{len(submissions) / r[0]:,.0f}/s" for r in runs) + " (the best is kept)")
    seconds, summary, parent_cpu, worker_cpu = min(runs, key=lambda r: r[0])
    batch_sps = len(submissions) / seconds
    means = ", ".join(f"{a.assignment.value} {a.mean:.1f}%" for a in summary.assignments if a.mean is not None)
    print(f"batch:    {len(submissions)} in {seconds:.2f}s = {batch_sps:,.0f} submissions/s "
          f"(mean {means}, "
          f"{summary.failed} failed, {summary.unreadable} unreadable)")
    n = len(submissions)
    print(f"          CPU per submission: workers {1000 * worker_cpu / n:.2f} ms, "
          f"parent {1000 * parent_cpu / n:.2f} ms "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs while measuring)")
    diagnoses = [d for a in summary.assignments for d in a.diagnoses]
    if diagnoses:
        print("          most common diagnoses: " + ", ".join(f"{c} {n}" for c, n, _ in diagnoses[:5]))

    sample_size = args.baseline_sample or max(20, len(submissions) // 100)
    sample = submissions[: min(sample_size, len(submissions))]
    base_seconds = baseline_pass(sample, args.jobs, args.exercise_set)
    baseline_sps = len(sample) / base_seconds
    print(f"baseline: {len(sample)} in {base_seconds:.2f}s = {baseline_sps:,.1f} submissions/s "
          f"(engine re-run for every submission; {len(submissions) / baseline_sps:,.0f}s for all "
          f"{len(submissions)}); batch is {batch_sps / baseline_sps:,.1f}x faster")
    print(f"target:   >= 1,000 submissions/s on 2 cores: {'met' if batch_sps >= 1000 else 'MISSED'}")
    if args.profile:
        profile_grading(submissions[:500], args.exercise_set)
    print(json.dumps({"batch_sps": round(batch_sps, 1), "baseline_sps": round(baseline_sps, 1),
                      "submissions": len(submissions), "jobs": args.jobs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

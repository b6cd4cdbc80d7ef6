"""Benchmark of the free-text rubric against a teacher: the labelled corpus, part by part, beside the old rubric.

The corpus (``tests/data/rubric/week10_answers.yaml``) holds answers to every graded
text part of the week10 sheet, written and marked by hand: correct (terse, long, with
typos), partial, wrong with the right words, keyword bags and off-topic, each with the
teacher's fraction of the part's points.  Every answer is graded as one text by the
part's own comparator (:class:`grader.compare.text.TextComparator`, built from the
exercise file, one item even for a ``[*]`` field), and compared with the teacher:

* ``acc``: share of answers within 0.25 of the teacher's fraction;
* ``wrong``: mean credit given to wrong-with-keywords answers and keyword bags (target <= 10 %);
* ``correct``: mean credit given to correct answers, terse, long and with typos (target >= 90 %);
* ``review``: share of answers sent to an instructor (target < 20 %).

The baseline is the rubric as it was before the reading rules (commit ``BASELINE``:
its ``grader/compare/text.py`` and its exercise files, read from git), on the same
answers; without git it is left out.  The time per answer is the rubric's reading only
(grading memoizes results by answer, so each distinct answer is read once).

Measured (2026-12-02, 2 shared vCPUs, load 3): accuracy 96.0 % (old 52.0 %), wrong
answers and keyword bags 1.2 % of their points (old 45.8 %), correct answers 98.6 % (old
73.3 %), review 13.3 % (old 37.3 %; here every keyword bag and every off-topic answer);
120 to 380 µs per distinct answer against the old 15 to 50 µs.  The rubric was tuned on
this corpus (it is the rubric's writer's own marking, not a held-out set).  The last
line printed is one JSON object: ``{"accuracy", "wrong_credit", "correct_credit",
"review_rate", "us_per_answer", "baseline_accuracy", "baseline_wrong_credit", ...}``.

    python bench/rubric.py [--corpus FILE] [--repeat 20] [--no-baseline]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.compare.base import CompareContext  # noqa: E402
from grader.compare.text import TextComparator  # noqa: E402
from grader.exercises.load import load_named_set  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "rubric" / "week10_answers.yaml"
BASELINE = "2b8af77"  # the last commit before the rubric read negation, contradictions and typos
WRONG = ("wrong_keywords", "keyword_bag")
CORRECT = ("correct_terse", "correct_long", "correct_typos")
CLOSE = 0.25

Grade = Callable[[str, str, str], tuple[float, bool]]


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def current_grader() -> Grade:
    """``(exercise, part, text) -> (fraction, needs_review)`` with today's rubric."""
    exercise_set = load_named_set("week10")
    context = CompareContext(exercise_set.context.events, exercise_set.context.window_size)
    comparators: dict[tuple[str, str], tuple[TextComparator, Any]] = {}

    def grade(exercise: str, part: str, text: str) -> tuple[float, bool]:
        if (exercise, part) not in comparators:
            spec = exercise_set.exercise(exercise).part(part)
            comp = TextComparator(spec.compare, context)
            comparators[(exercise, part)] = (comp, comp.normalize(spec.model_answer))
        comp, model = comparators[(exercise, part)]
        result = comp.compare(model, comp.normalize(text), path="answers")
        return result.fraction, result.needs_review

    return grade


def baseline_grader() -> Grade | None:
    """The same, with the rubric and exercise files of :data:`BASELINE` (``None`` without git)."""
    def show(path: str) -> str:
        return subprocess.run(["git", "show", f"{BASELINE}:{path}"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
    try:
        source = show("grader/compare/text.py")
        exercise_set = load_named_set("week10")
        specs: dict[tuple[str, str], Mapping[str, Any]] = {}
        names = subprocess.run(["git", "ls-tree", "--name-only", f"{BASELINE}:exercises/week10"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.split()
        for name in (n for n in names if n.startswith("ex") and n.endswith(".yaml")):
            raw = yaml.safe_load(show(f"exercises/week10/{name}"))
            for part in raw["parts"]:
                if part["compare"]["kind"] == "text":
                    specs[(raw["id"], part["id"])] = part["compare"]
    except (subprocess.CalledProcessError, FileNotFoundError, AttributeError, KeyError):
        return None
    module = types.ModuleType("baseline_text")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{BASELINE}:grader/compare/text.py", "exec"), module.__dict__)
    context = CompareContext(exercise_set.context.events, exercise_set.context.window_size)
    comparators = {key: module.TextComparator(spec, context) for key, spec in specs.items()}

    def grade(exercise: str, part: str, text: str) -> tuple[float, bool]:
        comp = comparators[(exercise, part)]
        result = comp.compare(None, comp.normalize(text), path="answers")
        return result.fraction, result.needs_review

    return grade


def figures(corpus: list[dict[str, Any]], grade: Grade) -> dict[str, dict[str, float]]:
    """Per ``exercise.part`` and ``all``: n, accuracy, wrong credit, correct credit, review rate."""
    groups: dict[str, list[tuple[dict[str, Any], float, bool]]] = {}
    for answer in corpus:
        fraction, review = grade(answer["exercise"], answer["part"], answer["text"])
        key = f"{answer['exercise']}.{answer['part']}"
        for name in (key, "all"):
            groups.setdefault(name, []).append((answer, fraction, review))
    out = {}
    for name, rows in groups.items():
        wrong = [f for a, f, _ in rows if a["label"] in WRONG]
        correct = [f for a, f, _ in rows if a["label"] in CORRECT]
        out[name] = {
            "n": len(rows),
            "accuracy": sum(abs(f - a["fraction"]) <= CLOSE for a, f, _ in rows) / len(rows),
            "wrong_credit": sum(wrong) / len(wrong) if wrong else 0.0,
            "correct_credit": sum(correct) / len(correct) if correct else 1.0,
            "review_rate": sum(r for *_, r in rows) / len(rows),
        }
    return out


def _row(name: str, now: Mapping[str, float], old: Mapping[str, float] | None) -> str:
    def cell(key: str) -> str:
        text = f"{100 * now[key]:5.1f}%"
        return text + (f" ({100 * old[key]:5.1f}%)" if old else "")
    return f"{name:<24} {now['n']:>4.0f}  " + "  ".join(cell(k) for k in ("accuracy", "wrong_credit", "correct_credit",
                                                                          "review_rate"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--repeat", type=int, default=20, help="read the corpus N times for the time per answer")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)

    corpus = load_corpus(args.corpus)
    grade = current_grader()
    now = figures(corpus, grade)
    baseline = None if args.no_baseline else baseline_grader()
    old = figures(corpus, baseline) if baseline else None

    where = args.corpus.relative_to(ROOT) if args.corpus.is_relative_to(ROOT) else args.corpus
    beside = f" (in brackets: the rubric of {BASELINE})" if old else ""
    print(f"{len(corpus)} labelled answers ({where}); figures now{beside}")
    print(f"{'part':<24} {'n':>4}  {'accuracy':<{17 if old else 6}}  {'wrong credit':<{17 if old else 6}}  "
          f"{'correct credit':<{17 if old else 6}}  review")
    for name in sorted(k for k in now if k != "all"):
        print(_row(name, now[name], old[name] if old else None))
    print(_row("all", now["all"], old["all"] if old else None))

    def per_answer(g: Grade) -> float:
        t0 = time.perf_counter()
        for _ in range(max(1, args.repeat)):
            for a in corpus:
                g(a["exercise"], a["part"], a["text"])
        return 1e6 * (time.perf_counter() - t0) / (max(1, args.repeat) * len(corpus))

    us = per_answer(grade)
    us_old = per_answer(baseline) if baseline else None
    print(f"time: {us:,.0f} µs per answer" + (f" (baseline {us_old:,.0f} µs)" if us_old else ""))
    a = now["all"]
    met = a["wrong_credit"] <= 0.10 and a["correct_credit"] >= 0.90 and a["review_rate"] < 0.20
    print(f"targets: wrong <= 10 %, correct >= 90 %, review < 20 %: {'met' if met else 'MISSED'}")
    report = {"accuracy": round(a["accuracy"], 3), "wrong_credit": round(a["wrong_credit"], 3),
              "correct_credit": round(a["correct_credit"], 3), "review_rate": round(a["review_rate"], 3),
              "us_per_answer": round(us, 1), "answers": len(corpus)}
    if old:
        report.update({f"baseline_{k}": round(old["all"][k], 3)
                       for k in ("accuracy", "wrong_credit", "correct_credit", "review_rate")})
        report["baseline_us_per_answer"] = round(us_old or 0.0, 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

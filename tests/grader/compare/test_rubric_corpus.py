"""The rubric's decisions on the labelled corpus (``tests/data/rubric/week10_answers.yaml``), part by part.

The corpus is written and marked by hand, as a teacher would; ``bench/rubric.py``
prints the same figures beside the old rubric's.  Targets (issue 13): wrong answers in
the rubric's words and keyword bags earn at most 10 % of a part's points, correct ones
(terse, long, misspelt) at least 90 %, and fewer than 20 % of answers go to review.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
import yaml

from grader.compare.base import CompareContext
from grader.compare.text import TextComparator
from tests.paths import ROOT

CORPUS = yaml.safe_load((ROOT / "tests" / "data" / "rubric" / "week10_answers.yaml").read_text(encoding="utf-8"))
LABELS = ("correct_terse", "correct_long", "correct_typos", "partial", "wrong_keywords", "keyword_bag", "off_topic")
PARTS = sorted({(a["exercise"], a["part"]) for a in CORPUS})


@pytest.fixture(scope="module")
def graded(week10):
    context = CompareContext(week10.context.events, week10.context.window_size)
    comparators = {key: TextComparator(week10.exercise(key[0]).part(key[1]).compare, context) for key in PARTS}
    out = defaultdict(list)
    for answer in CORPUS:
        comp = comparators[(answer["exercise"], answer["part"])]
        model = comp.normalize(week10.exercise(answer["exercise"]).part(answer["part"]).model_answer)
        result = comp.compare(model, comp.normalize(answer["text"]), path="answers")
        out[(answer["exercise"], answer["part"])].append((answer, result))
    return out


def test_the_corpus_covers_every_graded_text_part_with_every_kind_of_answer(week10):
    assert len(CORPUS) >= 150
    graded_text_parts = {(e.id, p.id) for e in week10.exercises for p in e.parts
                         if p.compare_kind == "text" and p.points > 0}
    assert set(PARTS) == graded_text_parts
    for key in PARTS:
        assert {a["label"] for a in CORPUS if (a["exercise"], a["part"]) == key} == set(LABELS), key
    assert all(0 <= a["fraction"] <= 1 for a in CORPUS)


@pytest.mark.parametrize("key", PARTS, ids=lambda k: ".".join(k))
def test_wrong_answers_and_keyword_bags_earn_at_most_a_tenth_per_part(graded, key):
    # Per part the bar is an average over its four wrong answers: one rubric miss of a quarter is allowed.
    credit = [r.fraction for a, r in graded[key] if a["label"] in ("wrong_keywords", "keyword_bag")]
    assert sum(credit) / len(credit) <= 0.125, [(a["text"], r.fraction) for a, r in graded[key]
                                               if a["label"] in ("wrong_keywords", "keyword_bag")]


def test_wrong_answers_and_keyword_bags_earn_at_most_a_tenth_overall(graded):
    credit = [r.fraction for rows in graded.values() for a, r in rows
              if a["label"] in ("wrong_keywords", "keyword_bag")]
    assert sum(credit) / len(credit) <= 0.10


@pytest.mark.parametrize("key", PARTS, ids=lambda k: ".".join(k))
def test_correct_answers_earn_at_least_nine_tenths_per_part(graded, key):
    credit = [r.fraction for a, r in graded[key] if a["label"].startswith("correct_")]
    assert sum(credit) / len(credit) >= 0.90, [(a["text"], r.fraction) for a, r in graded[key]
                                              if a["label"].startswith("correct_")]


def test_every_keyword_bag_goes_to_review_at_zero(graded):
    for rows in graded.values():
        for answer, result in rows:
            if answer["label"] == "keyword_bag":
                assert result.fraction == 0 and result.needs_review, answer["text"]


def test_fewer_than_a_fifth_of_the_answers_go_to_review(graded):
    results = [r for rows in graded.values() for _, r in rows]
    assert sum(r.needs_review for r in results) / len(results) < 0.20


def test_most_answers_are_within_a_quarter_of_the_teachers_mark(graded):
    rows = [(a, r) for found in graded.values() for a, r in found]
    assert sum(abs(r.fraction - a["fraction"]) <= 0.25 for a, r in rows) / len(rows) >= 0.90

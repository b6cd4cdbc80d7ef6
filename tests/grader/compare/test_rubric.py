"""The rubric's reading rules, one at a time (grader/compare/rubric.py)."""

from __future__ import annotations

import shutil

import pytest

from grader.compare.base import CompareContext
from grader.compare.rubric import MAX_ANSWER_CHARS, Rubric, is_keyword_bag
from grader.compare.text import TextComparator
from grader.errors import ExerciseDataError
from grader.exercises.load import load_exercise_set
from tests.paths import ROOT

# A rubric in today's format: no required, full_marks, contradictions.
TODAY = {"kind": "text", "min_concepts": 2, "concepts": [
    {"id": "state", "description": "more state", "weight": 1, "keywords": ["state"]},
    {"id": "latency", "description": "later results", "weight": 1, "regexes": ["latenc", "later\\b"]},
    {"id": "updates", "description": "retractions", "weight": 1, "regexes": ["retract"]},
]}
WATERMARK = {"kind": "text", "min_concepts": 1, "part_field": "watermark", "concepts": [
    {"id": "monotone", "description": "it only moves forward", "weight": 1, "regexes": ["increas", "advanc"],
     "contradictions": ["\\bdecreas", "goes back"]},
    {"id": "bound", "description": "no older events are expected", "weight": 1, "required": True,
     "regexes": ["no (more )?older events", "threshold", "watermark"]},
]}


def fraction(spec, text):
    rubric = Rubric(spec)
    return rubric.fraction(rubric.read(text))


def test_todays_format_gives_full_marks_at_min_concepts():
    assert fraction(TODAY, "It keeps more state and the results come later.") == 1
    assert fraction(TODAY, "It keeps more state.") == pytest.approx(0.5)


def test_full_marks_can_ask_for_more_concepts():
    assert fraction({**TODAY, "full_marks": 3}, "It keeps more state and the results come later.") == \
        pytest.approx(2 / 3)


def test_a_negated_concept_is_not_stated():
    assert fraction(TODAY, "It does not keep more state and nothing comes later.") == 0
    assert fraction(TODAY, "It doesn't need state, results are later.") == pytest.approx(0.5)


def test_a_negation_in_another_clause_does_not_reach_the_concept():
    assert fraction(TODAY, "Nothing is lost, but it keeps more state and results come later.") == 1


def test_a_contradiction_cancels_its_concept_and_is_named():
    rubric = Rubric(WATERMARK)
    reading = rubric.read("A threshold that increases and decreases freely.")
    assert [c.concept.id for c in reading.contradicted] == ["monotone"]
    assert reading.contradicted[0].said == "decreases"
    comp = TextComparator(WATERMARK, CompareContext((), 300_000))
    result = comp.compare(None, comp.normalize("A threshold that increases and decreases freely."), path="p")
    assert any(f.code == "contradicted_concept" and "'decreases' contradicts the point 'it only moves forward'"
               in f.message for f in result.findings), result.findings


def test_a_negated_contradiction_is_no_contradiction():
    assert fraction(WATERMARK, "A threshold that only increases and never decreases.") == 1


def test_a_contradicted_required_concept_gives_zero():
    spec = {**WATERMARK, "concepts": [WATERMARK["concepts"][0],
                                      {**WATERMARK["concepts"][1], "contradictions": ["wall clock"]}]}
    assert fraction(spec, "It is the wall clock, it increases.") == 0


def test_a_missing_required_concept_caps_the_part_at_half():
    assert fraction({**WATERMARK, "part_field": "x"}, "It increases.") == pytest.approx(0.5)


def test_the_parts_own_field_name_is_not_a_concept():
    assert fraction(WATERMARK, "The watermark increases.") == pytest.approx(0.5)  # 'watermark' alone: masked
    assert fraction({**WATERMARK, "part_field": "mark"}, "The watermark increases.") == 1


@pytest.mark.parametrize("typo, read", [("recieves", "receiv"), ("watermrak", "watermark"),
                                        ("at-leat-once", "at-least-once"), ("detreministic", "determin")])
def test_long_words_are_read_through_typos(typo, read):
    spec = {"kind": "text", "min_concepts": 1, "concepts": [
        {"id": "x", "description": "x", "weight": 1, "regexes": ["receiv", "at-least-once", "determin"],
         "keywords": ["watermark"]}]}
    rubric = Rubric(spec)
    reading = rubric.read(f"It {typo} things.")
    assert reading.stated and reading.corrected[0][1].startswith(read)


@pytest.mark.parametrize("word", ["decreases",  # another first letter: a different word, not a typo
                                  "recv",       # under six letters
                                  "rxcxivxs"])  # three edits
def test_other_words_are_not_read_as_typos(word):
    spec = {"kind": "text", "min_concepts": 1, "concepts": [
        {"id": "x", "description": "x", "weight": 1, "regexes": ["increas", "receiv"]}]}
    assert not Rubric(spec).read(f"It {word} things.").stated


def test_a_list_of_terms_is_a_keyword_bag_and_a_terse_sentence_is_not():
    assert is_keyword_bag("state, latency, correctness, retract, upsert")
    assert is_keyword_bag("event time progress bound monotonic threshold")
    assert not is_keyword_bag("Lateness: more state and later final results; dropping: less state.")
    assert not is_keyword_bag("When the watermark reaches 10:05 the window fires.")
    assert not is_keyword_bag("The moment it happened.")


def test_a_keyword_bag_and_an_over_long_answer_are_refused():
    rubric = Rubric(TODAY)
    assert rubric.read("state, latency, retract, later").refused == "keyword_bag"
    assert rubric.read("It keeps state. " * (MAX_ANSWER_CHARS // 10)).refused == "too_long"
    assert Rubric({**TODAY, "prose": False}).read("state, latency, retract, later").refused is None
    assert Rubric({**TODAY, "max_chars": 100_000}).read("It keeps state. " * 200).refused is None


def test_every_week10_text_part_gives_its_model_answer_full_marks(week10, solved):
    context = CompareContext(week10.context.events, week10.context.window_size)
    for exercise in week10.exercises:
        for part in exercise.parts:
            if part.compare_kind != "text":
                continue
            items = len(part.model_answer) if isinstance(part.model_answer, tuple) else 1
            comp = TextComparator(part.compare, context, items)
            result = comp.compare(None, comp.normalize(solved[exercise.id][part.id].value), path="p")
            assert result.fraction == 1 and not result.needs_review, (exercise.id, part.id, result.findings)


def test_a_part_whose_model_answer_is_a_list_of_terms_accepts_one():
    comp = TextComparator(TODAY, CompareContext((), 300_000))
    bag = "state, latency, retract, later"
    assert comp.compare(None, comp.normalize(bag), path="p").needs_review
    listed = comp.compare(comp.normalize("state, latency, retractions, later results"), comp.normalize(bag), path="p")
    assert listed.fraction == 1 and not listed.needs_review


def test_a_long_model_answer_allows_a_longer_answer_unless_the_part_sets_max_chars():
    comp = TextComparator(TODAY, CompareContext((), 300_000))
    answer = comp.normalize("It keeps more state and the results come later. " * 60)  # ~2,900 characters
    model = comp.normalize("It keeps more state for longer and the final results come later. " * 20)
    assert comp.compare(None, answer, path="p").needs_review
    assert comp.compare(model, answer, path="p").fraction == 1
    strict = TextComparator({**TODAY, "max_chars": 2_000}, CompareContext((), 300_000))
    assert strict.compare(model, answer, path="p").needs_review


def test_a_contradiction_that_is_no_regex_is_reported_at_load_with_its_path(tmp_path):
    folder = tmp_path / "week10"
    shutil.copytree(ROOT / "exercises" / "week10", folder)
    ex02 = folder / "ex02.yaml"
    ex02.write_text(ex02.read_text(encoding="utf-8").replace("'up and down'", "'up (and down'"), encoding="utf-8")
    with pytest.raises(ExerciseDataError) as caught:
        load_exercise_set(folder)
    assert "compare.concepts[2].contradictions[4]" in str(caught.value), str(caught.value)

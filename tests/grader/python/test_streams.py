"""Hidden tests: generated from a seed, covering the boundaries, answered by the engine.

No sandbox is needed here.  Besides the generator's properties, two differential checks
tie the canonical answers together: the engine's final rows equal the plain student
model of the template's docstrings (watermark M - B, dropped when watermark >= end + L),
and ``is_late`` says True exactly for the arrivals the engine drops.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from grader.python.bindings import bindings
from grader.python.inputs import AssignInput, LateInput, StreamInput, WritesInput
from grader.python.suite import build_suite
from reference.engine import run as run_engine
from reference.results import LateOutcome
from reference.timestamps import MINUTE, SECOND
from reference.windows import Tumbling

SEEDS = (1, 2, 3, 42, 2024)


@pytest.fixture(scope="module")
def b(exercise):
    return bindings(exercise.profile)


def _streams(suite) -> list[StreamInput]:
    return [c.input for c in suite.of("window_aggregate") if not c.visible]


def test_the_same_seed_gives_the_same_tests_and_another_seed_others(exercise):
    first, again, other = build_suite(exercise, 11), build_suite(exercise, 11), build_suite(exercise, 12)
    assert [(c.input, c.expected) for c in first.cases] == [(c.input, c.expected) for c in again.cases]
    assert _streams(first) != _streams(other)
    assert len(_streams(first)) == exercise.hidden.streams == 200


def test_the_sheets_events_are_always_a_visible_test(exercise):
    suite = build_suite(exercise, 5)
    sheet = [c for c in suite.cases if c.visible and c.function == "window_aggregate"]
    assert len(sheet) == 1
    assert [ev.event_id for ev in sheet[0].input.events] == ["e1", "e2", "e3", "e4", "e5", "e6", "e7"]
    rows = {(start // MINUTE, user): amount for (start, user), amount in sheet[0].expected.items()}
    assert rows == {(600, "A"): 7, (600, "B"): 3, (605, "A"): 4, (605, "B"): 1, (610, "B"): 2}  # e7 dropped
    assert {c.function for c in suite.cases if c.visible} == {"assign_window", "is_late", "window_aggregate",
                                                              "upsert"}


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_streams_cover_the_boundaries(exercise, b, seed):
    streams = _streams(build_suite(exercise, seed))
    assert any(not s.events for s in streams), "an empty stream"
    assert any(len({ev.event_id for ev in s.events}) < len(s.events) for s in streams), "a replayed event id"
    assert any(ev.event_time % s.params.size == 0 for s in streams for ev in s.events), "a time on a window end"
    assert any(ev.event_time % MINUTE for s in streams for ev in s.events), "second granularity"
    assert any(ev.amount != ev.amount.to_integral_value() for s in streams for ev in s.events), "decimal amounts"
    assert len({s.params for s in streams}) > 20, "varied window size, delay and lateness"
    late = dropped_at_expiry = admitted_late = 0
    for s in streams:
        run = run_engine(s.events, b["window_aggregate"].config(s.params))
        for x in run.late:
            late += 1
            watermark = x.watermark + 1  # the sheet's M - B
            if x.outcome is LateOutcome.DROPPED and watermark == x.window.end + s.params.lateness:
                dropped_at_expiry += 1
            if x.outcome is LateOutcome.ADMITTED:
                admitted_late += 1
    assert late > 30 and dropped_at_expiry >= 5 and admitted_late >= 5


@pytest.mark.parametrize("seed", SEEDS)
def test_the_engine_equals_the_templates_model_on_every_stream(exercise, b, seed):
    aggregate = b["window_aggregate"]
    for case in build_suite(exercise, seed).of("window_aggregate"):
        assert aggregate.model("canonical", case.input) == case.expected, case.input


@pytest.mark.parametrize("seed", SEEDS)
def test_is_late_is_true_exactly_for_the_arrivals_the_engine_drops(exercise, b, seed):
    is_late = b["is_late"]
    for stream in _streams(build_suite(exercise, seed)):
        p = stream.params
        run = run_engine(stream.events, b["window_aggregate"].config(p))
        dropped = {x.arrival for x in run.dropped}
        max_seen = None
        for i, ev in enumerate(stream.events):
            if max_seen is not None:
                said = is_late.expected(LateInput(ev.event_time, max_seen - p.delay, p.size, p.lateness))
                assert said == (i in dropped), (stream, i)
            max_seen = ev.event_time if max_seen is None else max(max_seen, ev.event_time)


def test_is_late_takes_the_sheets_watermark_and_drops_at_equality(b):
    size, lateness = 5 * MINUTE, 3 * MINUTE
    t, end = 601 * MINUTE, 605 * MINUTE  # 10:01 in [10:00, 10:05)
    assert b["is_late"].expected(LateInput(t, end + lateness, size, lateness)) is True
    assert b["is_late"].expected(LateInput(t, end + lateness - SECOND, size, lateness)) is False
    assert b["is_late"].expected(LateInput(t, end - SECOND, size, 0)) is False
    assert b["is_late"].expected(LateInput(t, end, size, 0)) is True


def test_assign_window_uses_half_open_windows(b):
    five = 5 * MINUTE
    assert b["assign_window"].expected(AssignInput(610 * MINUTE, five)) == 610 * MINUTE
    assert b["assign_window"].expected(AssignInput(610 * MINUTE - SECOND, five)) == 605 * MINUTE
    assert b["assign_window"].expected(AssignInput(607 * MINUTE, five)) == Tumbling(five).assign(607 * MINUTE)[0].start


def test_upsert_answers_are_the_last_write_per_key(exercise, b):
    suite = build_suite(exercise, 9)
    upserts = suite.of("upsert")
    assert len(upserts) > 30
    repeated = 0
    for case in upserts:
        writes = case.input.writes
        counts = Counter((w.window_start, w.user_id, w.sum_amount) for w in writes)
        repeated += any(n > 1 for n in counts.values())
        final = {}
        for w in writes:
            final[(w.window_start, w.user_id)] = w.sum_amount
        assert case.expected[-1] == final
    assert repeated > 10, "replayed writes test idempotence"


def test_shrink_candidates_are_smaller_and_keep_the_parameters_or_simplify_them(exercise, b):
    stream = next(s for s in _streams(build_suite(exercise, 3)) if len(s.events) >= 6)
    aggregate = b["window_aggregate"]
    for candidate in aggregate.candidates(stream):
        assert aggregate.size(candidate) < aggregate.size(stream)
    writes = WritesInput(next(c.input.writes for c in build_suite(exercise, 3).of("upsert")))
    for candidate in b["upsert"].candidates(writes):
        assert 0 < len(candidate.writes) < len(writes.writes)


def test_mistake_models_differ_from_the_canonical_answer_somewhere(exercise, b):
    suite = build_suite(exercise, 4)
    for function, model in (("window_aggregate", "inclusive_end"), ("window_aggregate", "event_time_order"),
                            ("window_aggregate", "admitted_at_expiry"), ("is_late", "inclusive_end"),
                            ("is_late", "admitted_at_expiry"), ("assign_window", "inclusive_end"),
                            ("upsert", "accumulating")):
        cases = suite.of(function)
        assert any(b[function].model(model, c.input) != c.expected for c in cases), (function, model)


def test_amounts_stay_exact_decimals(exercise):
    for case in build_suite(exercise, 8).of("window_aggregate"):
        assert all(isinstance(v, Decimal) for v in case.expected.values())


def test_the_fast_encoding_of_arguments_is_what_the_codec_gives(exercise, b):
    from grader.sandbox import encode

    suite = build_suite(exercise, 6)
    for function in ("assign_window", "is_late", "window_aggregate", "upsert"):
        for case in suite.of(function)[:25]:
            assert b[function].encoded(case.input) == encode(list(b[function].args(case.input))), case

"""Canonical answers from the engine, checked against SEMANTICS.md worked from first principles.

The expected values here are not read from grader.solutions or the engine: each test
reads the raw data context (YAML), does the arithmetic of SEMANTICS.md by hand (window
start = t - t % size, Flink's watermark M - B - 1 ms, expiry end - 1 ms + L, ...) and
compares.  Changing a parameter in a copy of the data changes the answers with no
change of code.
"""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

import grader.solutions.solve as solving
from grader.exercises.load import PACKAGED_SETS, load_exercise_set, load_named_set
from grader.frozen import thaw
from grader.solutions.job import SolutionError
from grader.solutions.solve import Canonical, solve, solve_part
from reference.config import LatePolicy
from reference.profiles import PROFILES, get_profile

WEEK10 = PACKAGED_SETS / "week10"
MS_PER_MIN = 60_000


# -- first principles, from the raw YAML ---------------------------------------------------------


def raw_context(folder: Path = WEEK10) -> dict:
    return yaml.safe_load((folder / "context.yaml").read_text(encoding="utf-8"))


def minute_of(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def minutes_param(text: str) -> int:
    assert re.fullmatch(r"\d+m", text), text
    return int(text[:-1])


def sheet(folder: Path = WEEK10) -> tuple[list[tuple[str, str, int, Decimal]], int, int, int]:
    """(events as (id, user, minute, amount) in arrival order, window size, delay B, lateness L) in minutes."""
    ctx = raw_context(folder)
    events = [(e["event_id"], e["user_id"], minute_of(e["event_time"]), Decimal(str(e["amount"])))
              for e in ctx["events"]]
    p = ctx["parameters"]
    size, delay, lateness = (minutes_param(p[k]) for k in ("window_size", "watermark_delay", "allowed_lateness"))
    return events, size, delay, lateness


def window_start(t: int, size: int) -> int:
    return t - t % size


def rows_set(rows: list[dict]) -> set[tuple[str, str, Decimal]]:
    return {(r["window_start"], r["user_id"], Decimal(str(r["sum_amount"]))) for r in rows}


def flink_fires(max_minute: int, end: int, delay: int) -> bool:
    # watermark = M - B - 1 ms; fires when watermark >= end - 1 ms
    return (max_minute - delay) * MS_PER_MIN - 1 >= end * MS_PER_MIN - 1


def e7_writes(folder: Path, profile: str) -> tuple[set, set]:
    """What the sink receives when e7 arrives, with the context's lateness, retract policy."""
    events, size, delay, lateness = sheet(folder)
    *before, (_, user, t, amount) = events
    assert events[-1][0] == "e7"
    m = max(e[2] for e in before)
    start = window_start(t, size)
    end = start + size
    old = sum(a for _, u, tt, a in before if u == user and window_start(tt, size) == start)
    if profile == "flink":
        wm = (m - delay) * MS_PER_MIN - 1
        fired = wm >= end * MS_PER_MIN - 1
        dropped = end * MS_PER_MIN - 1 + lateness * MS_PER_MIN <= wm
    else:  # beam-python: watermark = M - B; fires at >= end; dropped only when watermark > end + L
        wm = (m - delay) * MS_PER_MIN
        fired = wm >= end * MS_PER_MIN
        dropped = wm > (end + lateness) * MS_PER_MIN
    if not fired or dropped:
        return set(), set()
    return {(clock(start), user, old)}, {(clock(start), user, old + amount)}


def windows_held_per_key(size: int, delay: int, span: int = 40) -> int:
    """Dense stream for one key, one event a minute, L = 0, flink: the most windows held after an arrival."""
    most = 0
    for m in range(10 * 60, 10 * 60 + span):
        held = [s for s in range(10 * 60, m + 1, size) if not flink_fires(m, s + size, delay)]
        most = max(most, len(held))
    return most


# -- every part has an answer in the submission format ------------------------------------------------


def test_every_part_has_a_canonical_answer(week10, solved):
    assert list(solved) == list(week10.exercise_ids)
    for exercise in week10.exercises:
        assert list(solved[exercise.id]) == [p.id for p in exercise.parts]
        for part in exercise.parts:
            canonical = solved[exercise.id][part.id]
            assert isinstance(canonical, Canonical)
            assert canonical.value is not None
            assert canonical.derivation and all(isinstance(line, str) and line for line in canonical.derivation)
            assert canonical.profile == "flink"


def test_canonical_values_are_json_valid_for_their_fields(week10, solved):
    for exercise in week10.exercises:
        for part in exercise.parts:
            value = solved[exercise.id][part.id].value
            assert json.loads(json.dumps(value)) == value
            schema = exercise.field_json_schema(part.id)
            errors = [e.message for e in Draft202012Validator(schema).iter_errors(value)]
            assert errors == [], (exercise.id, part.id, errors)


# -- hand-worked checks -----------------------------------------------------------------------------


def test_ex2_window_closes_at_watermark_equal_to_its_end(solved):
    _, size, delay, _ = sheet()
    start = minute_of("10:00")
    assert solved["ex2"]["close_watermark"].value == clock(start + size)
    text = " ".join(solved["ex2"]["close_watermark"].derivation)
    # Flink fires at raw watermark end - 1 ms, first reached when M = end + B; e5 (10:08) is the first such arrival.
    assert "10:04:59.999" in text and f"M = {clock(start + size + delay)}" in text and "e5 (A, 10:08, 4)" in text
    assert get_profile("flink").fire_rule() in text


def test_ex3_only_at_least_once_rewrites_on_replay(solved):
    assert solved["ex3"]["semantics"].value == ["at-most-once", "at-least-once", "exactly-once"]
    assert solved["ex3"]["idempotent_sink_needed_for"].value == "at-least-once"


def test_ex4_windows_are_half_open_so_e6_opens_the_third_window(solved):
    events, size, _, _ = sheet()
    expected: dict[str, list[str]] = {}
    for event_id, _, t, _ in events[:6]:
        expected.setdefault(clock(window_start(t, size)), []).append(event_id)
    got = {w["window_start"]: w["events"] for w in solved["ex4"]["windows"].value}
    assert got == expected
    assert got["10:10"] == ["e6"]


def test_ex6_rows_are_per_user_sums_of_e1_to_e6(solved):
    events, size, _, _ = sheet()
    sums: dict[tuple[str, str], Decimal] = {}
    for _, user, t, amount in events[:6]:
        start = clock(window_start(t, size))
        if start in ("10:00", "10:05"):
            sums[(start, user)] = sums.get((start, user), Decimal(0)) + amount
    assert rows_set(solved["ex6"]["rows"].value) == {(w, u, s) for (w, u), s in sums.items()}
    assert ("10:05", "B", Decimal(1)) in rows_set(solved["ex6"]["rows"].value)


def test_ex7_late_event_included_gives_one_upsert(solved):
    events, size, _, _ = sheet()
    a_sum = sum(a for _, u, t, a in events if u == "A" and window_start(t, size) == minute_of("10:00"))
    assert solved["ex7"]["correct_sum"].value == a_sum == 8
    assert solved["ex7"]["upsert"].value == {"window_start": "10:00", "user_id": "A", "sum_amount": a_sum}


def test_ex8_events_per_window_and_min_latency(solved):
    ctx = raw_context()
    _, size, delay, _ = sheet()
    per_window = Fraction(ctx["scale"]["events_per_day"]) / Fraction(24 * 60, size)
    assert solved["ex8"]["events_per_window"].value == pytest.approx(float(per_window), rel=1e-5)
    per_user = per_window / ctx["scale"]["users"]
    assert solved["ex8"]["events_per_window_per_user"].value == pytest.approx(float(per_user), rel=1e-5)
    t = minute_of("10:04")
    end = window_start(t, size) + size
    first = next(m for m in range(t, t + 60) if flink_fires(m, end, delay))
    assert solved["ex8"]["min_latency"].value == first - t == 3


def test_ex9_delay_keeps_two_windows_per_user(solved):
    ctx = raw_context()
    _, size, delay, _ = sheet()
    most = windows_held_per_key(size, delay)
    assert solved["ex9"]["active_windows_per_user"].value == most == 2
    assert solved["ex9"]["state_bytes"].value == ctx["scale"]["users"] * most * ctx["scale"]["bytes_per_window"]


def test_ex10_upsert_by_primary_key_leaves_no_duplicates(solved):
    assert solved["ex10"]["key_columns"].value == raw_context()["sink"]["primary_key"]
    assert solved["ex10"]["duplicate_rows"].value == 0


def test_ex11_e7_dropped_at_exactly_the_flink_expiry(solved):
    events, size, _, _ = sheet()
    drop_rows = {(clock(window_start(t, size)), u) for _, u, t, _ in events[:6] if window_start(t, size) == 600}
    assert {(w, u) for w, u, _ in rows_set(solved["ex11"]["final_rows_drop"].value)} == drop_rows
    assert rows_set(solved["ex11"]["final_rows_drop"].value) == {("10:00", "A", 7), ("10:00", "B", 3)}
    retract, emit = e7_writes(WEEK10, "flink")
    assert rows_set(solved["ex11"]["late_retract"].value) == retract == set()
    assert rows_set(solved["ex11"]["late_emit"].value) == emit == set()
    text = " ".join(solved["ex11"]["late_retract"].derivation)
    assert "10:07:59.999" in text and get_profile("flink").drop_rule() in text


def test_ex11_depends_on_profile_and_beam_python_admits_e7(solved):
    retract = solved["ex11"]["late_retract"]
    emit = solved["ex11"]["late_emit"]
    assert retract.depends_on_profile and emit.depends_on_profile
    assert set(retract.by_profile) == set(PROFILES)
    beam_retract, beam_emit = e7_writes(WEEK10, "beam-python")
    assert rows_set(retract.by_profile["beam-python"]) == beam_retract == {("10:00", "A", 7)}
    assert rows_set(emit.by_profile["beam-python"]) == beam_emit == {("10:00", "A", 8)}
    assert retract.by_profile["flink"] == []


def test_only_the_lateness_boundary_depends_on_the_profile(solved):
    dependent = {(ex, p) for ex, parts in solved.items() for p, c in parts.items() if c.depends_on_profile}
    assert dependent == {("ex11", "late_retract"), ("ex11", "late_emit")}
    for parts in solved.values():
        for c in parts.values():
            assert (c.by_profile is not None) == c.depends_on_profile


def test_ex5_accepts_every_policy_the_engine_implements(week10, solved):
    options = solved["ex5"]["policies"].value
    mapping = week10.exercise("ex5").part("policies").solution.args["engine_policies"]
    assert {mapping[p.value] for p in LatePolicy} <= set(options)
    assert "reprocess" in options
    assert set(options) <= set(week10.exercise("ex5").part("policies").compare["choices"])


def test_choice_answers_are_among_the_compare_choices(week10, solved):
    for exercise in week10.exercises:
        for part in exercise.parts:
            if part.compare_kind in ("choice", "choice_set"):
                value = solved[exercise.id][part.id].value
                values = value if isinstance(value, list) else [value]
                assert set(values) <= set(part.compare["choices"]), (exercise.id, part.id)


# -- published key, errata and mistakes ------------------------------------------------------------------


def normalise(part, value: Any) -> Any:
    """A comparable form of a structured value (enough for the sheet's values; not the grader's comparator)."""
    kind = part.compare_kind
    if kind in ("rows", "row"):
        return rows_set([value] if kind == "row" else value)
    if kind == "windows_events":
        return {w["window_start"]: frozenset(w["events"]) for w in value}
    if kind == "number":
        if isinstance(value, str):
            number, unit = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]*)\s*", value).groups()
            factor = Fraction(part.compare["accepted_units"][unit]) if unit else 1
            return float(Fraction(number) * factor)
        return float(value)
    if kind == "choice_set":
        return frozenset(value)
    return value


def agree(part, published: Any, canonical: Any) -> bool:
    a, b = normalise(part, published), normalise(part, canonical)
    if part.compare_kind == "number":
        tolerance = part.compare["tolerance"]
        allowed = tolerance.get("absolute", 0) + tolerance.get("relative", 0) * abs(b)
        return abs(a - b) <= allowed + 1e-12
    return a == b


def published_value(exercise, part) -> Any:
    """The published value at the part's field; a ``[*]`` segment collects the items into a list."""
    values = [thaw(exercise.published.values)]
    listed = False
    for segment in part.field.split("."):
        name = segment.removesuffix("[*]")
        values = [v[name] for v in values]
        if segment != name:
            values = [item for v in values for item in v]
            listed = True
    return values if listed else values[0]


def test_published_key_agrees_with_the_engine_except_for_errata(week10, solved):
    disagreements = set()
    for exercise in week10.exercises:
        for part in exercise.parts:
            if part.compare_kind == "text":
                continue
            published = published_value(exercise, part)
            canonical = solved[exercise.id][part.id].value
            if part.compare.get("pick"):
                ok = set(published) <= set(canonical) and len(set(published)) == part.compare["pick"]
            else:
                ok = agree(part, published, canonical)
            if not ok:
                disagreements.add((exercise.id, part.id))
    errata = {(ex.id, e.part) for ex in week10.exercises for e in ex.errata}
    assert disagreements == errata


def test_each_erratum_names_the_mistake_that_reproduces_the_published_value(week10):
    for exercise in week10.exercises:
        for erratum in exercise.errata:
            part = exercise.part(erratum.part)
            mistake = next(m for m in exercise.mistakes if m.code == erratum.mistake)
            mistaken = solve_part(week10, exercise.id, part.id, model=mistake.model)
            assert agree(part, published_value(exercise, part), mistaken.value), (exercise.id, part.id)


def test_every_runnable_mistake_gives_a_different_answer(week10, solved):
    for exercise in week10.exercises:
        for mistake in exercise.mistakes:
            if not mistake.runnable:
                assert mistake.given is not None
                continue
            for part_id in mistake.parts:
                value = solve_part(week10, exercise.id, part_id, model=mistake.model).value
                assert value != solved[exercise.id][part_id].value, (exercise.id, mistake.code, part_id)


def test_inclusive_window_end_moves_e6_into_the_window_it_ends(week10):
    rows = solve_part(week10, "ex6", "rows", model={"windows": "inclusive_end"}).value
    assert ("10:05", "B", Decimal(3)) in rows_set(rows)
    windows = solve_part(week10, "ex4", "windows", model={"windows": "inclusive_end"}).value
    assert [w["window_start"] for w in windows] == ["10:00", "10:05"]


# -- text rubrics ----------------------------------------------------------------------------------------------


def concepts_present(compare, text: str) -> list[str]:
    """The rubric semantics stated in exercise.schema.json (keywords whole words, phrases, regexes; any case)."""
    found = []
    flat = " ".join(text.lower().split())
    for concept in compare["concepts"]:
        hit = any(re.search(rf"\b{re.escape(k)}\b", text, re.I) for k in concept.get("keywords", ()))
        hit = hit or any(" ".join(p.lower().split()) in flat for p in concept.get("phrases", ()))
        hit = hit or any(re.search(r, text, re.I) for r in concept.get("regexes", ()))
        if hit:
            found.append(concept["id"])
    return found


def test_model_and_published_texts_reach_the_rubric_threshold(week10, solved):
    for exercise in week10.exercises:
        for part in exercise.parts:
            if part.compare_kind != "text":
                continue
            for source, value in (("model", solved[exercise.id][part.id].value),
                                  ("published", published_value(exercise, part))):
                for text in value if isinstance(value, list) else [value]:
                    found = concepts_present(part.compare, text)
                    assert len(found) >= part.compare["min_concepts"], (exercise.id, part.id, source, found)


def test_off_topic_text_stays_below_the_rubric_threshold(week10):
    for exercise in week10.exercises:
        for part in exercise.parts:
            if part.compare_kind == "text":
                found = concepts_present(part.compare, "I do not know; the answer is seven, as presented inside.")
                assert len(found) < part.compare["min_concepts"], (exercise.id, part.id, found)


# -- parameters are data -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delay", "latency", "windows", "e7_admitted"),
    # 2 min: the sheet. 4 min: after e6 the flink watermark is 10:05:59.999, before the expiry
    # 10:07:59.999, so e7 is admitted. 7 min: [10:00, 10:05) is open until M = 10:12, so three
    # windows overlap, and e7 is not even late.
    [(2, 3, 2, False), (4, 5, 2, True), (7, 8, 3, False)],
)
def test_changing_the_watermark_delay_in_a_copy_changes_the_answers(tmp_path, delay, latency, windows, e7_admitted):
    folder = tmp_path / "week10"
    shutil.copytree(WEEK10, folder)
    text = (folder / "context.yaml").read_text(encoding="utf-8")
    (folder / "context.yaml").write_text(text.replace("watermark_delay: 2m", f"watermark_delay: {delay}m"),
                                         encoding="utf-8")
    answers = solve(load_exercise_set(folder))
    _, size, got_delay, _ = sheet(folder)
    assert got_delay == delay
    # ex8: the earliest firing arrival has M = end + B, so latency from 10:04 is (10:05 - 10:04) + B.
    assert answers["ex8"]["min_latency"].value == minute_of("10:05") + delay - minute_of("10:04")
    assert answers["ex9"]["active_windows_per_user"].value == windows_held_per_key(size, delay)
    assert answers["ex9"]["state_bytes"].value == 5000 * windows_held_per_key(size, delay) * 8
    retract, emit = e7_writes(folder, "flink")
    assert rows_set(answers["ex11"]["late_retract"].value) == retract
    assert rows_set(answers["ex11"]["late_emit"].value) == emit
    assert answers["ex2"]["close_watermark"].value == "10:05"
    assert (answers["ex8"]["min_latency"].value, answers["ex9"]["active_windows_per_user"].value) == (latency, windows)
    assert bool(emit) == e7_admitted


# -- caching and API --------------------------------------------------------------------------------------------


def test_solve_is_cached_per_fingerprint_and_returns_copies(week10):
    first = solve(week10)
    first["ex6"]["rows"].value.append({"window_start": "09:00", "user_id": "Z", "sum_amount": 1})
    again = load_named_set("week10")
    assert again.fingerprint == week10.fingerprint
    before = solving._solve_cached.cache_info().hits
    second = solve(again)
    assert solving._solve_cached.cache_info().hits == before + 1
    assert len(second["ex6"]["rows"].value) == 4


def test_solve_part_matches_solve_and_rejects_unknown_overrides(week10, solved):
    assert solve_part(week10, "ex8", "min_latency") == solved["ex8"]["min_latency"]
    under_beam = solve_part(week10, "ex11", "late_emit", profile="beam-python")
    assert under_beam.profile == "beam-python" and rows_set(under_beam.value) == {("10:00", "A", 8)}
    with pytest.raises(SolutionError, match="unknown settings colour"):
        solve_part(week10, "ex8", "min_latency", model={"colour": "red"})
    with pytest.raises(KeyError):
        solve_part(week10, "ex8", "nope")


def test_the_solver_binds_every_query_of_the_vocabulary_and_nothing_else():
    from grader.exercises.vocabulary import QUERIES
    from grader.solutions.catalogue import SOLVERS

    assert set(SOLVERS) == set(QUERIES)

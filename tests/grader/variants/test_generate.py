"""Per-student variants: stable seeds, the students' own data and answers, constraints, grading.

Expected values are worked out here from the variant's own events with the rules of
SEMANTICS.md (window start = t - t % size, flink fires when M >= end + B and drops when
end + L <= M - B), not read back from grader.variants.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader.batch.copies import VariantMatcher, find_matching_variant, grade_fraction
from grader.errors import VariantGenerationError, VariationError
from grader.exercises.load import PACKAGED_SETS, load_exercise_set
from grader.grading import grade_answers
from grader.solutions.render import answer_object
from grader.solutions.solve import solve, solve_part
from grader.variants.declaration import VARIATION_FILE, load_variation
from grader.variants.generate import Variant, check_variant, variant_for, variant_seed
from grader.variants.policy import ENV_VAR, cache_clear, policy_for
from grader.variants.verify import verify_variants
from reference.timestamps import MINUTE, format_time

WEEK10 = PACKAGED_SETS / "week10"


@pytest.fixture(scope="module")
def alice(week10):
    return variant_for(week10, "alice")


@pytest.fixture(scope="module")
def bob(week10):
    return variant_for(week10, "bob")


def correct_answers(variant: Variant) -> dict:
    """A submission's answers built from the canonical answers of the variant's own set."""
    canonical = solve(variant.exercise_set)
    return {ex.id: answer_object(ex, canonical[ex.id]) for ex in variant.exercise_set.exercises}


def set_copy(tmp_path: Path, edit) -> Path:
    """A copy of week 10 whose variation.yaml was changed by ``edit(data)``."""
    folder = tmp_path / "week10"
    shutil.copytree(WEEK10, folder)
    path = folder / VARIATION_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return folder


# -- seeds and stability -------------------------------------------------------------------------------


def test_seed_is_sha256_of_salt_set_student_and_reissue(week10):
    v = load_variation(week10)
    digest = hashlib.sha256("\x1f".join([v.seed_salt, "week10", "alice", "0"]).encode()).digest()
    assert variant_seed(v, "alice") == int.from_bytes(digest[:8], "big")


def test_same_student_always_gets_the_same_variant(week10, alice):
    cache_clear()
    again = variant_for(week10, "alice")
    assert again is not alice
    assert again.seed == alice.seed
    assert again.exercise_set.context.events == alice.exercise_set.context.events
    assert again.exercise_set.fingerprint == alice.exercise_set.fingerprint
    assert solve(again.exercise_set) == solve(alice.exercise_set)


def test_reissue_gives_the_student_another_variant(week10, alice):
    reissued = variant_for(week10, "alice", reissue=1)
    assert reissued.reissue == 1 and reissued.seed != alice.seed
    assert reissued.exercise_set.context.events != alice.exercise_set.context.events


def test_two_students_get_different_data_and_different_canonical_answers(alice, bob):
    a, b = alice.exercise_set, bob.exercise_set
    assert a.context.events != b.context.events
    assert a.fingerprint != b.fingerprint
    sa, sb = solve(a), solve(b)
    for ex_id, part_id in [("ex4", "windows"), ("ex6", "rows"), ("ex7", "upsert"), ("ex11", "final_rows_drop")]:
        assert sa[ex_id][part_id].value != sb[ex_id][part_id].value


def test_a_variant_is_solved_from_its_own_context_not_the_sheets_cache(week10, alice):
    sheet_rows = solve(week10)["ex6"]["rows"].value
    rows = solve(alice.exercise_set)["ex6"]["rows"].value
    assert rows != sheet_rows
    assert solve(week10)["ex6"]["rows"].value == sheet_rows  # the sheet's cache entry is untouched


# -- the variant's data and its canonical answers, by hand --------------------------------------------------


def test_the_variant_keeps_the_sheets_shape(alice):
    ctx = alice.exercise_set.context
    size, delay, lateness = ctx.window_size, ctx.watermark_delay, ctx.allowed_lateness
    late = ctx.event(alice.late_event_id)
    on_time = [e for e in ctx.events if e is not late]
    times = [e.event_time for e in on_time]
    assert times == sorted(times) and len({*times, late.event_time}) == len(ctx.events)
    w1 = late.event_time - late.event_time % size
    # The last on-time click sits exactly on the end of the second window (t == end: next window).
    assert on_time[-1].event_time == w1 + 2 * size
    # The late click arrives after the click that fired W1 (M >= end + B), inside the lateness (M - B < end + L).
    arrival = ctx.events.index(late)
    m = max(e.event_time for e in ctx.events[:arrival])
    assert w1 + size + delay <= m < w1 + size + lateness + delay
    assert late.event_id == f"e{len(ctx.events)}"


def test_canonical_answers_follow_the_students_events(alice):
    ctx = alice.exercise_set.context
    size, delay = ctx.window_size, ctx.watermark_delay
    late = ctx.event(alice.late_event_id)
    w1 = late.event_time - late.event_time % size
    on_time = [e for e in ctx.events if e is not late]
    answers = solve(alice.exercise_set)
    expected_rows = {}
    for e in on_time:
        start = e.event_time - e.event_time % size
        if start in (w1, w1 + size):
            key = (format_time(start), e.user_id)
            expected_rows[key] = expected_rows.get(key, 0) + e.amount
    rows = {(r["window_start"], r["user_id"]): r["sum_amount"] for r in answers["ex6"]["rows"].value}
    assert rows == {k: int(v) for k, v in expected_rows.items()}
    late_sum = sum(e.amount for e in ctx.events if e.user_id == late.user_id and w1 <= e.event_time < w1 + size)
    assert answers["ex7"]["correct_sum"].value == int(late_sum)
    assert answers["ex2"]["close_watermark"].value == format_time(w1 + size)
    last_in_w1 = max(e.event_time for e in on_time if e.event_time < w1 + size)
    assert answers["ex8"]["min_latency"].value == (w1 + size + delay - last_in_w1) // MINUTE
    assert answers["ex11"]["late_emit"].value == [
        {"window_start": format_time(w1), "user_id": late.user_id, "sum_amount": int(late_sum)}]
    assert answers["ex11"]["late_retract"].value == [
        {"window_start": format_time(w1), "user_id": late.user_id, "sum_amount": int(late_sum - late.amount)}]


def test_prompts_and_titles_name_the_students_own_events(alice):
    s = alice.exercise_set
    late = s.context.event(alice.late_event_id)
    size = s.context.window_size
    w1 = late.event_time - late.event_time % size
    window = f"[{format_time(w1)}, {format_time(w1 + size)})"
    assert late.describe() in s.exercise("ex7").prompt
    assert window in s.exercise("ex6").prompt and window in s.exercise("ex2").prompt
    assert s.exercise("ex5").title == f"Two ways to handle the late event {late.event_id}"
    assert f"after {alice.late_after}" in s.exercise("ex11").prompt
    assert all("${" not in ex.prompt for ex in s.exercises)


def test_a_variant_has_no_errata_and_no_mistakes_about_the_sheets_own_data(alice):
    s = alice.exercise_set
    assert all(ex.errata == () for ex in s.exercises)
    assert "e7 (A, 10:01, 1)" not in solve(s)["ex11"]["diagram"].value
    assert "flink_end_plus_lateness_boundary" not in {m.code for m in s.exercise("ex11").mistakes}


# -- grading against a variant ------------------------------------------------------------------------------


def test_each_student_scores_100_on_their_own_variant_and_not_on_the_others(alice, bob):
    own_a, own_b = correct_answers(alice), correct_answers(bob)
    assert grade_answers(own_a, alice.exercise_set).score == 100
    assert grade_answers(own_b, bob.exercise_set).score == 100
    assert grade_answers(own_a, bob.exercise_set).score < 100
    assert grade_answers(own_b, alice.exercise_set).score < 100


def test_feedback_and_diagnosis_name_the_students_own_events(alice):
    s = alice.exercise_set
    answers = correct_answers(alice)
    answers["ex6"] = {"rows": solve_part(s, "ex6", "rows", model={"windows": "inclusive_end"}).value}
    result = grade_answers(answers, s)
    ex6 = result.exercise("ex6")
    boundary = s.context.events[-1] if s.context.events[-1].event_id != alice.late_event_id else s.context.events[-2]
    assert "inclusive_window_end" in ex6.diagnosis
    assert any(boundary.describe() in line for line in ex6.feedback)


def test_copied_answers_match_the_other_students_variant(week10, alice, bob):
    carol = variant_for(week10, "carol")
    candidates = {"alice": alice.exercise_set, "bob": bob.exercise_set, "carol": carol.exercise_set}
    matcher = VariantMatcher(candidates)
    copied = correct_answers(bob)
    assert matcher.match(copied) == "bob"  # alice handing in bob's answers is flagged
    assert matcher.match(correct_answers(alice)) == "alice"
    assert matcher.match({}) is None
    copied["ex6"] = {"rows": []}  # a partial copy still fits bob's data best
    assert matcher.match(copied) == "bob"
    assert find_matching_variant(correct_answers(carol), candidates) == "carol"


def test_the_matcher_looks_only_at_parts_whose_answer_depends_on_the_data(alice, bob):
    matcher = VariantMatcher({"alice": alice.exercise_set, "bob": bob.exercise_set})
    assert ("ex6", "rows") in matcher.data_parts and ("ex7", "correct_sum") in matcher.data_parts
    assert ("ex3", "semantics") not in matcher.data_parts and ("ex10", "key_columns") not in matcher.data_parts
    assert not any(part_id in ("tradeoff", "explanation", "assumptions") for _, part_id in matcher.data_parts)


def test_whole_set_grading_can_be_the_matching_score(alice, bob):
    candidates = {"alice": alice.exercise_set, "bob": bob.exercise_set}
    found = find_matching_variant(correct_answers(bob), candidates, score=grade_fraction)
    assert found == "bob"


def test_find_matching_variant_takes_an_injected_scorer_and_ignores_ties():
    sets = {"a": object(), "b": object(), "c": object()}
    scores = {id(sets["a"]): 0.4, id(sets["b"]): 0.97, id(sets["c"]): 0.5}
    assert find_matching_variant({}, sets, score=lambda _, s: scores[id(s)]) == "b"
    assert find_matching_variant({}, sets, score=lambda _, s: 1.0) is None
    assert find_matching_variant({}, sets, score=lambda _, s: 0.5) is None


# -- switching variants on ------------------------------------------------------------------------------------


def test_the_policy_grades_on_the_base_set_when_variants_are_off(week10, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert load_variation(week10).enabled is False
    assert policy_for(week10).set_for("alice") is week10
    assert policy_for(week10, override=True).set_for(None) is week10


def test_the_policy_gives_the_students_variant_when_switched_on(week10, alice, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    assert policy_for(week10).set_for("alice").fingerprint == alice.exercise_set.fingerprint
    assert policy_for(week10, override=False).set_for("alice") is week10
    monkeypatch.setenv(ENV_VAR, "0")
    assert policy_for(week10).set_for("alice") is week10
    assert policy_for(week10, override=True).set_for("alice").fingerprint == alice.exercise_set.fingerprint


def test_a_broken_variation_does_not_stop_grading_when_variants_are_off(tmp_path, monkeypatch):
    base = load_exercise_set(set_copy(tmp_path, lambda d: d.update(max_tries="many")))
    monkeypatch.setenv(ENV_VAR, "0")
    assert policy_for(base).set_for("alice") is base
    monkeypatch.setenv(ENV_VAR, "1")
    with pytest.raises(VariationError, match="max_tries: 'many' is not of type 'integer'"):
        policy_for(base).set_for("alice")


def test_the_sheet_and_grading_follow_the_same_decision(week10, alice, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert policy_for(week10).variant_of("alice") is None
    assert policy_for(week10, override=True).variant_of("alice").seed == alice.seed
    assert policy_for(week10, override=True).variant_of(None) is None


def test_one_decision_reads_the_variation_once_for_a_whole_class(tmp_path, monkeypatch):
    import builtins

    base = load_exercise_set(set_copy(tmp_path, lambda d: d.update(enabled=True)))
    cache_clear()
    path = str(base.path / VARIATION_FILE)
    opened = []
    real_open = builtins.open
    real_read_bytes = Path.read_bytes

    def counting_open(file, *args, **kwargs):
        if str(file) == path:
            opened.append(file)
        return real_open(file, *args, **kwargs)

    def counting_read_bytes(self):
        if str(self) == path:
            opened.append(self)
        return real_read_bytes(self)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(Path, "read_bytes", counting_read_bytes)
    reads_before = len(opened)
    for student in ("alice", "bob", "carol", "dave"):
        policy_for(base).set_for(student)
    assert len(opened) - reads_before <= 2, opened  # read (and hashed) once, its text parsed once


def test_the_reissue_recorded_in_the_variation_is_used_for_grading(tmp_path):
    base = load_exercise_set(set_copy(tmp_path, lambda d: d.update(enabled=True, reissued={"alice": 2})))
    assert load_variation(base).reissued["alice"] == 2
    chosen = policy_for(base).set_for("alice")
    assert chosen.fingerprint == variant_for(base, "alice", 2).exercise_set.fingerprint
    assert chosen.fingerprint != variant_for(base, "alice", 0).exercise_set.fingerprint


# -- constraints, verification and errors ----------------------------------------------------------------------


def test_fifty_variants_pass_verification(week10):
    report = verify_variants(week10, 50)
    assert report.ok, report.summary()
    assert report.count == 50 and report.distinct_contexts == 50


def test_every_generated_variant_satisfies_its_constraints_on_fresh_engine_runs(week10):
    for i in range(40):
        assert check_variant(variant_for(week10, f"s{i}")) == []


def test_the_sheets_boundary_case_can_be_chosen_for_every_variant(tmp_path):
    def at_expiry(data):
        data["parameters"]["late_arrival"] = "at_expiry"
        data["mistakes_not_in_variants"] = []

    base = load_exercise_set(set_copy(tmp_path, at_expiry))
    report = verify_variants(base, 20)
    assert report.ok, report.summary()
    variant = variant_for(base, "alice")
    late_retract = solve(variant.exercise_set)["ex11"]["late_retract"]
    assert late_retract.value == [] and late_retract.depends_on_profile
    assert late_retract.by_profile["beam-python"] != []


def test_impossible_constraints_fail_with_a_clear_error_after_bounded_tries(tmp_path):
    def one_click_in_w1(data):
        data["events"]["in_first_window"] = {"min": 1, "max": 1}
        data["max_tries"] = 5

    base = load_exercise_set(set_copy(tmp_path, one_click_in_w1))
    with pytest.raises(VariantGenerationError) as info:
        variant_for(base, "alice")
    assert "in 5 tries" in info.value.message and "two_users_in_first_window" in info.value.message


def test_variation_problems_are_all_listed_with_their_paths(tmp_path):
    def break_it(data):
        data["constraints"].append({"id": "no_such_rule", "description": "x"})
        data["render"]["ex7"]["prompt"] = "Window ${w9} has fired."
        del data["render"]["ex6"]["args"]
        data["max_tries"] = 0

    base = load_exercise_set(set_copy(tmp_path, break_it))
    with pytest.raises(VariationError) as info:
        load_variation(base)
    assert info.value.problems == ("variation.yaml: max_tries: 0 is less than the minimum of 1",)
    base = load_exercise_set(set_copy(tmp_path / "2", lambda d: break_it(d) or d.update(max_tries=3)))
    with pytest.raises(VariationError) as info:
        load_variation(base)
    problems = "\n".join(info.value.problems)
    assert "variation.yaml: constraints[9].id: unknown constraint 'no_such_rule'" in problems
    assert "render.ex7.prompt: unknown placeholder ${w9}" in problems
    assert "render.ex6.args.rows: the sheet's events, window_starts must be given for a variant" in problems


def test_a_set_without_a_variation_has_no_variants(tmp_path, week10):
    folder = tmp_path / "week10"
    shutil.copytree(WEEK10, folder)
    (folder / VARIATION_FILE).unlink()
    base = load_exercise_set(folder)
    assert load_variation(base) is None
    assert policy_for(base, override=True).set_for("alice") is base
    with pytest.raises(VariationError):
        variant_for(base, "alice")


# -- the CLI -----------------------------------------------------------------------------------------------------


def test_cli_prints_the_students_sheet_in_markdown(alice):
    from grader.cli import cli

    result = CliRunner().invoke(cli, ["variant", "alice"])
    assert result.exit_code == 0, result.output
    ctx = alice.exercise_set.context
    assert "| event_id | user_id | event_time | amount |" in result.output
    assert f"| {alice.late_event_id} (late) |" in result.output
    for e in ctx.events:
        assert e.describe() in result.output
    assert alice.exercise_set.exercise("ex11").prompt in result.output


def test_cli_json_has_events_parameters_and_seed_but_no_answers(alice):
    from grader.cli import cli

    result = CliRunner().invoke(cli, ["variant", "alice", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["seed"] == alice.seed and doc["student_id"] == "alice"
    assert [e["event_id"] for e in doc["events"]] == [e.event_id for e in alice.exercise_set.context.events]
    assert doc["parameters"]["window_size"] == f"{alice.exercise_set.context.window_size // MINUTE}m"
    assert set(doc) == {"exercise_set", "title", "student_id", "seed", "reissue", "events", "late_event",
                        "parameters", "scale", "sink", "exercises"}
    assert all(set(ex) == {"id", "title", "points", "prompt"} for ex in doc["exercises"])
    assert "model_answer" not in result.output and "canonical" not in result.output


def test_cli_reissue_flag_and_unknown_set(alice):
    from grader.cli import cli, main

    runner = CliRunner()
    reissued = json.loads(runner.invoke(cli, ["variant", "alice", "--format", "json", "--reissue", "1"]).output)
    assert reissued["reissue"] == 1 and reissued["seed"] != alice.seed
    assert main(["variant", "alice", "--set", "week99"]) == 2

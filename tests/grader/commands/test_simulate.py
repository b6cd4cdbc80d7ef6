"""``streamgrade simulate``: the sheet's run for allowed lateness 0, 3 and 4 minutes, and bad input.

Expected values are worked by hand from SEMANTICS.md (see tests/reference/test_semantics.py
for the derivation): under flink with a 2-minute delay e7 arrives at watermark 10:07:59.999,
exactly the expiry of [10:00, 10:05) with 3 minutes of lateness.
"""

from __future__ import annotations

import json

import pytest

from grader.cli import main


def simulate(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["simulate", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("lateness", "policy", "a_sum", "dropped", "late_kinds"),
    [("0m", "drop", 7, ["e7"], []), ("3m", "retract", 7, ["e7"], []), ("4m", "retract", 8, [], ["retract", "insert"])],
)
def test_sheet_json_for_lateness_0_3_4(capsys, lateness, policy, a_sum, dropped, late_kinds):
    code, out, _ = simulate(capsys, "--sheet", "week10", "--allowed-lateness", lateness, "--late-policy", policy,
                            "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert {"emissions", "late", "dropped", "watermarks", "final_rows", "max_windows_per_key",
            "peak_state_bytes"} <= set(doc)
    assert doc["late"] == ["e7"] and doc["dropped"] == dropped
    rows = {(r["window_start"], r["user_id"]): r["sum_amount"] for r in doc["final_rows"]}
    assert rows == {("10:00", "A"): a_sum, ("10:00", "B"): 3, ("10:05", "A"): 4, ("10:05", "B"): 1, ("10:10", "B"): 2}
    on_time = [e for e in doc["emissions"] if e["timing"] == "on_time"]
    assert {(e["user_id"], e["on_arrival"], e["watermark"]) for e in on_time} == {
        ("A", "e5", "10:05:59.999"), ("B", "e5", "10:05:59.999")}
    assert [e["kind"] for e in doc["emissions"] if e["timing"] == "late"] == late_kinds
    assert [w["watermark"] for w in doc["watermarks"]] == [
        "09:57:59.999", "09:59:59.999", "10:01:59.999", "10:03:59.999", "10:05:59.999", "10:07:59.999", "10:07:59.999"]
    expected_windows = 3 if lateness == "4m" else 2
    assert doc["max_windows_per_key"] == expected_windows


def test_sheet_text_trace_names_the_rule_for_e7(capsys):
    code, out, _ = simulate(capsys, "--sheet", "week10", "--allowed-lateness", "3m", "--late-policy", "retract")
    assert code == 0
    e7 = next(line for line in out.splitlines() if "e7 (A, 10:01, 1)" in line)
    assert "DROPPED" in e7 and "10:07:59.999" in e7 and "end - 1 ms + L <= watermark" in e7
    assert "(10:00, A, 7)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sheet", "week10", "--window", "5x"], "not a duration"),
        (["--sheet", "week10", "--late-policy", "drop", "--allowed-lateness", "3m"], "allowed lateness must be 0"),
        (["--sheet", "nope"], "unknown sheet"),
        (["--events", "/definitely/missing.jsonl"], "no such file"),
        ([], "exactly one of"),
    ],
)
def test_bad_flags_and_files_exit_2_with_one_message(capsys, args, message):
    code, _, err = simulate(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_bad_event_file_names_the_line(capsys, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event_id": "e1", "user_id": "A", "event_time": "10:00", "amount": 1}\n'
                    '{"event_id": "e2", "user_id": "A", "event_time": "10:61", "amount": 1}\n')
    code, _, err = simulate(capsys, "--events", str(path))
    assert code == 2 and "line 2" in err


def test_csv_events_with_explicit_arrival_order(capsys, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("event_id,user_id,event_time,amount,arrival\ne1,A,10:00,5,2\ne2,A,10:09,1,1\n")
    code, out, _ = simulate(capsys, "--events", str(path), "--watermark-delay", "2m", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    # e2 arrives first and moves the watermark to 10:06:59.999, so e1 (10:00) is dropped.
    assert [e["event_id"] for e in doc["events"]] == ["e2", "e1"] and doc["dropped"] == ["e1"]

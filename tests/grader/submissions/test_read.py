"""Reading submissions (JSON, YAML, Python) and checking answers against answer schemas."""

from __future__ import annotations

import hashlib
import io
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.errors import SubmissionUnreadable, UsageProblem
from grader.results import Problem, Severity
from grader.submissions.limits import ReadLimits
from grader.submissions.problems import validate_answers
from grader.submissions.read import (
    Submission,
    SubmissionFormat,
    read_submission_bytes,
    read_submission_file,
    read_submission_stream,
    read_submission_text,
)

GOOD = {"student_id": "s1234567", "exercise_set": "week10",
        "answers": {"ex6": {"rows": [{"window_start": "10:00", "user_id": "A", "sum_amount": 7}]}}}


def unreadable(raw: bytes | str, name: str = "sub.json", **kwargs) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    with pytest.raises(SubmissionUnreadable) as info:
        read_submission_bytes(data, name, **kwargs)
    message = info.value.message
    assert "\n" not in message and "Traceback" not in message
    return message


# -- reading ---------------------------------------------------------------------------------------------


def test_json_file_is_read_with_hash_format_and_name(tmp_path):
    path = tmp_path / "sub.json"
    raw = json.dumps(GOOD).encode()
    path.write_bytes(raw)
    sub = read_submission_file(path)
    assert isinstance(sub, Submission)
    assert (sub.student_id, sub.exercise_set) == ("s1234567", "week10")
    assert sub.answers == GOOD["answers"]
    assert sub.format is SubmissionFormat.JSON
    assert sub.source_name == str(path)
    assert sub.raw_bytes == raw
    assert sub.content_hash == hashlib.sha256(raw).hexdigest()
    assert sub.warnings == ()


def test_submission_is_frozen_and_hashable():
    sub = read_submission_bytes(json.dumps(GOOD).encode(), "sub.json")
    with pytest.raises(AttributeError):
        sub.student_id = "other"  # type: ignore[misc]
    assert hash(sub) == hash(read_submission_bytes(json.dumps(GOOD).encode(), "sub.json"))


def test_stdin_stream_and_text_are_read():
    raw = json.dumps(GOOD).encode()
    assert read_submission_stream(io.BytesIO(raw)).answers == GOOD["answers"]
    assert read_submission_stream(io.BytesIO(raw)).source_name == "<stdin>"
    assert read_submission_text(json.dumps(GOOD), "paste").answers == GOOD["answers"]


def test_yaml_is_chosen_by_suffix():
    raw = b"student_id: s1\nanswers:\n  ex6:\n    rows:\n      - {window_start: '10:00', user_id: A, sum_amount: 7}\n"
    for name in ("sub.yaml", "sub.yml", "SUB.YML"):
        sub = read_submission_bytes(raw, name)
        assert sub.format is SubmissionFormat.YAML
        assert sub.answers["ex6"]["rows"][0]["sum_amount"] == 7


def test_without_suffix_json_is_tried_first_then_yaml():
    assert read_submission_bytes(json.dumps(GOOD).encode(), "<stdin>").format is SubmissionFormat.JSON
    sub = read_submission_bytes(b"answers:\n  ex1: {why_event_time: because}\n", "<stdin>")
    assert sub.format is SubmissionFormat.YAML
    assert sub.answers == {"ex1": {"why_event_time": "because"}}
    assert read_submission_bytes(b"{answers: {ex2: {close_watermark: '10:05'}}}", "-").format is SubmissionFormat.YAML


def test_explicit_format_overrides_the_suffix():
    sub = read_submission_bytes(b"answers: {}\n", "upload.txt", fmt="yaml")
    assert sub.format is SubmissionFormat.YAML
    assert "unknown submission format" in unreadable(b"{}", "x", fmt="toml")


def test_yaml_clock_times_dates_and_leading_zeros_stay_text():
    # YAML 1.1 would make 10:00 the base-60 integer 600 and 2024-01-01 a date.
    raw = (b"student_id: 007\nanswers:\n  ex2: {close_watermark: 10:05}\n"
           b"  ex6:\n    rows:\n      - {window_start: 10:00:00, user_id: A, sum_amount: 7.5}\n"
           b"  ex9: {when: 2024-01-01T10:00:00, answer: no, other: on, yes: true}\n")
    sub = read_submission_bytes(raw, "sub.yaml")
    assert sub.student_id == "007"
    assert sub.answers["ex2"] == {"close_watermark": "10:05"}
    assert sub.answers["ex6"]["rows"][0] == {"window_start": "10:00:00", "user_id": "A", "sum_amount": 7.5}
    assert sub.answers["ex9"] == {"when": "2024-01-01T10:00:00", "answer": "no", "other": "on", "yes": True}


def test_yaml_scalar_keys_become_text_keys():
    sub = read_submission_bytes(b"answers:\n  1: one\n  true: yes\n", "s.yaml")
    assert sub.answers == {"1": "one", "true": "yes"}


def test_json_syntax_error_names_file_line_and_column():
    raw = '{\n  "answers": {\n    "ex6": {"rows" []}\n  }\n}'
    assert unreadable(raw, "sub.json") == "sub.json: line 3 column 20: Expecting ':' delimiter"
    assert unreadable('{"answers": {"a": 1 "b": 2}}') == "sub.json: line 1 column 21: Expecting ',' delimiter"


def test_yaml_syntax_error_names_file_line_and_column():
    message = unreadable(b"answers:\n  ex1: [1, 2\n  ex2: 3\n", "sub.yaml")
    assert message.startswith("sub.yaml: line ")
    assert " column " in message


def test_tab_indentation_in_yaml_gets_a_hint():
    assert "tabs" in unreadable(b"answers:\n  ex6:\n\trows: 1\n", "s.yaml")


def test_bad_utf8_gives_byte_offset_and_line():
    message = unreadable(b'{"answers":\n {"ex1": "caf\xe9"}}', "sub.json")
    assert message == ("sub.json: line 2: not UTF-8: byte 0xe9 at byte offset 25 (byte 14 of the line) "
                       "cannot be decoded; save the file as UTF-8")


def test_utf8_byte_order_mark_is_accepted_and_utf16_gets_a_hint():
    raw = b"\xef\xbb\xbf" + json.dumps(GOOD).encode()
    sub = read_submission_bytes(raw, "sub.json")
    assert sub.answers == GOOD["answers"]
    assert sub.content_hash == hashlib.sha256(raw).hexdigest()
    assert "UTF-16" in unreadable(json.dumps(GOOD).encode("utf-16"), "sub.json")


def test_text_with_unpaired_surrogate_is_refused():
    assert "UTF-8" in unreadable_text("{\"answers\": {\"x\": \"\udc80\"}}")
    assert "surrogate" in unreadable(b'{"answers": {"x": "\\ud800"}}')


def unreadable_text(text: str) -> str:
    with pytest.raises(SubmissionUnreadable) as info:
        read_submission_text(text, "paste")
    return info.value.message


def test_size_limit_is_configurable_and_checked_before_parsing(tmp_path):
    raw = json.dumps({"answers": {"ex1": {"text": "x" * 500}}}).encode()
    assert "larger than the limit of 100 bytes" in unreadable(raw, limits=ReadLimits(max_bytes=100))
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (2 * 1024 * 1024) + b"{}")
    with pytest.raises(SubmissionUnreadable, match="larger than the limit of 1 MiB"):
        read_submission_file(big)


def test_python_submission_is_read_as_source_with_its_own_limit():
    source = b"def assign_window(event_time, size_minutes=5):\n    return event_time\n"
    sub = read_submission_bytes(source, "answers.py")
    assert sub.format is SubmissionFormat.PYTHON
    assert sub.answers == {}
    assert sub.text == source.decode()
    assert "256 KiB" in unreadable(b"#" * (256 * 1024 + 1), "answers.py")


def test_missing_file_is_unreadable_not_a_crash(tmp_path):
    with pytest.raises(SubmissionUnreadable, match="cannot read the file"):
        read_submission_file(tmp_path / "nope.json")
    with pytest.raises(SubmissionUnreadable):
        read_submission_file(tmp_path)


def test_unreadable_is_a_usage_problem_with_exit_code_2():
    with pytest.raises(UsageProblem) as info:
        read_submission_bytes(b"nope", "x.json")
    assert info.value.exit_code == 2
    assert info.value.http_status == 400


@pytest.mark.parametrize(("raw", "expected"), [
    (b"[1, 2]", 'line 1 column 1: expected an object with an "answers" object at the top level, got a list of 2'),
    (b'  "text"', 'line 1 column 3: expected an object with an "answers" object at the top level, got "text"'),
    (b'{"student_id": "s1"}', 'expected an "answers" object at the top level, found field "student_id"'),
    (b'{"ex1": {}, "ex2": {}}', 'write them as {"answers": {...}}'),
    (b'{\n"answers": [1]}', 'line 2 column 1: "answers" must be an object'),
    (b'{"answers": {}, "student_id": ["s1"]}', '"student_id" must be text, got a list of 1 item'),
    (b"", "line 1 column 1: the submission is empty"),
    (b"  \n ", "the submission is empty"),
])
def test_wrong_top_level_shape_is_one_clear_message(raw, expected):
    assert expected in unreadable(raw)


def test_numeric_student_id_is_read_as_text():
    assert read_submission_bytes(b'{"answers": {}, "student_id": 1234567}', "s.json").student_id == "1234567"


def test_unknown_top_level_fields_and_duplicate_keys_are_warnings():
    sub = read_submission_bytes(b'{"answers": {"ex1": 1, "ex1": 2}, "name": "Ada"}', "s.json")
    assert sub.answers == {"ex1": 2}
    assert any('"ex1" appears more than once' in w for w in sub.warnings)
    assert any('"name": unknown top-level field' in w for w in sub.warnings)
    sub = read_submission_bytes(b"answers:\n  ex1: 1\n  ex1: 2\n", "s.yaml")
    assert sub.warnings == ('line 3: key "ex1" appears more than once in a mapping; the last value is used',)


# -- abuse ----------------------------------------------------------------------------------------------


def test_json_nested_ten_thousand_deep_is_a_clear_message():
    message = unreadable(b"[" * 10_000 + b"]" * 10_000)
    assert message == ("sub.json: line 1 column 33: nested deeper than 32 levels of objects and lists; "
                       "no answer needs more than 6")
    deep = b'{"answers": {"ex1": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}}"
    assert "nested deeper than 32 levels" in unreadable(deep)
    assert "nested deeper" not in repr(read_submission_bytes(deep, "s.json", limits=ReadLimits(max_depth=64)))


@pytest.mark.parametrize("raw", [
    b"[" * 10_000 + b"]" * 10_000,
    b"- " * 10_000 + b"x\n",
    b"".join(b"  " * i + b"a:\n" for i in range(200)) + b"  " * 200 + b"b: 1\n",
])
def test_yaml_nested_deep_is_a_clear_message(raw):
    assert "nest" in unreadable(raw, "deep.yaml")


def test_yaml_alias_bomb_is_refused():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    raw = ("\n".join(lines) + "\nanswers: {}\n").encode()
    assert "YAML aliases expand this submission to more than 100000 values" in unreadable(raw, "bomb.yaml")


def test_yaml_recursive_alias_is_refused_and_a_small_alias_is_fine():
    assert "refers to the value that contains it" in unreadable(b"answers: &a {x: *a}\n", "r.yaml")
    sub = read_submission_bytes(b"answers:\n  ex1: &row {a: 1}\n  ex2: *row\n", "ok.yaml")
    assert sub.answers == {"ex1": {"a": 1}, "ex2": {"a": 1}}


@pytest.mark.parametrize("raw", [
    b"answers: !!python/object/apply:os.system ['true']\n",
    b"answers: {x: !!binary aGVsbG8=}\n",
    b"answers: {x: !!set {a, b}}\n",
    b"answers: {x: !!timestamp 2024-01-01}\n",
    b"answers: {x: !custom 1}\n",
])
def test_yaml_tags_beyond_plain_data_are_refused(raw):
    assert "is not accepted in a submission" in unreadable(raw, "t.yaml")


@pytest.mark.parametrize(("raw", "expected"), [
    (b'{"answers": {"x": NaN}}', "line 1 column 19: NaN is not a number a submission may hold"),
    (b'{"answers": {"x": Infinity}}', "Infinity is not a number"),
    (b'{"answers": {"x": [1, -Infinity]}}', "line 1 column 23: -Infinity is not a number"),
    (b'{"answers": {"x": 1e400}}', "the number 1e400 is too large"),
    (b'{"answers": {"x": ' + b"9" * 5000 + b"}}", "a number with 5000 digits; at most 100 are accepted"),
    (b'{"answers": {"x": 0.' + b"1" * 500 + b"}}", "at most 100 digits are accepted"),
])
def test_json_non_finite_and_huge_numbers_are_refused(raw, expected):
    assert expected in unreadable(raw)


@pytest.mark.parametrize("literal", [b".nan", b".inf", b"-.Inf", b"1e400", b"9" * 5000])
def test_yaml_non_finite_and_huge_numbers_are_refused(literal):
    message = unreadable(b"answers: {x: " + literal + b"}\n", "n.yaml")
    assert message.startswith("n.yaml: line 1 column 14: ")


def test_yaml_multiple_documents_and_control_characters_are_refused():
    assert "single document" in unreadable(b"answers: {}\n---\nanswers: {}\n", "m.yaml")
    assert "control characters" in unreadable(b"answers: {x: \"\x00\"}\n", "c.yaml")


# -- fuzzing ---------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)


def _read_or_refuse(raw: bytes, name: str) -> None:
    try:
        sub = read_submission_bytes(raw, name)
    except SubmissionUnreadable as exc:
        assert exc.message.startswith(name + ": ")
        assert "\n" not in exc.message
        assert len(exc.message) < 600
    else:
        assert isinstance(sub.answers, dict)
        assert sub.content_hash == hashlib.sha256(raw).hexdigest()


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["f.json", "f.yaml", "f", "<stdin>"]))
def test_random_bytes_give_a_submission_or_one_message(raw, name):
    _read_or_refuse(raw, name)


@FUZZ
@given(json_values, st.sampled_from(["f.json", "f.yaml", "f"]))
def test_random_json_values_give_a_submission_or_one_message(value, name):
    _read_or_refuse(json.dumps({"answers": {"ex1": value}}).encode(), name)
    _read_or_refuse(json.dumps(value).encode(), name)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("[]{}:,-&*!'\" \n\tab1.e")), max_size=200),
       st.sampled_from(["f.yaml", "f", "f.json"]))
def test_random_yaml_and_json_punctuation_gives_a_submission_or_one_message(text, name):
    _read_or_refuse(text.encode(), name)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=20_000), st.sampled_from(["[", "{\"a\":", "- "]),
       st.sampled_from(["f.json", "f.yaml", "f"]))
def test_deep_nesting_of_any_depth_gives_one_message(depth, opener, name):
    closer = {"[": "]", "{\"a\":": "}", "- ": ""}[opener]
    _read_or_refuse((opener * depth + "1" + closer * depth).encode(), name)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=6000), st.sampled_from(["", "-", "0.", "1e"]),
       st.sampled_from(["f.json", "f.yaml"]))
def test_huge_numbers_give_one_message(digits, prefix, name):
    _read_or_refuse(f'{{"answers": {{"x": {prefix}{"7" * digits}}}}}'.encode(), name)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([("NaN", "f.json"), ("Infinity", "f"), ("-Infinity", "f.json"), ("1e999", "f"),
                        (".nan", "f.yaml"), (".inf", "f.yaml"), ("-.inf", "f.yaml"), ("-1e999", "f.yaml")]))
def test_nan_and_infinity_give_one_message(case):
    # In YAML the word NaN is text; its not-a-number is .nan.
    literal, name = case
    with pytest.raises(SubmissionUnreadable):
        read_submission_bytes(f'{{"answers": {{"x": {literal}}}}}'.encode(), name)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=1_100_000), st.sampled_from(["f.json", "f.yaml"]))
def test_very_long_strings_are_read_or_refused_by_size(length, name):
    _read_or_refuse(json.dumps({"answers": {"ex1": {"t": "x" * length}}}).encode(), name)


# -- answers against answer schemas ----------------------------------------------------------------------

NUMBER = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*[-+]?\d+(\.\d+)?\s*$"}]}
SCHEMAS = {
    "ex4": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object", "additionalProperties": False,
        "properties": {"windows": {"type": ["array", "null"], "items": {
            "type": "object", "required": ["window_start", "events"],
            "properties": {"window_start": {"type": "string", "pattern": r"\d{1,2}:\d{2}"},
                           "events": {"type": "array", "items": {"$ref": "#/$defs/event"}}}}}},
        "$defs": {"number": NUMBER, "event": {"anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "object", "required": ["user_id", "amount"],
             "properties": {"user_id": {"type": "string", "minLength": 1}, "amount": {"$ref": "#/$defs/number"}}},
            {"type": "array", "minItems": 2, "maxItems": 2,
             "prefixItems": [{"type": "string"}, {"$ref": "#/$defs/number"}]},
        ]}},
    },
    "ex6": {
        "type": "object", "additionalProperties": False,
        "properties": {"rows": {"type": ["array", "null"], "items": {"$ref": "#/$defs/row"}}},
        "$defs": {"row": {"type": "object", "required": ["window_start", "user_id", "sum_amount"],
                          "properties": {"window_start": {"type": "string", "pattern": r"\d{1,2}:\d{2}"},
                                         "user_id": {"type": "string", "minLength": 1},
                                         "sum_amount": NUMBER}}},
    },
    "ex3": {"type": "object", "additionalProperties": False,
            "properties": {"semantics": {"type": ["array", "null"], "items": {"type": "string"}},
                           "policy": {"enum": ["drop", "allowed_lateness", "side_output", "reprocess"]}}},
    "ex8": {"type": "object", "properties": {"min_latency_minutes": {"anyOf": [
        {"type": "number"}, {"type": "string", "pattern": r"^\s*[-+]?\d+(\.\d+)?\s*[A-Za-z/]*\s*$"},
        {"type": "null"}]}}},
}


def lines(problems: tuple[Problem, ...]) -> list[str]:
    return [f"{p.severity.value} {p}" for p in problems]


def test_wrong_type_names_the_json_path_and_the_value():
    answers = {"ex6": {"rows": [{"window_start": "10:00", "user_id": "A", "sum_amount": 7},
                                {"window_start": "10:00", "user_id": "B", "sum_amount": "seven"}]}}
    problems = validate_answers(answers, SCHEMAS)
    assert problems == (Problem("answers.ex6.rows[1].sum_amount", "wrong_type", 'expected a number, got "seven"'),)
    assert str(problems[0]) == 'answers.ex6.rows[1].sum_amount: expected a number, got "seven"'


def test_all_problems_are_returned_not_just_the_first():
    answers = {"ex6": {"rows": [{"user_id": "", "sum_amount": []}, "row"], "extra": 1},
               "ex3": {"semantics": "alo", "policy": "dorp"}, "ex99": {"x": 1}}
    assert lines(validate_answers(answers, SCHEMAS)) == [
        'error answers.ex3.policy: expected one of "drop", "allowed_lateness", "side_output", "reprocess", '
        'got "dorp"',
        'error answers.ex3.semantics: expected a list or null, got "alo"',
        "warning answers.ex6.extra: unexpected field, ignored",
        "error answers.ex6.rows[0].sum_amount: expected a number, got a list of 0 items",
        "error answers.ex6.rows[0].user_id: must not be empty",
        "error answers.ex6.rows[0].window_start: required field missing",
        'error answers.ex6.rows[1]: expected an object, got "row"',
        "warning answers.ex99: unknown exercise, ignored",
    ]


def test_unexpected_fields_and_unknown_exercises_are_warnings_so_the_rest_is_graded():
    problems = validate_answers({"ex6": {"rows": [], "notes": "hi"}, "ex99": {}}, SCHEMAS)
    assert [(p.path, p.code, p.severity) for p in problems] == [
        ("answers.ex6.notes", "unexpected_field", Severity.WARNING),
        ("answers.ex99", "unknown_exercise", Severity.WARNING),
    ]
    assert not any(p.is_error for p in problems)
    assert str(problems[1]) == "answers.ex99: unknown exercise, ignored"


def test_alternatives_follow_the_form_the_student_chose():
    answers = {"ex4": {"windows": [{"window_start": "10:00",
                                    "events": ["e1", {"user_id": "B"}, ["B"], 7, ["B", "three"]]}]}}
    assert lines(validate_answers(answers, SCHEMAS)) == [
        "error answers.ex4.windows[0].events[1].amount: required field missing",
        "error answers.ex4.windows[0].events[2]: expected at least 2 items, got 1",
        "error answers.ex4.windows[0].events[3]: expected text, an object with user_id, amount or a list of 2 items, "
        "got 7",
        'error answers.ex4.windows[0].events[4][1]: expected a number, got "three"',
    ]


def test_quantity_patterns_are_described_in_words():
    problems = validate_answers({"ex8": {"min_latency_minutes": "three minutes"}}, SCHEMAS)
    assert problems[0].message == 'expected a number, a quantity like "3 min" or null, got "three minutes"'


def test_long_values_are_cut_in_messages():
    problems = validate_answers({"ex6": {"rows": [{"window_start": "10:00", "user_id": "A",
                                                   "sum_amount": "x" * 100_000}]}}, SCHEMAS)
    assert len(problems) == 1
    assert len(problems[0].message) < 120
    assert problems[0].message.endswith('…"')


def test_null_exercise_counts_as_not_answered_and_is_not_checked():
    assert validate_answers({"ex6": None, "ex3": None}, SCHEMAS) == ()


def test_odd_keys_are_quoted_in_paths_and_exercises_sort_naturally():
    schemas = {"ex2": {"type": "object", "additionalProperties": False},
               "ex10": {"type": "object", "additionalProperties": False}}
    problems = validate_answers({"ex10": {"a b": 1}, "ex2": {"x": 1}}, schemas)
    assert [p.path for p in problems] == ["answers.ex2.x", 'answers.ex10["a b"]']


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["ex3", "ex4", "ex6", "ex8", "ex99"]), json_values, max_size=4))
def test_validation_of_any_answers_gives_problems_never_exceptions(answers):
    for problem in validate_answers(answers, SCHEMAS):
        assert problem.path.startswith("answers.")
        assert problem.message and "\n" not in problem.message
        assert len(problem.message) < 400


def test_values_are_never_nan_after_reading():
    sub = read_submission_bytes(b'{"answers": {"x": [1.5, -0.0, 1e308]}}', "f.json")
    assert all(math.isfinite(v) for v in sub.answers["x"])

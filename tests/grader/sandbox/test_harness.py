"""The harness's value codec and result writer, in-process (no sandbox needed)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.sandbox import harness
from grader.sandbox.harness import MAX_DEPTH, Opaque, TooLarge, decode, decode_object, dumps, encode

times = st.datetimes(min_value=datetime.datetime(1970, 1, 1), max_value=datetime.datetime(2100, 1, 1))
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=2)
scalars = st.none() | st.booleans() | st.integers() | st.text() | times | decimals | st.floats(allow_nan=False)
keys = st.text() | st.tuples(times, st.text())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=20)


@given(values)
def test_encode_then_decode_gives_back_equal_values_of_the_same_types(value):
    data = json.loads(dumps(encode(value)))  # through real JSON, as on the result channel
    back = decode(data)
    assert back == value
    assert type(back) is type(value)


@given(values)
def test_decoding_while_parsing_gives_what_decode_gives(value):
    text = dumps({"results": {"c1": {"status": "ok", "value": encode(value)}}})
    walked = decode(json.loads(text)["results"]["c1"]["value"])
    hooked = json.loads(text, object_hook=decode_object)["results"]["c1"]["value"]
    assert hooked == walked == value
    assert type(hooked) is type(walked)


def test_types_a_grader_checks_survive_the_trip():
    value = {"window_start": datetime.datetime(1970, 1, 1, 10, 5), "sum_amount": Decimal("7.50"),
             "n": 7, "f": 7.0, "t": (1, "A"), (datetime.datetime(1970, 1, 1, 10), "A"): {"x"}}
    back = decode(json.loads(dumps(encode(value))))
    assert type(back["sum_amount"]) is Decimal and str(back["sum_amount"]) == "7.50"
    assert type(back["f"]) is float and type(back["n"]) is int and back["t"] == (1, "A")
    assert back[(datetime.datetime(1970, 1, 1, 10), "A")] == {"x"}


def test_unknown_objects_travel_as_their_type_name_only():
    class Row:
        def __repr__(self) -> str:
            return "Row(10:00, A, 7)"

    back = decode(encode(Row()))
    assert isinstance(back, Opaque) and back.type_name.endswith("Row") and back.repr == "Row(10:00, A, 7)"


def test_student_overrides_do_not_run_during_encoding():
    class Sneaky(str):
        def __str__(self):
            raise RuntimeError("ran")

    class SneakyList(list):
        def __iter__(self):
            raise RuntimeError("ran")

    assert encode(Sneaky("abc")) == "abc"
    assert encode(SneakyList([1, 2])) == [1, 2]


def test_values_too_deep_too_big_or_cyclic_are_refused():
    deep: list = []
    node = deep
    for _ in range(MAX_DEPTH + 2):
        node.append([])
        node = node[0]
    cyclic: list = []
    cyclic.append(cyclic)
    for value in (deep, cyclic, list(range(harness.MAX_NODES_PER_VALUE + 1))):
        with pytest.raises(TooLarge):
            encode(value)


def test_the_result_writer_emits_ascii_json():
    text = dumps({"s": "é\U0001f600\"\n", "n": [1, None, True, 2.5]}).decode("ascii")
    assert json.loads(text) == {"s": "é\U0001f600\"\n", "n": [1, None, True, 2.5]}
    with pytest.raises(TypeError):
        dumps({"x": object()})


def test_the_harness_imports_only_what_starts_fast():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(harness.__file__).read_text())
    top = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    top |= {n.module.split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom) and n.module}
    assert top <= {"__future__", "_json", "_signal", "datetime", "decimal", "io", "marshal", "os", "sys", "time"}
    assert not top & {"grader", "reference", "json", "re", "traceback", "importlib"}

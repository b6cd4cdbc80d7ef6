"""The result page from the outside: real submissions through the service (gunicorn, the real
grader, the sandbox for Python), then the HTML a student's browser gets.

Checked: a timeline image in the section of every window exercise, rows marked in words
against the expected rows (a spelling of a time is the same key), each finding once, no
mistake code in a student's page, "provisional" while a review is pending and the
settlement once an instructor settles, and a Python submission shown per function with
its tests passed and its counterexample.  Canonical answers come from the engine
(:mod:`tests.grader.answers`), never typed in.
"""

from __future__ import annotations

import base64
import copy
import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from grader.exercises.load import load_named_set
from grader.solutions.diagrams import drawable_exercises
from tests.grader.answers import canonical_answers
from tests.grader.web.conftest import (
    EXAMPLES,
    PYTHON_EXAMPLES,
    REAL_GRADER_SKIP,
    Service,
    real_grader_works,
    start_service,
)
from tests.grader.web.server import multipart

pytestmark = pytest.mark.skipif(not real_grader_works(), reason=REAL_GRADER_SKIP)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service("sqlite", tmp_path_factory.mktemp("result-page"),
                             env={"STREAMGRADE_TEST_REAL_GRADER": "1"})


@pytest.fixture(scope="module")
def week10():
    return load_named_set("week10")


def _submit(service: Service, token: str, raw: bytes, filename: str = "submission.json") -> dict[str, Any]:
    if filename.endswith(".py"):
        body, content_type = multipart({}, {"file": (filename, raw)})
        reply = service.request("POST", "/api/v1/submissions", body, token=token,
                                headers={"Content-Type": content_type}, timeout=120)
    else:
        reply = service.request("POST", "/api/v1/submissions", raw, token=token,
                                headers={"Content-Type": "application/json"}, timeout=60)
    assert reply.status == 201, reply.text
    return reply.json


def _page(service: Service, token: str, submission_id: int) -> str:
    reply = service.request("GET", f"/submissions/{submission_id}", headers={"Cookie": f"sg_token={token}"})
    assert reply.status == 200, reply.text
    return reply.text


def _answers_doc(answers: dict[str, Any]) -> bytes:
    return json.dumps({"student_id": "s", "exercise_set": "week10", "answers": answers}).encode()


def _section(page: str, exercise_id: str) -> str:
    found = re.search(rf'<section class="card exercise[^"]*" id="{exercise_id}">(.*?)</section>', page, re.S)
    assert found, f"no section for {exercise_id}"
    return found.group(1)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def _lines(fragment: str) -> list[str]:
    """The feedback lines (list items and paragraphs) a fragment shows, as text."""
    return [_text(m).strip() for m in re.findall(r"<(?:li|p)\b[^>]*>(.*?)</(?:li|p)>", fragment, re.S)]


def _diff_marks(section: str) -> list[tuple[str, str, str]]:
    """Each row of a section's row diffs: (state class, the row's cells as text, its mark in words)."""
    rows = re.findall(r'<tr class="diff-(\w+)">(.*?)</tr>', section, re.S)
    out = []
    for state, row in rows:
        cells = [_text(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        out.append((state, " | ".join(cells[:-1]), cells[-1]))
    return out


def test_every_window_exercise_shows_its_own_timeline_image(service: Service, week10):
    _, token = service.new_student()
    doc = _submit(service, token, (EXAMPLES / "window_end_inclusive.json").read_bytes())
    page = _page(service, token, doc["id"])
    for exercise in week10.exercises:
        section = _section(page, exercise.id)
        images = re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', section)
        if exercise.id in drawable_exercises(week10):
            assert len(images) == 1, exercise.id
            svg = base64.b64decode(images[0]).decode()
            assert svg.startswith("<svg") and f"{exercise.id}:" in svg, exercise.id
        else:
            assert images == [], exercise.id
    assert "<svg" not in page  # never inline: an SVG as an image cannot run a script


def test_wrong_missing_and_extra_rows_are_marked_in_words(service: Service, week10):
    answers = canonical_answers(week10)
    rows = copy.deepcopy(answers["ex6"]["rows"])
    first, wrong, dropped = rows[0], rows[1], rows[2]
    first["window_start"] = first["window_start"].replace(":", "h")  # "10h00": the same key
    right_sum = wrong["sum_amount"]
    wrong["sum_amount"] = float(right_sum) + 5
    extra = {"window_start": rows[-1]["window_start"], "user_id": "Z", "sum_amount": 1}
    answers["ex6"]["rows"] = [first, wrong, *rows[3:], extra]
    _, token = service.new_student()
    doc = _submit(service, token, _answers_doc(answers))
    marks = _diff_marks(_section(_page(service, token, doc["id"]), "ex6"))
    states = [m[0] for m in marks]
    assert states.count("right") == len(rows) - 2  # the "10h00" row is right
    assert ("wrong", f"{wrong['window_start']} | {wrong['user_id']} | {wrong['sum_amount']:g}",
            f"wrong: expected sum_amount {right_sum}") in marks
    assert [m for m in marks if m[0] == "missing"] == [
        ("missing", f"{dropped['window_start']} | {dropped['user_id']} | {dropped['sum_amount']}",
         "missing: expected this row")]
    assert [m[2] for m in marks if m[0] == "extra"] == ["extra: not expected"]
    assert all(m[2].split(":")[0] in {"right", "wrong", "missing", "extra"} for m in marks)


def test_events_in_the_wrong_window_are_marked_with_the_window_they_belong_to(service: Service):
    _, token = service.new_student()
    doc = _submit(service, token, (EXAMPLES / "window_end_inclusive.json").read_bytes())
    marks = _diff_marks(_section(_page(service, token, doc["id"]), "ex4"))
    wrong = [m for m in marks if m[0] == "wrong"]
    assert len(wrong) == 1 and wrong[0][1].startswith("e6 ") and wrong[0][2].startswith("wrong: expected in [")
    assert {m[0] for m in marks} == {"right", "wrong"}


def test_no_finding_is_said_twice_and_no_mistake_code_is_shown(service: Service, week10):
    codes = {m.code for ex in week10.exercises for m in ex.mistakes} | {"inclusive_window_end"}
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name.endswith(".expect.json"):
            continue
        _, token = service.new_student()
        doc = _submit(service, token, path.read_bytes())
        page = _page(service, token, doc["id"])
        shown = [code for code in codes if code in page]
        assert shown == [], (path.name, shown)
        for exercise in doc["exercises"]:
            lines = [line for line in _lines(_section(page, exercise["id"])) if len(line) > 30]
            repeated = {line for line in lines if lines.count(line) > 1}
            assert not repeated, (path.name, exercise["id"], repeated)
        for exercise in doc["exercises"]:
            for code in exercise.get("diagnosis") or ():
                assert "Recognised mistake:" in _section(page, exercise["id"]), (path.name, code)


def test_a_pending_review_is_provisional_and_a_settled_one_says_who_settled_it(service: Service, week10):
    answers = canonical_answers(week10)
    answers["ex1"]["why_event_time"] = "stream window watermark source sink late"
    _, token = service.new_student()
    doc = _submit(service, token, _answers_doc(answers))
    assert doc["provisional"]
    page = _page(service, token, doc["id"])
    assert re.search(r'id="provisional">\(provisional: 1 part awaits review\)', page)
    assert "awaits review" in _text(_section(page, "ex1"))
    reply = service.request("POST", f"/api/v1/instructor/reviews/{doc['id']}/ex1",
                            {"score": 5, "reason": "A list, but the right ideas."}, token=service.instructor)
    assert reply.status == 201, reply.text
    page = _page(service, token, doc["id"])
    assert 'id="provisional"' not in page
    section = _text(_section(page, "ex1"))
    assert "Settled by prof: 5 of 6 points. A list, but the right ideas." in section
    assert "will review" not in section and "awaits review" not in section


@pytest.mark.parametrize("name", ["window_end_inclusive", "correct"])
def test_a_python_result_shows_each_function_with_its_tests_and_counterexample(service: Service, name: str):
    _, token = service.new_student()
    doc = _submit(service, token, (PYTHON_EXAMPLES / f"{name}.py").read_bytes(), "solution.py")
    page = _page(service, token, doc["id"])
    assert "null" not in _text(page)
    python = doc["exercises"][0]
    for part in python["parts"]:
        article = re.search(rf'<article class="part[^"]*" id="python-{part["id"]}">(.*?)</article>', page, re.S)
        assert article, part["id"]
        text = _text(article.group(1))
        tests = doc["meta"]["tests"][part["id"]]
        assert f"Tests passed: {tests['passed']:,} of {tests['ran']:,}" in text
        if part["status"] == "correct":
            assert "Counterexample" not in text and "returned" not in text
        else:
            assert "Counterexample" in text
            assert re.search(r"\b\d\d:\d\d\b", text), text  # times in the sheet's notation
            assert "datetime" not in text and "Decimal(" not in text
    assert "window_end_inclusive" not in page


# -- the student's own variant ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def variant_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service("sqlite", tmp_path_factory.mktemp("result-variants"),
                             env={"STREAMGRADE_TEST_REAL_GRADER": "1", "STREAMGRADE_VARIANTS": "1"})


def test_the_timeline_is_drawn_for_the_students_own_variant(variant_service: Service, week10):
    from grader.variants.generate import variant_for
    from grader.web.timeline import exercise_svg

    images = {}
    for prefix in ("va", "vb"):
        student, token = variant_service.new_student(prefix)
        own = variant_for(week10, student).exercise_set
        doc = _submit(variant_service, token, _answers_doc(canonical_answers(own)))
        [found] = re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"',
                             _section(_page(variant_service, token, doc["id"]), "ex6"))
        images[prefix] = base64.b64decode(found).decode()
        assert images[prefix] == exercise_svg(own, "ex6")
    assert images["va"] != images["vb"]


# -- the view model alone (no server) ---------------------------------------------------------------


def _graded_document(week10, answers: dict[str, Any]) -> dict[str, Any]:
    from grader.grading import grade_bytes

    return grade_bytes(_answers_doc(answers), "submission.json", "s-view", "week10").to_dict()


def test_no_diff_and_no_expected_where_the_document_carries_no_expected_value(week10):
    from grader.web.result_view import result_view

    answers = canonical_answers(week10)
    answers["ex6"]["rows"] = answers["ex6"]["rows"][1:]
    doc = _graded_document(week10, answers)
    for exercise in doc["exercises"]:
        for part in exercise["parts"]:
            part.pop("expected", None)  # as a set that hides expected values writes it
    view = result_view(doc, week10)
    parts = [p for ex in view.exercises for p in ex.parts]
    assert all(p.diff is None and not p.has_expected for p in parts)


def test_a_code_quoted_in_feedback_reads_as_the_mistakes_title(week10):
    from grader.web.result_view import result_view

    doc = {"exercises": [{"id": "ex6", "status": "incorrect", "score": 0, "max_score": 12,
                          "diagnosis": ["inclusive_window_end"],
                          "feedback": ["This answer matches a known mistake (inclusive_window_end)."],
                          "parts": [{"id": "rows", "status": "incorrect", "score": 0, "max_score": 12,
                                     "given": [], "feedback": ["This answer matches a known mistake "
                                                               "(inclusive_window_end)."]}]}]}
    [exercise] = result_view(doc, week10).exercises
    shown = [*exercise.feedback, *exercise.parts[0].feedback, *(d.title for d in exercise.diagnoses)]
    assert shown and not any("inclusive_window_end" in line for line in shown)
    assert exercise.feedback == ()  # the exercise's line repeats the part's: said once, at the part


def test_a_mistake_title_in_the_data_heads_its_diagnosis_and_a_set_without_one_still_shows_words(tmp_path):
    import shutil

    import yaml

    from grader.exercises.load import load_exercise_set
    from grader.web.result_view import diagnoses_of

    folder = tmp_path / "week10"
    shutil.copytree(load_named_set("week10").path, folder)
    raw = yaml.safe_load((folder / "ex06.yaml").read_text())
    raw["mistakes"][0]["title"] = "The window's end counted in"
    (folder / "ex06.yaml").write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    titled = diagnoses_of(load_exercise_set(folder))
    assert titled[f"ex6/{raw['mistakes'][0]['code']}"].title == "The window's end counted in"
    plain = load_named_set("week10")
    headings = diagnoses_of(plain)
    for exercise in plain.exercises:  # no title in the data: the description's words, never the code
        for mistake in exercise.mistakes:
            title = headings[f"{exercise.id}/{mistake.code}"].title
            assert title and mistake.code not in title and " " in title

"""The sheet's answer form over HTTP (gunicorn, the real grader): generated from the schemas,
posted as a browser without JavaScript posts it, graded exactly like the equivalent JSON file.

The answers come from the engine (``canonical_submission``) and from the wrong example
files; the form values a browser would send are read off the page's own inputs, so a field
the page does not draw cannot be filled.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from grader.exercises.load import load_named_set
from grader.web.answer_form import Widget, sheet_forms
from grader.web.form_data import form_values, items, number, submission_document
from tests.grader.web.conftest import (
    EXAMPLES,
    REAL_GRADER_SKIP,
    Service,
    canonical_submission,
    real_grader_works,
    start_service,
)
from tests.grader.web.test_pages import Browser


class FormBrowser(Browser):
    """The page tests' browser, posting a form's fields in order (repeated names for check boxes)."""

    def post_pairs(self, path: str, fields: list[tuple[str, str]]) -> Any:
        headers = self._headers({"Content-Type": "application/x-www-form-urlencoded"})
        return self._keep(self.service.request("POST", path, urlencode(fields), headers=headers))

    @staticmethod
    def hidden_from(page_html: str, name: str) -> str:
        match = re.search(rf'name="{name}" value="([^"]*)"', page_html)
        assert match, f"no hidden field {name}"
        return html.unescape(match.group(1))

pytestmark = pytest.mark.skipif(not real_grader_works(), reason=REAL_GRADER_SKIP)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service("sqlite", tmp_path_factory.mktemp("forms"), env={"STREAMGRADE_TEST_REAL_GRADER": "1"})


def _logged_in(service: Service) -> tuple[FormBrowser, str]:
    student, token = service.new_student()
    browser = FormBrowser(service)
    browser.login(token)
    return browser, student


def _page_inputs(page_html: str) -> dict[str, list[str]]:
    """Every named input of the sheet form, by kind: what a browser could send."""
    form = page_html[page_html.index('<form id="answers"'):]
    form = form[:form.index("</form>")]
    found: dict[str, list[str]] = {"text": [], "check": [], "select": []}
    for tag, attrs in re.findall(r"<(input|textarea|select)\b([^>]*)>", form):
        name = re.search(r'\bname="([^"]+)"', attrs)
        if not name:
            continue
        kind = re.search(r'\btype="([^"]+)"', attrs)
        kind = "check" if kind and kind.group(1) in ("checkbox", "radio") else "select" if tag == "select" else "text"
        found[kind].append(html.unescape(name.group(1)))
    return found


def _post_sheet(browser: FormBrowser, values: dict[str, Any], page_html: str, **extra: str) -> Any:
    """Post the sheet form with ``values`` in its fields, as a browser does: every drawn text field
    is sent (empty when blank); a ticked box sends its value.  A value for a field the page does
    not draw fails the test."""
    inputs = _page_inputs(page_html)
    drawn = set(inputs["text"]) | set(inputs["check"]) | set(inputs["select"])
    missing = sorted(set(values) - drawn)
    assert not missing, f"the page draws no field for {missing}"
    fields: list[tuple[str, str]] = [(k, browser.hidden_from(page_html, k))
                                     for k in ("csrf_token", "idempotency_key", "exercise_set")]
    for name in inputs["text"] + inputs["select"]:
        value = values.get(name, "")
        fields.append((name, value if isinstance(value, str) else str(value)))
    for name in dict.fromkeys(inputs["check"]):
        value = values.get(name)
        for v in ([value] if isinstance(value, str) else value or []):
            fields.append((name, v))
    fields += list(extra.items())
    return browser.post_pairs("/sheet", fields)


def _rows_needed(page_html: str, values: dict[str, Any], browser: FormBrowser) -> str:
    """Click "Add a row" (no script: a submit) until every table has room for ``values``."""
    while True:
        drawn = set(_page_inputs(page_html)["text"]) | set(_page_inputs(page_html)["select"])
        short = sorted(k for k in values if k not in drawn and re.search(r"\.\d+\.", k))
        if not short:
            return page_html
        table = re.sub(r"\.\d+\.[^.]+$", "", short[0])
        reply = _post_sheet(browser, {}, page_html, add_row=table)
        assert reply.status == 200, reply.text[:500]
        page_html = reply.text


def test_the_form_has_a_labelled_field_for_every_answer_field_and_no_answer(real: Service):
    browser, _ = _logged_in(real)
    page = browser.get("/sheet")
    assert page.status == 200
    week10 = load_named_set("week10")
    for form in sheet_forms(week10):
        assert f'id="{form.exercise_id}"' in page.text
        for field in form.fields:
            assert f"<code>{field.name}</code>" in page.text
    # Every text box and select has a label (a <label for> or an aria-label).
    form_html = page.text[page.text.index('<form id="answers"'):]
    for attrs in re.findall(r"<(?:input|textarea|select)\b([^>]*)>", form_html[:form_html.index("</form>")]):
        if 'type="hidden"' in attrs:
            continue
        ident = re.search(r'\bid="([^"]+)"', attrs)
        assert "aria-label=" in attrs or (ident and f'for="{ident.group(1)}"' in page.text), attrs
    # Hints say the format; the canonical answers are nowhere in the page.
    assert "HH:MM" in page.text and "a number" in page.text
    canonical = canonical_submission()["answers"]
    assert canonical["ex2"]["close_watermark"] not in re.sub(r"<[^>]+>", " ", page.text).split()


def test_the_whole_sheet_through_the_form_grades_like_the_json_file(real: Service):
    browser, student = _logged_in(real)
    canonical = canonical_submission()
    week10 = load_named_set("week10")
    values = form_values(sheet_forms(week10), canonical["answers"])
    page = _rows_needed(browser.get("/sheet").text, values, browser)
    reply = _post_sheet(browser, values, page)
    assert reply.status == 303, reply.text[:800]
    by_form = browser.get(reply.header("Location"))
    form_doc = real.store.submission(int(reply.header("Location").rsplit("/", 1)[1]))
    by_file = browser.submit(json.dumps({**canonical, "student_id": student}))
    file_doc = real.store.submission(int(by_file.header("Location").rsplit("/", 1)[1]))
    assert by_form.status == 200
    assert form_doc.score == file_doc.score == form_doc.max_score
    assert _part_scores(form_doc.result) == _part_scores(file_doc.result)


#: Example files whose answers a form cannot hold as written: check boxes carry the choices'
#: own names, not spellings like "Exactly once" (the form never needs them).
BEYOND_A_FORM = {"correct_spellings.json"}
FORM_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.json")
                       if not p.name.endswith(".expect.json") and p.name not in BEYOND_A_FORM
                       and isinstance(json.loads(p.read_text()).get("answers"), dict))


@pytest.mark.parametrize("example", FORM_EXAMPLES)
def test_each_example_through_the_form_grades_like_its_file(real: Service, example: str):
    document = json.loads((EXAMPLES / example).read_text())
    browser, student = _logged_in(real)
    values = form_values(sheet_forms(load_named_set("week10")), document["answers"])
    page = _rows_needed(browser.get("/sheet").text, values, browser)
    by_form = real.store.submission(int(_post_sheet(browser, values, page).header("Location").rsplit("/", 1)[1]))
    by_file = real.store.submission(
        int(browser.submit(json.dumps({**document, "student_id": student})).header("Location").rsplit("/", 1)[1]))
    assert by_form.score == by_file.score
    assert _part_scores(by_form.result) == _part_scores(by_file.result)


def test_a_blank_form_grades_as_not_answered_and_add_row_grades_nothing(real: Service):
    browser, student = _logged_in(real)
    page = browser.get("/sheet").text
    before = len(real.store.submissions_of(student))
    added = _post_sheet(browser, {"a.ex6.rows.0.user_id": "A"}, page, add_row="a.ex6.rows")
    assert added.status == 200
    assert 'name="a.ex6.rows.2.user_id"' in added.text  # one more row than the two drawn
    assert 'value="A"' in added.text                     # what was typed is kept
    assert len(real.store.submissions_of(student)) == before
    blank = _post_sheet(browser, {}, page)
    stored = real.store.submission(int(blank.header("Location").rsplit("/", 1)[1]))
    assert stored.score == 0
    assert {ex["status"] for ex in stored.result["exercises"]} == {"not_answered"}


def test_the_form_refuses_a_post_without_its_csrf_token(real: Service):
    browser, _ = _logged_in(real)
    reply = browser.post_pairs("/sheet", [("a.ex2.close_watermark", "10:05")])
    assert reply.status == 403


def test_the_python_exercise_is_on_the_sheet_with_its_skeleton(real: Service):
    browser, _ = _logged_in(real)
    page = browser.get("/sheet").text
    assert 'id="python"' in page
    skeleton = browser.get("/sheet/solution.py")
    assert skeleton.status == 200
    assert "attachment" in skeleton.header("Content-Disposition")
    for name, signature in re.findall(r"^def ((\w+)\(.*\)):", skeleton.text, flags=re.M):
        assert f"def {html.escape(name)}" in page or f"def {name}" in html.unescape(page), signature
    exercises = real.request("GET", "/api/v1/exercises?exercise_set=week10").json["exercise_sets"][0]
    assert {f["name"] for f in exercises["python"]["functions"]} == set(re.findall(r"^def (\w+)\(", skeleton.text,
                                                                                  flags=re.M))
    assert real.request("GET", "/api/v1/template?exercise_set=week10&format=python").text == skeleton.text


def test_a_paste_in_the_other_format_is_named_and_kept_not_stored(real: Service):
    browser, student = _logged_in(real)
    before = len(real.store.submissions_of(student))
    yaml_text = "exercise_set: week10\nanswers:\n  ex2:\n    close_watermark: '10:05'\n"
    reply = browser.submit(yaml_text)  # "Pasted text is" says JSON
    assert reply.status == 422
    text = html.unescape(reply.text)
    assert "looks like YAML" in text and 'says JSON' in text
    assert re.search(r'<option value="yaml"\s+selected>', reply.text)  # switched, one click to grade it
    assert "close_watermark: &#39;10:05&#39;" in reply.text or "close_watermark: '10:05'" in text  # still in the box
    assert len(real.store.submissions_of(student)) == before
    graded = browser.submit(yaml_text, paste_format="yaml")
    assert graded.status == 303


def test_a_syntax_error_in_a_paste_shows_the_line_with_a_caret(real: Service):
    browser, _ = _logged_in(real)
    broken = '{"exercise_set": "week10",\n "answers": {"ex2" {"close_watermark": "10:05"}}}'
    reply = browser.submit(broken)
    assert reply.status == 422
    excerpt = html.unescape(re.search(r'<pre class="paste-excerpt"[^>]*>(.*?)</pre>', reply.text, re.S).group(1))
    line, caret = excerpt.split("\n")
    assert line == '2 |  "answers": {"ex2" {"close_watermark": "10:05"}}}'
    assert caret.index("^") == line.index('{"close') and "line 2 column 20" in reply.text


def _part_scores(result: dict[str, Any]) -> dict[str, Any]:
    return {ex["id"]: [(p["id"], p["score"]) for p in ex.get("parts", [])] for ex in result["exercises"]}


# -- the form's reading of values, without a service ------------------------------------------------

def test_numbers_and_items_are_read_as_written():
    assert number("7") == 7 and number("2.5") == 2.5 and number("3 min") == "3 min" and number("7,5") == "7,5"
    assert items("e1, e2 e3") == ["e1", "e2", "e3"]
    assert items("(A, 5), (B, 2.5)") == [["A", 5], ["B", 2.5]]


def test_every_packaged_set_round_trips_through_its_form():
    week10 = load_named_set("week10")
    forms = sheet_forms(week10)
    canonical = canonical_submission()["answers"]
    values = form_values(forms, canonical)

    class Posted(dict):
        def getlist(self, key: str) -> list[str]:
            value = self.get(key, [])
            return value if isinstance(value, list) else [value]

    document = submission_document(forms, Posted(values), exercise_set="week10", student_id="s")
    assert document["answers"] == canonical
    assert any(f.widget is Widget.TABLE for form in forms for f in form.fields)


def test_a_forged_field_the_form_does_not_have_is_ignored():
    forms = sheet_forms(load_named_set("week10"))

    class Posted(dict):
        def getlist(self, key: str) -> list[str]:
            return [self[key]] if key in self else []

    document = submission_document(forms, Posted({"a.ex99.x": "1", "a.ex2.sneaky": "y"}), exercise_set="week10",
                                   student_id="s")
    assert "ex99" not in document["answers"] and "sneaky" not in document["answers"]["ex2"]

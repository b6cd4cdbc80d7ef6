"""The sheet's answer form in a real browser (Debian's chromium, driven by Playwright).

A student fills the form the way a person does: typing into the boxes, ticking boxes,
clicking "Add a row" (the script adds it in place), and submits; the result page shows
the grade.  The values typed are the engine's canonical answers (and a known mistake),
turned into form values by the same mapping the HTTP tests check, so nothing is typed in
by hand here.  Also: the draft survives a reload, and the sheet has no horizontal scroll
at 390 px.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest

from grader.exercises.load import load_named_set
from grader.web.answer_form import sheet_forms
from grader.web.form_data import form_values
from tests.grader.web import browser as web
from tests.grader.web.conftest import REAL_GRADER_SKIP, Service, canonical_submission, real_grader_works, start_service

pytestmark = [web.requires_chromium, pytest.mark.skipif(not real_grader_works(), reason=REAL_GRADER_SKIP)]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service("sqlite", tmp_path_factory.mktemp("form-browser"),
                             env={"STREAMGRADE_TEST_REAL_GRADER": "1"})


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with web.launched() as browser:
        yield browser


def _fill(page: Any, values: dict[str, Any]) -> None:
    """Type ``values`` into the sheet form, adding table rows with the form's own button."""
    for name in sorted(values, key=_row_order):
        match = re.fullmatch(r"(.+)\.(\d+)\.[^.]+", name)
        if match:
            table, row = match.group(1), int(match.group(2))
            rows = page.locator(f"fieldset[data-table='{table}'] > .table-box > table > tbody > tr")
            while rows.count() <= row:
                page.click(f"fieldset[data-table='{table}'] > .table-actions > .add-row")
        value = values[name]
        if isinstance(value, list):
            for choice in value:
                page.check(f"input[name='{name}'][value='{choice}']")
        elif page.locator(f"input[type=radio][name='{name}']").count():
            page.check(f"input[type=radio][name='{name}'][value='{value}']")
        elif page.locator(f"select[name='{name}']").count():
            page.select_option(f"select[name='{name}']", value)
        elif page.locator(f"input[type=checkbox][name='{name}']").count():
            page.check(f"input[type=checkbox][name='{name}']")
        else:
            page.fill(f"[name='{name}']", str(value))


def _row_order(name: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in name.split("."))


def _submit_and_read_score(page: Any) -> tuple[float, float]:
    page.click("#ex1 button[name=grade]")
    page.wait_for_url(re.compile(r".*/submissions/\d+$"))
    return float(page.text_content("#score")), float(page.text_content("#max-score"))


def test_a_student_answers_the_whole_sheet_in_the_form_and_gets_full_marks(real: Service, chromium: Any):
    _, token = real.new_student()
    page = web.new_page(chromium, width=1280)
    web.login(page, real.server.url, token)
    page.goto(real.server.url + "/sheet")
    values = form_values(sheet_forms(load_named_set("week10")), canonical_submission()["answers"])
    _fill(page, values)
    score, max_score = _submit_and_read_score(page)
    assert score == max_score == 100


def test_a_wrong_answer_in_the_form_is_graded_wrong(real: Service, chromium: Any):
    _, token = real.new_student()
    page = web.new_page(chromium, width=390)
    web.login(page, real.server.url, token)
    page.goto(real.server.url + "/sheet")
    answers = copy.deepcopy(canonical_submission()["answers"])
    answers = {"ex2": answers["ex2"], "ex6": answers["ex6"]}
    # The half-open-window mistake: the event at exactly a window's end counted in that window.
    answers["ex6"]["rows"][-1]["sum_amount"] = answers["ex6"]["rows"][-1]["sum_amount"] + 2
    _fill(page, form_values(sheet_forms(load_named_set("week10")), answers))
    assert web.horizontal_overflow(page) == 0
    score, max_score = _submit_and_read_score(page)
    assert 0 < score < max_score
    assert page.locator("#ex6").count() == 1


def test_the_draft_survives_a_reload_and_goes_when_submitted(real: Service, chromium: Any):
    _, token = real.new_student()
    page = web.new_page(chromium, width=390)
    web.login(page, real.server.url, token)
    page.goto(real.server.url + "/sheet")
    assert web.horizontal_overflow(page) == 0
    page.fill("[name='a.ex2.close_watermark']", "10:05")
    page.click("fieldset[data-table='a.ex6.rows'] > .table-actions > .add-row")
    page.fill("[name='a.ex6.rows.2.user_id']", "B")
    page.reload()
    assert page.input_value("[name='a.ex2.close_watermark']") == "10:05"
    assert page.input_value("[name='a.ex6.rows.2.user_id']") == "B"
    assert page.is_visible("#draft-note")
    _submit_and_read_score(page)
    page.goto(real.server.url + "/sheet")
    assert page.input_value("[name='a.ex2.close_watermark']") == ""

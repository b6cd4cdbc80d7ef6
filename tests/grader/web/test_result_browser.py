"""The result page in a real browser (Debian's chromium under Playwright, see browser.py):
the timeline images really render, the row diff says each row's mark in words, and at
390 px nothing scrolls the page sideways and every control is a 44 px target."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from grader.exercises.load import load_named_set
from grader.solutions.diagrams import drawable_exercises
from tests.grader.web import browser as web
from tests.grader.web.conftest import (
    EXAMPLES,
    PYTHON_EXAMPLES,
    REAL_GRADER_SKIP,
    Service,
    real_grader_works,
    start_service,
)
from tests.grader.web.server import multipart

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [web.requires_chromium, pytest.mark.skipif(not real_grader_works(), reason=REAL_GRADER_SKIP)]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service("sqlite", tmp_path_factory.mktemp("result-browser"),
                             env={"STREAMGRADE_TEST_REAL_GRADER": "1"})


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with web.launched() as browser:
        yield browser


@pytest.fixture(scope="module")
def results(service: Service) -> dict[str, str]:
    """One student's token and the paths of a wrong JSON result and a wrong Python result."""
    _, token = service.new_student("rb")
    raw = (EXAMPLES / "window_end_inclusive.json").read_bytes()
    json_reply = service.request("POST", "/api/v1/submissions", raw, token=token,
                                 headers={"Content-Type": "application/json"}, timeout=60)
    body, content_type = multipart({}, {"file": ("solution.py",
                                                 (PYTHON_EXAMPLES / "window_end_inclusive.py").read_bytes())})
    py_reply = service.request("POST", "/api/v1/submissions", body, token=token,
                               headers={"Content-Type": content_type}, timeout=120)
    assert json_reply.status == 201 and py_reply.status == 201, (json_reply.text, py_reply.text)
    return {"token": token, "json": f"/submissions/{json_reply.json['id']}",
            "python": f"/submissions/{py_reply.json['id']}"}


def _open(chromium: Browser, service: Service, results: dict[str, str], which: str, width: int) -> Page:
    page = web.new_page(chromium, width=width)
    web.login(page, service.server.url, results["token"])
    page.goto(service.server.url + results[which])
    return page


@pytest.mark.parametrize("width", [web.DESKTOP_WIDTH, web.PHONE_WIDTH])
def test_every_window_exercise_timeline_renders(chromium: Browser, service: Service, results: dict[str, str],
                                                width: int):
    page = _open(chromium, service, results, "json", width)
    expected = set(drawable_exercises(load_named_set("week10")))
    page.wait_for_function("() => [...document.images].every((img) => img.complete)")
    drawn = page.evaluate("""() => [...document.querySelectorAll('section.exercise .timeline img')].map(
        (img) => [img.closest('section').id, img.complete && img.naturalWidth > 0,
                  img.getBoundingClientRect().right <= document.documentElement.clientWidth])""")
    assert {d[0] for d in drawn} == expected
    assert all(ok for _, ok, _ in drawn), drawn
    assert all(inside for _, _, inside in drawn), drawn


@pytest.mark.parametrize("width", [web.DESKTOP_WIDTH, web.PHONE_WIDTH])
def test_the_row_diff_says_each_mark_in_words(chromium: Browser, service: Service, results: dict[str, str],
                                              width: int):
    page = _open(chromium, service, results, "json", width)
    marks = page.locator("section#ex6 table.row-diff td.mark").all_inner_texts()
    assert "wrong: expected sum_amount 1" in marks
    assert marks.count("right") == 3
    wrong_row = page.locator("section#ex6 tr.diff-wrong").first
    assert wrong_row.is_visible()


@pytest.mark.parametrize("which", ["json", "python"])
def test_the_result_page_fits_a_phone(chromium: Browser, service: Service, results: dict[str, str], which: str):
    page = _open(chromium, service, results, which, web.PHONE_WIDTH)
    assert web.horizontal_overflow(page) == 0
    assert web.small_tap_targets(page) == []
    # Answer and expected text is never crushed into a sliver of a column.
    narrow = page.evaluate("""() => [...document.querySelectorAll('.answers dd, .row-diff td.mark')]
        .map((el) => el.getBoundingClientRect().width).filter((w) => w > 0 && w < 120).length""")
    assert narrow == 0

"""The pages in a real browser (Debian's chromium, driven by Playwright; see browser.py).

Logs in, submits the correct example and reads the score off the result page; checks
that answers written as HTML do not run; leaves screenshots in the test's temporary
folder (``make screenshots`` writes the README's under docs/).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.grader.web import browser as web
from tests.grader.web.conftest import SAMPLE_SUBMISSION, Service, correct_example, real_grader_works, start_service

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = web.requires_chromium


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    env = {"STREAMGRADE_TEST_REAL_GRADER": "1"} if real_grader_works() else {}
    yield from start_service("sqlite", tmp_path_factory.mktemp("browser"), env=env)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with web.launched() as browser:
        yield browser


def _submit(page: Page, text: str) -> None:
    """Paste ``text`` into the start page's answer box and press "Grade it"."""
    page.fill("#submission", text)
    with page.expect_navigation():
        page.click("#submit button[type=submit]")


def test_a_student_submits_the_correct_example_and_sees_the_score(chromium: Browser, service: Service,
                                                                   tmp_path: Path):
    student, token = service.new_student("student")
    page = web.new_page(chromium)
    web.login(page, service.server.url, token)
    assert student in page.inner_text(".who")
    _, raw = correct_example()
    _submit(page, raw.decode("utf-8"))
    assert re.fullmatch(r"/submissions/\d+", page.evaluate("location.pathname"))
    score = float(page.inner_text("#score"))
    max_score = float(page.inner_text("#max-score"))
    # The correct example earns full marks (from the real grader once it is there; the
    # stand-in gives full marks to any answer, so the page is tested either way).
    assert (score, max_score) == (100, 100)
    assert "100" in page.inner_text("main")
    assert web.screenshot(page, tmp_path / "result.png").stat().st_size > 10_000
    page.goto(service.server.url + "/")
    assert page.locator("table.history tbody tr").count() == 1
    assert web.screenshot(page, tmp_path / "home.png").stat().st_size > 10_000


def test_answers_written_as_html_are_shown_as_text_and_never_run(chromium: Browser, service: Service):
    _, token = service.new_student("xss")
    page = web.new_page(chromium)
    web.login(page, service.server.url, token)
    payload = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">"
    _submit(page, json.dumps({**SAMPLE_SUBMISSION, "answers": {"ex1": {"event_time": payload}}}))
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("main script, main img[src=x]").count() == 0
    shown = page.inner_text("#ex1")
    # Shown as text: the stand-in grader echoes the answer as JSON (quotes escaped), the real one as text.
    assert "<script>window.__pwned = 1</script>" in shown
    assert 'onerror="window.__pwned = 2"' in shown.replace('\\"', '"')


def test_a_new_page_starts_logged_out(chromium: Browser, service: Service):
    """Each test's page has its own cookies: a login in one never leaks into the next."""
    _, token = service.new_student("fresh")
    first = web.new_page(chromium)
    web.login(first, service.server.url, token)
    second = web.new_page(chromium)
    second.goto(service.server.url + "/")
    assert second.locator("#login").count() == 1

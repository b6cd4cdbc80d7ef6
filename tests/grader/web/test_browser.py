"""The page in a real browser: headless Chromium (Debian's ``chromium``) over DevTools.

Logs in, submits the correct example and reads the score off the result page; checks
that answers written as HTML do not run; leaves screenshots in /tmp (``STREAMGRADE_SCREENSHOT=docs/screenshot.png``
also refreshes the README's).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.grader.web.cdp import Chromium, Page
from tests.grader.web.conftest import SAMPLE_SUBMISSION, Service, correct_example, real_grader_works, start_service

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium; `make test` installs it)",
)

RESULT_SCREENSHOT = Path("/tmp/streamgrade-result.png")
HOME_SCREENSHOT = Path("/tmp/streamgrade-home.png")
README_SCREENSHOT = Path("/tmp/streamgrade-screenshot.png")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    env = {"STREAMGRADE_TEST_REAL_GRADER": "1"} if real_grader_works() else {}
    yield from start_service("sqlite", tmp_path_factory.mktemp("browser"), env=env)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    browser = Chromium(tmp_path_factory.mktemp("chromium-profile")).start()
    try:
        page = browser.page()
        yield page
        page.ws.close()
    finally:
        browser.stop()


def _login(page: Page, service: Service, token: str) -> None:
    page.call("Network.clearBrowserCookies")  # a fresh visitor: no login left from another test
    page.load(url=service.server.url + "/")
    page.load(f"document.getElementById('token').value = {json.dumps(token)};"
              "document.querySelector('#login button[type=submit]').click()")


def _submit(page: Page, text: str) -> None:
    page.load(f"document.getElementById('submission').value = {json.dumps(text)};"
              "document.querySelector('#submit button[type=submit]').click()")


def test_a_student_submits_the_correct_example_and_sees_the_score(page: Page, service: Service):
    student, token = service.new_student("student")
    _login(page, service, token)
    assert student in page.evaluate("document.querySelector('.who').textContent")
    _, raw = correct_example()
    _submit(page, raw.decode("utf-8"))
    assert re.fullmatch(r"/submissions/\d+", page.evaluate("location.pathname"))
    score = float(page.evaluate("document.getElementById('score').textContent"))
    max_score = float(page.evaluate("document.getElementById('max-score').textContent"))
    # The correct example earns full marks (from the real grader once it is there; the
    # stand-in gives full marks to any answer, so the page is tested either way).
    assert (score, max_score) == (100, 100)
    assert "100" in page.evaluate("document.querySelector('main').innerText")
    page.screenshot(RESULT_SCREENSHOT)
    assert RESULT_SCREENSHOT.stat().st_size > 10_000
    # The README's picture: the top of the result page (score and the per-exercise table).
    page.screenshot(README_SCREENSHOT, width=1000, max_height=760)
    if os.environ.get("STREAMGRADE_SCREENSHOT"):  # e.g. =docs/screenshot.png to refresh the README's
        shutil.copyfile(README_SCREENSHOT, os.environ["STREAMGRADE_SCREENSHOT"])
    page.load(url=service.server.url + "/")
    assert page.evaluate("document.querySelectorAll('table.history tbody tr').length") == 1
    page.screenshot(HOME_SCREENSHOT)


def test_answers_written_as_html_are_shown_as_text_and_never_run(page: Page, service: Service):
    _, token = service.new_student("xss")
    _login(page, service, token)
    payload = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">"
    _submit(page, json.dumps({**SAMPLE_SUBMISSION, "answers": {"ex1": {"event_time": payload}}}))
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('main script, main img[src=x]').length") == 0
    shown = page.evaluate("document.querySelector('#ex1 table.parts').innerText")
    # Shown as text: the stand-in grader echoes the answer as JSON (quotes escaped), the real one as text.
    assert "<script>window.__pwned = 1</script>" in shown
    assert 'onerror="window.__pwned = 2"' in shown.replace('\\"', '"')

"""The instructor's desk in a real browser (Debian's chromium, Playwright): settle a review
group, regrade a set and download the gradebook by clicking, as an instructor does.  The
service runs the stand-in grader, where an answer with a "?" awaits review."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.grader.web import browser as web
from tests.grader.web.conftest import SAMPLE_SUBMISSION, Service

pytestmark = web.requires_chromium


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with web.launched() as browser:
        yield browser


def test_an_instructor_settles_regrades_and_downloads_by_clicking(service: Service, chromium: Any):
    tag = uuid.uuid4().hex[:8]
    _, token = service.new_student()
    body = {**SAMPLE_SUBMISSION, "answers": {"ex1": {"event_time": f"when it happened {tag}?"}}}
    submission = service.request("POST", "/api/v1/submissions", body, token=token).json
    page = web.new_page(chromium, width=web.PHONE_WIDTH)
    web.login(page, service.server.url, service.instructor)
    page.click("#desk-link a")
    assert page.is_visible("#policy")
    with page.expect_download() as download:
        page.click("#gradebook-csv")
    assert download.value.suggested_filename == "week10-gradebook.csv"
    page.goto(service.server.url + "/desk/reviews")
    group = page.locator("article.review-group", has_text=tag)
    group.locator("input[name=score]").fill("2")
    group.locator("textarea[name=reason]").fill(f"fine {tag}")
    group.locator("button[type=submit]").click()
    assert "Settled" in page.text_content("#reviews")
    assert web.horizontal_overflow(page) == 0
    result = service.request("GET", f"/api/v1/submissions/{submission['id']}", token=service.instructor).json
    assert next(e for e in result["exercises"] if e["id"] == "ex1")["settlement"]["reason"] == f"fine {tag}"
    page.goto(service.server.url + "/desk/statistics")
    histogram = page.locator(".histogram img").first
    assert histogram.evaluate("img => img.complete && img.naturalWidth") > 0
    page.goto(service.server.url + "/desk/regrade")
    page.click("#regrade button[type=submit]")
    assert "Regraded" in page.text_content("#regrade-report")
    assert web.horizontal_overflow(page) == 0

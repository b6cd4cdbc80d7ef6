"""The README's pictures of the pages, taken in Debian's chromium: ``make screenshots``.

Starts the service as the tests do (gunicorn, a temporary SQLite database, the real grader
when it is there), logs in as a new student, submits a wrong example and then the correct
one, and writes PNGs at 1280 and 390 CSS pixels wide under ``docs/``: the start page (with
both submissions), the sheet, the wrong answer's result and, once its route answers, the
instructor's desk.  Pictures are
at device scale 1 and cut at 2,500 px tall, so they stay small enough to commit.

``--widths`` prints each page's width at 390 px instead (the phone-width check in numbers;
390 means no horizontal scroll).  It lives beside the browser tests because it uses their
helpers (browser.py) and their way of starting a service (conftest.start_service).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.grader.web import browser as web
from tests.grader.web.conftest import EXAMPLES, Service, correct_example, real_grader_works, start_service
from tests.paths import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

#: A classic mistake: the window's end counted as inside the window.
WRONG_EXAMPLE = EXAMPLES / "window_end_inclusive.json"
WIDTHS = (web.DESKTOP_WIDTH, web.PHONE_WIDTH)
#: The desk pages the README shows (the phone tests visit every desk page).
DESK_SHOTS = ("/desk", "/desk/statistics")


@dataclass(frozen=True)
class Shot:
    """One page to picture: a file name stem and the path to open (as which visitor)."""

    name: str
    path: str
    who: str  # "visitor", "student" or "instructor"


@contextlib.contextmanager
def running_service(tmp: Path) -> Iterator[Service]:
    """The service on a temporary SQLite database, as :func:`start_service` runs it for tests."""
    env = {"STREAMGRADE_TEST_REAL_GRADER": "1"} if real_grader_works() else {}
    runs = start_service("sqlite", tmp, env=env)
    service = next(runs)
    try:
        yield service
    finally:
        runs.close()


def _submit(page: Page, raw: bytes) -> str:
    """Paste a submission on the start page, grade it, return the result page's path."""
    page.fill("#submission", raw.decode("utf-8"))
    with page.expect_navigation():
        page.click("#submit button[type=submit]")
    path = page.evaluate("location.pathname")
    if not path.startswith("/submissions/"):
        raise SystemExit(f"submitting did not reach a result page (at {path}): {page.inner_text('main')[:400]}")
    return path


def prepare(browser: Browser, service: Service) -> tuple[list[Shot], list[Shot], dict[str, str]]:
    """Submit the wrong and the correct example as a new student; the pages to picture, more
    pages to measure (not pictured, to keep docs/ small) and each visitor's token."""
    _, token = service.new_student("student")
    page = web.new_page(browser)
    web.login(page, service.server.url, token)
    wrong = _submit(page, WRONG_EXAMPLE.read_bytes())
    page.goto(service.server.url + "/")
    correct = _submit(page, correct_example()[1])
    shots = [Shot("start", "/", "student"), Shot("sheet", "/sheet", "student"), Shot("result", wrong, "student")]
    extra = [Shot("login", "/", "visitor"), Shot("result-correct", correct, "student")]
    page.context.close()
    tokens = {"student": token, "instructor": service.instructor}
    for path in DESK_SHOTS:
        probe = web.new_page(browser)
        web.login(probe, service.server.url, service.instructor)
        reply = probe.goto(service.server.url + path)
        if reply is not None and reply.ok:
            shots.append(Shot("desk" + path.replace("/", "-").removeprefix("-desk"), path, "instructor"))
        probe.context.close()
    return shots, extra, tokens


def visit(browser: Browser, service: Service, shot: Shot, tokens: dict[str, str], width: int) -> Page:
    """A fresh page at ``width`` showing ``shot`` as its visitor."""
    page = web.new_page(browser, width=width)
    if shot.who != "visitor":
        web.login(page, service.server.url, tokens[shot.who])
    page.goto(service.server.url + shot.path)
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="the folder for the PNGs (docs/)")
    parser.add_argument("--widths", action="store_true", help="print each page's width at 390 px; write nothing")
    args = parser.parse_args(argv)
    missing = web.requires_chromium.kwargs["reason"] if web.requires_chromium.args[0] else None
    if missing:
        print(f"screenshots: {missing}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="streamgrade-shots-") as tmp, running_service(Path(tmp)) as service, \
            web.launched() as browser:
        shots, extra, tokens = prepare(browser, service)
        if args.widths:  # also the logged-out page, a full-marks result and a missing submission's error
            shots += [*extra, Shot("error", "/submissions/999999", "student")]
        for shot in shots:
            for width in (web.PHONE_WIDTH,) if args.widths else WIDTHS:
                page = visit(browser, service, shot, tokens, width)
                if args.widths:
                    overflow = web.horizontal_overflow(page)
                    print(f"{shot.name:16} {shot.path:18} {overflow.width} px wide at {width} px"
                          + (f"; {overflow!r}" if overflow else ""))
                else:
                    path = web.screenshot(page, args.out / f"{shot.name}-{width}.png")
                    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
                          f" ({path.stat().st_size // 1024} KiB)")
                page.context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The service's pages in a real browser: Playwright for Python driving Debian's chromium.

Playwright is a maintained browser driver; it is told to start ``/usr/bin/chromium`` (the
one apt installs, ``make chromium``) and never downloads a browser of its own, so
``playwright install`` is never needed.  The flags below are those this machine's
chromium needs: no sandbox inside a container, and no background networking, because
the network is closed and chromium's own update and sync calls would otherwise fail.

The helpers are small on purpose: a browser per test module (:func:`launched`), a fresh
page with fresh cookies per test (:func:`new_page`), logging in through the page's own
form (:func:`login`), and the two measurements the phone-width tests make
(:func:`horizontal_overflow`, :func:`small_tap_targets`) plus :func:`screenshot`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # playwright is a test extra; importing this module must not need it
    from playwright.sync_api import Browser, Page

#: Debian's chromium; a downloaded browser is never used.
CHROMIUM = Path(os.environ.get("STREAMGRADE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: The width of a common phone (CSS pixels), the narrowest the pages promise to fit.
PHONE_WIDTH = 390
DESKTOP_WIDTH = 1280
#: The smallest tap target the pages promise (WCAG 2.5.5's 44 by 44 CSS pixels).
MIN_TAP = 44
#: The instructor's desk pages the phone tests and the screenshots visit once they answer
#: (a path that is still a 404 is skipped, so the desk joins as it is built).
DESK_PATHS = ("/desk", "/desk/statistics", "/desk/reviews", "/desk/regrade", "/desk/roster", "/desk/submissions")


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[test]'; `make test` does it)"
    if not CHROMIUM.is_file():
        return f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium; `make test` does it)"
    return None


#: Mark a test (or ``pytestmark``) that needs the browser; it skips saying what is missing.
requires_chromium = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@contextmanager
def launched() -> Iterator[Browser]:
    """A headless Debian chromium under Playwright, closed on exit; meant for a module fixture
    (starting a browser takes about a second, a new context per test is cheap)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, width: int = DESKTOP_WIDTH, height: int = 900) -> Page:
    """A page in a new browser context: no cookies or storage from another test, a viewport of
    ``width`` by ``height`` CSS pixels at device scale 1 (so screenshots stay small).  Closing
    the page's context is left to the browser's own close."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    context.set_default_timeout(20_000)
    return context.new_page()


def login(page: Page, base_url: str, token: str) -> None:
    """Log in as a person does: open the start page, type the token into its form, submit."""
    page.goto(base_url + "/")
    page.fill("#login input[name=token]", token)
    with page.expect_navigation():
        page.click("#login button[type=submit]")
    if page.locator("#login").count():
        raise AssertionError(f"the login form is still there after logging in: {page.inner_text('main')[:300]}")


_OVERFLOW_JS = """() => {
  const root = document.documentElement;
  const limit = root.clientWidth;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.classList.length ? '.' + [...el.classList].join('.') : '');
  // An element inside a box that scrolls or clips on its own does not widen the page.
  const contained = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (style.overflowX !== 'visible') return true;
    }
    return false;
  };
  const sticksOut = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && Math.round(box.right) > limit && !contained(el);
  };
  // Name the outermost elements only (a table, not each of its cells).
  const offenders = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (sticksOut(el) && !(el.parentElement && el.parentElement !== document.body && sticksOut(el.parentElement))) {
      offenders.push(describe(el) + ' (right edge ' + Math.round(el.getBoundingClientRect().right) + ' px)');
    }
  }
  return {overflow: root.scrollWidth - limit, width: root.scrollWidth, offenders: offenders.slice(0, 12)};
}"""


def page_width(page: Page) -> int:
    """The page's scroll width in CSS pixels (the viewport's width when nothing overflows)."""
    return int(page.evaluate("document.documentElement.scrollWidth"))


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no horizontal scroll).

    Returns an ``int`` subclass whose ``repr`` also names the elements that stick out, so
    ``assert horizontal_overflow(page) == 0`` fails with the culprits in its message."""
    found = page.evaluate(_OVERFLOW_JS)
    return Overflow(found["overflow"], found["width"], found["offenders"])


class Overflow(int):
    """A page's horizontal overflow in pixels, carrying the elements that cause it."""

    width: int
    offenders: list[str]

    def __new__(cls, overflow: int, width: int, offenders: list[str]) -> Overflow:
        value = super().__new__(cls, int(overflow))
        value.width = int(width)
        value.offenders = list(offenders)
        return value

    def __repr__(self) -> str:
        if not self:
            return "0"
        return f"{int(self)} px too wide (page {self.width} px); sticking out: {', '.join(self.offenders) or '?'}"


_TAP_TARGETS_JS = """(minimum) => {
  const small = [];
  const targets = document.querySelectorAll(
    'button, input:not([type=hidden]), select, textarea, summary, [role=button], body > header a, nav a');
  for (const el of targets) {
    // A check box or radio button is pressed through its label: the label is the target.
    const choice = el.type === 'checkbox' || el.type === 'radio';
    const target = choice ? (el.closest('label') || (el.labels && el.labels[0]) || el) : el;
    const box = target.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown
    if (box.height < minimum - 0.5 || box.width < minimum - 0.5) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '')
        + (el.type && el.tagName !== 'BUTTON' ? '[type=' + el.type + ']' : '');
      small.push(name + ' ' + Math.round(box.width) + 'x' + Math.round(box.height)
                 + ' "' + (el.innerText || el.value || '').trim().slice(0, 30) + '"');
    }
  }
  return small;
}"""


def small_tap_targets(page: Page, minimum: int = MIN_TAP) -> list[str]:
    """The controls shown on the page (buttons, inputs, selects, links in the header or a nav)
    that are less than ``minimum`` CSS pixels high or wide, each described for a message.  A
    check box or radio button counts by its label, which is what a thumb presses."""
    return list(page.evaluate(_TAP_TARGETS_JS, minimum))


_UNLABELLED_JS = """() => {
  const missing = [];
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    const labelled = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby') || el.getAttribute('title');
    if (!labelled) missing.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '[name=' + el.name + ']');
  }
  return missing;
}"""


def unlabelled_inputs(page: Page) -> list[str]:
    """The form controls with no label a screen reader can announce (a ``<label>``,
    ``aria-label``, ``aria-labelledby`` or ``title``)."""
    return list(page.evaluate(_UNLABELLED_JS))


def focus_outline(page: Page, selector: str) -> dict[str, Any]:
    """Focus ``selector`` from the keyboard (Tab until it has the focus, so ``:focus-visible``
    applies as it does for a keyboard user) and return its computed outline and box shadow."""
    page.locator(selector).first.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    return page.evaluate("""(selector) => {
      const el = document.querySelector(selector);
      const style = getComputedStyle(el);
      return {focused: document.activeElement === el, visible: el.matches(':focus-visible'),
              outline_style: style.outlineStyle, outline_width: parseFloat(style.outlineWidth),
              box_shadow: style.boxShadow};
    }""", selector)


def screenshot(page: Page, path: Path, max_height: int = 2500) -> Path:
    """A PNG of the whole page at device scale 1, cut at ``max_height`` CSS pixels (a result
    page can be very tall; a picture for the README needs its top)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else DESKTOP_WIDTH
    height = min(int(page.evaluate("document.documentElement.scrollHeight")), max_height)
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
    return path

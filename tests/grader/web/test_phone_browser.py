"""The pages on a phone and from a keyboard, in a real browser (Debian's chromium).

At 390 CSS pixels (a common phone) no page scrolls sideways: a wide table scrolls inside
its own box or stacks.  Every control has a label a screen reader can announce, every
button and field is at least 44 px (a thumb's width), and keyboard focus is visible.
Checked on the start page (logged out and in, with a history), the registered page, the
sheet, a graded result and an error page; the pages of the instructor's desk join when
their routes exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.grader.web import browser as web
from tests.grader.web.conftest import EXAMPLES, Service, correct_example, real_grader_works, start_service

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = web.requires_chromium

#: A classic mistake (the window's end counted in): a result page with feedback to show.
WRONG_EXAMPLE = EXAMPLES / "window_end_inclusive.json"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service with registration open (so the start page shows both of its forms)."""
    env = {"STREAMGRADE_OPEN_REGISTRATION": "1"}
    if real_grader_works():
        env["STREAMGRADE_TEST_REAL_GRADER"] = "1"
    yield from start_service("sqlite", tmp_path_factory.mktemp("phone"), env=env)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with web.launched() as browser:
        yield browser


@pytest.fixture(scope="module")
def student(chromium: Browser, service: Service) -> dict[str, str]:
    """A student who has submitted the wrong example and then the correct one: their token and
    the paths of the pages to check."""
    _, token = service.new_student("phone")
    page = web.new_page(chromium)
    web.login(page, service.server.url, token)
    results = []
    for raw in (WRONG_EXAMPLE.read_bytes(), correct_example()[1]):
        page.goto(service.server.url + "/")
        page.fill("#submission", raw.decode("utf-8"))
        with page.expect_navigation():
            page.click("#submit button[type=submit]")
        results.append(page.evaluate("location.pathname"))
    page.context.close()
    assert all(path.startswith("/submissions/") for path in results), results
    return {"token": token, "wrong": results[0], "correct": results[1]}


#: The student's pages by name: the path (or a key of the ``student`` fixture) to open.
STUDENT_PAGES = {"start": "/", "sheet": "/sheet", "result of a wrong answer": "wrong",
                 "result of a correct answer": "correct", "error": "/submissions/999999999"}


def _open(chromium: Browser, service: Service, student: dict[str, str] | None, where: str,
          width: int = web.PHONE_WIDTH) -> Page:
    page = web.new_page(chromium, width=width)
    if student is not None:
        web.login(page, service.server.url, student["token"])
        where = student.get(where, where)
    page.goto(service.server.url + where)
    return page


def _registered(chromium: Browser, service: Service, width: int = web.PHONE_WIDTH) -> Page:
    """The page a new student sees once, with their token, after registering."""
    page = web.new_page(chromium, width=width)
    page.goto(service.server.url + "/")
    page.fill("#register input[name=student_id]", f"new{service.new_student()[0]}")
    with page.expect_navigation():
        page.click("#register button[type=submit]")
    assert page.locator("pre.token").count() == 1, page.inner_text("main")[:300]
    return page


@pytest.mark.parametrize("name", STUDENT_PAGES)
def test_no_student_page_scrolls_sideways_at_phone_width(chromium: Browser, service: Service,
                                                         student: dict[str, str], name: str):
    page = _open(chromium, service, student, STUDENT_PAGES[name])
    assert web.horizontal_overflow(page) == 0, name


def test_the_logged_out_and_registered_pages_fit_a_phone(chromium: Browser, service: Service):
    page = _open(chromium, service, None, "/")
    assert page.locator("#login").count() == 1 and page.locator("#register").count() == 1
    assert web.horizontal_overflow(page) == 0
    assert web.horizontal_overflow(_registered(chromium, service)) == 0


def test_the_history_table_stacks_on_a_phone(chromium: Browser, service: Service, student: dict[str, str]):
    """The start page's history table is wider than a phone: each row becomes a card whose cells
    say their column (``table.stacked``), so nothing scrolls sideways."""
    page = _open(chromium, service, student, "/")
    box = page.evaluate("""() => { const t = document.querySelector('table.history');
        const cell = t.querySelector('tbody td[data-label]');
        return {display: getComputedStyle(cell).display, label: getComputedStyle(cell, '::before').content,
                right: t.getBoundingClientRect().right}; }""")
    assert box["display"] == "block" and box["label"].strip('"')
    assert box["right"] <= web.PHONE_WIDTH
    assert web.horizontal_overflow(page) == 0


@pytest.mark.parametrize("name", STUDENT_PAGES)
def test_every_field_on_a_page_has_a_label(chromium: Browser, service: Service, student: dict[str, str], name: str):
    page = _open(chromium, service, student, STUDENT_PAGES[name])
    assert web.unlabelled_inputs(page) == []


def test_the_login_and_register_fields_have_labels(chromium: Browser, service: Service):
    assert web.unlabelled_inputs(_open(chromium, service, None, "/")) == []


@pytest.mark.parametrize("name", ["start", "sheet", "result of a wrong answer", "error"])
def test_buttons_fields_and_header_links_are_at_least_44_px_on_a_phone(chromium: Browser, service: Service,
                                                                        student: dict[str, str], name: str):
    page = _open(chromium, service, student, STUDENT_PAGES[name])
    assert web.small_tap_targets(page) == []


def test_the_logged_out_start_page_has_44_px_targets(chromium: Browser, service: Service):
    assert web.small_tap_targets(_open(chromium, service, None, "/")) == []


def test_the_body_type_is_at_least_16_px(chromium: Browser, service: Service, student: dict[str, str]):
    page = _open(chromium, service, student, "/")
    sizes = page.evaluate("""() => ['body', 'main p', 'footer', 'textarea', 'select', 'input[type=file]']
        .map((s) => [s, parseFloat(getComputedStyle(document.querySelector(s)).fontSize)])""")
    assert [s for s in sizes if s[1] < 16] == []


@pytest.mark.parametrize("selector", ["#token", "#login button[type=submit]", "#register input[name=student_id]",
                                      "body > header a.brand", "footer nav a"])
def test_keyboard_focus_is_visible_on_the_start_page(chromium: Browser, service: Service, selector: str):
    page = _open(chromium, service, None, "/")
    focus = web.focus_outline(page, selector)
    assert focus["focused"] and focus["visible"], focus
    assert focus["outline_style"] != "none" and focus["outline_width"] >= 2, focus


@pytest.mark.parametrize("selector", ["#submission", "#submit button[type=submit]", "body > header button.link"])
def test_keyboard_focus_is_visible_for_a_student(chromium: Browser, service: Service, student: dict[str, str],
                                                 selector: str):
    page = _open(chromium, service, student, "/")
    focus = web.focus_outline(page, selector)
    assert focus["focused"] and focus["visible"], focus
    assert focus["outline_style"] != "none" and focus["outline_width"] >= 2, focus


def test_the_first_tab_stop_skips_to_the_content(chromium: Browser, service: Service):
    page = _open(chromium, service, None, "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#content"
    box = page.evaluate("document.activeElement.getBoundingClientRect().toJSON()")
    assert box["top"] >= 0 and box["height"] >= web.MIN_TAP  # shown once it has the focus


def test_an_error_says_so_in_words_not_only_in_red(chromium: Browser, service: Service):
    page = _open(chromium, service, None, "/")
    page.fill("#token", "not-a-token")
    with page.expect_navigation():
        page.click("#login button[type=submit]")
    assert page.inner_text("[role=alert]").startswith("Error:")


@pytest.mark.parametrize("name", STUDENT_PAGES)
def test_keyboard_focus_is_visible_on_every_page(chromium: Browser, service: Service, student: dict[str, str],
                                                 name: str):
    """Pages without a stylesheet of their own too: the outline comes from style.css."""
    page = _open(chromium, service, student, STUDENT_PAGES[name])
    focus = web.focus_outline(page, "body > header button.link")
    assert focus["focused"] and focus["visible"], focus
    assert focus["outline_style"] != "none" and focus["outline_width"] >= 2, focus


@pytest.mark.parametrize("path", web.DESK_PATHS)
def test_the_instructors_desk_fits_a_phone_once_it_exists(chromium: Browser, service: Service, path: str):
    page = web.new_page(chromium, width=web.PHONE_WIDTH)
    web.login(page, service.server.url, service.instructor)
    reply = page.goto(service.server.url + path)
    if reply is None or reply.status == 404:
        pytest.skip(f"{path} does not answer yet (the instructor's desk is being built)")
    assert reply.ok, reply.status
    assert web.horizontal_overflow(page) == 0
    assert web.unlabelled_inputs(page) == []
    assert web.small_tap_targets(page) == []


#: A table too wide for a phone: eight columns of long words.
_WIDE_TABLE = ("<thead><tr>" + "".join(f"<th>Column{i}</th>" for i in range(8)) + "</tr></thead><tbody><tr>"
               + "".join(f'<td data-label="Column{i}">watermark_{i}_allowed_lateness</td>' for i in range(8))
               + "</tr></tbody>")


@pytest.mark.parametrize("pattern", ["stacked", "table-scroll"])
def test_style_css_table_patterns_keep_a_wide_table_inside_a_phone(chromium: Browser, service: Service,
                                                                   pattern: str):
    """The two patterns style.css offers every page family: a stacked table (each row a card,
    each cell headed by its data-label) and a table in a .table-scroll box."""
    page = _open(chromium, service, None, "/")
    html = (f'<table class="stacked">{_WIDE_TABLE}</table>' if pattern == "stacked"
            else '<div class="table-scroll" tabindex="0" role="region" aria-label="Wide">'
                 f'<table>{_WIDE_TABLE}</table></div>')
    page.evaluate("(html) => document.querySelector('main').insertAdjacentHTML('afterbegin', html)", html)
    assert web.horizontal_overflow(page) == 0
    if pattern == "stacked":
        label = page.evaluate("getComputedStyle(document.querySelector('table.stacked td'), '::before').content")
        assert label == '"Column0"'
    else:
        box = page.evaluate("(() => { const b = document.querySelector('.table-scroll');"
                            " return [b.scrollWidth, b.clientWidth]; })()")
        assert box[0] > box[1]  # the table is wider than the box, which scrolls

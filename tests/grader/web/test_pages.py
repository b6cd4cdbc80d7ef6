"""The web page over HTTP through gunicorn: login cookie, CSRF, form posts, escaping."""

from __future__ import annotations

import html
import json
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from grader.web.cli_commands import roster_add
from tests.grader.web.conftest import SAMPLE_SUBMISSION, Service
from tests.grader.web.server import Reply, multipart

XSS = "<script>alert(1)</script>"


class Browser:
    """Just enough of a browser: keeps cookies, reads the form's hidden fields, posts forms."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _keep(self, reply: Reply) -> Reply:
        raw = reply.header("Set-Cookie")
        if raw:
            for morsel in SimpleCookie(raw).values():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(morsel.key, None)
                else:
                    self.cookies[morsel.key] = morsel.value
        return reply

    def get(self, path: str) -> Reply:
        return self._keep(self.service.request("GET", path, headers=self._headers()))

    def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        headers = self._headers({"Content-Type": "application/x-www-form-urlencoded"})
        return self._keep(self.service.request("POST", path, urlencode(fields), headers=headers))

    def post_multipart(self, path: str, fields: dict[str, str],
                       files: dict[str, tuple[str, bytes]] | None = None) -> Reply:
        body, content_type = multipart(fields, files or {})
        headers = self._headers({"Content-Type": content_type})
        return self._keep(self.service.request("POST", path, body, headers=headers))

    @staticmethod
    def hidden(page: Reply, name: str) -> str:
        match = re.search(rf'name="{name}" value="([^"]*)"', page.text)
        assert match, f"no hidden field {name}"
        return html.unescape(match.group(1))

    def login(self, token: str) -> Reply:
        page = self.get("/")
        return self.post_form("/login", {"token": token, "csrf_token": self.hidden(page, "csrf_token")})

    def submit(self, text: str, **fields: str) -> Reply:
        page = self.get("/")
        form = {"csrf_token": self.hidden(page, "csrf_token"),
                "idempotency_key": self.hidden(page, "idempotency_key"),
                "exercise_set": "week10", "paste_format": "json", "submission": text, **fields}
        return self.post_multipart("/submit", form)


def test_login_sets_an_httponly_samesite_strict_cookie(service: Service):
    _, token = service.new_student()
    browser = Browser(service)
    reply = browser.login(token)
    assert reply.status == 303 and reply.header("Location") == "/"
    cookie = reply.header("Set-Cookie")
    assert "sg_token=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    home = browser.get("/")
    assert "Logged in as" in home.text
    assert "default-src 'none'" in home.header("Content-Security-Policy")


def test_a_wrong_token_is_refused_on_the_page(service: Service):
    reply = Browser(service).login("not-a-real-token")
    assert reply.status == 401
    assert "not on the roster" in reply.text


def test_form_posts_without_the_csrf_token_are_refused(service: Service):
    _, token = service.new_student()
    browser = Browser(service)
    browser.login(token)
    reply = browser.post_multipart("/submit", {"submission": json.dumps(SAMPLE_SUBMISSION)})
    assert reply.status == 403
    assert "reload the page" in reply.text
    forged = browser.post_multipart("/submit", {"submission": "{}", "csrf_token": "A" * 32})
    assert forged.status == 403


def test_submitting_from_the_page_shows_score_and_feedback(service: Service):
    _, token = service.new_student()
    browser = Browser(service)
    browser.login(token)
    reply = browser.submit(json.dumps(SAMPLE_SUBMISSION))
    assert reply.status == 303
    location = reply.header("Location")
    assert re.fullmatch(r"/submissions/\d+", location)
    page = browser.get(location)
    assert page.status == 200
    assert re.search(r'<span class="score" id="score">\d+', page.text)
    assert "ex6: answered" in page.text
    home = browser.get("/")
    assert f'href="{location}"' in home.text  # in the history


def test_a_double_click_stores_one_submission(service: Service):
    student, token = service.new_student()
    browser = Browser(service)
    browser.login(token)
    page = browser.get("/")
    form = {"csrf_token": Browser.hidden(page, "csrf_token"),
            "idempotency_key": Browser.hidden(page, "idempotency_key"),
            "paste_format": "json", "submission": json.dumps(SAMPLE_SUBMISSION)}
    first = browser.post_multipart("/submit", form)
    second = browser.post_multipart("/submit", form)
    assert first.header("Location") == second.header("Location")
    assert len(service.store.submissions_of(student)) == 1


def test_student_text_and_student_id_are_escaped(service: Service):
    student_id = "<script>alert(2)</script>"
    token = roster_add(student_id, db=service.db)
    browser = Browser(service)
    browser.login(token)
    answer = {"event_time": XSS, "processing_time": '"><img src=x onerror=alert(3)>'}
    body = {**SAMPLE_SUBMISSION, "answers": {"ex1": answer}}
    page = browser.get(browser.submit(json.dumps(body)).header("Location"))
    assert page.status == 200
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert html.escape(XSS) in page.text or "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page.text
    home = browser.get("/")
    assert "<script>alert" not in home.text


def test_an_unreadable_paste_is_kept_and_its_error_shown(service: Service):
    student, token = service.new_student()
    browser = Browser(service)
    browser.login(token)
    reply = browser.submit('{"answers": {"ex6": [1,,2]}}')
    # Shown at once, with the text still in the box to mend; and kept as an unreadable attempt.
    assert reply.status == 422
    assert "line 1 column 24: Expecting value" in reply.text
    assert "[1,,2]" in reply.text
    [kept] = service.store.submissions_of(student)
    assert kept.state.value == "rejected" and f"submission {kept.id}" in reply.text
    page = browser.get(f"/submissions/{kept.id}")
    assert "could not be read" in page.text


def test_an_oversize_paste_is_refused_with_a_message(service: Service):
    _, token = service.new_student()
    browser = Browser(service)
    browser.login(token)
    reply = browser.submit("x" * (300 * 1024))
    assert reply.status == 413
    assert "too large" in reply.text


def test_result_pages_need_a_login(service: Service):
    reply = service.request("GET", "/submissions/1")
    assert reply.status == 303 and reply.header("Location") == "/"
    _, token = service.new_student()
    _, other = service.new_student()
    owner = Browser(service)
    owner.login(token)
    location = owner.submit(json.dumps(SAMPLE_SUBMISSION)).header("Location")
    intruder = Browser(service)
    intruder.login(other)
    assert intruder.get(location).status == 404


def test_logout_clears_the_cookie(service: Service):
    _, token = service.new_student()
    browser = Browser(service)
    browser.login(token)
    page = browser.get("/")
    reply = browser.post_form("/logout", {"csrf_token": Browser.hidden(page, "csrf_token")})
    assert reply.status == 303
    assert "sg_token" not in browser.cookies
    assert 'id="login"' in browser.get("/").text

"""The Flask app factory of the submission service.

``create_app(config)`` reads the settings (environment variables, then ``config`` on top:
see :mod:`grader.web.settings`), opens the store and creates its schema, loads the
grading function, and wires the API, the page and one error handler per kind of error.
gunicorn serves it as ``grader.web.app:create_app()``; nothing is created at import.

Errors: every error is ``{"errors": [message], ...}`` with its status (the page's routes
answer an HTML page instead).  A :class:`grader.errors.GraderError` carries its own
status; Werkzeug's HTTP errors keep theirs; anything else is a bug: it is logged with its
traceback and answered with a 500 that shows no internals.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from grader.errors import GraderError
from grader.grading import GRADER_VERSION, grade_bytes
from grader.sandbox import default_sandbox
from grader.web import result_page, sheet_page
from grader.web.api import api, health
from grader.web.auth import Roster
from grader.web.catalogue import Catalogue
from grader.web.context import EXTENSION, Services
from grader.web.desk import desk
from grader.web.pages import page_error, pages
from grader.web.ratelimit import TokenBucketLimiter
from grader.web.service import GradeFunction, SubmissionService
from grader.web.settings import Settings, load_settings
from grader.web.store import Store
from grader.web.timeline import Timelines

WEB_DIR = Path(__file__).resolve().parent
# Room for multipart framing and the page's other form fields around a submission of max_bytes.
FORM_OVERHEAD = 16 * 1024
#: Modules whose routes join the ``pages`` blueprint when imported (one page family each).
PAGE_ROUTES = (sheet_page, result_page)

# Scripts only from the service's own files (no inline script, no eval): the pages work without
# them and are better with them (the answer form's rows and draft).
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")


def create_app(config: Mapping[str, Any] | None = None, *, grade: GradeFunction = grade_bytes,
               grader_version: str = GRADER_VERSION) -> Flask:
    """Build the service.  ``config`` keys are the ``STREAMGRADE_*`` setting names (they win
    over the environment); other keys go to Flask's own config (``TESTING``...).

    ``grade`` is the grading function (``grader.grading.grade_bytes``'s signature) and
    ``grader_version`` the version stored with its results: a test or a benchmark hands
    in another by a plain call (an app factory of its own for gunicorn), never by a name
    the service looks up."""
    settings = load_settings(config)
    app = Flask(__name__, static_folder=None, template_folder=str(WEB_DIR / "templates"))
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_bytes + FORM_OVERHEAD,
        MAX_FORM_MEMORY_SIZE=settings.max_bytes + FORM_OVERHEAD,
        STREAMGRADE_STATIC_DIR=str(WEB_DIR / "static"),
    )
    app.config.update({k: v for k, v in (config or {}).items() if not k.startswith("STREAMGRADE_")})
    app.json.sort_keys = False  # keep the result format's field order
    if settings.trust_proxy:
        n = settings.trust_proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    app.url_map.converters["id"] = IdConverter
    app.extensions[EXTENSION] = services = _services(settings, grade, grader_version)
    _warm(app, services)
    app.register_blueprint(api)
    app.register_blueprint(health)
    app.register_blueprint(pages)
    app.register_blueprint(desk)
    _register_error_handlers(app)
    app.after_request(_security_headers)
    return app


class IdConverter(IntegerConverter):
    """``<id:name>``: a stored row's id, a non-negative 64-bit integer (larger is simply not found)."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=0, max=2**63 - 1)


def _services(settings: Settings, grade: GradeFunction, version: str) -> Services:
    store = Store(settings.db, sqlite_synchronous=settings.sqlite_synchronous)
    store.create_schema()
    catalogue = Catalogue(settings.exercises_dir)
    submissions = SubmissionService(store, catalogue, grade, version, max_bytes=settings.max_bytes,
                                    default_set=settings.default_set)
    return Services(
        settings=settings,
        store=store,
        roster=Roster(store),
        limiter=TokenBucketLimiter(settings.rate_burst, settings.rate_per_minute),
        catalogue=catalogue,
        submissions=submissions,
        grader_version=version,
        timelines=Timelines(),
        sandbox_probe=_sandbox_probe(),
    )


def _warm(app: Flask, services: Services) -> None:
    """Load the default exercise set and grade its blank template once, so the caches are warm
    before gunicorn forks its workers (preload) and the first students wait no longer than
    the rest.  A failure here is logged and left for the requests to report."""
    try:
        template = services.catalogue.template(services.settings.default_set)
        services.submissions.grade(json.dumps(template).encode(), "template.json", "warm-up",
                                   services.settings.default_set)
    except Exception as exc:  # warming is an optimisation: never a reason not to start
        app.logger.info("warm-up skipped: %s: %s", type(exc).__name__, exc)


def _sandbox_probe() -> Callable[[], dict[str, Any]]:
    """A function saying which sandbox tier Python answers run in (for ``/healthz``).

    Only the tier is shown (``strict``, ``weak``, or ``None`` when Python answers would be
    refused) and what it cannot bound here: the layers' details stay off an
    unauthenticated route.
    """
    def tier() -> dict[str, Any]:
        report = default_sandbox().probe()
        return {"tier": report.tier.value if report.tier else None, "requested": report.requested.value,
                "unbounded": list(report.unbounded)}

    return tier


# -- errors ------------------------------------------------------------------------------------------

def _is_page() -> bool:
    return request.blueprint in ("pages", "desk")


def _error(status: int, message: str, extra: Mapping[str, Any] | None = None,
           headers: Mapping[str, str] | None = None) -> tuple[Response, int, dict[str, str]]:
    body = {"errors": [message], **(extra or {})}
    return jsonify(body), status, dict(headers or {})


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(GraderError)
    def grader_error(exc: GraderError) -> Any:
        headers = getattr(exc, "headers", None) or {}
        if _is_page():
            return (*page_error(exc.http_status, exc.message), headers)
        return _error(exc.http_status, exc.message, getattr(exc, "extra", None), headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if exc.code is None or exc.code < 400:  # routing redirects (a missing trailing slash) pass through
            return exc
        message = _http_message(exc, app)
        headers = {k: v for k, v in exc.get_headers() if k.lower() not in {"content-type", "content-length"}}
        if _is_page():
            return (*page_error(exc.code, message), headers)
        return _error(exc.code, message, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        reference = secrets.token_hex(4)
        app.logger.exception("unhandled error %s in %s %s", reference, request.method, request.path)
        message = f"internal error {reference}: the service could not handle this request; it has been logged"
        if _is_page():
            return page_error(500, message)
        return _error(500, message)


def _http_message(exc: HTTPException, app: Flask) -> str:
    if isinstance(exc, RequestEntityTooLarge):
        return f"request body too large: the limit is {app.config['MAX_CONTENT_LENGTH']} bytes"
    if exc.code == 404:
        return f"no such route: {request.method} {request.path}"
    if exc.code == 405:
        allowed = ", ".join(sorted(m for m in (getattr(exc, "valid_methods", None) or []) if m != "OPTIONS"))
        return f"method {request.method} not allowed on {request.path}" + (f"; allowed: {allowed}" if allowed else "")
    return exc.description or exc.name


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if request.path != "/healthz" and not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    return response

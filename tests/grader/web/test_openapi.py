"""The OpenAPI document matches the routes, and a fuzz run over it finds no server error.

The fuzz run uses schemathesis (a test-only dependency): it generates requests from the
document itself, valid and invalid, for every operation, which is exactly the "any
input, never a 500" property; writing those generators by hand would duplicate it.  It
runs in-process against the WSGI app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from jsonschema import Draft202012Validator

from grader.grading import grade_bytes
from grader.web.app import create_app
from grader.web.openapi import UndocumentedRoute, build_document, documented_routes, flask_routes
from grader.web.records import Role
from tests.grader.web import grading_hooks
from tests.grader.web.conftest import REAL_GRADER_SKIP, real_grader_works


def _app(folder: Path, grade=grading_hooks.grade_bytes) -> Flask:
    return create_app({"STREAMGRADE_DB": f"sqlite:///{folder / 'fuzz.db'}", "STREAMGRADE_RATE_BURST": "0",
                       "STREAMGRADE_OPEN_REGISTRATION": "true", "TESTING": True}, grade=grade)


@pytest.fixture(scope="module", params=["stand-in", "real"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app with the stand-in grader, and with the real one (the fuzz then reaches real grading)."""
    if request.param == "real" and not real_grader_works():
        pytest.skip(REAL_GRADER_SKIP)
    app = _app(tmp_path_factory.mktemp("openapi"), grading_hooks.grade_bytes if request.param == "stand-in"
               else grade_bytes)
    yield app
    app.extensions["streamgrade"].store.close()


@pytest.fixture(scope="module")
def instructor_token(app: Flask) -> str:
    return app.extensions["streamgrade"].roster.add("fuzz-prof", Role.INSTRUCTOR)


def test_every_route_is_documented_and_every_documented_route_exists(app: Flask):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert documented_routes(document) == flask_routes(app)
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert "/api/v1/submissions/<id:submission_id>" in rules
    assert ("GET", "/api/v1/submissions/{submission_id}") in documented_routes(document)
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            assert op["summary"] and op["responses"], (method, path)
            params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert params == set(re.findall(r"{(\w+)}", path)), (method, path)


def test_a_route_without_an_operation_is_refused(tmp_path: Path):
    app = _app(tmp_path)
    app.add_url_rule("/undocumented", "undocumented", lambda: "x")
    with pytest.raises(UndocumentedRoute, match="/undocumented"):
        build_document(app)
    app.extensions["streamgrade"].store.close()


def test_the_documents_schemas_are_valid_json_schemas(app: Flask):
    document = build_document(app)
    assert document["openapi"].startswith("3.1")
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name


def _fuzzer(strategy, label: str, headers: dict[str, str], checks: list, failures: list[str], calls: list[str]):
    """A Hypothesis test over one operation's cases that records failures instead of stopping."""
    from schemathesis.core.failures import FailureGroup

    @given(case=strategy)
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case) -> None:
        calls.append(label)
        try:
            case.call_and_validate(headers=headers, checks=checks)
        except (Exception, FailureGroup) as exc:  # FailureGroup is a BaseExceptionGroup
            failures.append(f"{label}: {type(exc).__name__}: {exc}"[:2000])

    return fuzz


def test_fuzzing_the_document_finds_no_server_error(app: Flask, instructor_token: str):
    """Valid and invalid requests generated from the document, for every operation: no 5xx,
    only documented statuses, content types and headers, responses that match their
    schemas, and no route that ignores a missing token.

    Not checked: ``negative_data_rejection`` and ``positive_data_acceptance``.  The service
    is lenient on purpose where they expect strictness (an empty ``exercise_set=`` means
    the default, unknown query parameters are ignored) and answers a well-formed but
    unreadable submission with 400 (stored, with the grader's message).
    """
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed: pip install -e '.[test]'")
    from schemathesis.checks import (
        content_type_conformance,
        ignored_auth,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
    from schemathesis.core.failures import FailureGroup

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {instructor_token}"}
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance,
              response_headers_conformance, ignored_auth]
    failures: list[str] = []
    calls: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    # schemathesis leaves out the document's own route; every other route is fuzzed.
    fuzzed = {tuple(operation.label.split(" ", 1)) for operation in operations}
    assert fuzzed == flask_routes(app) - {("GET", "/api/v1/openapi.json")}
    for operation in operations:
        for mode in schemathesis.GenerationMode:
            label = f"{operation.label} ({mode.value})"
            fuzz = _fuzzer(operation.as_strategy(generation_mode=mode), label, headers, checks, failures, calls)
            try:
                fuzz()
            except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
            except (Exception, FailureGroup) as exc:  # checks that judge the whole run report here
                failures.append(f"{label}: {type(exc).__name__}: {exc}"[:2000])
    assert failures == []
    assert len(calls) > 10 * len(operations)  # the fuzzing did run

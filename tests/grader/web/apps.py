"""The service as the web tests run it under gunicorn: the real app, with the tests' grader.

gunicorn runs ``tests.grader.web.apps:create_app()``: the app factory of :mod:`grader.web.app`
called with :mod:`tests.grader.web.grading_hooks` as its grading function (the stand-in grader,
or the real one with ``STREAMGRADE_TEST_REAL_GRADER=1``, plus the hooks a test switches
on).  A plain call, not a name the service looks up.
"""

from __future__ import annotations

from flask import Flask

from grader.web.app import create_app as build_app
from tests.grader.web import grading_hooks


def create_app() -> Flask:
    return build_app(grade=grading_hooks.grade_bytes, grader_version=grading_hooks.GRADER_VERSION)


def create_stand_in_app() -> Flask:
    """The service with the stand-in grader only (the benchmark's baseline)."""
    from tests.grader.web import fake_grading

    return build_app(grade=fake_grading.grade_bytes, grader_version=fake_grading.GRADER_VERSION)

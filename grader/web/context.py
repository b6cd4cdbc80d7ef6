"""The objects one app instance works with, kept on the app (never in module globals).

:func:`grader.web.app.create_app` builds one :class:`Services` and puts it in
``app.extensions["streamgrade"]``; views reach it with :func:`services`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from grader.web.auth import Roster
from grader.web.catalogue import Catalogue
from grader.web.ratelimit import TokenBucketLimiter
from grader.web.service import SubmissionService
from grader.web.settings import Settings
from grader.web.store import Store
from grader.web.timeline import Timelines

EXTENSION = "streamgrade"


@dataclass
class Services:
    settings: Settings
    store: Store
    roster: Roster
    limiter: TokenBucketLimiter
    catalogue: Catalogue
    submissions: SubmissionService
    grader_version: str
    timelines: Timelines
    sandbox_probe: Callable[[], Any] | None = None


def services() -> Services:
    """The current app's services (inside a request or an app context)."""
    return current_app.extensions[EXTENSION]

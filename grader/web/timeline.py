"""The timeline picture of a set's sheet run, for the result page.

:func:`reference.diagrams.svg_timeline` draws the run of the sheet's (or the student's
variant's) events under the set's parameters.  The page shows it as an ``<img
src="data:image/svg+xml;base64,...">``: an SVG loaded as an image cannot run scripts,
load other resources or reach the page, which makes it safe whatever the SVG holds, with
no sanitiser to keep up to date.  When drawing fails the failure is logged and the page
shows no picture.
"""

from __future__ import annotations

import base64
import logging
import threading

from grader.exercises.model import ExerciseSet
from reference.config import RunConfig
from reference.diagrams import Scenario, svg_timeline
from reference.engine import run
from reference.windows import Tumbling

log = logging.getLogger(__name__)


class Timelines:
    """Data URIs of sheet-run timelines, made once per set per process."""

    def __init__(self) -> None:
        self._cache: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def data_uri(self, exercise_set: ExerciseSet) -> str | None:
        with self._lock:
            if exercise_set.fingerprint in self._cache:  # a student's variant has its own fingerprint
                return self._cache[exercise_set.fingerprint]
        uri = _draw(exercise_set)
        with self._lock:
            if len(self._cache) >= 1024:
                self._cache.clear()
            self._cache[exercise_set.fingerprint] = uri
        return uri


def sheet_svg(exercise_set: ExerciseSet) -> str:
    """The SVG timeline of the set's events under its own parameters."""
    context = exercise_set.context
    config = RunConfig(windows=Tumbling(context.window_size), watermark_delay=context.watermark_delay,
                       allowed_lateness=context.allowed_lateness, profile=context.profile)
    scenario = Scenario(f"allowed lateness {context.allowed_lateness // 60_000} min, {context.profile.name}",
                        run(context.events, config))
    return svg_timeline([scenario], title=f"{exercise_set.title}: the events in arrival order, watermarks and "
                                          "window firings")


def _draw(exercise_set: ExerciseSet) -> str | None:
    try:
        data = sheet_svg(exercise_set).encode("utf-8")
    except Exception:  # a picture is a nicety: log it and show the page without one
        log.exception("could not draw the timeline of exercise set %s", exercise_set.id)
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")

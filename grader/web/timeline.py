"""The timeline picture of a set's sheet run, for the result page (when the engine can draw it).

``reference.diagrams.svg(run)`` draws a run as SVG.  The page shows it as an
``<img src="data:image/svg+xml;base64,...">``: an SVG loaded as an image cannot run
scripts, load other resources or reach the page, which makes it safe whatever the SVG
holds, with no sanitiser to keep up to date.  Without ``reference.diagrams`` (or when it
fails) there is no picture and the page says nothing about it.
"""

from __future__ import annotations

import base64
import importlib
import logging
import threading

from grader.exercises.model import ExerciseSet

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


def _draw(exercise_set: ExerciseSet) -> str | None:
    try:
        diagrams = importlib.import_module("reference.diagrams")
    except ImportError:
        return None
    draw = getattr(diagrams, "svg", None)
    if draw is None:
        return None
    try:
        from reference.config import RunConfig
        from reference.engine import run
        from reference.windows import Tumbling

        context = exercise_set.context
        config = RunConfig(windows=Tumbling(context.window_size), watermark_delay=context.watermark_delay,
                           allowed_lateness=context.allowed_lateness, profile=context.profile)
        svg = draw(run(context.events, config))
        data = svg.encode("utf-8") if isinstance(svg, str) else bytes(svg)
    except Exception:  # a picture is a nicety: log it and show the page without one
        log.exception("could not draw the timeline of exercise set %s", exercise_set.id)
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")

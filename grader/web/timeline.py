"""The timeline picture of each window exercise, for the result page.

:func:`grader.solutions.diagrams.exercise_diagram` draws the engine runs behind one
exercise's window parts (the same runs its answers come from) for the set a student is
graded on, so a student with a variant sees their own events.  The page shows it as an
``<img src="data:image/svg+xml;base64,...">``: an SVG loaded as an image cannot run
scripts, load other resources or reach the page, which makes it safe whatever the SVG
holds, with no sanitiser to keep up to date.  When drawing fails the failure is logged
and the page shows no picture for that exercise.

Pictures are kept per (set fingerprint, exercise): a variant has its own fingerprint, so
two students never share a picture unless they share the data.
"""

from __future__ import annotations

import base64
import logging
import threading

from grader.exercises.model import ExerciseSet
from grader.solutions.diagrams import drawable_exercises, exercise_diagram

log = logging.getLogger(__name__)

#: Pictures kept per process before the cache starts again (a class of variants fits easily).
MAX_PICTURES = 4096


class Timelines:
    """Data URIs of exercise timelines, drawn once per (set fingerprint, exercise) per process."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], str | None] = {}
        self._lock = threading.Lock()

    def data_uri(self, exercise_set: ExerciseSet, exercise_id: str) -> str | None:
        """The picture of ``exercise_id`` in ``exercise_set``, or ``None`` when it has none (not a
        window exercise) or it could not be drawn."""
        if exercise_id not in drawable_exercises(exercise_set):
            return None
        key = (exercise_set.fingerprint, exercise_id)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        uri = _draw(exercise_set, exercise_id)
        with self._lock:
            if len(self._cache) >= MAX_PICTURES:
                self._cache.clear()
            self._cache[key] = uri
        return uri

    def for_exercises(self, exercise_set: ExerciseSet) -> dict[str, str]:
        """Every window exercise's picture that could be drawn, by exercise id."""
        found = {ex_id: self.data_uri(exercise_set, ex_id) for ex_id in drawable_exercises(exercise_set)}
        return {ex_id: uri for ex_id, uri in found.items() if uri is not None}


def exercise_svg(exercise_set: ExerciseSet, exercise_id: str) -> str:
    """The SVG timeline of one exercise's runs (:func:`exercise_diagram` in ``svg``)."""
    return exercise_diagram(exercise_set, exercise_id, fmt="svg")


def _draw(exercise_set: ExerciseSet, exercise_id: str) -> str | None:
    try:
        data = exercise_svg(exercise_set, exercise_id).encode("utf-8")
    except Exception:  # a picture is a nicety: log it and show the page without one
        log.exception("could not draw the timeline of %s in exercise set %s", exercise_id, exercise_set.id)
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")

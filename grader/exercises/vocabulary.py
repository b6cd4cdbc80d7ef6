"""What an exercise file may name: the queries and their parameters, the engine settings.

This is the contract of the exercise format with instructors (SUBMISSION_FORMAT.md says
the same of answers): a part's ``solution.query`` names one of :data:`QUERIES` with the
arguments its signature allows, and ``solution.config`` or a mistake's ``model`` may set
the :data:`CONFIG_KEYS`.  Loading a set checks files against this module, and the solver
binds each name to the function that computes it (``grader.solutions.catalogue``, whose
test checks that the two agree).  It imports nothing of the grader, so both can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The file of a set folder holding its events, parameters and settings.
CONTEXT_FILE = "context.yaml"

#: Engine settings a part's ``solution.config`` or a mistake's ``model`` may override.
CONFIG_KEYS = frozenset(
    {"window_size", "watermark_delay", "allowed_lateness", "late_policy", "profile", "watermark_every", "order",
     "windows"}
)
#: ``allowed_lateness: admit_all``: every late event is admitted (no expiry).
ADMIT_ALL = "admit_all"


class _Required:
    """The default of a parameter a part must give."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Query:
    """The signature of a named way to compute a part's answer.

    ``params`` maps each argument to its default (:data:`REQUIRED` when a part must give
    it); ``event_params`` take event ids (or ``"all"``); ``time_params`` take time strings
    (``"10:00"``) or lists of them; ``engine`` says the answer comes from engine runs, so
    it is worked out under every profile.
    """

    name: str
    summary: str
    params: Mapping[str, Any] = field(default_factory=dict)
    event_params: tuple[str, ...] = ()
    engine: bool = True
    time_params: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.params.items() if v is REQUIRED)

    def defaults(self) -> dict[str, Any]:
        """The arguments a part may leave out, with their values."""
        return {k: v for k, v in self.params.items() if v is not REQUIRED}


QUERIES: Mapping[str, Query] = {
    q.name: q
    for q in (
        Query("model_answer", "a text part: the instructor's model answer", engine=False),
        Query("close_watermark", "the watermark at which a window fires",
              {"window_start": REQUIRED, "convention": "watermark"}, time_params=("window_start",)),
        Query("delivery_semantics", "the three delivery guarantees", engine=False),
        Query("idempotent_sink_needed_for", "the guarantee whose replay re-writes rows",
              {"crash": "after_write_before_commit"}, engine=False),
        Query("window_events", "each window with the events assigned to it", {"events": "all"}, ("events",)),
        Query("late_policy_options", "the accepted ways to handle a late event",
              {"engine_policies": REQUIRED, "other_options": ()}, engine=False),
        Query("final_rows", "the upsert sink's rows for some windows",
              {"events": "all", "window_starts": None}, ("events",), time_params=("window_starts",)),
        Query("final_sum", "a key's final sum in a window",
              {"events": "all", "window_start": REQUIRED, "user_id": REQUIRED}, ("events",),
              time_params=("window_start",)),
        Query("final_row", "a key's final sink row in a window (window_of: the window an event lands in instead)",
              {"events": "all", "window_start": REQUIRED, "user_id": REQUIRED, "window_of": None}, ("events",),
              time_params=("window_start",)),
        Query("writes_on_arrival", "the records the sink receives when one event arrives",
              {"events": "all", "event": REQUIRED, "records": REQUIRED}, ("events", "event")),
        Query("events_per_window", "events per window (all users or per user) at the context's scale",
              {"per": "window"}, engine=False),
        Query("min_latency", "minimum minutes from an event to its window's emission",
              {"event_time": REQUIRED, "window_start": REQUIRED, "measure_from": "event"},
              time_params=("event_time", "window_start")),
        Query("windows_per_key", "windows one key holds at the same time"),
        Query("state_bytes", "bytes of window state for all users"),
        Query("sink_key_columns", "the sink's primary key columns", engine=False),
        Query("replay_duplicates", "duplicate rows in the sink after crash and replay",
              {"events": "all", "crash_after_window": REQUIRED, "sink": "upsert"}, ("events",),
              time_params=("crash_after_window",)),
    )
}

"""The reference streaming engine of streamgrade.

It computes what a real, well-configured stream processor computes for a stream of
click events: which tumbling, sliding or session window each event falls in, when the
watermark closes a window, which events are late or dropped, what reaches a sink, and
what a crash and replay leaves behind.  Grading knows nothing here: ``grader`` imports
``reference``, never the reverse.

The core is free of I/O (like Flask's ``sansio`` package): nothing is read, written,
printed or timed at import or during a run.  Only the modules named for I/O touch the
outside world: :mod:`reference.streams` (loading event files) and :mod:`reference.sinks`
(SQL tables).  Time is exact integer milliseconds, amounts are ``Decimal``.
"""

from reference.config import LatePolicy, RunConfig, StateModel
from reference.engine import run
from reference.events import Event
from reference.operator import WindowOperator
from reference.profiles import PROFILES, Profile, get_profile
from reference.results import Emission, EmissionKind, LateEvent, LateOutcome, Run
from reference.timestamps import format_duration, format_time, parse_duration, parse_time
from reference.windows import Sessions, Sliding, Tumbling, Window

__all__ = [
    "PROFILES",
    "Emission",
    "EmissionKind",
    "Event",
    "LateEvent",
    "LateOutcome",
    "LatePolicy",
    "Profile",
    "Run",
    "RunConfig",
    "Sessions",
    "Sliding",
    "StateModel",
    "Tumbling",
    "Window",
    "WindowOperator",
    "format_duration",
    "format_time",
    "get_profile",
    "parse_duration",
    "parse_time",
    "run",
]

"""The configuration of one engine run, kept apart from runtime state.

Like bytewax's frozen window config beside a per-window logic object: what the job is
asked to do is a value; what it holds while running lives in the operator.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from reference.profiles import DEFAULT_PROFILE, Profile
from reference.timestamps import MINUTE, Ticks, format_duration
from reference.windows import Sessions, Tumbling, WindowAssigner


class LatePolicy(enum.StrEnum):
    """What happens to an event whose window has already fired.

    ``drop``: every late event is discarded (allowed lateness must be 0).
    ``update``: a late event inside the allowed lateness updates the window and the late
    firing upserts the new value (one sink write).
    ``retract``: as ``update``, but the late firing retracts the old row and emits the
    new one (two changelog records).
    ``side_output``: as ``update`` inside the allowed lateness; events past it go to a
    side stream instead of being lost (Flink's ``sideOutputLateData``).  With the default
    lateness of 0 every late event goes to the side stream and no result changes.
    """

    DROP = "drop"
    UPDATE = "update"
    RETRACT = "retract"
    SIDE_OUTPUT = "side_output"

    @classmethod
    def parse(cls, text: str) -> LatePolicy:
        key = text.strip().lower().replace("-", "_")
        for policy in cls:
            if policy.value == key:
                return policy
        raise ValueError(f"unknown late policy {text!r}; choose one of {', '.join(p.value for p in cls)}")


@dataclass(frozen=True)
class StateModel:
    """How many bytes a held window costs: the accumulator plus, optionally, its key.

    The sheet's exercise counts one 8-byte sum per window buffer and nothing else.
    """

    bytes_per_window: int = 8
    bytes_per_key: int = 0

    def describe(self) -> str:
        text = f"{self.bytes_per_window} bytes per window buffer"
        if self.bytes_per_key:
            text += f" + {self.bytes_per_key} bytes of key"
        return text


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's answer.

    ``watermark_every``: emit a watermark after every N arrivals (1, the default, is a
    per-record generator; larger values model a periodic one, which changes which events
    count as late).
    """

    windows: WindowAssigner = field(default_factory=lambda: Tumbling(5 * MINUTE))
    watermark_delay: Ticks = 0
    allowed_lateness: Ticks = 0
    late_policy: LatePolicy = LatePolicy.UPDATE
    profile: Profile = DEFAULT_PROFILE
    watermark_every: int = 1
    state_model: StateModel = field(default_factory=StateModel)
    track_events: bool = True

    def __post_init__(self) -> None:
        if self.watermark_delay < 0 or self.allowed_lateness < 0:
            raise ValueError("watermark delay and allowed lateness cannot be negative")
        if self.watermark_every < 1:
            raise ValueError("watermark_every must be at least 1")
        if self.late_policy is LatePolicy.DROP and self.allowed_lateness:
            raise ValueError(
                "late policy 'drop' discards every late event, so allowed lateness must be 0 "
                f"(got {format_duration(self.allowed_lateness)}); use 'update' or 'retract' to admit late events"
            )

    @property
    def is_merging(self) -> bool:
        return isinstance(self.windows, Sessions)

    def describe(self) -> str:
        return (
            f"{self.windows.describe()}, watermark delay {format_duration(self.watermark_delay)}, "
            f"allowed lateness {format_duration(self.allowed_lateness)}, late policy {self.late_policy.value}, "
            f"profile {self.profile.name}"
        )

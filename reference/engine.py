"""Running a stream through the window operator: ``run`` keeps everything about the run.

:func:`make_operator` picks the operator for the windows (sessions merge, and have their
own, :mod:`reference.sessions`); :func:`run` feeds it every arrival in order and records
the watermark and the state after each, the emissions and the late events, as one
:class:`~reference.results.Run` that later questions read.
"""

from __future__ import annotations

from collections.abc import Iterable

from reference.config import RunConfig
from reference.events import Event
from reference.operator import WindowOperator
from reference.results import (
    Run,
    StateSample,
    WatermarkStep,
)
from reference.sessions import SessionOperator
from reference.windows import Sessions


def make_operator(config: RunConfig) -> WindowOperator:
    """The operator for the config's windows (sessions merge and need their own)."""
    if isinstance(config.windows, Sessions):
        return SessionOperator(config)
    return WindowOperator(config)


def run(events: Iterable[Event], config: RunConfig | None = None) -> Run:
    """Run the whole stream (in arrival order) and keep everything about the run."""
    config = config or RunConfig()
    op = make_operator(config)
    kept: list[Event] = []
    marks: list[WatermarkStep] = []
    samples: list[StateSample] = []
    peak_bytes = 0
    for ev in events:
        kept.append(ev)
        op.process(ev)
        marks.append(WatermarkStep(op.arrivals - 1, ev.event_id, op.max_event_time, op.watermark))
        size = op.state_bytes()
        peak_bytes = max(peak_bytes, size)
        samples.append(
            StateSample(op.arrivals - 1, op.windows_held, len(op._held_per_key), op.max_windows_per_key_now, size)
        )
    op.finish()
    return Run(
        config=config,
        events=tuple(kept),
        emissions=tuple(op.emissions),
        late=tuple(op.late),
        watermarks=tuple(marks),
        state=tuple(samples),
        max_windows_per_key=max((s.max_windows_per_key for s in samples), default=0),
        peak_state_bytes=peak_bytes,
    )


__all__ = ["make_operator", "run"]

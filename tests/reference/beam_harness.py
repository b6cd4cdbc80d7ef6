"""Run a click stream through Apache Beam's Python SDK, for the ``beam-python`` differential test.

The stream is replayed with :class:`apache_beam.testing.test_stream.TestStream` on the
DirectRunner in streaming mode, with the watermark the engine uses: after each element,
``advance_watermark_to(max_event_time_so_far - delay)`` whenever that increases, and
``advance_watermark_to_infinity()`` at the end.  The windowing is the one the
``beam-python`` profile models: ``FixedWindows(size)``, ``AfterWatermark(late=AfterCount(1))``,
``ACCUMULATING``, ``allowed_lateness=L``, then ``CombinePerKey(sum)``.

Times are integer milliseconds converted exactly (``Timestamp(micros=ms * 1000)``) and
amounts are integers, so nothing is rounded on either side.  Every pane is captured with
its window, key, value and :class:`PaneInfo` timing.

Importing this module works without Beam installed (``beam`` is then ``None``).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reference.events import Event


def _import_beam():
    """Import Beam without its import-time noise.

    ``apache_beam.io.gcp.internal.clients.bigquery`` calls ``logging.warning`` on the
    root logger when apitools is missing; with no root handler that would also run
    ``logging.basicConfig`` and leave a stderr handler behind for the whole session.
    """
    root = logging.getLogger()
    guard = logging.NullHandler()
    hush = logging.Filter("apache_beam")  # passes only records from Beam's own loggers
    root.addHandler(guard)
    root.addFilter(hush)
    try:
        import apache_beam
    except Exception as exc:  # ImportError, or a broken install failing at import
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        root.removeFilter(hush)
        root.removeHandler(guard)
    return apache_beam, None


#: ``apache_beam`` or ``None``; ``BEAM_IMPORT_ERROR`` says why it is ``None``.
beam, BEAM_IMPORT_ERROR = _import_beam()

#: ``PaneInfoTiming`` values (``apache_beam.utils.windowed_value``).
_TIMING_NAMES = {0: "EARLY", 1: "ON_TIME", 2: "LATE", 3: "UNKNOWN"}

#: Panes captured per pipeline run, keyed by a run id (the DirectRunner runs the DoFn in
#: this process, with one worker thread; the lock only guards the dict itself).
_SINK: dict[int, list[Pane]] = {}
_SINK_LOCK = threading.Lock()
_RUN_IDS = itertools.count()


@dataclass(frozen=True, order=True)
class Pane:
    """One pane Beam emitted for a (window, key): ``timing`` is ``ON_TIME``, ``LATE`` or ``EARLY``."""

    start: int
    end: int
    key: str
    index: int
    value: int
    timing: str
    nonspeculative_index: int
    is_first: bool
    is_last: bool


def quiet_beam_logging() -> None:
    """Beam logs a lot on the DirectRunner (warnings about the runner, pickling, ...)."""
    for name in ("apache_beam", "apache_beam.runners", "apache_beam.transforms"):
        logging.getLogger(name).setLevel(logging.ERROR)


def watermark_script(events: Sequence[Event], delay: int) -> list[tuple[str, object]]:
    """The TestStream's script: ``("element", event)`` and ``("watermark", ms)`` steps."""
    steps: list[tuple[str, object]] = []
    max_time: int | None = None
    watermark: int | None = None
    for ev in events:
        steps.append(("element", ev))
        if max_time is None or ev.event_time > max_time:
            max_time = ev.event_time
        new = max_time - delay
        if watermark is None or new > watermark:
            watermark = new
            steps.append(("watermark", new))
    return steps


def run_beam(events: Iterable[Event], size: int, delay: int, lateness: int) -> list[Pane]:
    """Run the stream through Beam and return its panes in the order the sink saw them."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.testing.test_stream import TestStream
    from apache_beam.transforms import trigger, window
    from apache_beam.utils.timestamp import Duration, Timestamp

    quiet_beam_logging()
    events = list(events)
    for ev in events:
        if ev.amount != int(ev.amount):
            raise ValueError(f"the differential test uses integer amounts, got {ev.describe()}")

    stream = TestStream()
    for kind, item in watermark_script(events, delay):
        if kind == "element":
            assert isinstance(item, Event)
            stream = stream.add_elements(
                [window.TimestampedValue((item.user_id, int(item.amount)), Timestamp(micros=item.event_time * 1000))]
            )
        else:
            assert isinstance(item, int)
            stream = stream.advance_watermark_to(Timestamp(micros=item * 1000))
    stream = stream.advance_watermark_to_infinity()

    run_id = next(_RUN_IDS)
    with _SINK_LOCK:
        _SINK[run_id] = []

    options = PipelineOptions(runner="DirectRunner")
    options.view_as(StandardOptions).streaming = True
    with beam.Pipeline(options=options) as p:
        _ = (
            p
            | stream
            | beam.WindowInto(
                window.FixedWindows(Duration(micros=size * 1000)),
                trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
                allowed_lateness=Duration(micros=lateness * 1000),
            )
            | beam.CombinePerKey(sum)
            | beam.ParDo(_Capture(run_id))
        )
    with _SINK_LOCK:
        return _SINK.pop(run_id)


def _micros_to_ms(micros: int) -> int:
    if micros % 1000:
        raise AssertionError(f"window bound {micros} us is not a whole millisecond")
    return micros // 1000


if beam is not None:

    class _Capture(beam.DoFn):
        """Append every pane to the run's list in :data:`_SINK`."""

        def __init__(self, run_id: int) -> None:
            self.run_id = run_id

        def process(self, element, win=beam.DoFn.WindowParam, pane=beam.DoFn.PaneInfoParam):
            key, value = element
            captured = Pane(
                start=_micros_to_ms(win.start.micros),
                end=_micros_to_ms(win.end.micros),
                key=key,
                index=pane.index,
                value=value,
                timing=_TIMING_NAMES.get(pane.timing, str(pane.timing)),
                nonspeculative_index=pane.nonspeculative_index,
                is_first=pane.is_first,
                is_last=pane.is_last,
            )
            with _SINK_LOCK:
                _SINK[self.run_id].append(captured)

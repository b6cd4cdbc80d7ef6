"""Semantics profiles: where real engines differ at the boundaries.

Every boundary rule of the engine lives here as a named predicate: ``watermark``,
``fires``, ``is_late`` and ``is_droppable``.  A profile is a value that picks them.
Notation as in SEMANTICS.md: ``M`` max event time seen, ``B`` watermark delay, ``e``
window end (exclusive), ``L`` allowed lateness.  All arithmetic is on integer ms.

Sources (quoted where each rule is implemented):

* Flink ``BoundedOutOfOrdernessWatermarks.onPeriodicEmit``:
  ``output.emitWatermark(new Watermark(maxTimestamp - outOfOrdernessMillis - 1));``
* Flink ``WindowOperator.isWindowLate``:
  ``return (windowAssigner.isEventTime() && (cleanupTime(window) <= internalTimerService.currentWatermark()));``
  with ``cleanupTime = window.maxTimestamp() + allowedLateness``.
* Flink ``EventTimeTrigger.onElement``:
  ``if (window.maxTimestamp() <= ctx.getCurrentWatermark()) { return TriggerResult.FIRE; }``
* Beam Python ``trigger.py`` (``GeneralTriggerDriver.process_elements``):
  ``if input_watermark > window.end + self.allowed_lateness: continue``
* Kafka Streams ``KStreamWindowAggregate``:
  ``closeTime = observedStreamTime - windows.gracePeriodMs()`` and ``if (windowEnd > closeTime)``
  (otherwise the record is dropped as expired).
* Spark ``StateStoreSaveExec`` (append mode): rows are evicted and emitted by
  ``watermarkPredicateForKeysForEviction``, which for a window key compares the window
  end with the watermark (``end <= watermark``); late rows are filtered by
  ``watermarkPredicateForDataForLateEvents`` on the same bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.timestamps import MS, NEG_INF, Bound, Ticks


@dataclass(frozen=True)
class Profile:
    """The boundary rules of one real engine.

    ``watermark_minus``: subtracted from ``M - B`` (Flink's ``- 1``).
    ``fires_at_max_timestamp``: the window fires when the watermark reaches
    ``end - 1 ms`` (its ``maxTimestamp``) instead of ``end``.
    ``drop_cmp``: how the expiry ``end + L`` (or ``maxTimestamp + L``) compares with
    the watermark: ``"le"`` drops at equality, ``"lt"`` (Beam Python) only past it.
    ``lateness_in_watermark``: the engine has no allowed lateness of its own, so the
    exercise's ``L`` is added to the delay (Spark's watermark, Kafka Streams' grace):
    lateness costs latency there, and no late firing can happen.
    """

    name: str
    summary: str
    watermark_minus: Ticks = 0
    fires_at_max_timestamp: bool = False
    drop_at_max_timestamp: bool = False
    drop_cmp: str = "le"
    lateness_in_watermark: bool = False
    late_firing: str = "the whole window again"

    def watermark(self, max_event_time: Bound, delay: Ticks, allowed_lateness: Ticks = 0) -> Bound:
        """The watermark after seeing ``max_event_time`` (minus infinity before any event)."""
        if max_event_time == NEG_INF:
            return NEG_INF
        extra = allowed_lateness if self.lateness_in_watermark else 0
        return max_event_time - delay - extra - self.watermark_minus

    def fire_time(self, end: Ticks) -> Ticks:
        """The smallest watermark at which a window ending at ``end`` fires."""
        return end - MS if self.fires_at_max_timestamp else end

    def fires(self, end: Ticks, watermark: Bound) -> bool:
        """True when a window ending at ``end`` has fired by ``watermark``."""
        return watermark >= self.fire_time(end)

    def is_late(self, end: Ticks, watermark: Bound) -> bool:
        """An arriving event is late when its window has already fired."""
        return self.fires(end, watermark)

    def expiry(self, end: Ticks, allowed_lateness: Ticks) -> Ticks:
        """``cleanupTime``: the watermark value the expiry rule compares with."""
        lateness = 0 if self.lateness_in_watermark else allowed_lateness
        base = end - MS if self.drop_at_max_timestamp else end
        return base + lateness

    def is_droppable(self, end: Ticks, allowed_lateness: Ticks, watermark: Bound) -> bool:
        """True when the window's state is gone: an event for it is dropped."""
        cleanup = self.expiry(end, allowed_lateness)
        if self.drop_cmp == "lt":
            return watermark > cleanup
        return cleanup <= watermark

    def drop_rule(self) -> str:
        """The expiry rule in words, for derivations and feedback."""
        if self.lateness_in_watermark:
            return "dropped when end <= watermark (lateness is part of the watermark)"
        base = "end - 1 ms + L" if self.drop_at_max_timestamp else "end + L"
        cmp = "<" if self.drop_cmp == "lt" else "<="
        return f"dropped when {base} {cmp} watermark"

    def fire_rule(self) -> str:
        return "fires when watermark >= end - 1 ms" if self.fires_at_max_timestamp else "fires when watermark >= end"

    def watermark_rule(self) -> str:
        parts = "M - B"
        if self.lateness_in_watermark:
            parts += " - L"
        if self.watermark_minus:
            parts += f" - {self.watermark_minus} ms"
        return f"watermark = {parts}"


FLINK = Profile(
    name="flink",
    summary="Apache Flink DataStream window operator with BoundedOutOfOrderness watermarks",
    # maxTimestamp - outOfOrdernessMillis - 1
    watermark_minus=1,
    # EventTimeTrigger: FIRE when window.maxTimestamp() <= watermark
    fires_at_max_timestamp=True,
    # isWindowLate: cleanupTime(window) <= currentWatermark, cleanupTime = maxTimestamp + L
    drop_at_max_timestamp=True,
    drop_cmp="le",
    late_firing="the whole window again (accumulating); no retraction",
)

FLINK_SQL = Profile(
    name="flink-sql",
    summary="Apache Flink SQL window aggregation (WATERMARK FOR ts AS ts - INTERVAL)",
    watermark_minus=0,
    fires_at_max_timestamp=True,
    drop_at_max_timestamp=True,
    drop_cmp="le",
    late_firing="a -U old / +U new changelog pair",
)

BEAM_JAVA = Profile(
    name="beam-java",
    summary="Apache Beam Java SDK (ReduceFnRunner, AfterWatermark trigger)",
    # The end-of-window timer is set at maxTimestamp = end - 1 ms and fires once the input
    # watermark is past it, i.e. watermark >= end.
    fires_at_max_timestamp=False,
    # LateDataDroppingDoFnRunner: window.maxTimestamp().plus(allowedLateness)
    # .isBefore(inputWatermark), i.e. end - 1 ms + L < watermark, i.e. end + L <= watermark.
    drop_at_max_timestamp=False,
    drop_cmp="le",
    late_firing="a new pane (accumulating: the whole window; discarding: only new elements)",
)

BEAM_PYTHON = Profile(
    name="beam-python",
    summary="Apache Beam Python SDK (DirectRunner, GeneralTriggerDriver)",
    fires_at_max_timestamp=False,
    # if input_watermark > window.end + self.allowed_lateness: continue
    drop_cmp="lt",
    late_firing="a new pane (accumulating: the whole window; discarding: only new elements)",
)

KAFKA_STREAMS = Profile(
    name="kafka-streams",
    summary="Kafka Streams windowed aggregation with grace = delay + lateness, suppress until close",
    # No watermark: stream time M.  closeTime = observedStreamTime - grace; a window is
    # updated only while windowEnd > closeTime, so fire and drop coincide at
    # windowEnd <= M - grace.  The exercise's B + L is the grace.
    lateness_in_watermark=True,
    late_firing="a table update (new value, and old value when asked)",
)

SPARK = Profile(
    name="spark",
    summary="Spark Structured Streaming, append mode, withWatermark(delay + lateness)",
    # Append mode: a window is emitted and evicted when end <= watermark, and rows for it
    # are filtered out from then on; Spark has no separate allowed lateness.
    lateness_in_watermark=True,
    late_firing="update mode: the new row (upsert); append mode never re-emits",
)

PROFILES: dict[str, Profile] = {p.name: p for p in (FLINK, FLINK_SQL, BEAM_JAVA, BEAM_PYTHON, KAFKA_STREAMS, SPARK)}
DEFAULT_PROFILE = FLINK


def get_profile(name: str) -> Profile:
    """Look a profile up by name (``flink``, ``beam_python``, ``Beam-Java`` all work)."""
    key = name.strip().lower().replace("_", "-")
    try:
        return PROFILES[key]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None

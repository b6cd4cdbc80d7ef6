"""Back-of-envelope figures (Exercises 8 and 9), as formulas and as measurements.

Every figure comes two ways, so each checks the other:

* a *formula* from parameters (:func:`events_per_window`, :func:`events_per_key_per_window`,
  :func:`min_emission_latency`, :func:`max_windows_per_key`, :func:`state_bytes`), which
  returns a :class:`Figure`: the exact value, the formula in words with the numbers
  substituted, and the assumptions it rests on;
* a *measurement* (:func:`measure`) of a stream run through :class:`WindowOperator`,
  usually a simulated day from :func:`simulate_day` at the exercise's scale.

Boundary questions (when does a window fire, when is its state gone) are answered by the
profile's own predicates (``fires``, ``is_droppable``, ``watermark``), searched exactly over
integer milliseconds, never by re-deriving each engine's rules here.  Nothing is printed or
timed; the measurement streams (it keeps no per-arrival history), so a day of any size fits
in memory bounded by the windows held.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from reference.config import RunConfig, StateModel
from reference.events import Event
from reference.operator import WindowOperator
from reference.profiles import DEFAULT_PROFILE, Profile
from reference.results import EmissionKind, LateOutcome, Timing
from reference.timestamps import DAY, HOUR, MINUTE, MS, Ticks, format_duration, format_time
from reference.windows import Sessions, Tumbling, Window

# -- figures from formulas --------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One back-of-envelope figure: an exact value, how it was computed, and on what it rests.

    ``value`` is exact (an ``int`` or a ``Fraction``: 100000 / 288 is not a float) in
    ``unit`` (``"ms"`` for durations).  ``formula`` is the computation in words with the
    numbers substituted, ready to show a student.
    """

    name: str
    value: int | Fraction
    unit: str
    formula: str
    assumptions: tuple[str, ...]

    def __float__(self) -> float:
        return float(self.value)

    @property
    def minutes(self) -> Fraction:
        """The value in minutes (for durations in ms)."""
        if self.unit != "ms":
            raise ValueError(f"{self.name} is in {self.unit}, not a duration")
        return Fraction(self.value, MINUTE)


def _num(x: int | Fraction) -> str:
    """A number as a person writes it: whole numbers plain, others to 4 significant decimals."""
    if isinstance(x, int) or x.denominator == 1:
        return str(int(x))
    return f"{float(x):.6g}"


def _in_minutes(ticks: Ticks) -> str:
    """`` = 2.99998 min`` when a duration is not a whole number of minutes (2:59.999 is not 3 min)."""
    return "" if ticks % MINUTE == 0 else f" = {_num(Fraction(ticks, MINUTE))} min"


def windows_per_day(window_size: Ticks) -> Fraction:
    """Tumbling windows of ``window_size`` in a 24 h day (288 for 5 minutes)."""
    if window_size <= 0:
        raise ValueError("window size must be positive")
    return Fraction(DAY, window_size)


def events_per_window(events_per_day: int, window_size: Ticks) -> Figure:
    """Events one tumbling window holds across all keys, for events spread evenly over the day."""
    wpd = windows_per_day(window_size)
    value = Fraction(events_per_day) / wpd
    per_min = Fraction(events_per_day, DAY // MINUTE)
    return Figure(
        "events_per_window",
        value,
        "events",
        f"events per window = events per day / windows per day = {events_per_day} / (24 h / "
        f"{format_duration(window_size)} = {_num(wpd)}) = {_num(value)} "
        f"(= {_num(per_min)} events/min × {format_duration(window_size)})",
        (
            "events are spread uniformly over the day (a constant rate, no bursts)",
            "tumbling windows: each event is in exactly one window",
        ),
    )


def events_per_key_per_window(events_per_day: int, users: int, window_size: Ticks) -> Figure:
    """Events one key has in one window on average, counting every user (active or not)."""
    if users <= 0:
        raise ValueError("users must be positive")
    per_window = events_per_window(events_per_day, window_size).value
    value = per_window / users
    return Figure(
        "events_per_key_per_window",
        value,
        "events",
        f"events per key per window = events per window / users = {_num(per_window)} / {users} = {_num(value)}",
        (
            "events are spread uniformly over the day and over the users",
            "real traffic is skewed: hot keys hold far more, most keys hold none in a given window",
        ),
    )


def earliest(predicate: Callable[[Ticks], bool], lo: Ticks, hi: Ticks) -> Ticks:
    """The smallest integer ``m`` in ``(lo, hi]`` where the monotone ``predicate`` holds.

    ``predicate(lo)`` must be false and ``predicate(hi)`` true; both are checked, so a
    rule that is not monotone in the way assumed fails loudly instead of answering wrong.
    """
    if predicate(lo) or not predicate(hi):
        raise ValueError(f"predicate must be false at {lo} and true at {hi}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if predicate(mid):
            hi = mid
        else:
            lo = mid
    return hi


def earliest_trigger(end: Ticks, delay: Ticks, lateness: Ticks = 0, profile: Profile = DEFAULT_PROFILE) -> Ticks:
    """The smallest max event time ``M`` at which a window ending at ``end`` fires.

    Searched over integer ms with the profile's predicates: ``fires(end, watermark(M))``.
    Since the watermark is at most ``M`` and a window fires no earlier than ``end - 1 ms``,
    ``end - 2 ms`` never fires; ``end + delay + lateness + 1 ms`` always does.
    """
    return earliest(
        lambda m: profile.fires(end, profile.watermark(m, delay, lateness)), end - 2 * MS, end + delay + lateness + MS
    )


def earliest_release(end: Ticks, delay: Ticks, lateness: Ticks = 0, profile: Profile = DEFAULT_PROFILE) -> Ticks:
    """The smallest max event time ``M`` at which the state of a window ending at ``end`` is gone.

    ``is_droppable(end, L, watermark(M))``; expiry is never before firing, so a released
    window has fired.
    """
    return earliest(
        lambda m: profile.is_droppable(end, lateness, profile.watermark(m, delay, lateness)),
        end - 2 * MS,
        end + delay + lateness + 2 * MS,
    )


_LATENCY_ASSUMPTIONS = (
    "events arrive no earlier than they happen (processing time >= event time)",
    "the arrival that moves the watermark past the window's end comes as early as possible: its processing time "
    "equals its event time, and processing takes no time",
    "the watermark is advanced after every arrival (a per-record generator, watermark_every = 1)",
)


def min_emission_latency(
    event_time: Ticks,
    window_size: Ticks,
    watermark_delay: Ticks,
    allowed_lateness: Ticks = 0,
    profile: Profile = DEFAULT_PROFILE,
    offset: Ticks = 0,
) -> Figure:
    """The least time from ``event_time`` to the on-time emission of its tumbling window.

    SEMANTICS.md, "Latency and state": the window fires on the arrival whose max event
    time ``M`` first makes ``fires(end, watermark(M))`` true; with processing time >= event
    time and that arrival as early as possible, it is processed at ``M``, so the latency
    is ``M_min - event_time`` (flink, B = 2 min, [10:00, 10:05), event 10:04: 10:07 - 10:04
    = 3 min; flink-sql, whose watermark has no -1 ms: 2:59.999).
    """
    window = Tumbling(window_size, offset).assign(event_time)[0]
    m = earliest_trigger(window.end, watermark_delay, allowed_lateness, profile)
    latency = m - event_time
    wm = profile.watermark(m, watermark_delay, allowed_lateness)
    return Figure(
        "min_emission_latency",
        latency,
        "ms",
        f"{window} fires when {profile.fire_rule().removeprefix('fires when ')} under {profile.name} "
        f"({profile.watermark_rule()}, B = {format_duration(watermark_delay)}"
        + (f", L = {format_duration(allowed_lateness)} in the watermark" if profile.lateness_in_watermark else "")
        + f"): the smallest max event time that fires it is M = {format_time(m)} (watermark {format_time(wm)}); "
        f"latency = {format_time(m)} - {format_time(event_time)} = {format_duration(latency)}{_in_minutes(latency)} "
        f"({format_duration(window.end - event_time)} to the window end + {format_duration(m - window.end)})",
        _LATENCY_ASSUMPTIONS,
    )


def max_windows_per_key(
    window_size: Ticks,
    watermark_delay: Ticks,
    allowed_lateness: Ticks = 0,
    profile: Profile = DEFAULT_PROFILE,
) -> Figure:
    """The most tumbling windows one key holds at once, counted after each arrival.

    A window ``[s, e)`` is held from its key's first event in it until the max event time
    reaches ``e + H``, where ``e + H`` is :func:`earliest_release` (flink, beam-java,
    kafka-streams, spark: ``H = B + L``; flink-sql ``B + L - 1 ms``; beam-python
    ``B + L + 1 ms``).  Right after an in-order arrival at ``M`` the key holds every window
    with ``s <= M`` and ``e > M - H``: ``1 + floor(H / s) + [M mod s < H mod s]`` of them,
    at most ``1 + ceil(H / s)``, reached at an arrival right at a window start on a dense
    stream.  (The bound holds in any arrival order: a held window always has ``s <= M``
    and ``e > M - H``.)  Inside an arrival, before the watermark moves, the engine can briefly hold one
    more; that transient is ``WindowOperator.max_windows_per_key``, not this figure.
    """
    size = window_size
    hold = earliest_release(size, watermark_delay, allowed_lateness, profile) - size
    value = 1 + -(-hold // size)
    lw = f", L = {format_duration(allowed_lateness)}" if allowed_lateness else ", L = 0"
    return Figure(
        "max_windows_per_key",
        value,
        "windows",
        f"under {profile.name} a window is released when {profile.drop_rule().removeprefix('dropped when ')} "
        f"({profile.watermark_rule()}, B = {format_duration(watermark_delay)}{lw}), i.e. when the max event time "
        f"reaches its end + H with H = {format_duration(hold)}; right after an arrival at a window start the key "
        f"holds the new window and every earlier one ending within H: 1 + ceil(H / s) = 1 + ceil("
        f"{format_duration(hold)} / {format_duration(size)}) = {value}",
        (
            "the key has events in every window (a dense stream: at least one event per window, and one right at "
            "each window start)",
            "counted after each arrival, once the watermark has moved (as Run.state samples it)",
            "the watermark is advanced after every arrival (watermark_every = 1)",
        ),
    )


def state_bytes(users: int, windows_per_key: int, model: StateModel | None = None) -> Figure:
    """State for all keys at their peak at once: users × (windows per key × bytes per window + key bytes)."""
    model = model or StateModel()
    value = users * (windows_per_key * model.bytes_per_window + model.bytes_per_key)
    key_part = f" + {model.bytes_per_key} bytes of key" if model.bytes_per_key else ""
    return Figure(
        "state_bytes",
        value,
        "bytes",
        f"state = users × windows per key × bytes per window{' + key bytes' if key_part else ''} = "
        f"{users} × ({windows_per_key} × {model.bytes_per_window}{key_part}) = {value} bytes "
        f"({_num(Fraction(value, 1000))} KB)",
        (
            "worst case: every user holds its peak number of windows at the same time",
            f"{model.describe()}; no hash-table, object or bookkeeping overhead",
        ),
    )


def formulas(
    events_per_day: int, users: int, config: RunConfig, event_time: Ticks | None = None
) -> dict[str, Figure]:
    """Every figure for one scale and config (tumbling windows); ``event_time`` for the latency."""
    w = config.windows
    if not isinstance(w, Tumbling):
        raise ValueError("the back-of-envelope figures are for tumbling windows")
    out = {
        "events_per_window": events_per_window(events_per_day, w.size),
        "events_per_key_per_window": events_per_key_per_window(events_per_day, users, w.size),
    }
    if event_time is not None:
        out["min_emission_latency"] = min_emission_latency(
            event_time, w.size, config.watermark_delay, config.allowed_lateness, config.profile, w.offset
        )
    most = max_windows_per_key(w.size, config.watermark_delay, config.allowed_lateness, config.profile)
    out["max_windows_per_key"] = most
    out["state_bytes"] = state_bytes(users, int(most.value), config.state_model)
    return out


# -- a simulated day ----------------------------------------------------------------------


@dataclass(frozen=True)
class DaySpec:
    """A deterministic day of click events at a given scale, in arrival order.

    ``events`` arrive at an even rate over the day (each in its own slot of ``DAY / events``
    at a random instant); ``keys`` are ``"uniform"`` or ``"zipf"`` (rank ``k`` has weight
    ``1 / k ** zipf_s``; ``u0`` is the hottest).  A fraction ``out_of_order`` arrives
    behind in event time by up to ``jitter``, a fraction ``very_late`` by ``very_late_lag``
    (between the two bounds: far beyond any watermark of a few minutes).  Event times never
    precede the day.  ``processing_time``: give events their arrival slot as processing time.
    """

    events: int = 100_000
    users: int = 5_000
    keys: str = "uniform"
    zipf_s: float = 1.1
    out_of_order: float = 0.0
    jitter: Ticks = 3 * MINUTE
    very_late: float = 0.0
    very_late_lag: tuple[Ticks, Ticks] = (15 * MINUTE, HOUR)
    day: int = 0
    processing_time: bool = False
    max_amount: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        if self.events < 0 or self.users < 1:
            raise ValueError("events must be >= 0 and users >= 1")
        if self.keys not in ("uniform", "zipf"):
            raise ValueError(f"keys must be uniform or zipf, not {self.keys!r}")
        if not (self.out_of_order >= 0 and self.very_late >= 0 and self.out_of_order + self.very_late <= 1):
            raise ValueError("out_of_order and very_late are fractions that add up to at most 1")
        lo, hi = self.very_late_lag
        if not 0 < lo <= hi or self.jitter < 1:
            raise ValueError("lags must be positive")


def _key_stream(spec: DaySpec, rnd: random.Random) -> Iterator[str]:
    names = [f"u{i}" for i in range(spec.users)]
    batch = 4096
    if spec.keys == "uniform":
        while True:
            yield from rnd.choices(names, k=batch)
    cum = list(itertools.accumulate(1.0 / (k**spec.zipf_s) for k in range(1, spec.users + 1)))
    while True:
        yield from rnd.choices(names, cum_weights=cum, k=batch)


def simulate_day(spec: DaySpec) -> Iterator[Event]:
    """The day's events in arrival order, generated lazily (a 10M-event day is never held)."""
    rnd = random.Random(spec.seed)
    keys = _key_stream(spec, random.Random(spec.seed + 1))
    amounts = [Decimal(k) for k in range(1, spec.max_amount + 1)]
    n, start = spec.events, spec.day * DAY
    p_ooo, p_late = spec.out_of_order, spec.out_of_order + spec.very_late
    jitter = spec.jitter
    lag_lo, lag_hi = spec.very_late_lag
    nxt = start
    for i in range(n):
        slot = nxt
        nxt = start + (i + 1) * DAY // n
        arrival = slot + int(rnd.random() * (nxt - slot))
        t = arrival
        r = rnd.random()
        if r < p_ooo:
            t -= 1 + int(rnd.random() * jitter)
        elif r < p_late:
            t -= lag_lo + int(rnd.random() * (lag_hi - lag_lo + 1))
        if t < start:
            t = start
        yield Event(
            f"e{i + 1}",
            next(keys),
            t,
            amounts[int(rnd.random() * len(amounts))],
            arrival if spec.processing_time else None,
        )


# -- measurement ------------------------------------------------------------------------


@dataclass(frozen=True)
class LatencyStats:
    """Emission latencies of the windows that fired on time (end-of-input firings have none).

    For each window: the processing time of the arrival that fired it (its
    ``processing_time``, else its event time, which is then the max event time) minus the
    latest event time in the window (``from_last_event``) and minus the window end
    (``from_end``); ``mean_per_event`` averages trigger time minus event time over every
    on-time event of those windows.
    """

    windows: int
    min_from_last_event: Ticks
    max_from_last_event: Ticks
    min_from_end: Ticks
    max_from_end: Ticks
    mean_per_event: Fraction


@dataclass(frozen=True)
class Measurement:
    """What a streamed run measured.

    ``events_per_window`` counts window assignments per distinct window that got an
    event; ``events_per_key_per_window`` divides that by ``users`` (every user, as the
    formula does), ``events_per_active_key_per_window`` by the keys active in each window
    instead.  ``max_windows_per_key`` is sampled after each arrival (the formula's
    figure); ``max_windows_per_key_in_arrival`` is the engine's transient peak within an
    arrival, before the watermark moves.
    """

    events: int
    windows: int
    keys: int
    users: int
    key_windows: int
    events_per_window: Fraction
    events_per_key_per_window: Fraction
    events_per_active_key_per_window: Fraction
    max_windows_per_key: int
    max_windows_per_key_in_arrival: int
    peak_windows_held: int
    peak_state_bytes: int
    latency: LatencyStats | None
    on_time_emissions: int
    late_emissions: int
    end_of_input_emissions: int
    late_admitted: int
    dropped: int
    side_output: int


class _Latency:
    """Streaming latency aggregates; per-window data lives only while the window is open."""

    def __init__(self) -> None:
        self.open: dict[Ticks, list] = {}  # start -> [end, count, sum of t, max t]
        self.windows = 0
        self.events = 0
        self.total = 0
        self.min_last = self.max_last = self.min_end = self.max_end = None

    def add(self, window: Window, t: Ticks) -> None:
        w = self.open.get(window.start)
        if w is None:
            self.open[window.start] = [window.end, 1, t, t]
        else:
            w[1] += 1
            w[2] += t
            if t > w[3]:
                w[3] = t

    def fired(self, start: Ticks, at: Ticks) -> None:
        w = self.open.pop(start, None)
        if w is None:
            return
        end, count, total, last = w
        self.windows += 1
        self.events += count
        self.total += count * at - total
        a, b = at - last, at - end
        self.min_last = a if self.min_last is None else min(self.min_last, a)
        self.max_last = a if self.max_last is None else max(self.max_last, a)
        self.min_end = b if self.min_end is None else min(self.min_end, b)
        self.max_end = b if self.max_end is None else max(self.max_end, b)

    def stats(self) -> LatencyStats | None:
        if not self.windows:
            return None
        return LatencyStats(
            self.windows, self.min_last, self.max_last, self.min_end, self.max_end, Fraction(self.total, self.events)
        )


def measure(events: Iterable[Event], config: RunConfig | None = None, users: int | None = None) -> Measurement:
    """Stream ``events`` through a :class:`WindowOperator` and measure the exercise figures.

    Nothing per arrival is kept: emissions and late events are drained after every
    arrival, event ids are not tracked, and the per-window tallies go when a window
    fires.  ``users`` is the population the per-key figure divides by (default: the
    distinct keys seen).
    """
    config = dataclasses.replace(config or RunConfig(), track_events=False)
    if isinstance(config.windows, Sessions):
        raise ValueError("measure() is for fixed-size windows; sessions have no windows per day")
    op = WindowOperator(config)
    profile, assign = config.profile, config.windows.assign
    counts: dict[Ticks, int] = {}
    keys: set[str] = set()
    lat = _Latency()
    n = assignments = 0
    max_now = peak_bytes = 0
    emitted = {Timing.ON_TIME: 0, Timing.LATE: 0, Timing.END_OF_INPUT: 0}
    kinds = {EmissionKind.INSERT: 0, EmissionKind.UPDATE: 0, EmissionKind.RETRACT: 0}
    outcomes = {LateOutcome.ADMITTED: 0, LateOutcome.DROPPED: 0, LateOutcome.SIDE_OUTPUT: 0}

    def drain(at: Ticks | None) -> None:
        for e in op.emissions:
            emitted[e.timing] += 1
            kinds[e.kind] += 1
            if e.timing is Timing.ON_TIME and at is not None:
                lat.fired(e.window.start, at)
        op.emissions.clear()
        for x in op.late:
            outcomes[x.outcome] += 1
        op.late.clear()

    for ev in events:
        n += 1
        t = ev.event_time
        keys.add(ev.user_id)
        wm = op.watermark
        for window in assign(t):
            assignments += 1
            counts[window.start] = counts.get(window.start, 0) + 1
            if not profile.is_late(window.end, wm):
                lat.add(window, t)
        op.process(ev)
        if op.emissions or op.late:
            drain(ev.processing_time if ev.processing_time is not None else t)
        if op.max_windows_per_key_now > max_now:
            max_now = op.max_windows_per_key_now
        size = op.state_bytes()
        if size > peak_bytes:
            peak_bytes = size
    op.finish()
    drain(None)
    population = users if users is not None else len(keys)
    windows = len(counts)
    key_windows = kinds[EmissionKind.INSERT] - kinds[EmissionKind.RETRACT]
    return Measurement(
        events=n,
        windows=windows,
        keys=len(keys),
        users=population,
        key_windows=key_windows,
        events_per_window=Fraction(assignments, windows) if windows else Fraction(0),
        events_per_key_per_window=(
            Fraction(assignments, windows * population) if windows and population else Fraction(0)
        ),
        events_per_active_key_per_window=(
            Fraction(assignments - outcomes[LateOutcome.DROPPED] - outcomes[LateOutcome.SIDE_OUTPUT], key_windows)
            if key_windows
            else Fraction(0)
        ),
        max_windows_per_key=max_now,
        max_windows_per_key_in_arrival=op.max_windows_per_key,
        peak_windows_held=op.peak_windows_held,
        peak_state_bytes=peak_bytes,
        latency=lat.stats(),
        on_time_emissions=emitted[Timing.ON_TIME],
        late_emissions=emitted[Timing.LATE],
        end_of_input_emissions=emitted[Timing.END_OF_INPUT],
        late_admitted=outcomes[LateOutcome.ADMITTED],
        dropped=outcomes[LateOutcome.DROPPED],
        side_output=outcomes[LateOutcome.SIDE_OUTPUT],
    )


def measure_day(spec: DaySpec, config: RunConfig | None = None) -> Measurement:
    """Simulate ``spec``'s day and measure it, dividing per-key figures by ``spec.users``."""
    return measure(simulate_day(spec), config, users=spec.users)


__all__ = [
    "DaySpec",
    "Figure",
    "LatencyStats",
    "Measurement",
    "earliest",
    "earliest_release",
    "earliest_trigger",
    "events_per_key_per_window",
    "events_per_window",
    "formulas",
    "max_windows_per_key",
    "measure",
    "measure_day",
    "min_emission_latency",
    "simulate_day",
    "state_bytes",
    "windows_per_day",
]

"""Hidden test streams, generated from a seed: the same seed always gives the same streams.

Random users and times, out-of-order and late arrivals, event times exactly on window
ends, late events arriving exactly when the watermark reaches ``end + L``, replayed event
ids, empty streams; the kinds are weighed by ``python.yaml``.
"""

from __future__ import annotations

import random
from decimal import Decimal

from grader.python.exercise import HiddenSpec, Params
from grader.python.inputs import StreamInput
from reference.events import Event
from reference.timestamps import MINUTE, SECOND, Ticks


class StreamGenerator:
    """Random streams from one seed; the same seed gives the same streams."""

    def __init__(self, spec: HiddenSpec, seed: int) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        names, weights = zip(*spec.kinds, strict=True) if spec.kinds else (("shuffled",), (1,))
        self._kinds, self._weights = list(names), list(weights)

    def params(self) -> Params:
        rng, s = self.rng, self.spec
        return Params(rng.choice(s.sizes) * MINUTE, rng.choice(s.delays) * MINUTE, rng.choice(s.latenesses) * MINUTE)

    def stream(self) -> tuple[str, StreamInput, Ticks]:
        """(kind, stream, time unit) of the next stream."""
        rng, s = self.rng, self.spec
        kind = rng.choices(self._kinds, self._weights)[0]
        params = self.params()
        unit = SECOND if rng.random() < s.second_share else MINUTE
        users = rng.sample(s.users, rng.randint(1, len(s.users)))
        decimals = rng.random() < s.decimal_share
        n = rng.randint(s.events_min, s.events_max)
        span = params.size * rng.randint(2, 6)
        records: list[tuple[str, Ticks, Decimal]] = []

        def record(t: Ticks) -> tuple[str, Ticks, Decimal]:
            return (rng.choice(users), t, self._amount(decimals))

        if kind == "empty":
            pass
        elif kind in ("at_expiry", "at_fire"):
            # A late event arriving exactly when the watermark (M - B) reaches end + L (dropped;
            # at_fire: end, where the window has just fired), or one step earlier.
            start = s.start + params.size * rng.randint(0, 2)
            end = start + params.size
            boundary = end + (params.lateness if kind == "at_expiry" else 0)
            anchor = boundary + params.delay - (unit if rng.random() < 0.3 else 0)
            before = sorted(self._time(params, unit, anchor - s.start) for _ in range(max(n - 2, 0)))
            records = [record(t) for t in before if t <= anchor]
            records.append(record(anchor))
            records.append(record(start + rng.randrange(params.size // unit) * unit))
            for _ in range(rng.randint(0, 3)):
                records.append(record(anchor + rng.randrange(0, params.size // unit + 1) * unit))
        else:
            times = sorted(self._time(params, unit, span) for _ in range(n))
            records = [record(t) for t in times]
            share = {"in_order": 0.0, "late_heavy": 0.65}.get(kind, s.late_share)
            for i in range(len(records) - 1, -1, -1):
                if rng.random() < share:
                    moved = records.pop(i)
                    records.insert(min(len(records), i + rng.randint(1, max(2, len(records)))), moved)
        events = [Event(f"e{i + 1}", u, t, a) for i, (u, t, a) in enumerate(records)]
        if events and (kind == "replayed" or rng.random() < s.duplicate_share):
            for _ in range(rng.randint(1, 2)):
                original = rng.randrange(len(events))
                events.insert(rng.randint(original + 1, len(events)), events[original])
        return kind, StreamInput(tuple(events), params), unit

    def _time(self, params: Params, unit: Ticks, span: Ticks) -> Ticks:
        rng, s = self.rng, self.spec
        if rng.random() < s.boundary_share:
            return s.start + params.size * rng.randint(1, max(1, span // params.size))
        return s.start + rng.randrange(max(1, span // unit)) * unit

    def _amount(self, decimals: bool) -> Decimal:
        if decimals and self.rng.random() < 0.7:
            return (Decimal(self.rng.randint(1, 999)) / 100).quantize(Decimal("0.01"))
        return Decimal(self.rng.randint(1, 9))

"""Diagrams drawn from engine runs: PlantUML sequence diagrams and an SVG timeline.

Both take one or more :class:`Scenario` values, each a labelled :class:`~reference.results.Run`
of the same stream under different settings (dropping late events, allowed lateness,
another profile), and draw what the runs did, never what someone typed:

- :func:`plantuml`: the slide-18 picture as a sequence diagram.  The stream's arrivals
  in arrival order go to their windows, each firing sends its rows to the sink, and
  where the scenarios part ways (for the sheet: at e7's arrival) an ``alt`` block shows
  each one's handling, up to end of input and the sink's final rows.
- :func:`svg_timeline`: one panel per scenario, event time across and arrival order
  down.  Windows are vertical bands labelled with their final rows, events are dots at
  their event time on their arrival's row (numbered), the watermark after each arrival
  is a stepped line, late events are marked (admitted, dropped, side output) and each
  firing is marked at its window's end.  Pure Python, no dependencies: elements carry
  ``class`` and ``data-*`` attributes so the picture can be checked as XML.

Like the rest of :mod:`reference`, this module does no I/O: it returns text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from reference.events import decimal_text
from reference.results import Emission, EmissionKind, LateEvent, LateOutcome, Run, Timing
from reference.timestamps import HOUR, MINUTE, NEG_INF, POS_INF, Bound, Ticks, format_duration, format_time
from reference.windows import Window


@dataclass(frozen=True)
class Scenario:
    """A run to draw and what it stands for (``drop late events``, ``allowed lateness 3 min``)."""

    label: str
    run: Run


# -- what happened at each arrival ---------------------------------------------------------------------


def windows_of(scenarios: Sequence[Scenario]) -> tuple[Window, ...]:
    """Every window any scenario used, by start: those that emitted, got late events or hold an event."""
    found: set[Window] = set()
    for s in scenarios:
        found.update(e.window for e in s.run.emissions)
        found.update(x.window for x in s.run.late)
        if not s.run.config.is_merging:
            for ev in s.run.events:
                found.update(s.run.config.windows.assign(ev.event_time))
    return tuple(sorted(found))


def _rows_text(emissions: Sequence[Emission]) -> str:
    """``(10:00, A, 7), (10:00, B, 3)``; a late firing says ``retract``, ``emit`` or ``update``."""
    parts = []
    for e in emissions:
        row = e.row.describe()
        if e.kind is EmissionKind.RETRACT:
            row = f"retract {row}"
        elif e.kind is EmissionKind.UPDATE:
            row = f"update {row}"
        elif e.timing is Timing.LATE:
            row = f"emit {row}"
        parts.append(row)
    return ", ".join(parts)


def _firing_verb(emissions: Sequence[Emission]) -> str:
    timing = emissions[0].timing
    return {Timing.ON_TIME: "fires", Timing.LATE: "late firing", Timing.END_OF_INPUT: "fires at end of input"}[timing]


def _grouped(emissions: Sequence[Emission]) -> list[tuple[Window, list[Emission]]]:
    groups: dict[Window, list[Emission]] = defaultdict(list)
    for e in emissions:
        groups[e.window].append(e)
    return sorted(groups.items(), key=lambda item: item[0])


@dataclass(frozen=True)
class _Step:
    """One arrival of one run: the event, how it was judged, and the emissions it caused."""

    index: int
    run: Run

    @property
    def event(self):
        return self.run.events[self.index]

    @property
    def late(self) -> tuple[LateEvent, ...]:
        return tuple(x for x in self.run.late if x.arrival == self.index)

    @property
    def emissions(self) -> tuple[Emission, ...]:
        return tuple(e for e in self.run.emissions if e.on_arrival == self.index)

    @property
    def watermark(self) -> Bound:
        return self.run.watermarks[self.index].watermark

    def signature(self) -> tuple:
        """What the diagram shows of this arrival, watermark aside (profiles differ by 1 ms there)."""
        late = tuple((x.window, x.outcome, x.reason) for x in self.late)
        emitted = tuple((e.window, e.key, e.value, e.kind, e.timing) for e in self.emissions)
        return (self.event, late, emitted)


def _common_prefix(scenarios: Sequence[Scenario]) -> int:
    """How many first arrivals every scenario handles identically."""
    if len(scenarios) < 2:
        return len(scenarios[0].run.events) if scenarios else 0
    n = min(len(s.run.events) for s in scenarios)
    for i in range(n):
        if len({_Step(i, s.run).signature() for s in scenarios}) > 1:
            return i
    return n


# -- PlantUML -------------------------------------------------------------------------------------------


def _puml_text(text: str) -> str:
    """PlantUML label text on one line: newlines become ``\\n``."""
    return text.replace("\r", "").replace("\n", "\\n")


def _wrap(text: str, width: int = 48) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\\n".join(lines)


def plantuml(scenarios: Sequence[Scenario], *, title: str, sink: str = "window_agg") -> str:
    """A PlantUML sequence diagram of the scenarios' runs (one stream, shared until they differ)."""
    if not scenarios:
        raise ValueError("nothing to draw: no scenario")
    windows = windows_of(scenarios)
    alias = {w: f"W{i}" for i, w in enumerate(windows)}
    first = scenarios[0].run
    cfg = first.config
    profile = cfg.profile
    out = [
        "@startuml",
        f"title {_puml_text(title)}",
        "skinparam shadowing false",
        "skinparam sequenceMessageAlign left",
        'participant "clicks\\n(arrival order)" as S',
    ]
    out += [f'participant "{w}" as {alias[w]}' for w in windows]
    out.append(f'database "sink {sink}\\n(upsert)" as K')
    out.append(
        "note over S : " + _wrap(
            f"{cfg.windows.describe()} windows, half-open [start, end); watermark delay "
            f"{format_duration(cfg.watermark_delay)}; {profile.name}: {profile.watermark_rule()}; "
            f"a window {profile.fire_rule()}"
        )
    )
    shared = _common_prefix(scenarios)
    for i in range(shared):
        out += _puml_step(_Step(i, first), alias, _watermarks(scenarios, i))
    if len(scenarios) == 1:
        out += _puml_tail(first, shared, alias, indent="")
    else:
        for n, scenario in enumerate(scenarios):
            run = scenario.run
            header = f"{'alt' if n == 0 else 'else'} {_puml_text(scenario.label)}"
            out.append(header)
            rc = run.config
            out.append("  note over S : " + _wrap(
                f"allowed lateness {format_duration(rc.allowed_lateness)}, late policy {rc.late_policy.value}, "
                f"{rc.profile.name}: an event is {rc.profile.drop_rule()}"
            ))
            for i in range(shared, len(run.events)):
                out += ["  " + line for line in _puml_step(_Step(i, run), alias)]
            out += _puml_tail(run, len(run.events), alias, indent="  ")
        out.append("end")
    out.append("@enduml")
    return "\n".join(out) + "\n"


def _watermarks(scenarios: Sequence[Scenario], index: int) -> str:
    """The watermark after an arrival; when the scenarios' profiles differ on it, each with its profile."""
    values: dict[str, list[str]] = {}
    for s in scenarios:
        names = values.setdefault(format_time(s.run.watermarks[index].watermark), [])
        if s.run.config.profile.name not in names:
            names.append(s.run.config.profile.name)
    if len(values) == 1:
        return next(iter(values))
    return "; ".join(f"{wm} ({', '.join(names)})" for wm, names in values.items())


def _puml_step(step: _Step, alias: dict[Window, str], watermark: str | None = None) -> list[str]:
    ev = step.event
    cfg = step.run.config
    number = step.index + 1
    wm = watermark or format_time(step.watermark)
    lines = []
    late = step.late
    targets = [w for w in alias if w.contains(ev.event_time)] if not cfg.is_merging else \
        [w for w in alias if w.contains(ev.event_time)][:1]
    if not late:
        for w in targets:
            lines.append(f"S -> {alias[w]} : {number}. {ev.describe()}\\nwatermark after: {wm}")
    for x in late:
        target = alias.get(x.window, alias[targets[0]] if targets else "S")
        if x.outcome is LateOutcome.DROPPED:
            lines.append(f"S -[#red]>x {target} : {number}. late {ev.describe()}: DROPPED\\nwatermark after: {wm}")
            lines.append(f"note right of {target} #FFDDDD : " + _wrap(f"{ev.event_id} dropped: {x.reason}"))
        elif x.outcome is LateOutcome.SIDE_OUTPUT:
            lines.append(f"S -[#blue]> {target} : {number}. late {ev.describe()}: to the side output\\n"
                         f"watermark after: {wm}")
            lines.append(f"note right of {target} #DDEEFF : " + _wrap(f"{ev.event_id} side output: {x.reason}"))
        else:
            lines.append(f"S -[#orange]> {target} : {number}. late {ev.describe()}: admitted\\nwatermark after: {wm}")
            lines.append(f"note right of {target} #FFF2CC : " + _wrap(f"{ev.event_id} admitted: {x.reason}"))
    for window, emissions in _grouped(step.emissions):
        lines.append(f"{alias[window]} -> K : {_firing_verb(emissions)} (caused by {ev.event_id}): "
                     f"{_rows_text(emissions)}")
    return lines


def _puml_tail(run: Run, start: int, alias: dict[Window, str], indent: str) -> list[str]:
    lines = [f"{indent}... end of input: watermark +inf ..."]
    tail = [e for e in run.emissions if e.on_arrival is None]
    for window, emissions in _grouped(tail):
        lines.append(f"{indent}{alias[window]} -> K : {_firing_verb(emissions)}: {_rows_text(emissions)}")
    rows = run.final_rows()
    listing = "\\n".join(r.describe() for r in rows)
    lines.append(f"{indent}note over K : final rows\\n{listing or '(none)'}")
    return lines


# -- SVG --------------------------------------------------------------------------------------------------

_WIDTH = 960
_LEFT = 56
_RIGHT = 190
_ROW = 30
_PANEL_HEAD = 40
_WINDOW_HEAD = 46
_AXIS = 40
_GAP = 24
_TITLE = 50
_BAND_FILL = ("#eef3fb", "#f7f7f7")
_EVENT_FILL = {"on-time": "#2b6cb0", "late-admitted": "#dd8a00", "dropped": "#c53030", "side-output": "#6b46c1"}
_STYLE = (
    "text{font-family:DejaVu Sans,Arial,sans-serif;font-size:11px;fill:#222}"
    ".title{font-size:15px;font-weight:bold}.subtitle{fill:#444}.panel-label{font-size:13px;font-weight:bold}"
    ".panel-config{fill:#444}"
    ".window-label{font-weight:bold}.window-rows{fill:#444}.axis-label{fill:#555;font-size:10px}"
    ".arrival{fill:#555}.watermark{fill:none;stroke:#2f855a;stroke-width:2;stroke-dasharray:5 3}"
    ".watermark-label{fill:#2f855a}.fire{fill:#2f855a}.dropped-mark{stroke:#c53030;stroke-width:2}"
    ".late-note{fill:#c53030}"
)


def _tick_step(span: Ticks) -> Ticks:
    for step in (MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR):
        if span // step <= 24:
            return step
    return max(HOUR, span // 24)


def svg_timeline(scenarios: Sequence[Scenario], *, title: str) -> str:
    """An SVG timeline of the scenarios' runs: one panel each, event time across, arrival order down."""
    if not scenarios:
        raise ValueError("nothing to draw: no scenario")
    windows = windows_of(scenarios)
    times = [ev.event_time for s in scenarios for ev in s.run.events]
    lo = min([w.start for w in windows] + times)
    hi = max([w.end for w in windows] + times)
    if hi <= lo:
        hi = lo + MINUTE
    plot = _WIDTH - _LEFT - _RIGHT

    def x(t: Bound) -> float:
        clamped = min(max(t, lo), hi)
        return round(_LEFT + (clamped - lo) * plot / (hi - lo), 2)

    heights = [_PANEL_HEAD + _WINDOW_HEAD + _ROW * (len(s.run.events) + _end_rows(s.run)) + _AXIS for s in scenarios]
    height = _TITLE + sum(heights) + _GAP * (len(scenarios) - 1) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" data-time-start={quoteattr(format_time(lo))} '
        f'data-time-end={quoteattr(format_time(hi))}>',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        f'<rect width="{_WIDTH}" height="{height}" fill="white"/>',
    ]
    head, _, rest = title.partition(". ")
    out.append(f'<text class="title" x="{_LEFT}" y="20">{escape(head)}</text>')
    if rest:
        out.append(f'<text class="subtitle" x="{_LEFT}" y="36">{escape(rest)}</text>')
    top = _TITLE
    for n, (scenario, panel_height) in enumerate(zip(scenarios, heights, strict=True)):
        out += _svg_panel(scenario, n, top, panel_height, windows, x, lo, hi)
        top += panel_height + _GAP
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _end_rows(run: Run) -> int:
    """Rows below the arrivals: one per window that fires at end of input (at least one, "end")."""
    return max(1, len(_grouped([e for e in run.emissions if e.on_arrival is None])))


def _svg_panel(scenario: Scenario, n: int, top: int, height: int, windows: Sequence[Window], x, lo: Ticks,
               hi: Ticks) -> list[str]:
    run = scenario.run
    cfg = run.config
    band_top = top + _PANEL_HEAD
    rows_top = band_top + _WINDOW_HEAD
    axis_y = rows_top + _ROW * (len(run.events) + _end_rows(run))
    out = [f'<g class="panel" data-scenario={quoteattr(scenario.label)} data-index="{n}">']
    config = (f"{cfg.windows.describe()}, watermark delay {format_duration(cfg.watermark_delay)}, allowed lateness "
              f"{format_duration(cfg.allowed_lateness)}, late policy {cfg.late_policy.value}, profile "
              f"{cfg.profile.name}: an event is {cfg.profile.drop_rule()}")
    out.append(f'<text class="panel-label" x="{_LEFT}" y="{top + 16}">{escape(scenario.label)}</text>')
    out.append(f'<text class="panel-config" x="{_LEFT}" y="{top + 32}">{escape(config)}</text>')
    final = defaultdict(list)
    for r in run.final_rows():
        final[r.window_start].append(f"{r.user_id}={decimal_text(r.sum_amount)}")
    for i, w in enumerate(windows):
        x0, x1 = x(w.start), x(w.end)
        out.append(f'<rect class="window" data-window={quoteattr(str(w))} x="{x0}" y="{band_top}" '
                   f'width="{round(x1 - x0, 2)}" height="{axis_y - band_top}" fill="{_BAND_FILL[i % 2]}" '
                   'stroke="#b8c4d6"/>')
        out.append(f'<text class="window-label" x="{x0 + 4}" y="{band_top + 16}">{escape(str(w))}</text>')
        rows = ", ".join(final.get(w.start, [])) or "no rows"
        out.append(f'<text class="window-rows" data-window={quoteattr(str(w))} x="{x0 + 4}" '
                   f'y="{band_top + 32}">{escape(rows)}</text>')
    # Watermark after each arrival: a stepped line, one vertical segment per arrival row.
    points = []
    for step in run.watermarks:
        if step.watermark in (NEG_INF, POS_INF):
            continue
        y = rows_top + _ROW * step.arrival + _ROW / 2
        points += [f"{x(step.watermark)},{y - _ROW / 2}", f"{x(step.watermark)},{y + _ROW / 2}"]
    if points:
        out.append(f'<polyline class="watermark" points="{" ".join(points)}"/>')
        first = points[0].split(",")
        out.append(f'<text class="watermark-label" x="{float(first[0]) + 4}" y="{float(first[1]) + 10}">'
                   "watermark</text>")
    late_by_arrival = defaultdict(list)
    for item in run.late:
        late_by_arrival[item.arrival].append(item)
    for i, ev in enumerate(run.events):
        y = rows_top + _ROW * i + _ROW / 2
        lates = late_by_arrival.get(i, [])
        kind = "on-time"
        if any(item.outcome is LateOutcome.DROPPED for item in lates):
            kind = "dropped"
        elif any(item.outcome is LateOutcome.SIDE_OUTPUT for item in lates):
            kind = "side-output"
        elif lates:
            kind = "late-admitted"
        cx = x(ev.event_time)
        out.append(f'<text class="arrival" x="{_LEFT - 8}" y="{y + 4}" text-anchor="end">#{i + 1}</text>')
        out.append(f'<circle class="event {kind}" data-event={quoteattr(ev.event_id)} data-arrival="{i + 1}" '
                   f'data-event-time={quoteattr(format_time(ev.event_time))} cx="{cx}" cy="{y}" r="6" '
                   f'fill="{_EVENT_FILL[kind]}"/>')
        if kind == "dropped":
            out.append(f'<line class="dropped-mark" x1="{cx - 8}" y1="{y - 8}" x2="{cx + 8}" y2="{y + 8}"/>')
            out.append(f'<line class="dropped-mark" x1="{cx - 8}" y1="{y + 8}" x2="{cx + 8}" y2="{y - 8}"/>')
        text = f"{ev.event_id} ({ev.user_id}, {decimal_text(ev.amount)})"
        if kind != "on-time":
            text += "  " + {"dropped": "late: DROPPED", "side-output": "late: side output",
                            "late-admitted": "late: admitted"}[kind]
        out.append(f'<text class="event-label" x="{cx + 10}" y="{y + 4}">{escape(text)}</text>')
        for group in _grouped([e for e in run.emissions if e.on_arrival == i]):
            out += _svg_firing(*group, x, y)
        wm = run.watermarks[i].watermark
        out.append(f'<text class="axis-label" x="{_WIDTH - _RIGHT + 10}" y="{y + 4}">watermark {format_time(wm)}'
                   "</text>")
    end_y = rows_top + _ROW * len(run.events) + _ROW / 2
    out.append(f'<text class="arrival" x="{_LEFT - 8}" y="{end_y + 4}" text-anchor="end">end</text>')
    out.append(f'<text class="axis-label" x="{_WIDTH - _RIGHT + 10}" y="{end_y + 4}">watermark +inf</text>')
    for k, group in enumerate(_grouped([e for e in run.emissions if e.on_arrival is None])):
        out += _svg_firing(*group, x, end_y + k * _ROW)
    out += _svg_axis(x, lo, hi, axis_y)
    out.append("</g>")
    return out


def _svg_firing(window: Window, items: Sequence[Emission], x, y: float) -> list[str]:
    """A diamond at the window's end on the row of the arrival that fired it, with the rows it sent."""
    ex = x(window.end)
    rows = []
    for e in items:
        verb = {EmissionKind.RETRACT: "retract ", EmissionKind.UPDATE: "update "}.get(e.kind, "")
        if not verb and e.timing is Timing.LATE:
            verb = "emit "
        rows.append(f"{verb}{e.key}={decimal_text(e.value)}")
    text = f"{_firing_verb(items)} {window}: {', '.join(rows)}"
    # Near the right edge the label goes to the left of the diamond, so it stays inside the plot.
    anchor, tx = ("end", ex - 10) if ex > _LEFT + (_WIDTH - _LEFT - _RIGHT) * 0.6 else ("start", ex + 10)
    return [
        f'<path class="fire" data-window={quoteattr(str(window))} data-timing="{items[0].timing.value}" '
        f'd="M {ex} {y - 6} L {ex + 6} {y} L {ex} {y + 6} L {ex - 6} {y} Z"/>',
        f'<text class="fire-label" x="{tx}" y="{y - 8}" text-anchor="{anchor}">{escape(text)}</text>',
    ]


def _svg_axis(x, lo: Ticks, hi: Ticks, y: float) -> list[str]:
    out = [f'<line class="axis" x1="{x(lo)}" y1="{y}" x2="{x(hi)}" y2="{y}" stroke="#555"/>']
    step = _tick_step(hi - lo)
    t = lo - lo % step if lo % step == 0 else lo - lo % step + step
    while t <= hi:
        out.append(f'<line class="tick" x1="{x(t)}" y1="{y}" x2="{x(t)}" y2="{y + 5}" stroke="#555"/>')
        out.append(f'<text class="axis-label" data-time={quoteattr(format_time(t))} x="{x(t)}" y="{y + 17}" '
                   f'text-anchor="middle">{escape(format_time(t))}</text>')
        t += step
    out.append(f'<text class="axis-label" x="{x(hi)}" y="{y + 32}" text-anchor="end">event time →</text>')
    return out


__all__ = ["Scenario", "plantuml", "svg_timeline", "windows_of"]

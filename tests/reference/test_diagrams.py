"""``reference.diagrams``: the slide-18 PlantUML and the SVG timeline, drawn from real runs.

The runs are the sheet's stream (from the exercise data) under dropping and under 3 and
4 minutes of allowed lateness; what the diagrams must show is read off the same runs,
never typed in.  The PlantUML is checked by Debian's ``plantuml -checkonly`` when it is
installed, and structurally otherwise; the SVG is parsed as XML and measured.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from reference.config import LatePolicy, RunConfig
from reference.diagrams import Scenario, plantuml, svg_timeline, windows_of
from reference.engine import run
from reference.profiles import get_profile
from reference.results import LateOutcome
from reference.timestamps import MINUTE, format_time
from reference.windows import Tumbling
from tests.reference.sheet import sheet_events

SVG = "{http://www.w3.org/2000/svg}"


def _run(lateness_min: int, policy: LatePolicy, profile: str = "flink"):
    config = RunConfig(windows=Tumbling(5 * MINUTE), watermark_delay=2 * MINUTE, allowed_lateness=lateness_min * MINUTE,
                       late_policy=policy, profile=get_profile(profile))
    return run(tuple(sheet_events()), config)


@pytest.fixture(scope="module")
def scenarios() -> list[Scenario]:
    return [
        Scenario("drop late events", _run(0, LatePolicy.DROP)),
        Scenario("allowed lateness 3 min", _run(3, LatePolicy.RETRACT)),
        Scenario("allowed lateness 4 min", _run(4, LatePolicy.RETRACT)),
    ]


# -- PlantUML ----------------------------------------------------------------------------------------------


def _check_structure(text: str) -> None:
    """What ``plantuml -checkonly`` would refuse, for machines without it."""
    lines = text.strip().splitlines()
    assert lines[0] == "@startuml" and lines[-1] == "@enduml"
    aliases = set(re.findall(r'^(?:participant|database) "[^"]*" as (\w+)$', text, re.M))
    depth = 0
    for line in lines[1:-1]:
        stripped = line.strip()
        if stripped.startswith("alt "):
            depth += 1
        elif stripped == "end":
            depth -= 1
            assert depth >= 0
        arrow = re.match(r"^(\w+) -(?:\[#\w+\])?>x? (\w+) : .+$", stripped)
        if "->" in stripped or "]>" in stripped:
            assert arrow, f"not a message line: {line!r}"
            assert {arrow[1], arrow[2]} <= aliases, f"unknown participant in {line!r}"
        note = re.match(r"^note (?:over|right of) (\w+)", stripped)
        if note:
            assert note[1] in aliases
    assert depth == 0, "every alt has its end"


def test_plantuml_is_valid(tmp_path, scenarios):
    text = plantuml(scenarios, title="ex11: late data", sink="window_agg")
    _check_structure(text)
    if shutil.which("plantuml"):
        path = tmp_path / "week10_practice_slide18_window_late_reasoning.puml"
        path.write_text(text, encoding="utf-8")
        done = subprocess.run(["plantuml", "-checkonly", str(path)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def test_plantuml_shows_the_stream_in_arrival_order_then_each_handling_of_e7(scenarios):
    text = plantuml(scenarios, title="t")
    events = sheet_events()
    shared = text[: text.index("\nalt ")]
    # e1..e6 are handled alike by every scenario, drawn once in arrival order; e7 inside each branch.
    positions = [shared.index(f"{i}. {e.describe()}") for i, e in enumerate(events[:-1], 1)]
    assert positions == sorted(positions)
    branches = re.split(r"\n(?:alt|else) ", text[text.index("\nalt "):])[1:]
    assert [b.splitlines()[0] for b in branches] == [s.label for s in scenarios]
    late = events[-1]
    for branch, scenario in zip(branches, scenarios, strict=True):
        [outcome] = [x.outcome for x in scenario.run.late if x.event.event_id == late.event_id]
        assert f"{len(events)}. late {late.describe()}: {'DROPPED' if outcome is LateOutcome.DROPPED else 'admitted'}" \
            in branch
        final = branch.split("final rows")[1]
        for row in scenario.run.final_rows():
            assert f"({format_time(row.window_start)}, {row.user_id}, {row.sum_amount})" in final


def test_plantuml_names_every_window_and_the_late_firing(scenarios):
    text = plantuml(scenarios, title="t")
    for w in windows_of(scenarios):
        assert f'participant "{w}"' in text
    admitted = scenarios[2].run
    retract = next(e for e in admitted.emissions if e.kind.value == "retract")
    assert f"retract ({format_time(retract.window.start)}, {retract.key}, {retract.value})" in text


def test_a_single_scenario_has_no_alt_block(scenarios):
    text = plantuml(scenarios[:1], title="t")
    _check_structure(text)
    assert "\nalt " not in text and "final rows" in text


def test_nothing_to_draw_is_an_error():
    with pytest.raises(ValueError, match="no scenario"):
        plantuml([], title="t")
    with pytest.raises(ValueError, match="no scenario"):
        svg_timeline([], title="t")


# -- SVG ---------------------------------------------------------------------------------------------------


def _x_of_time(root: ET.Element) -> dict[str, float]:
    return {t.get("data-time"): float(t.get("x")) for t in root.iter(f"{SVG}text") if t.get("data-time")}


def test_svg_parses_and_has_one_panel_per_scenario(scenarios):
    root = ET.fromstring(svg_timeline(scenarios, title="ex11: late data. e1..e7"))
    assert root.tag == f"{SVG}svg"
    panels = [g for g in root.iter(f"{SVG}g") if g.get("class") == "panel"]
    assert [p.get("data-scenario") for p in panels] == [s.label for s in scenarios]
    for panel, scenario in zip(panels, scenarios, strict=True):
        dots = [c for c in panel.iter(f"{SVG}circle") if "event" in c.get("class", "").split()]
        assert [d.get("data-event") for d in dots] == [e.event_id for e in scenario.run.events]
        assert [int(d.get("data-arrival")) for d in dots] == list(range(1, len(scenario.run.events) + 1))
        ys = [float(d.get("cy")) for d in dots]
        assert ys == sorted(ys) and len(set(ys)) == len(ys), "arrival order runs down"
        assert panel.find(f"{SVG}polyline[@class='watermark']") is not None


def test_svg_places_events_by_event_time_and_windows_as_bands(scenarios):
    root = ET.fromstring(svg_timeline(scenarios, title="t"))
    panel = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "panel")
    axis = _x_of_time(panel)
    for dot in panel.iter(f"{SVG}circle"):
        t = dot.get("data-event-time")
        if t in axis:
            assert float(dot.get("cx")) == pytest.approx(axis[t])
    e7 = next(d for d in panel.iter(f"{SVG}circle") if d.get("data-event") == "e7")
    e1 = next(d for d in panel.iter(f"{SVG}circle") if d.get("data-event") == "e1")
    e2 = next(d for d in panel.iter(f"{SVG}circle") if d.get("data-event") == "e2")
    assert float(e1.get("cx")) < float(e7.get("cx")) < float(e2.get("cx")), "e7 (10:01) sits between 10:00 and 10:02"
    assert float(e7.get("cy")) > float(e2.get("cy")), "but it arrives last"
    bands = {r.get("data-window"): r for r in panel.iter(f"{SVG}rect") if r.get("class") == "window"}
    assert set(bands) == {str(w) for w in windows_of(scenarios)}
    for w in windows_of(scenarios):
        band = bands[str(w)]
        start, end = format_time(w.start), format_time(w.end)
        assert float(band.get("x")) == pytest.approx(axis[start])
        assert float(band.get("x")) + float(band.get("width")) == pytest.approx(axis[end])


def test_svg_marks_late_events_by_outcome(scenarios):
    root = ET.fromstring(svg_timeline(scenarios, title="t"))
    panels = [g for g in root.iter(f"{SVG}g") if g.get("class") == "panel"]
    for panel, scenario in zip(panels, scenarios, strict=True):
        for late in scenario.run.late:
            dot = next(c for c in panel.iter(f"{SVG}circle") if c.get("data-event") == late.event.event_id)
            expected = "dropped" if late.outcome is LateOutcome.DROPPED else "late-admitted"
            assert expected in dot.get("class").split()
        crosses = [ln for ln in panel.iter(f"{SVG}line") if ln.get("class") == "dropped-mark"]
        assert len(crosses) == 2 * len(scenario.run.dropped)


def test_svg_marks_each_firing_at_its_window_end(scenarios):
    root = ET.fromstring(svg_timeline(scenarios, title="t"))
    panel = [g for g in root.iter(f"{SVG}g") if g.get("class") == "panel"][2]
    axis = _x_of_time(panel)
    fires = [p for p in panel.iter(f"{SVG}path") if p.get("class") == "fire"]
    run4 = scenarios[2].run
    expected = {(str(e.window), e.timing.value) for e in run4.emissions}
    assert {(f.get("data-window"), f.get("data-timing")) for f in fires} == expected
    for f in fires:
        end = f.get("data-window").split(", ")[1].rstrip(")")
        assert float(f.get("d").split()[1]) == pytest.approx(axis[end])

"""Pictures of the runs behind an exercise's answers: PlantUML and SVG timelines.

Drawn by :mod:`reference.diagrams` from the same engine runs the answers come from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grader.exercises.fields import read_field
from grader.exercises.model import ExerciseSet, Part
from grader.frozen import thaw
from grader.solutions.render import Solutions
from reference.config import LatePolicy, RunConfig
from reference.diagrams import Scenario, plantuml, svg_timeline
from reference.engine import run as run_engine
from reference.profiles import get_profile
from reference.results import Run
from reference.timestamps import format_duration, parse_duration
from reference.windows import Tumbling


def drawable_exercises(exercise_set: ExerciseSet) -> tuple[str, ...]:
    """Ids of the exercises with a part answered from a run of the context's events (window exercises)."""
    return tuple(ex.id for ex in exercise_set.exercises if any(_runs_events(p) for p in ex.parts))


def _runs_events(part: Part) -> bool:
    from grader.exercises.vocabulary import QUERIES

    query = QUERIES.get(part.solution.query)
    return query is not None and query.engine and "events" in query.params


def exercise_scenarios(exercise_set: ExerciseSet, exercise_id: str,
                       solutions: Solutions | None = None) -> list[Scenario]:
    """The engine runs behind an exercise's window parts, one per distinct setting, labelled.

    Each part answered from a run of the context's events contributes its run (events
    and engine settings from its ``solution`` in the data).  A part whose answer depends
    on the profile also contributes the run under each profile that answers otherwise,
    so the diagram shows, e.g., why the sheet's published "retract 7, emit 8" is what
    beam-python does.  Raises ``KeyError`` for an exercise with no such part.
    """
    from grader.solutions.solve import solve

    exercise = exercise_set.exercise(exercise_id)
    parts = [p for p in exercise.parts if _runs_events(p)]
    if not parts:
        raise KeyError(f"{exercise_id} has no part computed from a run of the stream; diagrams exist for "
                       f"{', '.join(drawable_exercises(exercise_set)) or 'no exercise'}")
    solutions = solutions if solutions is not None else solve(exercise_set)
    published = thaw(exercise.published.values)
    found: dict[tuple, tuple[str, Run, list[str]]] = {}
    for part in parts:
        canonical = solutions[exercise.id][part.id]
        variants: list[tuple[str | None, str]] = [(None, "")]
        if canonical.depends_on_profile and canonical.by_profile:
            seen_values = [canonical.value]
            for name, value in canonical.by_profile.items():
                if value not in seen_values:
                    seen_values.append(value)
                    same = " = the sheet's published answer" if value == read_field(published, part.field)[0] else ""
                    variants.append((name, same))
        for profile, note in variants:
            overrides = dict(thaw(part.solution.config))
            if profile is not None:
                overrides["profile"] = profile
            events, config = _run_setup(exercise_set, part, overrides)
            key = (tuple(e.event_id for e in events), config)
            if key not in found:
                found[key] = (_scenario_label(exercise_set, events, config, profile) + note, run_engine(events, config),
                              [])
            found[key][2].append(part.id)
    return [Scenario(f"{label} (answers {', '.join(ids)})", run) for label, run, ids in found.values()]


def _run_setup(exercise_set: ExerciseSet, part: Part, overrides: Mapping[str, Any]) -> tuple[tuple, RunConfig]:
    """The events and engine configuration of a part's run, as :mod:`grader.solutions` sets them up."""
    ctx = exercise_set.context
    selector = thaw(part.solution.args).get("events", "all")
    wanted = None if selector == "all" else ({selector} if isinstance(selector, str) else set(selector))
    events = tuple(e for e in ctx.events if wanted is None or e.event_id in wanted)
    if overrides.get("order") == "event_time":
        events = tuple(sorted(events, key=lambda e: e.event_time))
    size = parse_duration(overrides["window_size"]) if "window_size" in overrides else ctx.window_size
    lateness_value = overrides.get("allowed_lateness")
    if lateness_value == "admit_all":
        times = [e.event_time for e in events] or [0]
        lateness = max(times) - min(times) + size
    else:
        lateness = parse_duration(lateness_value) if lateness_value is not None else ctx.allowed_lateness
    config = RunConfig(
        windows=Tumbling(size),
        watermark_delay=parse_duration(overrides["watermark_delay"]) if "watermark_delay" in overrides
        else ctx.watermark_delay,
        allowed_lateness=lateness,
        late_policy=LatePolicy.parse(str(overrides.get("late_policy", "update"))),
        profile=get_profile(str(overrides["profile"])) if "profile" in overrides else ctx.profile,
        watermark_every=int(overrides.get("watermark_every", 1)),
    )
    return events, config


def _scenario_label(exercise_set: ExerciseSet, events: Sequence[Any], config: RunConfig, profile: str | None) -> str:
    if config.late_policy is LatePolicy.DROP:
        label = "drop late events"
    else:
        label = f"allowed lateness {format_duration(config.allowed_lateness)}, {config.late_policy.value}"
    if len(events) != len(exercise_set.context.events):
        label += f", {events[0].event_id}..{events[-1].event_id} only" if events else ", no events"
    if profile is not None:
        label += f", under {profile}"
    return label


def exercise_diagram(exercise_set: ExerciseSet, exercise_id: str, fmt: str = "puml",
                     solutions: Solutions | None = None) -> str:
    """The diagram of an exercise's runs: PlantUML (``puml``) or an SVG timeline (``svg``)."""
    exercise = exercise_set.exercise(exercise_id)
    scenarios = exercise_scenarios(exercise_set, exercise_id, solutions)
    events = scenarios[0].run.events
    span = f"{events[0].event_id}..{events[-1].event_id}" if events else "no events"
    title = f"{exercise.id}: {exercise.title}. Stream {span} in arrival order -> windows -> sum per user -> sink"
    if fmt == "svg":
        return svg_timeline(scenarios, title=title)
    if fmt == "puml":
        return plantuml(scenarios, title=title, sink=exercise_set.context.sink.table)
    raise ValueError(f"unknown diagram format {fmt!r}; formats: puml, svg")

"""``streamgrade simulate``: run any stream through the reference engine, arrival by arrival.

Thin, as click teaches: it parses the flags, runs :func:`reference.engine.run`, and
formats the run with :mod:`grader.simulate.trace` (and the sink and crash flags with
:mod:`grader.simulate.delivery`).
"""

from __future__ import annotations

import json

import click

from grader.errors import UsageProblem
from grader.exercises.load import DEFAULT_SET, sets_folder
from grader.simulate.delivery import attach_delivery
from grader.simulate.trace import format_trace
from reference.config import LatePolicy, RunConfig
from reference.engine import run as run_engine
from reference.events import EventError
from reference.profiles import PROFILES, get_profile
from reference.serialize import run_dict
from reference.streams import StreamError, load_events, parse_events
from reference.timestamps import TimeFormatError, parse_duration
from reference.windows import Sessions, Sliding, Tumbling


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except TimeFormatError as exc:
        raise click.BadParameter(str(exc)) from None


def _sheet_context(name: str) -> dict:
    """The data context of an exercise set: its events (arrival order) and parameters."""
    import yaml

    folder = sets_folder()
    path = folder / name / "context.yaml"
    if not path.is_file():
        known = sorted(p.parent.name for p in folder.glob("*/context.yaml"))
        raise UsageProblem(f"unknown sheet {name!r}; known sheets: {', '.join(known) or 'none'}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@click.command()
@click.option("--events", "events_file", type=click.Path(dir_okay=False),
              help="Event file: .yaml, .json, .jsonl or .csv, in arrival order.")
@click.option("--sheet", help=f"Use an exercise sheet's events in their arrival order, e.g. {DEFAULT_SET}.")
@click.option("--window", callback=_duration, help="Window size, e.g. 5m (default: the sheet's, else 5m).")
@click.option("--slide", callback=_duration, help="Slide of sliding windows, e.g. 1m.")
@click.option("--session-gap", callback=_duration, help="Gap of session windows, e.g. 3m.")
@click.option("--watermark-delay", callback=_duration,
              help="Bounded out-of-orderness, e.g. 2m (default: the sheet's, else 0).")
@click.option("--allowed-lateness", callback=_duration, default="0m", show_default=True,
              help="How long a fired window keeps its state for late events.")
@click.option("--late-policy", type=click.Choice([p.value for p in LatePolicy] + ["side-output"]),
              default="update", show_default=True)
@click.option("--profile", type=click.Choice(sorted(PROFILES)), default=None,
              help="Semantics profile (default: the sheet's, else flink).")
@click.option("--watermark-every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Emit a watermark every N arrivals (1 = per record).")
@click.option("--sink", help="Also write the emissions to an upsert table: sqlite:PATH or postgresql://...")
@click.option("--crash-at",
              help="Inject a crash, e.g. e5:after_write (phases: before_write, after_write, after_commit).")
@click.option("--delivery", type=click.Choice(["at-most-once", "at-least-once", "exactly-once"]),
              default="at-least-once", show_default=True)
@click.option("--commit-every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Commit the source offset every N records.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def simulate(events_file, sheet, window, slide, session_gap, watermark_delay, allowed_lateness, late_policy,
             profile, watermark_every, sink, crash_at, delivery, commit_every, fmt) -> None:
    """Run a stream through the reference engine and show what happens, arrival by arrival."""
    if bool(events_file) == bool(sheet):
        raise click.UsageError("give exactly one of --events FILE or --sheet NAME")
    params: dict = {}
    if sheet:
        context = _sheet_context(sheet)
        params = context.get("parameters", {})
        try:
            events = parse_events(json.dumps(context["events"]), "json", f"exercises/{sheet}/context.yaml events")
        except (StreamError, EventError) as exc:
            raise UsageProblem(str(exc)) from None
    else:
        try:
            events = load_events(events_file)
        except StreamError as exc:
            raise UsageProblem(str(exc)) from None
    size = window if window is not None else parse_duration(params.get("window_size", "5m"))
    delay = watermark_delay if watermark_delay is not None else parse_duration(params.get("watermark_delay", "0m"))
    profile_obj = get_profile(profile or params.get("profile", "flink"))
    if slide is not None and session_gap is not None:
        raise click.UsageError("--slide and --session-gap exclude each other")
    try:
        if session_gap is not None:
            assigner = Sessions(session_gap)
        elif slide is not None:
            assigner = Sliding(size, slide)
        else:
            assigner = Tumbling(size)
        config = RunConfig(
            windows=assigner,
            watermark_delay=delay,
            allowed_lateness=allowed_lateness,
            late_policy=LatePolicy.parse(late_policy),
            profile=profile_obj,
            watermark_every=watermark_every,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    result = run_engine(events, config)
    if sink or crash_at:
        document = attach_delivery(result, events, config, sink=sink, crash_at=crash_at,
                                   delivery=delivery, commit_every=commit_every)
    else:
        document = None
    if fmt == "json":
        data = run_dict(result)
        if document is not None:
            data["delivery"] = document
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(format_trace(result))
        if document is not None:
            click.echo("")
            click.echo(document["text"])


def register(group: click.Group) -> None:
    """Add this area's commands to ``group``."""
    group.add_command(simulate)

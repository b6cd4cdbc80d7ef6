"""Queries answered by the rows of a run: windows and their events, final rows and sums, sink writes.
"""

from __future__ import annotations

from grader.solutions.derivations import (
    boundary_lines,
    config_line,
    contributions,
    describe_event,
    late_lines,
    row_text,
    row_value,
    rows_text,
    window_at,
)
from grader.solutions.firing import previous_watermark
from grader.solutions.job import Answer, Job, job_events, late_arrivals, lateness_of, prepared_events, run_of
from reference.events import Event, decimal_text
from reference.results import EmissionKind, LateOutcome, Row, Timing
from reference.serialize import decimal_json
from reference.timestamps import format_duration, format_time
from reference.windows import Tumbling, Window


def solve_window_events(job: Job) -> Answer:
    events = job_events(job, job.args["events"])
    run = run_of(job, events)
    members: dict[Window, set[str]] = {}
    for emission in run.emissions:
        if emission.kind is not EmissionKind.RETRACT:
            members.setdefault(emission.window, set()).update(emission.event_ids)
    order = {e.event_id: i for i, e in enumerate(events)}
    value = []
    lines = [config_line(job, events)]
    for window in sorted(members):
        ids = sorted(members[window], key=order.__getitem__)
        value.append({"window_start": format_time(window.start), "events": ids})
        listed = ", ".join(f"{eid} ({job.context.event(eid).user_id}, {decimal_text(job.context.event(eid).amount)})"
                           for eid in ids)
        lines.append(f"{window}: {listed}.")
    lines += boundary_lines(job, events, members)
    lines += late_lines(job, run)
    return Answer(value, tuple(lines))


def solve_final_rows(job: Job) -> Answer:
    events = job_events(job, job.args["events"])
    run = run_of(job, events)
    starts = job.args["window_starts"]
    windows = [window_at(job, w) for w in starts] if starts is not None else None
    rows = [r for r in run.final_rows() if windows is None or Window(r.window_start, r.window_end) in windows]
    lines = [config_line(job, events)]
    for r in rows:
        window = Window(r.window_start, r.window_end)
        lines.append(f"{window}, user {r.user_id}: {contributions(job, run, window, r.user_id)} -> {row_text(r)}.")
    lines += boundary_lines(job, events, windows or {Window(r.window_start, r.window_end) for r in rows})
    lines += late_lines(job, run)
    lines.append(f"Rows of the upsert sink for the windows asked: {rows_text(rows)}.")
    return Answer([row_value(r) for r in rows], tuple(lines))


def _asked_window(job: Job, events: tuple[Event, ...]) -> Window:
    """The window of ``window_start``, or of ``window_of`` when a mistake's model gives it.

    ``window_of: e7`` is the window the event lands in under the job's settings (with
    ``windows: processing_time``, the window of its arrival); ``window_of: late`` names
    the one event that arrives after a later event time (the sheet's e7, any variant's
    late click).
    """
    name = job.args.get("window_of")
    if name is None:
        return window_at(job, job.args["window_start"])
    if name == "late":
        late = late_arrivals(events)
        if len(late) != 1:
            raise ValueError(f"window_of: late needs exactly one late arrival, the events have {len(late)}")
        name = late[0].event_id
    ready = prepared_events(events, job.settings)
    event = next((e for e in ready if e.event_id == name), None)
    if event is None:
        raise ValueError(f"window_of: no event {name!r} among the events")
    return Tumbling(job.settings.window_size).assign(event.event_time)[0]


def _final_row(job: Job) -> tuple[Row | None, list[str]]:
    events = job_events(job, job.args["events"])
    run = run_of(job, events)
    window = _asked_window(job, events)
    user = job.args["user_id"]
    row = next((r for r in run.final_rows() if r.window_start == window.start and r.user_id == user), None)
    lines = [config_line(job, events)]
    lines += late_lines(job, run)
    if row is not None:
        lines.append(f"{window}, user {user}: {contributions(job, run, window, user)} "
                     f"= {decimal_text(row.sum_amount)}.")
        history = list(run.emissions_for(window, user))
        writes = "; ".join(
            f"{e.kind.value} {row_text(e.row)} "
            + (f"caused by {e.cause} at watermark {format_time(e.watermark)}" if e.cause else "at end of input")
            + (" (late firing)" if e.timing is Timing.LATE else "")
            for e in history
        )
        lines.append(f"Sink writes for ({format_time(window.start)}, {user}): {writes}.")
        if len(history) > 1:
            lines.append(
                f"The upsert sink is keyed by ({', '.join(job.context.sink.primary_key)}): the last write "
                f"{row_text(row)} overwrites the earlier row; one write corrects it."
            )
    return row, lines


def solve_final_sum(job: Job) -> Answer:
    row, lines = _final_row(job)
    return Answer(decimal_json(row.sum_amount) if row is not None else 0, tuple(lines))


def solve_final_row(job: Job) -> Answer:
    row, lines = _final_row(job)
    return Answer(row_value(row) if row is not None else None, tuple(lines))


def solve_writes_on_arrival(job: Job) -> Answer:
    events = job_events(job, job.args["events"])
    run = run_of(job, events)
    event_id = job.args["event"]
    records = job.args["records"]
    if records not in ("retract", "emit"):
        raise ValueError(f"records must be retract or emit, not {records!r}")
    arrival = next(i for i, e in enumerate(run.events) if e.event_id == event_id)
    caused = [e for e in run.emissions if e.on_arrival == arrival]
    if records == "retract":
        chosen = [e for e in caused if e.kind is EmissionKind.RETRACT]
    else:
        chosen = [e for e in caused if e.kind is not EmissionKind.RETRACT]
    step = run.watermarks[arrival]
    previous = run.events[arrival - 1].event_id if arrival else None
    wm = previous_watermark(run, arrival)
    s = job.settings
    lines = [
        config_line(job, events),
        f"{describe_event(job, event_id)} is arrival {arrival + 1}"
        + (f", after {previous}" if previous else "")
        + f"; the max event time is then {format_time(step.max_event_time)} and it is judged at watermark "
        f"{format_time(wm)} ({s.profile.watermark_rule()}).",
    ]
    late = [x for x in run.late if x.arrival == arrival]
    if not late:
        lines.append(f"{event_id} is on time: its window has not fired yet, so its arrival writes nothing by itself.")
    for x in late:
        lateness = lateness_of(s, events)
        lines.append(
            f"Its window {x.window} has fired ({s.profile.fire_rule()}); with allowed lateness "
            f"{format_duration(lateness)} the expiry is {format_time(s.profile.expiry(x.window.end, lateness))} and "
            f"the profile's rule is: {s.profile.drop_rule()}."
        )
        if x.outcome is LateOutcome.ADMITTED:
            lines.append(
                f"So {event_id} is admitted and causes a late firing under policy {run.config.late_policy.value}: "
                + "; ".join(f"{e.kind.value} {row_text(e.row)}" for e in caused)
                + "."
            )
        else:
            lines.append(f"So {event_id} is {x.outcome.value.replace('_', ' ')} and the sink receives nothing.")
    lines.append(f"{'Retracted' if records == 'retract' else 'Emitted'} at {event_id}'s arrival: "
                 f"{rows_text(e.row for e in chosen)}.")
    return Answer([row_value(e.row) for e in chosen], tuple(lines))

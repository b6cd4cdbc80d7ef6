"""Canonical answers for people: text, JSON and a publishable Markdown solutions sheet.

:mod:`grader.solutions` computes each part's :class:`~grader.solutions.Canonical`
(value, derivation, the profiles it depends on); this module only formats them, at the
edge.  The Markdown sheet is complete on its own: the data context (events in arrival
order, parameters, sink), then every exercise with its prompt, points, the answer of each
part in the submission format's spelling, the derivation, and, where the sheet's own
published key disagrees with the engine, the erratum with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from grader.exercises.fields import read_field, write_field
from grader.exercises.model import Exercise, ExerciseSet, Part
from grader.frozen import thaw
from grader.solutions.solve import Canonical
from reference.events import decimal_text
from reference.timestamps import format_duration, format_time

Solutions = Mapping[str, Mapping[str, Canonical]]


FORMATS = ("text", "json", "markdown")


def selected_exercises(exercise_set: ExerciseSet, wanted: Sequence[str] = ()) -> tuple[Exercise, ...]:
    """The exercises named in ``wanted`` (``ex6``, ``6`` or ``ex06``), in set order; all when empty.

    Raises ``KeyError`` naming the first unknown id and the known ones.
    """
    if not wanted:
        return exercise_set.exercises
    ids = []
    for name in wanted:
        ex_id = canonical_exercise_id(name)
        if ex_id not in exercise_set.exercise_ids:
            raise KeyError(f"no exercise {name!r} in {exercise_set.id}; exercises: "
                           f"{', '.join(exercise_set.exercise_ids)}")
        ids.append(ex_id)
    return tuple(ex for ex in exercise_set.exercises if ex.id in ids)


def canonical_exercise_id(name: str) -> str:
    """``6``, ``ex06`` and ``EX6`` all name ``ex6``; anything else is returned as written."""
    text = name.strip().lower()
    digits = text[2:] if text.startswith("ex") else text
    return f"ex{int(digits)}" if digits.isdigit() else name.strip()


def value_text(value: Any) -> str:
    """A canonical value in the sheet's notation: rows as ``(10:00, A, 7)``, lists comma separated."""
    if value is None:
        return "(nothing)"
    if _is_row(value):
        return f"({value['window_start']}, {value['user_id']}, {_plain(value['sum_amount'])})"
    if isinstance(value, Mapping) and set(value) == {"window_start", "events"}:
        return f"window {value['window_start']}: {', '.join(_plain(e) for e in value['events'])}"
    if isinstance(value, list | tuple):
        separator = "; " if value and all(isinstance(v, Mapping) and "events" in v for v in value) else ", "
        return separator.join(value_text(v) for v in value) if value else "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {value_text(v)}" for k, v in value.items())
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping) and set(value) == {"user_id", "amount"}:
        return f"({value['user_id']}, {_plain(value['amount'])})"
    return str(value)


def _is_row(value: Any) -> bool:
    return isinstance(value, Mapping) and {"window_start", "user_id", "sum_amount"} <= set(value)


def _unit(part: Part) -> str:
    unit = part.compare.get("unit")
    return f" {unit}" if unit and part.compare_kind == "number" and unit != "amount" else ""


def render_text(exercise_set: ExerciseSet, solutions: Solutions, exercises: Sequence[Exercise]) -> str:
    """Plain text for a terminal: each part's answer and its derivation, indented."""
    out = [f"{exercise_set.title} ({exercise_set.id}): canonical answers, profile "
           f"{exercise_set.context.profile.name}", ""]
    for ex in exercises:
        out.append(f"{ex.id}  {ex.title}  ({_num(ex.points)} points)")
        for part in ex.parts:
            c = solutions[ex.id][part.id]
            value = c.value
            if isinstance(value, str) and "\n" in value:
                out.append(f"  {part.id} [{part.field}] ({_num(part.points)} pts):")
                out.extend("      " + line for line in value.splitlines())
            else:
                out.append(f"  {part.id} [{part.field}] ({_num(part.points)} pts): {value_text(value)}{_unit(part)}")
            out.extend("      - " + line for line in c.derivation)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def solutions_document(exercise_set: ExerciseSet, solutions: Solutions,
                       exercises: Sequence[Exercise]) -> dict[str, Any]:
    """The canonical answers as JSON-ready data, plus an ``answers`` object in submission shape."""
    doc_exercises = []
    for ex in exercises:
        parts = []
        for part in ex.parts:
            c = solutions[ex.id][part.id]
            item: dict[str, Any] = {
                "id": part.id, "field": part.field, "points": part.points, "compare": part.compare_kind,
                "value": c.value, "derivation": list(c.derivation), "profile": c.profile,
                "depends_on_profile": c.depends_on_profile,
            }
            if c.by_profile:
                item["by_profile"] = dict(c.by_profile)
            erratum = ex.erratum_for(part.id)
            if erratum is not None:
                item["erratum"] = {"published": _published_value(ex, part), "reason": erratum.reason,
                                   "grading": erratum.grading.value, "credit": erratum.credit}
            parts.append(item)
        doc_exercises.append({"id": ex.id, "title": ex.title, "points": ex.points, "parts": parts})
    return {
        "exercise_set": exercise_set.id,
        "title": exercise_set.title,
        "profile": exercise_set.context.profile.name,
        "exercises": doc_exercises,
        "answers": {ex.id: answer_object(ex, solutions[ex.id]) for ex in exercises},
    }


def answer_object(exercise: Exercise, canonical: Mapping[str, Canonical]) -> dict[str, Any]:
    """One exercise's canonical answer in the submission format (a part's field path filled in)."""
    out: dict[str, Any] = {}
    for part in exercise.parts:
        write_field(out, part.field, canonical[part.id].value)
    return out


def _published_value(exercise: Exercise, part: Part) -> Any:
    """The sheet's published value at a part's field (a list for a ``[*]`` field), or ``None``."""
    return read_field(thaw(exercise.published.values), part.field)[0]


def render_json(exercise_set: ExerciseSet, solutions: Solutions, exercises: Sequence[Exercise]) -> str:
    return json.dumps(solutions_document(exercise_set, solutions, exercises), indent=2, ensure_ascii=False) + "\n"


def render_markdown(exercise_set: ExerciseSet, solutions: Solutions, exercises: Sequence[Exercise],
                    diagrams: Mapping[str, str] | None = None) -> str:
    """A solutions sheet an instructor can publish: context, then each exercise's worked answer.

    ``diagrams`` maps an exercise id to PlantUML drawn from the engine run, shown after
    that exercise's answers.
    """
    ctx = exercise_set.context
    out = [f"# {exercise_set.title}: solutions", ""]
    out.append(
        "Every answer below is computed by the reference streaming engine from the data context "
        f"(profile `{ctx.profile.name}`: {ctx.profile.watermark_rule()}; a window {ctx.profile.fire_rule()}; "
        f"an event is {ctx.profile.drop_rule()}). Where the sheet's originally published solution "
        "disagrees, the difference is marked as an erratum with its reason."
    )
    out += ["", "## Data context", "", "Events, in arrival order:", "",
            "| # | event_id | user_id | event_time | amount |", "|---|---|---|---|---|"]
    for i, e in enumerate(ctx.events, 1):
        out.append(f"| {i} | {e.event_id} | {e.user_id} | {format_time(e.event_time)} | {decimal_text(e.amount)} |")
    out += [
        "",
        f"Tumbling windows of {format_duration(ctx.window_size)}, half-open `[start, end)`; watermark delay "
        f"{format_duration(ctx.watermark_delay)}; allowed lateness {format_duration(ctx.allowed_lateness)} "
        f"where an exercise allows late data. Scale: {ctx.scale.events_per_day} events/day, "
        f"{ctx.scale.users} users, {ctx.scale.bytes_per_window} bytes per window buffer. Sink: "
        f"`{ctx.sink.table}({', '.join(f'{c} {t}' for c, t in ctx.sink.columns)}, "
        f"PRIMARY KEY ({', '.join(ctx.sink.primary_key)}))`, written by upsert.",
        "",
    ]
    for ex in exercises:
        out += _markdown_exercise(ex, solutions[ex.id], drawn=bool(diagrams and ex.id in diagrams))
        if diagrams and ex.id in diagrams:
            out += ["**Diagram drawn from the engine run:**", "", "```plantuml", diagrams[ex.id].rstrip(), "```", ""]
    total = sum(ex.points for ex in exercises)
    out += ["---", "", f"{len(exercises)} exercise{'s' if len(exercises) != 1 else ''}, {_points(total)}."]
    return "\n".join(out).rstrip() + "\n"


def _markdown_exercise(ex: Exercise, canonical: Mapping[str, Canonical], drawn: bool = False) -> list[str]:
    out = [f"## {_exercise_heading(ex)}: {ex.title} ({_points(ex.points)})", "", f"> {ex.prompt}", ""]
    for part in ex.parts:
        c = canonical[part.id]
        out.append(f"### `{part.field}` ({_points(part.points)})")
        out.append("")
        if drawn and part.field == "diagram":
            # The diagram drawn from the engine run (after this exercise) is the model answer.
            out += ["**Model answer:** the diagram drawn from the engine run, below.", ""]
        else:
            out += _markdown_value(c.value, part)
        if part.compare_kind == "text":
            concepts = ", ".join(item["description"] for item in part.compare.get("concepts", ()))
            full = part.compare.get("full_marks", part.compare.get("min_concepts", 1))
            out += [f"*Graded against a concept rubric (full marks at {full}):* {concepts}.", ""]
        else:
            out.append("**How it follows:**")
            out.append("")
            out += [f"- {line}" for line in c.derivation]
            out.append("")
        erratum = ex.erratum_for(part.id)
        if erratum is not None:
            published = value_text(_published_value(ex, part))
            credit = {"partial": f"partial credit ({_num(erratum.credit * 100)}%)", "full": "full credit",
                      "none": "no credit"}[erratum.grading.value]
            out += [f"**Erratum.** The sheet published `{published}`; the engine gives "
                    f"`{value_text(c.value)}{_unit(part)}`. {erratum.reason} An answer repeating the published value "
                    f"receives {credit}.", ""]
    return out


def _markdown_value(value: Any, part: Part) -> list[str]:
    text_part = part.compare_kind == "text"
    if isinstance(value, str):
        if value.lstrip().startswith("@startuml"):
            return ["```plantuml", value.rstrip(), "```", ""]
        return [f"**Model answer:** {value}", ""] if text_part else [f"**Answer:** `{value}`{_unit(part)}", ""]
    if text_part and isinstance(value, list):
        return ["**Model answer:**", "", *(f"- {item}" for item in value), ""]
    if part.compare.get("pick") and isinstance(value, list):
        return [f"**Answer:** any {part.compare['pick']} of `{value_text(value)}`", ""]
    if isinstance(value, list) and value and all(_is_row(v) for v in value):
        lines = ["| window_start | user_id | sum_amount |", "|---|---|---|"]
        lines += [f"| {v['window_start']} | {v['user_id']} | {_plain(v['sum_amount'])} |" for v in value]
        return [*lines, ""]
    if isinstance(value, list) and value and all(isinstance(v, Mapping) and "events" in v for v in value):
        lines = ["| window | events |", "|---|---|"]
        lines += [f"| starts {v['window_start']} | {', '.join(_plain(e) for e in v['events'])} |" for v in value]
        return [*lines, ""]
    if isinstance(value, list) and not value:
        return ["**Answer:** none (an empty list).", ""]
    return [f"**Answer:** `{value_text(value)}`{_unit(part)}{_tolerance(part)}", ""]


def _tolerance(part: Part) -> str:
    """How close a number must be, as students are told (PrairieLearn states tolerance with the answer)."""
    tolerance = part.compare.get("tolerance") or {}
    if part.compare_kind != "number":
        return ""
    if tolerance.get("relative"):
        return f" (answers within ±{_num(float(tolerance['relative']) * 100)}% are accepted)"
    if tolerance.get("absolute"):
        return f" (answers within ±{_num(float(tolerance['absolute']))} are accepted)"
    return ""


def _exercise_heading(ex: Exercise) -> str:
    digits = ex.id[2:] if ex.id.startswith("ex") else ""
    return f"Exercise {int(digits)}" if digits.isdigit() else ex.id


def _points(value: float) -> str:
    return f"{_num(value)} point{'' if value == 1 else 's'}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def render(fmt: str, exercise_set: ExerciseSet, solutions: Solutions, exercises: Sequence[Exercise],
           diagrams: Mapping[str, str] | None = None) -> str:
    """Render in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return render_json(exercise_set, solutions, exercises)
    if fmt == "markdown":
        return render_markdown(exercise_set, solutions, exercises, diagrams)
    if fmt == "text":
        return render_text(exercise_set, solutions, exercises)
    raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")

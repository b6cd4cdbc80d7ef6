"""Answers the exercise data declares rather than the engine computes.

A text part's model answer, the accepted late-data policies, the three delivery
guarantees, the sink's primary key: read off the exercise and its context.
"""

from __future__ import annotations

from grader.frozen import thaw
from grader.solutions.job import Answer, Job
from reference.config import LatePolicy
from reference.delivery import Guarantee


def solve_model_answer(job: Job) -> Answer:
    compare = job.part.compare
    concepts = [c["id"] for c in compare["concepts"]]
    line = (
        f"Model answer written by the instructor; answers are graded with the concept rubric: at least "
        f"{compare['min_concepts']} of {len(concepts)} concepts ({', '.join(concepts)}), fewer -> needs review."
    )
    return Answer(thaw(job.part.model_answer), (line,))


def solve_delivery_semantics(job: Job) -> Answer:
    lines = [f"{g.value}: {g.describe()} (SEMANTICS.md, Sinks and delivery)." for g in Guarantee]
    return Answer([g.value for g in Guarantee], tuple(lines))


def solve_late_policy_options(job: Job) -> Answer:
    mapping = job.args["engine_policies"]
    missing = [p.value for p in LatePolicy if p.value not in mapping]
    if missing:
        raise ValueError(f"the engine implements late policies the exercise does not map: {', '.join(missing)}")
    options: list[str] = []
    for policy in LatePolicy:
        if mapping[policy.value] not in options:
            options.append(mapping[policy.value])
    for extra in job.args["other_options"]:
        if extra not in options:
            options.append(extra)
    grouped = "; ".join(f"{p.value} -> {mapping[p.value]}" for p in LatePolicy)
    pick = job.part.compare.get("pick")
    lines = [
        f"Late policies the engine implements (reference.config.LatePolicy): {grouped}.",
        f"Options outside the streaming job: {', '.join(job.args['other_options']) or 'none'}.",
        f"Accepted: {', '.join(options)}" + (f"; any {pick} distinct ones answer the question." if pick else "."),
    ]
    return Answer(options, tuple(lines))


def solve_sink_key_columns(job: Job) -> Answer:
    sink = job.context.sink
    line = (
        f"{sink.table} has PRIMARY KEY ({', '.join(sink.primary_key)}) in the data context: one row per "
        f"({', '.join(sink.primary_key)}), so a repeated write for the same key updates that row."
    )
    return Answer(list(sink.primary_key), (line,))

"""Each query of the vocabulary (:mod:`grader.exercises.vocabulary`) and the function that computes it.

A test checks that the two name the same queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from grader.solutions.capacity import solve_events_per_window, solve_state_bytes, solve_windows_per_key
from grader.solutions.declared import (
    solve_delivery_semantics,
    solve_late_policy_options,
    solve_model_answer,
    solve_sink_key_columns,
)
from grader.solutions.firing import solve_close_watermark, solve_min_latency
from grader.solutions.job import Answer, Job
from grader.solutions.replay import solve_idempotent_sink_needed_for, solve_replay_duplicates
from grader.solutions.rows import (
    solve_final_row,
    solve_final_rows,
    solve_final_sum,
    solve_window_events,
    solve_writes_on_arrival,
)

#: Each query of the vocabulary and the function that computes it.
SOLVERS: Mapping[str, Callable[[Job], Answer]] = {
    "model_answer": solve_model_answer,
    "close_watermark": solve_close_watermark,
    "delivery_semantics": solve_delivery_semantics,
    "idempotent_sink_needed_for": solve_idempotent_sink_needed_for,
    "window_events": solve_window_events,
    "late_policy_options": solve_late_policy_options,
    "final_rows": solve_final_rows,
    "final_sum": solve_final_sum,
    "final_row": solve_final_row,
    "writes_on_arrival": solve_writes_on_arrival,
    "events_per_window": solve_events_per_window,
    "min_latency": solve_min_latency,
    "windows_per_key": solve_windows_per_key,
    "state_bytes": solve_state_bytes,
    "sink_key_columns": solve_sink_key_columns,
    "replay_duplicates": solve_replay_duplicates,
}

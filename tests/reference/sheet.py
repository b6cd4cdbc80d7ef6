"""The sheet's events, built from the exercise data file (never retyped in tests)."""

from __future__ import annotations

from pathlib import Path

import yaml

from reference.events import Event, event_from_mapping

CONTEXT = Path(__file__).resolve().parents[2] / "exercises" / "week10" / "context.yaml"


def sheet_events() -> list[Event]:
    data = yaml.safe_load(CONTEXT.read_text(encoding="utf-8"))
    return [event_from_mapping(r, f"event {i}") for i, r in enumerate(data["events"])]

"""The ``streamgrade`` subcommands, one module per area.

Each module defines click commands and a ``register(group)`` that adds them to the
top-level group; :mod:`grader.cli` calls every ``register`` in :data:`MODULES` order.
Keeping areas apart keeps each command module small and lets them change independently.
"""

from __future__ import annotations

import importlib

import click

MODULES = ("exercises", "grading", "service", "variants")


def register_all(group: click.Group) -> None:
    """Add every area's commands to ``group``."""
    for name in MODULES:
        module = importlib.import_module(f"grader.commands.{name}")
        module.register(group)

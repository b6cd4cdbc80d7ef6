"""Frozen exercise data: read-only deep copies, and plain JSON-ready data again.

Loaded exercise sets are frozen so that nothing a grading does can change them
(mappings become ``MappingProxyType`` views, lists become tuples); :func:`thaw` gives
back plain data for jsonschema or ``json.dumps``."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


def freeze(value: Any) -> Any:
    """A read-only deep copy: dicts become ``MappingProxyType``, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain JSON-ready data again (``dict`` and ``list``) from a frozen value."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value

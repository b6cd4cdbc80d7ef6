"""Natural order for ids and paths: ``ex2`` before ``ex10``, ``rows[2]`` before ``rows[10]``."""

from __future__ import annotations

import re
from typing import Any


def natural_key(text: str) -> list[Any]:
    """A sort key that compares runs of ASCII digits as numbers.

    ASCII only: ``int()`` refuses some Unicode "digits" (such as ``²``) that ``str.isdigit`` accepts.
    """
    return [(0, int(chunk), "") if chunk.isascii() and chunk.isdigit() else (1, 0, chunk)
            for chunk in re.split(r"([0-9]+)", text) if chunk]

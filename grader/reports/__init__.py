"""Renderings of grading results, at the edge: results are data, these make text of them.

- :mod:`grader.reports.text`: a terminal report (colour only when asked);
- JSON: the result format of SUBMISSION_FORMAT.md (:func:`render_json`);
- :mod:`grader.reports.gradescope`: Gradescope's ``results.json``;
- :mod:`grader.reports.junit`: JUnit XML for CI;
- :mod:`grader.reports.gradebook`: a gradebook CSV over many results.

:func:`render` picks one of the single-result formats by name.
"""

from __future__ import annotations

import json

from grader.reports.gradebook import render_gradebook
from grader.reports.gradescope import gradescope_results, render_gradescope
from grader.reports.junit import render_junit
from grader.reports.text import json_default, render_text
from grader.results import GradeResult

FORMATS = ("text", "json", "gradescope", "junit")


def render_json(result: GradeResult) -> str:
    """The result format (``GradeResult.to_dict``) as indented JSON; Decimals as exact JSON numbers."""
    text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=json_default)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate from somewhere: escape rather than fail at write time
        text = json.dumps(result.to_dict(), indent=2, ensure_ascii=True, default=json_default)
    return text + "\n"


def render(result: GradeResult, fmt: str = "text", *, color: bool = False) -> str:
    """``result`` rendered as ``fmt`` (one of :data:`FORMATS`); ``color`` applies to text only.

    An unknown format is a ``ValueError`` naming the known ones (the CLI offers only those).
    """
    if fmt == "text":
        return render_text(result, color=color)
    if fmt == "json":
        return render_json(result)
    if fmt == "gradescope":
        return render_gradescope(result)
    if fmt == "junit":
        return render_junit(result)
    raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "gradescope_results",
    "render",
    "render_gradebook",
    "render_gradescope",
    "render_json",
    "render_junit",
    "render_text",
]

"""The score histogram as a picture: SVG for a web page, PNG for a file, drawn by matplotlib.

A histogram here is the count of students per equal share of an assignment's (or an
exercise's) points, full marks in the last bin, as :func:`grader.batch.summary.histogram_bins`
counts them.  The bins are labelled in percent, so a 30-point exercise and a 100-point
sheet read the same way; the axis says how many points 100 % is.  Each non-empty bar
carries its count, so nobody has to read heights off the grid.

Why matplotlib: a well-kept plotting library draws real text, anti-aliased bars and
valid files, where the hand-written PNG encoder this replaces drew a 3x5 pixel font.

How it is used, and why it matters:

- Only the object-oriented API (:class:`matplotlib.figure.Figure` with the Agg canvas)
  is used, never ``pyplot``: pyplot keeps global figures and picks a GUI backend, which
  is wrong in the Flask service's threads and on a machine without a display.  Each call
  builds, draws and drops its own figure, so calls in parallel threads share nothing.
- matplotlib is imported on the first drawing, not at import of this module: it costs
  a few hundred milliseconds, and most commands never draw.
- The SVG is deterministic (same counts, same bytes): element ids are salted with a
  fixed string instead of a random one, the date is left out of the metadata, and text
  stays text (``svg.fonttype: none``), which also keeps the file small and lets a page
  and a test read the labels.  Those two settings are read from ``matplotlib.rcParams``
  at save time; they are set once, under a lock, on the first drawing, and never
  changed again (a per-call ``rc_context`` would race between threads).
- The SVG text starts at ``<svg`` (no XML prolog, no DOCTYPE), so a page can embed it as is.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Pixels per inch of the PNG; ``width`` and ``height`` are in pixels at this density.
DPI = 100
#: The bars' colour (and the bars only: the counts on them say the same in words).
BAR_COLOR = "#4678be"
#: Fixed salt for the SVG's element ids, so one histogram always gives the same bytes.
SVG_SALT = "streamgrade-histogram"

_setup_lock = threading.Lock()
_ready = False


def _matplotlib() -> None:
    """Import matplotlib and make its SVG output deterministic, once per process."""
    global _ready
    if _ready:
        return
    with _setup_lock:
        if _ready:
            return
        import matplotlib

        matplotlib.rcParams["svg.hashsalt"] = SVG_SALT
        matplotlib.rcParams["svg.fonttype"] = "none"
        _ready = True


def bin_edges(bins: int) -> list[float]:
    """The edges of ``bins`` equal bins of 0-100 %: ``[0, 10, ..., 100]`` for 10."""
    return [100 * i / bins for i in range(bins + 1)]


def percent_label(value: float) -> str:
    """``10``, ``33.3``: a bin edge in percent, to one decimal, without a trailing ``.0``."""
    return f"{round(value, 1):g}"


def axis_label(max_score: float | None) -> str:
    """The x axis's words: what 100 % is (``Score, % of 30 points``)."""
    if not max_score or not math.isfinite(max_score):
        return "Score, % of the points"
    return f"Score, % of {max_score:g} point{'s' if max_score != 1 else ''}"


def _figure(counts: Sequence[int], *, title: str, max_score: float | None, width: int, height: int) -> Figure:
    """The histogram's figure, ``width`` x ``height`` pixels at :data:`DPI`, not yet saved."""
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # attaches itself: no pyplot, no GUI backend
    axes = figure.add_subplot()
    bins = len(counts)
    edges = bin_edges(bins) if bins else [0.0, 100.0]
    if bins:
        bars = axes.bar(edges[:-1], list(counts), width=100 / bins, align="edge", color=BAR_COLOR,
                        edgecolor="white", linewidth=1)
        # Zero-height bars get no label: an empty string is not drawn at all.  The ids let a
        # page (or a test) find the count of bin i as the SVG group ``bar-count-i``.
        labels = axes.bar_label(bars, labels=[str(c) if c else "" for c in counts], padding=2)
        for i, (bar, label) in enumerate(zip(bars, labels, strict=True)):
            bar.set_gid(f"bar-{i}")
            label.set_gid(f"bar-count-{i}")
    peak = max(counts, default=0)
    axes.set_xlim(0, 100)
    axes.set_ylim(0, max(1, peak) * 1.15)  # room for the count above the tallest bar
    axes.set_xticks(edges, [percent_label(e) for e in edges])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(axis_label(max_score))
    axes.set_ylabel("Students")
    axes.set_title(title)
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def histogram_png(counts: Sequence[int], *, title: str = "Total scores", max_score: float | None = 100,
                  width: int = 640, height: int = 360) -> bytes:
    """The histogram of ``counts`` (students per equal share of ``max_score`` points) as PNG bytes.

    The image is exactly ``width`` x ``height`` pixels; bins are labelled in percent.
    """
    figure = _figure(counts, title=title, max_score=max_score, width=width, height=height)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def histogram_svg(counts: Sequence[int], *, max_score: float | None = 100, title: str = "Total scores",
                  width: int = 640, height: int = 360) -> str:
    """The histogram of ``counts`` as one self-contained ``<svg>`` element, ready to embed in a page.

    ``max_score`` is the points 100 % stands for (the axis names it); the bins are in percent.
    The same arguments always give the same text.
    """
    figure = _figure(counts, title=title, max_score=max_score, width=width, height=height)
    out = io.StringIO()
    metadata: dict[str, Any] = {"Date": None, "Title": title}
    figure.savefig(out, format="svg", metadata=metadata)
    text = out.getvalue()
    return text[text.index("<svg"):]


__all__ = ["axis_label", "bin_edges", "histogram_png", "histogram_svg", "percent_label"]

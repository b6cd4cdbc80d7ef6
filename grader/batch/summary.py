"""What a batch tells an instructor: per-exercise means and distributions, common mistakes, a histogram.

The statistics are over the results the gradebook keeps (one per student under the
policy), so a student who uploaded ten times counts once.  :func:`summarize` computes
them as data (:class:`BatchSummary`), :func:`render_summary` makes text of them and
:func:`write_histogram` draws the histogram of total scores as a PNG (written here with
``zlib`` and ``struct``, no imaging library) or as SVG, chosen by the file's suffix.
"""

from __future__ import annotations

import statistics
import struct
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.reports.gradebook import Policy, select_results
from grader.reports.text import clean
from grader.results import GradeResult, Status, round_score

#: Number of bins of the total-score histogram (10 % of the maximum each; the last includes full marks).
BINS = 10
#: How many diagnoses and finding codes the summary lists.
TOP = 8


@dataclass(frozen=True)
class ExerciseStats:
    """One exercise over the class: mean score and how the statuses and scores are spread."""

    id: str
    max_score: float
    mean: float
    median: float
    statuses: dict[str, int]
    #: Students per quarter of the exercise's points: [0, 25 %), [25, 50 %), [50, 75 %), [75, 100 %].
    quarters: tuple[int, int, int, int]


@dataclass(frozen=True)
class BatchSummary:
    """The class at a glance.  Counts of diagnoses and findings are students (results), not occurrences."""

    students: int
    submissions: int
    unreadable: int
    failed: int
    skipped_known: int
    mean: float | None
    median: float | None
    minimum: float | None
    maximum: float | None
    max_score: float
    histogram: tuple[int, ...]
    exercises: tuple[ExerciseStats, ...]
    diagnoses: tuple[tuple[str, int, tuple[str, ...]], ...]
    findings: tuple[tuple[str, int], ...]
    failures: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    #: (code, students) of the schema problems in the students' submissions, most common first.
    problems: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "students": self.students, "submissions": self.submissions, "unreadable": self.unreadable,
            "failed": self.failed, "skipped_known": self.skipped_known,
            "total": {"mean": _num(self.mean), "median": _num(self.median), "min": _num(self.minimum),
                      "max": _num(self.maximum), "max_score": _num(self.max_score)},
            "histogram": list(self.histogram),
            "exercises": [{"id": e.id, "max_score": _num(e.max_score), "mean": _num(e.mean),
                           "median": _num(e.median), "statuses": e.statuses, "quarters": list(e.quarters)}
                          for e in self.exercises],
            "diagnoses": [{"code": c, "students": n, "exercises": list(ex)} for c, n, ex in self.diagnoses],
            "findings": [{"code": c, "students": n} for c, n in self.findings],
            "problems": [{"code": c, "students": n} for c, n in self.problems],
            "failures": list(self.failures),
            "notes": list(self.notes),
        }


def _num(value: float | None) -> float | None:
    return None if value is None else round_score(value)


def histogram_bins(scores: Iterable[float], max_score: float, bins: int = BINS) -> tuple[int, ...]:
    """Counts of ``scores`` in ``bins`` equal ranges of ``[0, max_score]``; full marks fall in the last bin."""
    counts = [0] * bins
    for score in scores:
        fraction = score / max_score if max_score else 0.0
        counts[min(bins - 1, max(0, int(fraction * bins + 1e-9)))] += 1
    return tuple(counts)


def summarize(results: Sequence[GradeResult], *, policy: Policy | str = Policy.LATEST, submissions: int | None = None,
              failed: Sequence[str] = (), skipped_known: int = 0, notes: Sequence[str] = ()) -> BatchSummary:
    """The summary of a batch's ``results`` (every submission; one per student is kept under ``policy``).

    ``failed`` lists the submissions the grader could not grade (their messages).
    """
    chosen = select_results(results, policy)
    totals = [r.score for r in chosen]
    max_score = max((r.max_score for r in chosen), default=0)
    per_exercise: dict[str, list[Any]] = {}
    diagnosis_students: Counter[str] = Counter()
    diagnosis_exercises: dict[str, set[str]] = {}
    finding_students: Counter[str] = Counter()
    problem_students: Counter[str] = Counter()
    for result in chosen:
        problem_students.update({p.code for p in result.problems})
        codes: set[str] = set()
        findings: set[str] = set()
        for exercise in result.exercises:
            per_exercise.setdefault(exercise.id, []).append(exercise)
            for code in exercise.diagnosis:
                codes.add(code)
                diagnosis_exercises.setdefault(code, set()).add(exercise.id)
            findings.update(f.code for p in exercise.parts for f in p.findings)
        diagnosis_students.update(codes)
        finding_students.update(findings)
    stats = []
    for exercise_id in sorted(per_exercise, key=_natural):
        items = per_exercise[exercise_id]
        scores = [e.score for e in items]
        top = max(e.max_score for e in items)
        statuses = Counter(e.status.value for e in items)
        quarters = [0, 0, 0, 0]
        for s in scores:
            quarters[min(3, int(4 * s / top + 1e-9)) if top else 0] += 1
        stats.append(ExerciseStats(exercise_id, top, statistics.fmean(scores), statistics.median(scores),
                                   {s.value: statuses[s.value] for s in Status if statuses[s.value]},
                                   (quarters[0], quarters[1], quarters[2], quarters[3])))
    diagnoses = tuple((code, n, tuple(sorted(diagnosis_exercises[code], key=_natural)))
                      for code, n in sorted(diagnosis_students.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP])
    findings = tuple(sorted(finding_students.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP])
    problems = tuple(sorted(problem_students.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP])
    return BatchSummary(
        students=len(chosen),
        submissions=len(results) + len(failed) if submissions is None else submissions,
        unreadable=sum(1 for r in results if not r.readable),
        failed=len(failed),
        skipped_known=skipped_known,
        mean=statistics.fmean(totals) if totals else None,
        median=statistics.median(totals) if totals else None,
        minimum=min(totals, default=None),
        maximum=max(totals, default=None),
        max_score=max_score,
        histogram=histogram_bins(totals, max_score),
        exercises=tuple(stats),
        diagnoses=diagnoses,
        findings=findings,
        problems=problems,
        failures=tuple(failed),
        notes=tuple(notes),
    )


def _natural(text: str) -> list[Any]:
    import re

    return [(0, int(c), "") if c.isdigit() else (1, 0, c) for c in re.split(r"(\d+)", text) if c]


def bin_labels(max_score: float, bins: int = BINS) -> list[str]:
    """``0-10``, ``10-20``, ..., ``90-100`` for a maximum of 100 (the last bin includes the maximum)."""
    step = max_score / bins if max_score else 0
    return [f"{round_score(i * step)}-{round_score((i + 1) * step)}" for i in range(bins)]


def render_summary(summary: BatchSummary, *, histogram_path: str | None = None, gradebook: str | None = None,
                   bar_width: int = 30) -> str:
    """The summary as text for a terminal (plain: no colour, every code escaped)."""
    lines = []
    head = (f"Graded {summary.submissions} submission{'s' if summary.submissions != 1 else ''} "
            f"({summary.unreadable} unreadable, {summary.failed} failed"
            f"{f', {summary.skipped_known} already graded and skipped' if summary.skipped_known else ''}): "
            f"{summary.students} student{'s' if summary.students != 1 else ''}")
    lines.append(head + (f" in {clean(gradebook)}" if gradebook else ""))
    if summary.mean is not None:
        lines.append(f"Total: mean {round_score(summary.mean)}/{round_score(summary.max_score)}, "
                     f"median {round_score(summary.median or 0)}, min {round_score(summary.minimum or 0)}, "
                     f"max {round_score(summary.maximum or 0)}")
        lines.append("")
        title = "Total scores" + (f" (histogram: {clean(histogram_path)})" if histogram_path else "")
        lines.append(title)
        labels = bin_labels(summary.max_score)
        width = max(len(label) for label in labels)
        peak = max(summary.histogram) or 1
        for label, count in zip(labels, summary.histogram, strict=True):
            bar = "#" * (bar_width * count // peak) if count else ""
            lines.append(f"  {label:>{width}}  {bar:<{bar_width}} {count}")
    if summary.exercises:
        lines.append("")
        lines.append("Per exercise (mean; students per quarter of the points; statuses)")
        id_width = max(len(clean(e.id)) for e in summary.exercises)
        for e in summary.exercises:
            share = f"{100 * e.mean / e.max_score:.0f}%" if e.max_score else "-"
            mean = f"{round_score(e.mean)}/{round_score(e.max_score)}"
            quarters = "/".join(str(q) for q in e.quarters)
            statuses = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in e.statuses.items())
            lines.append(f"  {clean(e.id):<{id_width}}  {mean:>9} {share:>5}  [{quarters}]  {statuses}")
    if summary.diagnoses:
        lines.append("")
        lines.append("Most common diagnoses (students)")
        width = max(len(clean(c)) for c, _, _ in summary.diagnoses)
        for code, count, exercises in summary.diagnoses:
            lines.append(f"  {clean(code):<{width}}  {count:>5}  ({clean(', '.join(exercises))})")
    lines += _counted("Most common findings (students)", summary.findings)
    lines += _counted("Most common problems with the submissions' shape (students)", summary.problems)
    if summary.failures:
        lines.append("")
        lines.append("Not graded (an error in the grader; run the batch again to retry them)")
        lines.extend(f"  {clean(item)}" for item in summary.failures)
    if summary.notes:
        lines.append("")
        lines.append("Skipped")
        lines.extend(f"  {clean(item)}" for item in summary.notes)
    return "\n".join(lines) + "\n"


def _counted(title: str, counts: Sequence[tuple[str, int]]) -> list[str]:
    """A titled table of codes and how many students each concerns (nothing when empty)."""
    if not counts:
        return []
    width = max(len(clean(code)) for code, _ in counts)
    return ["", title, *(f"  {clean(code):<{width}}  {count:>5}" for code, count in counts)]


# -- the histogram image ------------------------------------------------------------------------------

# A 3x5 pixel font for the axis labels: digits, '-' and '%'.
_GLYPHS = {
    "0": ("111", "101", "101", "101", "111"), "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"), "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"), "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"), "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"), "9": ("111", "101", "111", "001", "111"),
    "-": ("000", "000", "111", "000", "000"), ".": ("000", "000", "000", "000", "010"),
    "%": ("101", "001", "010", "100", "101"), " ": ("000", "000", "000", "000", "000"),
}
_WHITE = (255, 255, 255)
_INK = (40, 40, 40)
_BAR = (70, 120, 190)
_GRID = (225, 225, 225)


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(_WHITE) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int]) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        if x0 >= x1:
            return
        row = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = 3 * (y * self.width + x0)
            self.pixels[start:start + len(row)] = row

    def text(self, x: int, y: int, text: str, scale: int = 2, color: tuple[int, int, int] = _INK) -> None:
        for i, char in enumerate(text):
            glyph = _GLYPHS.get(char, _GLYPHS[" "])
            for gy, bits in enumerate(glyph):
                for gx, bit in enumerate(bits):
                    if bit == "1":
                        px, py = x + (4 * i + gx) * scale, y + gy * scale
                        self.rect(px, py, px + scale, py + scale, color)

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.pixels[3 * y * self.width: 3 * (y + 1) * self.width])
                       for y in range(self.height))
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + \
            _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _text_width(text: str, scale: int) -> int:
    return (4 * len(text) - 1) * scale


def histogram_png(counts: Sequence[int], *, width: int = 640, height: int = 360) -> bytes:
    """A bar chart of ``counts`` as PNG bytes: bins labelled 0-10 ... 90-100 (% of the maximum), counts on top."""
    canvas = _Canvas(width, height)
    left, right, top, bottom = 48, 16, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts, default=0) or 1
    for k in range(5):  # horizontal grid lines at quarters of the peak, labelled
        y = top + plot_h - plot_h * k // 4
        canvas.rect(left, y, left + plot_w, y + 1, _GRID)
        label = str(round(peak * k / 4))
        canvas.text(left - 6 - _text_width(label, 2), y - 5, label)
    n = max(len(counts), 1)
    slot = plot_w / n
    for i, count in enumerate(counts):
        x0 = left + round(i * slot) + 3
        x1 = left + round((i + 1) * slot) - 3
        y0 = top + plot_h - round(plot_h * count / peak)
        canvas.rect(x0, y0, x1, top + plot_h, _BAR)
        label = f"{100 * i // n}-{100 * (i + 1) // n}"
        canvas.text((x0 + x1 - _text_width(label, 2)) // 2, top + plot_h + 8, label)
        if count:
            c = str(count)
            canvas.text((x0 + x1 - _text_width(c, 2)) // 2, max(0, y0 - 13), c)
    canvas.rect(left, top, left + 1, top + plot_h + 1, _INK)  # axes
    canvas.rect(left, top + plot_h, left + plot_w, top + plot_h + 1, _INK)
    canvas.text(left + plot_w - _text_width("%", 2), height - 12, "%")
    return canvas.png()


def histogram_svg(counts: Sequence[int], *, max_score: float = 100, title: str = "Total scores",
                  width: int = 640, height: int = 360) -> str:
    """The same bar chart as SVG text, with the bins labelled in points."""
    from xml.sax.saxutils import escape

    left, right, top, bottom = 48, 16, 32, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts, default=0) or 1
    n = max(len(counts), 1)
    slot = plot_w / n
    labels = bin_labels(max_score, len(counts)) if counts else []
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">{escape(title)}</text>']
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e1e1e1"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{round(peak * k / 4)}</text>')
    for i, count in enumerate(counts):
        x = left + i * slot + 3
        h = plot_h * count / peak
        out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot - 6:.1f}" height="{h:.1f}" '
                   f'fill="#4678be"><title>{escape(labels[i])}: {count}</title></rect>')
        cx = left + (i + 0.5) * slot
        out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{escape(labels[i])}</text>')
        if count:
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h - h - 4:.1f}" text-anchor="middle">{count}</text>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#282828"/>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#282828"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_histogram(summary: BatchSummary, path: str | Path) -> Path:
    """Draw the total-score histogram to ``path``: SVG for a ``.svg`` name, PNG otherwise."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() == ".svg":
        target.write_text(histogram_svg(summary.histogram, max_score=summary.max_score or 100), encoding="utf-8")
    else:
        target.write_bytes(histogram_png(summary.histogram))
    return target

"""``grader.reports.histogram``: the score histogram drawn by matplotlib, as PNG bytes and SVG text.

The pictures are checked from the outside: the PNG is opened by Pillow (matplotlib's own
dependency) and measured, the SVG is parsed as XML and its words read back.  No test
asserts on time.
"""

from __future__ import annotations

import io
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from grader.reports.histogram import BAR_COLOR, histogram_png, histogram_svg

SVG = "{http://www.w3.org/2000/svg}"
COUNTS = [1, 0, 3, 7, 2, 0, 0, 5, 9, 4]


def _texts(svg: str) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(f"{SVG}text") if t.text]


def _group_texts(svg: str, prefix: str) -> dict[str, str]:
    """The text inside each ``<g id="prefix...">``, by id."""
    return {g.get("id"): "".join(t.text or "" for t in g.iter(f"{SVG}text"))
            for g in ET.fromstring(svg).iter(f"{SVG}g") if (g.get("id") or "").startswith(prefix)}


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


# -- PNG -----------------------------------------------------------------------------------------------


def test_png_is_a_real_image_of_the_asked_size_with_bars_drawn():
    image = Image.open(io.BytesIO(histogram_png(COUNTS, width=320, height=200)))
    assert image.format == "PNG" and image.size == (320, 200)
    colours = {c[:3] for _, c in image.convert("RGBA").getcolors(maxcolors=1 << 20)}
    assert _rgb(BAR_COLOR) in colours


def test_png_default_size_is_640_by_360():
    assert Image.open(io.BytesIO(histogram_png(COUNTS))).size == (640, 360)


def test_png_of_no_scores_is_still_an_image_without_bars():
    image = Image.open(io.BytesIO(histogram_png([0] * 10, title="nobody yet")))
    assert image.size == (640, 360)
    colours = {c[:3] for _, c in image.convert("RGBA").getcolors(maxcolors=1 << 20)}
    assert _rgb(BAR_COLOR) not in colours


# -- SVG -----------------------------------------------------------------------------------------------


def test_svg_is_one_embeddable_svg_element():
    svg = histogram_svg(COUNTS)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert ET.fromstring(svg).tag == f"{SVG}svg"


def test_svg_has_title_axis_labels_and_escapes_the_title():
    svg = histogram_svg([1, 2, 0], max_score=30, title="<class & co>")
    texts = _texts(svg)
    assert "<class & co>" in texts
    assert "Score, % of 30 points" in texts and "Students" in texts


def test_svg_bins_are_labelled_in_percent_of_the_points():
    ticks = _group_texts(histogram_svg([1, 2, 0], max_score=30), "xtick_")
    assert sorted(ticks.values(), key=float) == ["0", "33.3", "66.7", "100"]
    ticks = _group_texts(histogram_svg(COUNTS, max_score=12), "xtick_")
    assert sorted(ticks.values(), key=float) == [str(10 * i) for i in range(11)]


def test_svg_has_one_count_label_per_non_empty_bar():
    counts = _group_texts(histogram_svg(COUNTS), "bar-count-")
    assert counts == {f"bar-count-{i}": str(c) for i, c in enumerate(COUNTS) if c}
    assert len(_group_texts(histogram_svg(COUNTS), "bar-")) == len(COUNTS) + len(counts)


def test_svg_is_the_same_text_every_time_and_has_no_date():
    first = histogram_svg(COUNTS, max_score=40, title="ex3")
    assert histogram_svg(COUNTS, max_score=40, title="ex3") == first
    assert "<dc:date>" not in first


def test_drawing_in_threads_gives_the_same_pictures_as_one_at_a_time():
    """The Flask service draws from several threads: figures share no state."""
    jobs = [([i, 2 * i, 0, 5], f"t{i}") for i in range(6)]
    alone = [histogram_svg(c, title=t) for c, t in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda job: histogram_svg(job[0], title=job[1]), jobs))
        pngs = list(pool.map(lambda job: histogram_png(job[0], title=job[1], width=200, height=120), jobs))
    assert together == alone
    assert all(Image.open(io.BytesIO(p)).size == (200, 120) for p in pngs)


def test_matplotlib_is_imported_on_the_first_drawing_and_pyplot_never():
    code = ("import sys\n"
            "import grader.batch.summary, grader.reports.histogram as h\n"
            "assert 'matplotlib' not in sys.modules, 'imported at import time'\n"
            "h.histogram_png([1, 2]); h.histogram_svg([1, 2])\n"
            "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

"""What one Python submission may cost the grader, measured from the outside.

``streamgrade grade FILE --format json`` runs in its own process, which reports its own
peak resident memory when it ends (``VmHWM`` of its own address space: ``ru_maxrss`` would
carry over the parent's peak, since Linux keeps the forked copy's high-water mark across
``exec``, and a pytest process that has grown makes every child look as large; the
sandboxed children are separate processes with limits of their own).  Each submission
returns, or forges, something enormous; the result document stays under 256 KiB and the
grader under 300 MB, with a clear message.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.results import MAX_RESULT_BYTES
from tests.paths import ROOT

pytestmark = pytest.mark.slow

MAX_GRADER_RSS_MB = 300

#: The CLI, then the process's own peak RSS (KiB, VmHWM) on stderr's last line.
_RUN = """
import sys
from grader.cli import main
status = main(sys.argv[1:])
hwm = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
sys.stderr.write(f"\\nMAXRSS_KIB {hwm}\\n")
sys.exit(status or 0)
"""


def _grade(tmp_path: Path, source: str) -> tuple[dict, float, str]:
    """(result document, grader peak RSS in MB, stderr) of grading ``source`` with the CLI."""
    path = tmp_path / "attack.py"
    path.write_text(textwrap.dedent(source).lstrip())
    done = subprocess.run([sys.executable, "-c", _RUN, "grade", str(path), "--format", "json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    rss_kib = int(done.stderr.rsplit("MAXRSS_KIB", 1)[1].split()[0])
    assert len(done.stdout.encode()) <= MAX_RESULT_BYTES + 1024, len(done.stdout)
    return json.loads(done.stdout), rss_kib / 1024, done.stderr


def _feedback(doc: dict) -> str:
    return " ".join(f for ex in doc["exercises"] for p in ex["parts"] for f in p["feedback"])


@pytest.fixture(autouse=True)
def _needs_sandbox(sandbox):
    """Skip (with the reason) where the sandbox cannot run."""


def test_a_40_mb_string_returned_once_makes_a_small_result(tmp_path):
    doc, rss, _ = _grade(tmp_path, """
        def assign_window(t, size=5):
            return "x" * 40_000_000
    """)
    assert doc["score"] == 0
    assert "too large to check" in _feedback(doc)
    assert rss < MAX_GRADER_RSS_MB, rss


def test_values_just_under_the_per_value_limit_in_every_call_make_a_small_result(tmp_path):
    # Each value passes the harness's per-value limit; together they would be gigabytes.
    doc, rss, _ = _grade(tmp_path, """
        def assign_window(t, size=5):
            return "y" * 250_000
        def window_aggregate(events, size=5, delay=0, lateness=0):
            return [{"window_start": e["event_time"], "user_id": "u" * 20_000, "sum_amount": e["amount"]}
                    for e in events[:12]]
    """)
    assert doc["score"] == 0
    assert rss < MAX_GRADER_RSS_MB, rss
    assert "more characters)" in _feedback(doc) or "..." in _feedback(doc)


@pytest.mark.parametrize("copies", [2_700_000, 20_000_000], ids=["8_MB_of_braces", "60_MB_of_braces"])
def test_a_forged_document_of_millions_of_objects_is_refused_unparsed(tmp_path, copies):
    doc, rss, _ = _grade(tmp_path, f"""
        import gc, os
        def assign_window(t, size=5):
            harness = next(o for o in gc.get_objects() if type(o).__name__ == "Harness")
            head = b'{{"protocol": 1, "import": {{"ok": true}}, "functions": {{}}, "results": {{"x": ['
            os.write(harness.result_fd, head)
            chunk = b"{{}}," * 100_000
            for _ in range({copies} // 100_000):
                os.write(harness.result_fd, chunk)
            os.write(harness.result_fd, b"{{}}]}}}}")
            os._exit(0)
    """)
    assert doc["score"] == 0
    text = _feedback(doc)
    assert "result channel" in text or "size limit" in text, text
    assert rss < MAX_GRADER_RSS_MB, rss


def test_a_signalling_nan_answer_is_graded_by_the_cli_without_a_traceback(tmp_path):
    # The grader's own == used to raise InvalidOperation on it: exit 1 and a traceback.
    doc, rss, _ = _grade(tmp_path, """
        from decimal import Decimal
        def upsert(table, row):
            table[(row["window_start"], row["user_id"])] = Decimal("sNaN")
    """)
    upsert = next(p for p in doc["exercises"][0]["parts"] if p["id"] == "upsert")
    assert upsert["status"] == "invalid" and "not a number" in " ".join(upsert["feedback"])
    assert rss < MAX_GRADER_RSS_MB

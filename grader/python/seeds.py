"""Where the seed of a grading's hidden streams comes from: derived, never drawn.

The seed is recorded on every result (``meta.seed``, with ``meta.seed_from``: ``derived``
or ``given``), and ``streamgrade grade FILE.py --seed N`` replays a grading exactly.
"""

from __future__ import annotations

import hashlib
import json

#: Names the derivation; change it (``v2``) to give every submission new seeds on purpose.
DERIVATION = "streamgrade hidden-stream seed v1"


def hidden_seed(set_fingerprint: str, exercise_fingerprint: str, student_id: str | None, source: bytes) -> int:
    """The 32-bit seed of a Python submission's hidden streams, derived from what is graded.

    The first 4 bytes (big-endian) of the SHA-256 of a JSON list holding
    :data:`DERIVATION`, the exercise set's fingerprint, the Python exercise's own
    fingerprint (its ``python.yaml`` and the sheet it reads), the student id (empty when
    unknown) and the SHA-256 of the submission's bytes.  A JSON list, so that no two
    different inputs can spell the same text.

    Why derived: a grading can be replayed (the same file, student and set always meet the
    same hidden tests, so the same score and feedback, and an instructor's regrade changes
    nothing by chance), and it is fair: resubmitting the identical file cannot fish for an
    easier suite, since the same bytes give the same seed, while any change to the file,
    to the exercise data or to the student gives a new one.
    """
    text = json.dumps([DERIVATION, set_fingerprint, exercise_fingerprint, student_id or "",
                       hashlib.sha256(source).hexdigest()])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")

"""Review that scales: answers awaiting an instructor, grouped so one decision settles many.

Like Gradescope's answer groups: the answers to one exercise of one set that are the same
once normalised (case, whitespace, punctuation and the order of nothing else ignored) are
one group, and so are near-identical ones (``rapidfuzz``'s token-set ratio at least
:data:`SIMILAR`: a typo or a word more).  One decision on a group settles each member;
a decision on an answer is remembered by its :func:`answer_key`, so a later submission
with the same answer is settled by it when it is graded (near-identical ones still wait:
a decision is never applied to an answer its maker has not seen).

Pure functions of the review items the service lists; the service stores the decisions.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

#: Token-set similarity (0-100) from which two answers are one group.
SIMILAR = 90
#: Text of an answer compared for similarity (a pasted essay is not compared whole).
MAX_COMPARED = 2_000

_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


def normalised(text: str) -> str:
    """``text`` as answers are compared: NFKC, case folded, punctuation dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _PUNCTUATION.sub(" ", folded)).strip()


def answer_text(exercise: Mapping[str, Any]) -> str:
    """The student's answer to an exercise as one text: each part's given value, in order."""
    pieces = []
    for part in exercise.get("parts") or ():
        if isinstance(part, Mapping) and part.get("given") is not None:
            given = part["given"]
            pieces.append(given if isinstance(given, str) else json.dumps(given, sort_keys=True, default=str))
    return " | ".join(pieces)


def answer_key(exercise_set: str, exercise: Mapping[str, Any]) -> str:
    """What makes two answers the same for a remembered decision: the set, the exercise, the normalised answer."""
    text = normalised(answer_text(exercise))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return f"{exercise_set}:{exercise.get('id')}:{digest}"


@dataclass(frozen=True)
class Group:
    """Answers to one exercise that one decision can settle: identical or near-identical."""

    id: str
    exercise_set: str
    exercise_id: str
    #: The first member's answer, as the instructor reads it.
    answer: str
    members: tuple[Mapping[str, Any], ...]
    #: Whether every member's answer is the same once normalised (else some are only similar).
    identical: bool

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.id, "exercise_set": self.exercise_set, "exercise_id": self.exercise_id,
                "answer": self.answer, "size": len(self.members), "identical": self.identical,
                "members": [{"submission_id": m["submission_id"], "student_id": m["student_id"],
                             "answer": m["answer"]} for m in self.members]}


def group_reviews(waiting: Sequence[Mapping[str, Any]]) -> list[Group]:
    """The review items (each with ``exercise_set``, ``exercise_id``, ``answer``, ``submission_id``)
    in groups, largest first: one decision settles a group.

    Identical answers (normalised) are grouped first; then a group joins the first earlier
    group of the same exercise whose answer is at least :data:`SIMILAR` alike."""
    by_key: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    # Oldest first: a group is named by its oldest answer, which a newer one joining leaves alone.
    for item in sorted(waiting, key=lambda i: (i["submission_id"], str(i["exercise_id"]))):
        key = (str(item["exercise_set"]), str(item["exercise_id"]), normalised(str(item.get("answer", ""))))
        by_key.setdefault(key, []).append(item)
    merged: list[tuple[tuple[str, str, str], list[Mapping[str, Any]], bool]] = []
    for key, items in by_key.items():
        for i, (other, members, _) in enumerate(merged):
            if other[:2] == key[:2] and _similar(other[2], key[2]):
                merged[i] = (other, members + items, False)
                break
        else:
            merged.append((key, list(items), True))
    groups = [Group(_group_id(key), key[0], key[1], str(items[0].get("answer", "")), tuple(items), identical)
              for key, items, identical in merged]
    return sorted(groups, key=lambda g: (-len(g.members), g.exercise_set, g.exercise_id, g.id))


def _similar(a: str, b: str) -> bool:
    if not a or not b:
        return a == b
    return fuzz.token_set_ratio(a[:MAX_COMPARED], b[:MAX_COMPARED]) >= SIMILAR


def _group_id(key: tuple[str, str, str]) -> str:
    """A group's id: stable for its first answer, so a listing and a decision agree on it."""
    return hashlib.sha256("\n".join(key).encode("utf-8")).hexdigest()[:16]


def find_group(groups: Iterable[Group], group_id: str) -> Group | None:
    return next((g for g in groups if g.id == group_id), None)


__all__ = ["SIMILAR", "Group", "answer_key", "answer_text", "find_group", "group_reviews", "normalised"]

"""Free text against a concept rubric; an answer the rubric cannot decide goes to an instructor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.compare.base import Comparator, CompareContext, Comparison
from grader.normalize import NormalizeError, is_blank
from grader.quoting import show_value
from grader.results import Finding

#: Longest text the concept rubric reads; the rest of a longer answer is ignored.
MAX_RUBRIC_TEXT = 20_000


@dataclass(frozen=True, eq=False)
class Concept:
    """One concept of a rubric: its alternatives as ``(hint, pattern)``, and its phrases (folded).

    ``hint`` is a lower-case literal every match of the pattern contains (or ``None``): a
    cheap substring test that skips the regex search for almost every alternative.
    """

    id: str
    description: str
    weight: float
    alternatives: tuple[tuple[str | None, re.Pattern[str]], ...] = ()
    phrases: tuple[str, ...] = ()

    def present(self, text: str, lowered: str | None, folded: str) -> bool:
        """``lowered`` is the text in lower case when it is ASCII (then hints apply exactly), else ``None``."""
        for hint, pattern in self.alternatives:
            if (hint is None or lowered is None or hint in lowered) and pattern.search(text):
                return True
        return any(p in folded for p in self.phrases)


@dataclass(frozen=True)
class TextsValue:
    """Free text; a ``[*]`` field gives one text per item."""

    texts: tuple[str, ...] = field(default=())


class TextComparator(Comparator):
    """Free text against the concept rubric of the exercise data.

    A concept is present when one of its keywords occurs as a whole word, one of its
    phrases occurs (case and runs of whitespace ignored) or one of its regexes matches
    (case-insensitive).  Score = weight present / total weight.  Fewer than
    ``min_concepts`` present: ``needs_review`` (the rubric cannot decide; an instructor
    will).  For a list field the rubric scores each item; the best ``n`` items count,
    ``n`` being the number of model answers.
    """

    kind = "text"

    def __init__(self, spec: Mapping[str, Any], context: CompareContext, items: int = 1) -> None:
        super().__init__(spec, context)
        self.min_concepts = int(spec["min_concepts"])
        self.items = max(1, items)
        self.concepts = tuple(
            Concept(id=c["id"], description=c["description"], weight=float(c["weight"]),
                    alternatives=_concept_alternatives(c.get("keywords", ()), c.get("regexes", ())),
                    phrases=tuple(" ".join(p.casefold().split()) for p in c.get("phrases", ())))
            for c in spec["concepts"]
        )
        self.uses_phrases = any(c.phrases for c in self.concepts)
        self.total_weight = sum(c.weight for c in self.concepts) or 1.0

    def is_blank(self, value: Any) -> bool:
        if isinstance(value, list | tuple):
            return all(is_blank(v) for v in value)
        return is_blank(value)

    def normalize(self, value: Any) -> TextsValue:
        values = value if isinstance(value, list | tuple) else [value]
        texts = []
        for i, item in enumerate(values):
            if item is None:
                texts.append("")
            elif isinstance(item, str):
                texts.append(item[:MAX_RUBRIC_TEXT])
            else:
                raise NormalizeError(f"expected text, got {show_value(item)}", (i,) if values is value else ())
        return TextsValue(tuple(texts))

    def concepts_in(self, text: str) -> list[Concept]:
        folded = " ".join(text.casefold().split()) if self.uses_phrases else ""
        lowered = text.lower() if text.isascii() else None
        return [c for c in self.concepts if c.present(text, lowered, folded)]

    def compare(self, expected: Any, given: TextsValue, *, path: str, show_expected: bool = True) -> Comparison:
        scored = []
        for i, text in enumerate(given.texts):
            where = f"{path}[{i}]" if len(given.texts) > 1 or self.items > 1 else path
            found = self.concepts_in(text) if text.strip() else []
            weight = sum(c.weight for c in found) / self.total_weight
            scored.append((weight, found, where, text))
        best = sorted(scored, key=lambda s: -s[0])[: self.items]
        findings: list[Finding] = []
        review = False
        for _weight, found, where, text in best:
            if not text.strip():
                findings.append(Finding("no_text", where, "no text given"))
                continue
            absent = [c for c in self.concepts if c not in found]
            if len(found) < self.min_concepts:
                review = True
                findings.append(Finding("needs_review", where,
                                        f"the rubric found {len(found)} of the {self.min_concepts} concepts it needs "
                                        "to decide; an instructor will review this answer"))
            if absent and show_expected:
                findings.append(Finding("missing_concept", where,
                                        "not mentioned: " + "; ".join(c.description for c in absent)))
            elif absent:  # the rubric's concepts would give the model answer away
                findings.append(Finding("missing_concept", where,
                                        f"{len(absent)} of the {len(self.concepts)} points the rubric looks for "
                                        f"{'are' if len(absent) != 1 else 'is'} not mentioned"))
        if len(given.texts) < self.items:
            findings.append(Finding("too_few_texts", path, f"{self.items} explanations are asked for, "
                                                           f"{len(given.texts)} given"))
        fraction = sum(w for w, *_ in best) / self.items
        return Comparison(min(1.0, fraction), tuple(findings), review)

    def same(self, expected: Any, given: Any) -> bool:
        return False  # free text is never recognised as a literal mistake


_META = set("\\.^$*+?{}[]|()")


_QUANTIFIERS = set("?*{")


def literal_hint(pattern: str) -> str | None:
    """A lower-case ASCII literal that every match of ``pattern`` contains, or ``None`` if unsure.

    The literal run at the start of the pattern after word-boundary assertions (``\\b``,
    ``(?<!\\w)``); a character made optional by a quantifier is left out.  Patterns with
    alternation or inline flags at top level give ``None``.
    """
    rest = pattern
    for prefix in ("(?<!\\w)", "\\b"):
        while rest.startswith(prefix):
            rest = rest[len(prefix):]
    if "|" in pattern or pattern.startswith("(?"):
        return None
    run = []
    i = 0
    while i < len(rest):
        char = rest[i]
        if char == "\\" and i + 1 < len(rest) and not rest[i + 1].isalnum():
            char, step = rest[i + 1], 2
        elif char in _META:
            break
        else:
            step = 1
        if i + step < len(rest) and rest[i + step] in _QUANTIFIERS:
            break
        run.append(char)
        i += step
    hint = "".join(run).lower()
    return hint if hint and hint.isascii() else None


def _concept_alternatives(keywords: Iterable[str], regexes: Iterable[str]) -> tuple[tuple[str | None, re.Pattern[str]],
                                                                                       ...]:
    """Each keyword (as a whole word) and regex, case-insensitive, with its literal hint."""
    out: list[tuple[str | None, re.Pattern[str]]] = []
    for keyword in keywords:
        hint = keyword.lower()
        out.append((hint if hint.isascii() else None, re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)))
    for regex in regexes:
        out.append((literal_hint(regex), re.compile(regex, re.IGNORECASE)))
    return tuple(out)

"""Free text against a concept rubric; an answer the rubric cannot decide goes to an instructor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.compare.base import Comparator, CompareContext, Comparison, plural_s
from grader.compare.rubric import Concept, Reading, Rubric
from grader.normalize import NormalizeError, is_blank
from grader.quoting import show_value
from grader.results import Finding

#: Longest text the concept rubric reads; the rest of a longer answer is ignored.
MAX_RUBRIC_TEXT = 20_000


@dataclass(frozen=True)
class TextsValue:
    """Free text; a ``[*]`` field gives one text per item."""

    texts: tuple[str, ...] = field(default=())


_REFUSED = {
    "keyword_bag": "this reads as a list of terms, not an explanation: the question asks for sentences. "
                   "0 points for now; an instructor will review this answer",
    "restates_question": "this repeats the question's own words without answering it",
    "too_long": "this answer is longer than the {limit:,} characters the question needs, so the rubric did not "
                "read it. 0 points for now; an instructor will review this answer",
}


class TextComparator(Comparator):
    """Free text against the concept rubric of the exercise data (:class:`grader.compare.rubric.Rubric`).

    A concept is stated when one of its keywords, phrases or regexes matches outside a
    negation and none of its ``contradictions`` does; typos of long words are read
    through.  Full marks at ``full_marks`` concepts (default ``min_concepts``), every
    ``required`` one among them.  An answer the rubric cannot decide (no concept found,
    or one that states enough and contradicts some of it) is ``needs_review`` with the
    rubric's score as a provisional score; a keyword bag or an over-long answer is
    ``needs_review`` at 0.  For a list field the rubric scores each item; the best ``n``
    items count, ``n`` being the number of model answers.
    """

    kind = "text"

    def __init__(self, spec: Mapping[str, Any], context: CompareContext, items: int = 1) -> None:
        super().__init__(spec, context)
        self.rubric = Rubric(spec)
        self.min_concepts = self.rubric.min_concepts
        self.items = max(1, items)
        self.concepts = self.rubric.concepts
        self._fitted_to: dict[tuple[str, ...], Rubric] = {}

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
                # Past the rubric's limit only the length matters: keep one character beyond it.
                texts.append(item[:max(MAX_RUBRIC_TEXT, self.rubric.max_chars + 1)])
            else:
                raise NormalizeError(f"expected text, got {show_value(item)}", (i,) if values is value else ())
        return TextsValue(tuple(texts))

    def concepts_in(self, text: str) -> list[Concept]:
        return list(self.rubric.read(text).stated)

    def compare(self, expected: Any, given: TextsValue, *, path: str, show_expected: bool = True) -> Comparison:
        rubric = self._fitted(expected)
        scored = []
        for i, text in enumerate(given.texts):
            where = f"{path}[{i}]" if len(given.texts) > 1 or self.items > 1 else path
            reading = rubric.read(text) if text.strip() else Reading()
            scored.append((rubric.fraction(reading), reading, where, text))
        best = sorted(scored, key=lambda s: -s[0])[: self.items]
        findings: list[Finding] = []
        review = False
        for fraction, reading, where, text in best:
            if not text.strip():
                findings.append(Finding("no_text", where, "no text given"))
                continue
            if reading.refused == "restates_question":
                findings.append(Finding(reading.refused, where, _REFUSED[reading.refused]))
                continue
            if reading.refused is not None:
                review = True
                findings.append(Finding(reading.refused, where,
                                        _REFUSED[reading.refused].format(limit=rubric.max_chars)))
                continue
            by_words: dict[str, list[Concept]] = {}
            for said in reading.contradicted:
                by_words.setdefault(said.said, []).append(said.concept)
            for words, concepts in by_words.items():
                points = "; ".join(_point(c, show_expected) for c in concepts) if show_expected else \
                    _point(concepts[0], False)
                findings.append(Finding("contradicted_concept", where,
                                        f"'{_clip(words)}' contradicts the point{plural_s(len(concepts))} {points}"))
            if not reading.stated and not reading.contradicted:
                review = True
                findings.append(Finding("needs_review", where,
                                        "the rubric recognised none of the points it looks for; provisional score "
                                        "0, an instructor will review this answer"))
            elif rubric.undecided(reading):
                review = True
                findings.append(Finding("needs_review", where,
                                        f"the answer states the points and contradicts some of them; provisional "
                                        f"score {fraction:.0%}, an instructor will review this answer"))
            if fraction < 1:
                findings.extend(self._missing(reading, where, show_expected))
            if reading.corrected and fraction > 0:
                typos = ", ".join(f"'{_clip(w)}'" for w, _ in reading.corrected[:5])
                findings.append(Finding("spelling", where, f"read through the spelling of {typos}"))
        if len(given.texts) < self.items:
            findings.append(Finding("too_few_texts", path, f"{self.items} explanations are asked for, "
                                                           f"{len(given.texts)} given"))
        fraction = sum(f for f, *_ in best) / self.items
        return Comparison(min(1.0, fraction), tuple(findings), review)

    def _fitted(self, expected: Any) -> Rubric:
        """The rubric fitted to the part's model answers (``expected``), remembered per model answer."""
        if not isinstance(expected, TextsValue):
            return self.rubric
        fitted = self._fitted_to.get(expected.texts)
        if fitted is None:
            fitted = self._fitted_to[expected.texts] = self.rubric.fitted_to(expected.texts)
        return fitted

    def _missing(self, reading: Reading, where: str, show_expected: bool) -> list[Finding]:
        touched = set(reading.stated) | {c.concept for c in reading.contradicted}
        absent = [c for c in self.concepts if c not in touched]
        required = [c for c in absent if c.required]
        if not absent:
            return []
        if show_expected:
            head = "not mentioned: " + "; ".join(c.description for c in absent)
            if required:
                head += " (needed: " + "; ".join(c.description for c in required) + ")"
            return [Finding("missing_concept", where, head)]
        # the rubric's concepts would give the model answer away
        return [Finding("missing_concept", where,
                        f"{len(absent)} of the {len(self.concepts)} points the rubric looks for "
                        f"{'are' if len(absent) != 1 else 'is'} not mentioned")]

    def same(self, expected: Any, given: Any) -> bool:
        return False  # free text is never recognised as a literal mistake


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _point(concept: Concept, show: bool) -> str:
    return f"'{concept.description}'" if show else "the rubric looks for"


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

"""Reading free text like a teacher: concepts, their contradictions, negation, typos and keyword bags.

A :class:`Rubric` is built once per text part from its ``compare`` spec; :meth:`Rubric.read`
turns one answer into a :class:`Reading` (which concepts it states, which it contradicts,
whether it is a keyword bag or too long to read) and :meth:`Rubric.fraction` scores a
reading.  No I/O, no globals but compiled constants.

The rules, each a teacher's habit:

* a concept is *stated* when one of its alternatives matches outside a negation (``not``,
  ``never``, ``no``, ``doesn't`` ... up to :data:`NEGATION_REACH` words before it, in the
  same clause);
* a concept is *contradicted* when one of its ``contradictions`` matches, not negated
  itself ("the watermark decreases" contradicts "it only moves forward", "does not
  decrease" does not); a contradicted concept earns nothing and costs one concept;
* a word of 6 or more letters is read through one typo (two from 9 letters on), towards
  the words the rubric's alternatives are made of, keeping its first letter;
* the part's own field name ("processing time") is masked, and an answer made only of
  the prompt's words (and the field's) earns nothing: naming or repeating the question is
  not answering it;
* full marks need the weight of ``full_marks`` concepts of average weight (default
  ``min_concepts``: the sheet asks for one sentence); a missing ``required`` concept caps
  the part at half, a contradicted one gives 0;
* a list of terms with no sentence around them, or an answer over ``max_chars``, is not
  read: it scores 0 and goes to an instructor.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import OSA

#: Longest answer a part expects unless it says ``max_chars``: the sheet asks for a sentence or two.
MAX_ANSWER_CHARS = 2_000

#: How many words before a match a negation still reaches (within the clause).
NEGATION_REACH = 4

#: Below this share of function words, an answer of :data:`BAG_MIN_WORDS` or more is a keyword bag.
BAG_FUNCTION_SHARE = 0.12
BAG_MIN_WORDS = 4

#: How many words' readings through typos a rubric remembers.
_SPELLINGS_KEPT = 50_000

#: The shortest word read through a typo.
FUZZY_MIN_LETTERS = 6

_NEGATIONS = frozenset(["not", "no", "never", "nor", "cannot", "without", "neither", "none", "nothing", "instead",
                        "rather", "unlike"])
_NEGATED_SUFFIX = "n't"
_CLAUSE_BREAK = re.compile(r"[.;:!?,()\n]|\b(?:but|while|whereas|because|so|and|or|since|which|"
                           r"whilst|though|although|then)\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_FUNCTION_WORDS = frozenset(re.findall(r"\S+",
    "a an the is are was were be been being it its it's this that these those of to in on at by for from "
    "with as when once until after before if than then so because which who what where how why has have "
    "had do does did can could will would should must may might we you they he she them their there here "
    "one each every all any not no never only also just still both either but and or into onto over under "
    "up out about since while more less most fewer than same per"
))
_LETTERS = re.compile(r"[a-z]{5,}")
_HYPHENATED = re.compile(r"(?<![a-z-])[a-z]+(?:-[a-z]+)+(?![a-z-])")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n")


@dataclass(frozen=True, eq=False)
class Concept:
    """One point a teacher looks for: its alternatives and contradictions as compiled patterns."""

    id: str
    description: str
    weight: float
    required: bool
    alternatives: tuple[re.Pattern[str], ...]
    contradictions: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class Contradiction:
    """A statement in the answer (``said``, as written) that contradicts a concept."""

    concept: Concept
    said: str


@dataclass(frozen=True)
class Reading:
    """What one answer states, as the rubric reads it.

    ``refused`` names why the text was not read as prose (``keyword_bag``, ``too_long``),
    else ``None``; ``corrected`` lists the typos read through, as ``(written, read as)``.
    """

    stated: tuple[Concept, ...] = ()
    contradicted: tuple[Contradiction, ...] = ()
    refused: str | None = None
    corrected: tuple[tuple[str, str], ...] = ()
    words: int = 0


class Rubric:
    """The concept rubric of one text part (its ``compare`` spec)."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.min_concepts = int(spec["min_concepts"])
        self.concepts = tuple(_concept(c) for c in spec["concepts"])
        self.full_marks = max(1, min(int(spec.get("full_marks", self.min_concepts)), len(self.concepts)))
        total = sum(c.weight for c in self.concepts) or 1.0
        self.full_weight = total * self.full_marks / len(self.concepts)
        self.max_chars = int(spec.get("max_chars", MAX_ANSWER_CHARS))
        self.prose = bool(spec.get("prose", True))
        self.explicit = {k for k in ("max_chars", "prose") if k in spec}
        own = [*spec.get("own_words", ()), *([_field_words(spec["part_field"])] if spec.get("part_field") else [])]
        self.own_words = tuple(re.compile(_phrase_pattern(w), re.IGNORECASE) for w in own if w.strip())
        self.vocabulary = _vocabulary(spec["concepts"])
        self.question_words = frozenset(_content_words(f"{spec.get('part_prompt', '')} "
                                                       f"{_field_words(spec.get('part_field', ''))}"))
        self._by_initial: dict[str, tuple[str, ...]] = {}
        for stem in self.vocabulary:
            self._by_initial[stem[0]] = (*self._by_initial.get(stem[0], ()), stem)
        self._spellings: dict[str, str | None] = {}

    # -- reading ------------------------------------------------------------------------------------------------

    def fitted_to(self, model_answers: Iterable[str]) -> Rubric:
        """This rubric with the limits its part's model answers call for, where the spec does not set them.

        A part whose own model answer is a list of terms (or source text) asks for one: no
        keyword-bag check; an answer may be four times as long as the longest model answer.
        Exercise files written before these checks keep grading their answers as before.
        """
        models = [m for m in model_answers if m.strip()]
        if not models:
            return self
        prose = self.prose if "prose" in self.explicit else self.prose and not any(is_keyword_bag(m) for m in models)
        limit = self.max_chars if "max_chars" in self.explicit else max(self.max_chars,
                                                                        4 * max(len(m) for m in models))
        if prose == self.prose and limit == self.max_chars:
            return self
        fitted = copy.copy(self)
        fitted.prose, fitted.max_chars = prose, limit
        return fitted

    def read(self, text: str) -> Reading:
        if len(text) > self.max_chars:
            return Reading(refused="too_long", words=len(_WORD.findall(text)))
        words = _WORD.findall(text)
        if self.prose and is_keyword_bag(text, words):
            return Reading(refused="keyword_bag", words=len(words))
        content = _content_words(text)
        if self.question_words and content and all(w in self.question_words for w in content):
            return Reading(refused="restates_question", words=len(words))
        for pattern in self.own_words:
            text = pattern.sub(lambda m: " " * len(m.group(0)), text)
        text, corrected = self.read_through_typos(text)
        clauses = _clause_starts(text)
        stated: list[Concept] = []
        contradicted: list[Contradiction] = []
        for concept in self.concepts:
            said = next((_whole_words(text, m.start(), m.end()) for p in concept.contradictions
                         for m in p.finditer(text) if not _negated(text, m.start(), clauses)), None)
            if said is not None:
                contradicted.append(Contradiction(concept, said.strip()))
            elif any(not _negated(text, m.start(), clauses) for p in concept.alternatives for m in p.finditer(text)):
                stated.append(concept)
        return Reading(tuple(stated), tuple(contradicted), None, corrected, len(words))

    def read_through_typos(self, text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        """``text`` with each misspelt word of :data:`FUZZY_MIN_LETTERS`+ letters replaced by the rubric's spelling."""
        if not self.vocabulary:
            return text, ()
        corrected: list[tuple[str, str]] = []
        out: list[str] = []
        last = 0
        for m in _WORD.finditer(text):
            word = m.group(0)
            fixed = self._spelling(word.lower())
            if fixed is not None:
                out.append(text[last:m.start()])
                out.append(fixed)
                last = m.end()
                corrected.append((word, fixed))
        if not corrected:
            return text, ()
        out.append(text[last:])
        return "".join(out), tuple(corrected)

    def _spelling(self, word: str) -> str | None:
        # Answers repeat their words: remember each word's reading (bounded; a dict is safe across threads).
        if word in self._spellings:
            return self._spellings[word]
        if len(self._spellings) > _SPELLINGS_KEPT:
            self._spellings.clear()
        fixed = self._spellings[word] = self._closest(word)
        return fixed

    def _closest(self, word: str) -> str | None:
        letters = sum(ch.isalpha() for ch in word)
        if letters < FUZZY_MIN_LETTERS or any(word.startswith(stem) for stem in self.vocabulary):
            return None
        allowed = 1 if letters <= 8 else 2
        best: tuple[int, str] | None = None
        for stem in self._by_initial.get(word[0], ()):
            reach = min(allowed, 1 if len(stem) < 7 else 2)
            for k in range(len(stem) - reach, len(stem) + reach + 1):
                if k < len(stem) - reach or k > len(word):
                    continue
                distance = OSA.distance(stem, word[:k], score_cutoff=reach)
                if distance <= reach and (best is None or distance < best[0]):
                    best = (distance, stem + word[k:])
        return best[1] if best is not None and best[0] > 0 else None

    # -- scoring ------------------------------------------------------------------------------------------------

    def fraction(self, reading: Reading) -> float:
        """The share of the part's points a reading earns (0 for a refused text)."""
        if reading.refused is not None:
            return 0.0  # a keyword bag, an over-long answer, the question repeated
        if any(c.concept.required for c in reading.contradicted):
            return 0.0
        # Weights keep their meaning: full marks at the weight of ``full_marks`` concepts of average weight.
        weight = sum(c.weight for c in reading.stated) - sum(c.concept.weight for c in reading.contradicted)
        fraction = max(0.0, min(1.0, weight / self.full_weight))
        if any(c.required and c not in reading.stated for c in self.concepts):
            fraction = min(fraction, 0.5)
        return fraction

    def undecided(self, reading: Reading) -> bool:
        """True when a teacher must look: the answer states enough for full marks and contradicts some of it."""
        if reading.refused is not None or not reading.contradicted:
            return False
        if any(c.concept.required for c in reading.contradicted):
            return False  # a required point stated wrongly is a wrong answer, whatever else it says
        return sum(c.weight for c in reading.stated) >= self.full_weight


def is_keyword_bag(text: str, words: list[str] | None = None) -> bool:
    """True for a list of terms without the sentences a teacher asked for.

    Few function words ("the", "is", "when", ...) among :data:`BAG_MIN_WORDS` or more words,
    or a list of three or more short comma-, slash- or line-separated items, most without one.
    """
    words = _WORD.findall(text) if words is None else words
    if len(words) < BAG_MIN_WORDS:
        return False
    function = sum(1 for w in words if w.lower() in _FUNCTION_WORDS)
    if function / len(words) < BAG_FUNCTION_SHARE:
        return True
    items = [i for i in re.split(r"[,;/|\n•]+", text) if i.strip()]
    if len(items) >= 4 and len(_SENTENCE_END.findall(text)) <= 1:
        bare = sum(1 for i in items if len(_WORD.findall(i)) <= 3
                   and not any(w.lower() in _FUNCTION_WORDS for w in _WORD.findall(i)))
        return bare >= 0.75 * len(items)
    return False


def _whole_words(text: str, start: int, end: int) -> str:
    """``text[start:end]`` widened to whole words: what the student wrote ('decreases', not 'decreas')."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return text[start:end]


def _content_words(text: str) -> list[str]:
    """The words of 4+ letters that are not function words, and numbers, lower case, -s/-ed/-ing cut off."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in _FUNCTION_WORDS or (len(word) < 4 and not any(ch.isdigit() for ch in word)):
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


def _clause_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _CLAUSE_BREAK.finditer(text))]


def _negated(text: str, at: int, clauses: list[int]) -> bool:
    """True when a negation stands in ``at``'s clause, at most :data:`NEGATION_REACH` words before it."""
    start = max(s for s in clauses if s <= at)
    before = _WORD.findall(text[start:at])[-NEGATION_REACH:]
    return any(w.lower() in _NEGATIONS or w.lower().endswith(_NEGATED_SUFFIX) or w.lower().endswith("n’t")
               for w in before)


def _concept(raw: Mapping[str, Any]) -> Concept:
    alternatives = [*(_phrase_pattern(k) for k in raw.get("keywords", ())),
                    *(_phrase_pattern(p) for p in raw.get("phrases", ())),
                    *raw.get("regexes", ())]
    return Concept(id=raw["id"], description=raw["description"], weight=float(raw.get("weight", 1)),
                   required=bool(raw.get("required", False)),
                   alternatives=tuple(re.compile(a, re.IGNORECASE) for a in alternatives),
                   contradictions=tuple(re.compile(c, re.IGNORECASE) for c in raw.get("contradictions", ())))


def _phrase_pattern(phrase: str) -> str:
    """A whole-word pattern for a literal phrase; spaces, hyphens and underscores between its words are alike."""
    words = [re.escape(w) for w in re.split(r"[\s_-]+", phrase.strip()) if w]
    return r"(?<!\w)" + r"[\s_-]+".join(words) + r"(?!\w)"


def _field_words(field: str) -> str:
    """``options[*].explanation`` -> ``explanation``; ``why_event_time`` -> ``why event time``."""
    last = field.replace("[*]", "").split(".")[-1]
    return last.replace("_", " ")


def _vocabulary(concepts: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The words (5+ letters) the rubric's alternatives are written in: what a typo is read towards."""
    found: dict[str, None] = {}
    for c in concepts:
        for source in (*c.get("keywords", ()), *c.get("phrases", ()), *c.get("regexes", ()),
                       *c.get("contradictions", ())):
            cleaned = re.sub(r"\\[a-zA-Z]", " ", source.lower())
            # 'at[- ]least[- ]once' and 'at-least-once' are both the hyphenated word at-least-once
            hyphenated = re.sub(r"\[[- _]+\][?*]?|-\?", "-", cleaned)
            for stem in (*_HYPHENATED.findall(hyphenated), *_LETTERS.findall(cleaned)):
                found[stem] = None
    return tuple(found)

"""A choice, or a set of choices, with synonyms; an answer outside the options is named as such.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from grader.compare.base import Comparator, CompareContext, Comparison
from grader.normalize import ABBREVIATIONS, NormalizeError, choice_key, is_blank
from grader.quoting import show_value
from grader.results import Finding

#: Longest text read as a choice (normalize.MAX_TEXT); a longer one is no choice.
MAX_CHOICE_TEXT = 200
#: Longest text searched for a leading choice and its explanation.
MAX_EXPLAINED_TEXT = 2000
#: Where a leading choice ends and its explanation begins: ``at-least-once: the job writes
#: first``, ``at-least-once — because``, ``drop (e7 is lost)``.  A hyphen only with spaces
#: around it, since choices are hyphenated.
_EXPLANATION = re.compile(r"\s*[:;,(\u2014\u2013]\s*|\s+-\s+|\s+because\b|\.\s|\s+so\s+that\b")
#: A duration inside a policy in the student's own words ("allow 3 minutes of lateness"):
#: the amount is the exercise's parameter, not part of which choice it is.
_DURATION = re.compile(r"\s*\b(?:for|of|up\s+to)?\s*\d+(?:\.\d+)?\s*"
                       r"(?:ms|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)\b(?:\s+of\b)?", re.I)


@dataclass(frozen=True)
class Unknown:
    """A spelling that names none of the choices, kept as written; ``named``: the choices it
    names more than one of (a choice followed by an explanation that names another)."""

    text: str
    named: tuple[str, ...] = ()

    def message(self, choices: Iterable[str]) -> str:
        if self.named:
            return f"{show_value(self.text)} names {' and '.join(self.named)}: give one of them"
        return f"{show_value(self.text)} is not one of {', '.join(choices)}"


class ChoiceComparator(Comparator):
    """One of ``choices``; case, spaces, hyphens, underscores and the listed synonyms are ignored."""

    kind = "choice"

    def __init__(self, spec: Mapping[str, Any], context: CompareContext) -> None:
        super().__init__(spec, context)
        self.choices = {str(k): tuple(str(s) for s in v) for k, v in spec["choices"].items()}
        # The spelling index is built once (normalize_choice would rebuild it for every
        # value), with the same rules: synonyms, then the usual abbreviations.
        self.index: dict[str, str] = {}
        for canonical, synonyms in self.choices.items():
            for spelling in (canonical, *synonyms):
                self.index[choice_key(spelling)] = canonical
        by_key = {choice_key(c): c for c in self.choices}
        for abbreviation, target in ABBREVIATIONS.items():
            if target in by_key and abbreviation not in self.index:
                self.index[abbreviation] = by_key[target]

    def read_choice(self, value: Any) -> str | Unknown:
        if not isinstance(value, str):
            raise NormalizeError(f"expected one of {', '.join(self.choices)}, got {show_value(value)}")
        found = self.index.get(choice_key(value[:MAX_CHOICE_TEXT]))
        if found is None:
            found = self._reworded(value[:MAX_EXPLAINED_TEXT].strip())
        if isinstance(found, tuple):
            return Unknown(value.strip()[:80], found)
        return found if found is not None else Unknown(value.strip()[:80])

    def _reworded(self, text: str) -> str | tuple[str, ...] | None:
        """The choice a longer text names: a leading choice followed by its explanation, or a
        choice with a duration in it.  When the explanation names other choices too
        (``at-least-once, exactly-once``) which one is meant is not clear: all of them are
        returned, to be named in the refusal."""
        parts = _EXPLANATION.split(text, maxsplit=1)
        lead, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        for candidate in dict.fromkeys((lead, _DURATION.sub("", lead))):
            found = self.index.get(choice_key(candidate)) if candidate else None
            if found is not None:
                named = choice_key(rest)
                others = tuple(other for other in self.choices if other != found and choice_key(other) in named)
                return (found, *others) if others else found
        return None

    def normalize(self, value: Any) -> str | Unknown:
        return self.read_choice(value)

    def compare(self, expected: Any, given: Any, *, path: str, show_expected: bool = True) -> Comparison:
        if isinstance(given, str) and given == expected:
            return Comparison(1.0)
        if isinstance(given, Unknown):
            message = given.message(self.choices)
            return Comparison(0.0, (Finding("unknown_choice", path, message),))
        message = f"expected {expected}, got {given}" if show_expected else f"{given} is not the right choice"
        return Comparison(0.0, (Finding("wrong_choice", path, message),))


@dataclass(frozen=True)
class ChoiceSetValue:
    """Choices in the order given (duplicates kept); unreadable items in ``bad``."""

    items: tuple[tuple[int, str | Unknown], ...]
    bad: tuple[NormalizeError, ...] = ()

    @property
    def known(self) -> list[str]:
        return [c for _, c in self.items if isinstance(c, str)]


class ChoiceSetComparator(ChoiceComparator):
    """An unordered set of choices.

    Without ``pick``: exactly the expected set; score = |given ∩ expected| / |given ∪
    expected| (unknown and repeated items count in the union).  With ``pick: n``: any n
    distinct members of the expected set; score = distinct right items (at most n) / n,
    less one item for each wrong one beyond n.
    """

    kind = "choice_set"

    def is_blank(self, value: Any) -> bool:
        if isinstance(value, list | tuple):
            return all(is_blank(v) for v in value)
        return is_blank(value)

    def normalize(self, value: Any) -> ChoiceSetValue:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise NormalizeError(f"expected a list of choices, got {show_value(value)}")
        items, bad = [], []
        for i, item in enumerate(value):
            if is_blank(item):
                continue
            try:
                items.append((i, self.read_choice(item)))
            except NormalizeError as exc:
                bad.append(exc.at(i))
        return ChoiceSetValue(tuple(items), tuple(bad))

    def compare(self, expected: Any, given: Any, *, path: str, show_expected: bool = True) -> Comparison:
        wanted = list(dict.fromkeys(expected.known if isinstance(expected, ChoiceSetValue) else expected))
        pick = self.spec.get("pick")
        findings: list[Finding] = []
        counted: set[str] = set()
        wrong = 0
        for index, choice in given.items:
            where = f"{path}[{index}]"
            if isinstance(choice, Unknown):
                wrong += 1
                findings.append(Finding("unknown_choice", where, choice.message(self.choices)))
            elif choice in counted:
                wrong += 1
                findings.append(Finding("duplicate_choice", where, f"{choice} is given twice (synonyms count once)"))
            elif choice not in wanted:
                wrong += 1
                findings.append(Finding("wrong_choice", where, f"{choice} is not right here"))
            else:
                counted.add(choice)
        for problem in given.bad:
            wrong += 1
            findings.append(Finding("unreadable_choice", path + problem.path, problem.describe(path)))
        if pick:
            right = min(len(counted), pick)
            surplus = max(0, len(counted) - pick)
            fraction = max(0, right - max(0, wrong - surplus)) / pick
            if len(counted) < pick:
                findings.append(Finding("too_few_choices", path,
                                        f"{pick} different choices are asked for, {len(counted)} given right"))
        else:
            union = len(set(wanted) | counted) + wrong
            fraction = len(counted) / union if union else 1.0
            missing = [c for c in wanted if c not in counted]
            if missing:
                message = (f"missing: {', '.join(missing)}" if show_expected
                           else f"{len(missing)} expected choice{'s are' if len(missing) != 1 else ' is'} missing")
                findings.append(Finding("missing_choice", path, message))
        return Comparison(fraction, tuple(findings))

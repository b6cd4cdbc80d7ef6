"""Comparing a given answer with the expected one: one comparator per kind of answer.

Every part of an exercise declares how it is compared (``compare.kind`` in its YAML):
``rows`` and ``row`` (sink rows as a set), ``number`` (a quantity within a tolerance, in
a unit), ``time``, ``choice`` and ``choice_set`` (with synonyms), ``windows_events``
(windows with the events in them) and ``text`` (free text against a concept rubric).
The same comparator serves every exercise; what differs lives in the exercise data.

A comparator works in two steps.  :meth:`~grader.compare.base.Comparator.normalize` reads a value written in
any accepted spelling (SUBMISSION_FORMAT.md) into one exact normal form, raising
:class:`~grader.normalize.NormalizeError` only when nothing of it can be read; items of a
list that cannot be read are kept as problems, so the rest still earns credit.
:meth:`~grader.compare.base.Comparator.compare` then scores a normal form against the expected one: a
fraction in ``[0, 1]`` and :class:`~grader.results.Finding` values that name the window,
the key and the event where the answer went wrong.  With ``show_expected`` false the
findings say *what* is wrong, never what the right value is.

Canonical values (from :mod:`grader.solutions`) go through the same ``normalize``, so a
comparison is always between two normal forms; the grader does that once per exercise
set, not per submission.

Modules: :mod:`~grader.compare.base` (the comparator's contract and its context), one
module per family of kinds (:mod:`~grader.compare.rows`, :mod:`~grader.compare.quantities`,
:mod:`~grader.compare.choices`, :mod:`~grader.compare.placements`,
:mod:`~grader.compare.text`), and :mod:`~grader.compare.kinds` (kind name -> comparator).
"""

"""Grading Python answers: the sheet's events and hidden generated streams, run in the
sandbox, compared with the reference engine, failures shrunk to minimal counterexamples.

A submission defines some of ``assign_window``, ``is_late``, ``window_aggregate`` and
``upsert`` (SUBMISSION_FORMAT.md, "Python answers"); the set's ``python.yaml``
gives their points and how hidden tests are generated.  Each function is one part of
one exercise: full points when it is right on the sheet's events (always a visible test)
and on every hidden test, partial credit by the share of hidden tests it fails
(:mod:`~grader.python.credit`), nothing when one of its tests did not run.  The hidden
streams' seed is derived from the set, the student and the file's bytes
(:mod:`~grader.python.seeds`): the same file always meets the same tests.

The modules, in the order of :func:`grader.python.grade.grade_python`'s flow:
:mod:`~grader.python.exercise` (``python.yaml`` read and checked),
:mod:`~grader.python.inputs` (the test inputs and their sandbox encoding),
:mod:`~grader.python.bindings` (each function bound to its engine answer, its checks,
its words and its mistaken models), :mod:`~grader.python.seeds` (the seed, derived),
:mod:`~grader.python.streams` (hidden streams from a seed), :mod:`~grader.python.suite`
(every case with its expected value),
:mod:`~grader.python.judge` (one call's outcome to a verdict),
:mod:`~grader.python.runs` (the sandboxed runs, reruns and shrinking),
:mod:`~grader.python.credit` (the partial-credit rule) and
:mod:`~grader.python.grade` (the result).

The flow:

1. the suite: the sheet's cases and about 200 streams generated from a seed (random
   users and times, out-of-order and late arrivals, event times exactly on window ends,
   late events arriving exactly when the watermark reaches ``end + L``, replayed event
   ids, empty streams); every expected value comes from the engine (:class:`Binding`
   subclasses are the one place that binds a function to its engine call);
2. one sandboxed process runs every call, started before the suite is built and sent the
   calls in batches as they are built, so that it runs them meanwhile (a process that
   dies is rerun without the function that killed it, which is then reported with the
   input it died on);
3. outputs are checked outside the sandbox, types first, then values;
4. for each wrong function the failing input is shrunk (delta debugging over events or
   writes, plus simpler parameters), each round's candidates batched into one sandboxed
   run, and shown in the sheet's notation (``e3 (A, 10:04, 2)``);
5. known mistakes are diagnosed by models that reproduce them.

The sandbox never receives an expected value.
"""

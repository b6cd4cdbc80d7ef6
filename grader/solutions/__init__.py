"""Canonical answers from the engine: the one place that binds an exercise part to an engine call.

Nothing here is typed in.  Each part of an exercise names a *query* (``solution.query`` in
its YAML) with arguments; the query runs the reference engine on the data context's
events under the context's parameters (overridden per part by ``solution.config``) and
reads the answer off the run: rows, emissions and the arrival that caused them,
watermarks, windows held per key.  Figures that are formulas (events per window, state
bytes) use the context's scale and the engine's window size; boundary decisions are the
profile's own predicates (``fires``, ``is_droppable``) and its rules in words
(``fire_rule()``, ``drop_rule()``).

Each answer is a :class:`~grader.solutions.solve.Canonical`: the value in the submission format's spelling (times
``"10:05"``, amounts as JSON numbers when exact, else exact strings, other figures as
JSON numbers), a short derivation that names the events, windows, watermarks and rule,
and, when the value differs between the semantics profiles of
:data:`reference.profiles.PROFILES`, the value under each of them.

Mistaken models run through the same code: :func:`~grader.solutions.solve.solve_part` takes ``model``, a
mistake's overrides of engine settings and query arguments
(``{"windows": "inclusive_end"}``, ``{"measure_from": "window_end"}``), and returns the
answer that mistake produces, for diagnosis.

Results are cached per exercise set fingerprint (all of the set's data), so the grader
can ask for every submission; callers get fresh copies, never the cached objects.

The modules: :mod:`~grader.solutions.job` (a query's settings and engine runs),
:mod:`~grader.solutions.derivations` (values and derivations in words), the queries by
family (:mod:`~grader.solutions.declared`, :mod:`~grader.solutions.rows`,
:mod:`~grader.solutions.firing`, :mod:`~grader.solutions.capacity`,
:mod:`~grader.solutions.replay`), :mod:`~grader.solutions.catalogue` (query name ->
function), :mod:`~grader.solutions.solve` (solving and its caches), and at the edge
:mod:`~grader.solutions.render` and :mod:`~grader.solutions.diagrams`.
"""

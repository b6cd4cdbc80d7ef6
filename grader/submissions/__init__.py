"""What students send: hostile bytes read into a submission, its answers checked against the schemas.

A submission arrives as a file, as stdin or as the body of a request: JSON, YAML (which
students find easier to write) or a Python file (SUBMISSION_FORMAT.md).  The format is
chosen by the name's suffix (``.json``, ``.yaml``/``.yml``, ``.py``) or, without a known
suffix, by the content: JSON first, then YAML.

Anything that cannot be read at all raises :class:`~grader.errors.SubmissionUnreadable`
with ONE line naming the file, line and column (``sub.json: line 3 column 14: Expecting
',' delimiter``), never a traceback.  The reader is written for hostile input:

- a size limit (1 MiB by default; 256 KiB for Python, as the contract says), checked
  before anything is decoded;
- a nesting limit, checked without recursion where the parser would recurse (a JSON
  array nested 10,000 deep is a clear message, not a ``RecursionError``);
- YAML through a safe loader only, with YAML 1.2's plain scalars (``10:00`` stays the
  text ``"10:00"``, not the sexagesimal integer 600 that YAML 1.1 makes of it; dates stay
  text; only ``true``/``false`` are booleans), no Python, binary, set or timestamp tags,
  and aliases refused when they would expand past a limit ("billion laughs") or refer
  to themselves;
- ``NaN``, ``Infinity``, numbers that overflow a float and numbers with more digits than
  any answer needs are refused with a message (never Python's int-to-str ``ValueError``);
- text that is not UTF-8 is reported with the byte offset and line; a UTF-8 byte order
  mark is accepted, UTF-16 gets a hint.

A readable submission is a frozen :class:`~grader.submissions.read.Submission`.
:func:`~grader.submissions.problems.validate_answers` then
checks its ``answers`` against the per-exercise JSON Schemas and returns *every* problem
(jsonschema's ``iter_errors``), each a :class:`~grader.submissions.problems.Problem` with a path spelled like
``answers.ex6.rows[1].sum_amount``, a stable code and a message a student understands.
Unexpected fields and unknown exercises are warnings, so the rest is still graded.

Modules: :mod:`~grader.submissions.read` (entry points, formats, the top level),
:mod:`~grader.submissions.json_reader` and :mod:`~grader.submissions.yaml_reader` (each
format under the limits), :mod:`~grader.submissions.limits` (what the reader accepts,
and the refusals), :mod:`~grader.submissions.problems` (answers against the schemas),
:mod:`~grader.submissions.wording` (paths and values in messages) and
:mod:`~grader.submissions.template` (a blank submission).
"""

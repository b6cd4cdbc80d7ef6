"""A class at once: ``streamgrade batch DIR|ZIP --gradebook grades.csv``.


An instructor runs ``streamgrade batch DIR|ZIP --gradebook grades.csv``.  This package
does the work; the command only parses flags and prints.

- **Collecting** (:mod:`~grader.batch.collect`): ``.json``, ``.yaml``, ``.yml`` and ``.py`` files, found
  recursively; ``*.expect.json`` (fixtures of expected results), hidden files and folders
  and macOS's ``__MACOSX`` are skipped, as are symbolic links that lead out of the
  folder.  A ZIP file is never extracted: its members are read in memory by whichever
  process grades them.  Members whose names are absolute or climb out (``../evil.json``),
  symlinks and encrypted members are skipped with a note; an archive with too many
  members is refused.  Every submission is read up to the reader's size limit plus one
  byte, so a lying header or a zip bomb cannot exhaust memory; the grader then refuses
  the oversized file with a message.
- **Grading** (:mod:`~grader.batch.run`): a process pool.  The canonical
  answers are computed before the workers are forked (and by the pool's initializer
  otherwise), so every worker grades from warm caches.  Submissions travel in chunks
  (paths, not bytes: workers read and hash them), so the pool's overhead is paid per
  chunk, and records come back as the state file's lines.  Every submission is graded
  in its own ``try``: an exception while grading one becomes a ``failed`` record and the
  batch goes on; when a worker dies outright (the pool breaks), the submissions in
  flight are graded again one at a time in a new pool, so only the guilty one fails.
- **Resuming**: finished submissions are appended, one JSON line each, to the state file
  (``<gradebook>.state.jsonl`` by default) and flushed as each chunk finishes, so a
  killed batch loses at most the chunk being written (a torn last line is ignored).  A
  rerun skips every submission whose key (exercise set, the student its path names and
  the SHA-256 of its content) is already there as ``graded`` or ``unreadable``;
  ``failed`` ones are retried.  The gradebook and the summary are then built from all
  the state's records.  The state keeps scores, statuses, diagnoses and finding codes
  (:mod:`~grader.batch.state`); ``results_dir`` receives each whole result.

Whose submission is it?  The ``student_id`` written in the file, else (``.py`` files and
files without one) the path: the first folder under the root (``alice/answers.json`` is
``alice``), or the file's stem for a file at the top; leading folders that every
submission shares and that hold no submission directly are passed over first
(``export/alice/answers.json`` in a ZIP whose entries all lie in folders under
``export/`` is ``alice`` too).  ``id_from="path"`` always uses the
path, for folders the instructor's tooling laid out (a student cannot then write another
student's id into a file).  "Latest" in the gradebook policy means the latest file by
modification time (ZIP: the entry's date), then by path.

After a batch: :mod:`~grader.batch.summary` (per-exercise statistics, diagnoses, a
histogram) and :mod:`~grader.batch.copies` (answers that fit another student's variant).
"""

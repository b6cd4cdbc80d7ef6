"""Per-student variants of an exercise set: same exercises, each student's own data.

An exercise set may declare, in ``variation.yaml`` next to its ``context.yaml``, how its
data context may vary (users, clicks, times, amounts, which click is late and when it
arrives, window size, watermark delay, allowed lateness, scale figures), which
constraints keep the exercises meaningful, and how prompts, solution arguments, mistake
feedback and model answers read for a variant (``${name}`` templates over the symbols).

* :mod:`~grader.variants.declaration`: ``variation.yaml`` read and checked;
* :mod:`~grader.variants.constraints`: a drawn candidate, its engine runs, the named constraints;
* :mod:`~grader.variants.symbols`: what templates may say, and filling them in;
* :mod:`~grader.variants.generate`: seeds, drawing, and the variant's own exercise set;
* :mod:`~grader.variants.policy`: THE answer to "which set is this student graded on";
* :mod:`~grader.variants.verify`: ``streamgrade verify --variants N``;
* :mod:`~grader.variants.sheets`: a student's sheet, as JSON data or Markdown.

Copy detection (whose variant a submission fits) is the batch's: :mod:`grader.batch.copies`.
"""

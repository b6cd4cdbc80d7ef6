"""What an exercise file may say, and loading it.

* :mod:`~grader.exercises.vocabulary`: the queries and engine settings a file may name
  (the contract of the format; it imports nothing above it);
* :mod:`~grader.exercises.model`: the frozen values a loaded set is made of;
* :mod:`~grader.exercises.fields`: a part's field path in an answer schema;
* :mod:`~grader.exercises.checks`: the invariants no JSON Schema states;
* :mod:`~grader.exercises.load`: where sets come from, and loading one by folder or name.
"""

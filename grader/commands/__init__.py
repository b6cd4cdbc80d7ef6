"""The ``streamgrade`` subcommands, one module per area.

Each module defines click commands and a ``register(group)`` that adds them to the
top-level group; :mod:`grader.cli` imports each and calls its ``register``.  Keeping
areas apart keeps each command module small and lets them change independently.
"""

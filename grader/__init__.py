"""Grading: exercise sets, submissions, scoring, reports, the CLI and the web service.

``grader`` imports ``reference`` (the engine); ``reference`` never imports ``grader``.
"""

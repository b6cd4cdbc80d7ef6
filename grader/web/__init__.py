"""The submission service: a Flask app (JSON API and a small page) served by gunicorn.

``create_app`` in :mod:`grader.web.app` builds it; :mod:`grader.web.cli_commands` holds
what ``streamgrade serve`` and ``streamgrade roster add`` call.  Nothing runs at import.
"""

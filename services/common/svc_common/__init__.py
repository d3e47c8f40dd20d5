"""Small shared helpers for the ticket-booking services.

Kept deliberately small and stable (see ../README.md): request ids + JSON logs,
Prometheus HTTP metrics, JSON error handlers, database URL from env, and a
repeatable migration runner. Services import it with ``services/common`` on the
path (``PYTHONPATH=../common``, or ``gunicorn --pythonpath ../common``).
"""

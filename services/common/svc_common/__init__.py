"""Small shared helpers for the ticket-booking services (see ../README.md).

One observability stack for all of them (request ids, JSON logs, metrics, JSON errors), the
database URL from env, a repeatable migration runner and the Granian server. Services depend on
it as the package ``ticketing-svc-common`` (``make venv`` installs it; an image gets its wheel).
"""

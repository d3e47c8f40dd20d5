"""The ticket-booking services the native sandbox runs, and how.

A plain list for now; it is meant to be rendered from the GitOps `sandbox` overlay (issue 8).
Commands run with cwd `services/<name>/`, the venv's tools and `sandbox env` as environment.
"""

from sandbox.components.service import ServiceSpec

SERVICES: list[ServiceSpec] = [
    ServiceSpec(
        name="event-catalog",
        command=("gunicorn", "-c", "gunicorn.conf.py", "event_catalog.app:create_app()"),
        port_name="event_catalog",
        url_env="EVENT_SERVICE_URL",
        migrate=("python", "-m", "event_catalog.migrate"),
    ),
    ServiceSpec(
        name="booking-service",
        command=("gunicorn", "-c", "gunicorn.conf.py", "booking_service.app:create_app()"),
        port_name="booking_service",
        url_env="BOOKING_SERVICE_URL",
        migrate=("python", "-m", "booking_service.migrate"),
    ),
    ServiceSpec(
        name="user-service",
        command=("gunicorn", "--config", "gunicorn.conf.py"),
        port_name="user_service",
        url_env="USER_SERVICE_URL",
    ),
    ServiceSpec(
        name="frontend",
        command=("gunicorn", "--config", "gunicorn.conf.py"),
        port_name="frontend",
        url_env="FRONTEND_URL",
    ),
    ServiceSpec(
        name="booking-consumer",
        command=("python", "-m", "booking_consumer"),
        port_name="booking_consumer",
        migrate=("python", "-m", "booking_consumer.migrate"),
    ),
]

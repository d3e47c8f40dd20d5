"""``python -m booking_service.migrate``: create ``booking_requests`` (repeatable)."""
from __future__ import annotations

import sys

from sqlalchemy import create_engine

from svc_common.db import database_url_from_env
from svc_common.logs import configure_logging
from svc_common.migrations import apply

from .models import MIGRATIONS


def main() -> int:
    configure_logging("booking-service-migrate")
    url = database_url_from_env()
    if not url:
        raise SystemExit("set DATABASE_URL or DB_HOST/DB_*")
    engine = create_engine(url)
    apply(engine, "booking-service", MIGRATIONS)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

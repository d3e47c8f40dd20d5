"""``python -m booking_consumer.migrate``: create ``bookings`` and ``booking_status_outbox`` (repeatable)."""
from __future__ import annotations

import sys

from svc_common import migrations
from svc_common.db import database_url_from_env

from .models import MIGRATIONS


def main() -> int:
    return migrations.main("booking-consumer", MIGRATIONS, database_url_from_env())


if __name__ == "__main__":
    sys.exit(main())

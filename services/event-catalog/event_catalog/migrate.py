"""``python -m event_catalog.migrate``: create the schema and seed events, once (repeatable)."""
from __future__ import annotations

import sys

from svc_common import migrations

from . import config as config_mod
from .models import MIGRATIONS


def main() -> int:
    return migrations.main("event-catalog", MIGRATIONS, config_mod.from_env()["DATABASE_URL"])


if __name__ == "__main__":
    sys.exit(main())

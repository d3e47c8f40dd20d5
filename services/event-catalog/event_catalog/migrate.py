"""``python -m event_catalog.migrate``: create the schema and seed events, once (repeatable)."""
from __future__ import annotations

import logging
import sys

from svc_common.logs import configure_logging
from svc_common.migrations import apply

from . import config as config_mod
from .db import make_engine
from .models import MIGRATIONS


def main() -> int:
    configure_logging("event-catalog-migrate")
    engine = make_engine(config_mod.from_env()["DATABASE_URL"])
    applied = apply(engine, "event-catalog", MIGRATIONS)
    engine.dispose()
    logging.getLogger(__name__).info("migrate done", extra={"applied": applied})
    return 0


if __name__ == "__main__":
    sys.exit(main())

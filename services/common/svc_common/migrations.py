"""A tiny, repeatable migration runner (the explicit ``migrate`` step of each service).

Each service passes its component name and an ordered list of ``(version, fn)``
steps; ``fn(connection)`` runs inside one transaction together with the row that
records it in ``schema_migrations``. Already-applied versions are skipped, so the
step can run on every deploy. On Postgres an advisory lock serialises concurrent
runners (several replicas starting at once). ``main`` is the whole
``python -m <service>.migrate`` command.
"""
from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, func, select, text
from sqlalchemy.engine import Connection, Engine

from .logs import configure_logging

log = logging.getLogger(__name__)

_meta = MetaData()
schema_migrations = Table(
    "schema_migrations",
    _meta,
    Column("component", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("applied_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)

Step = tuple[int, Callable[[Connection], None]]


def apply(engine: Engine, component: str, steps: Iterable[Step]) -> list[int]:
    """Apply the missing steps in order; return the versions applied now."""
    applied_now: list[int] = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(b"schema_migrations")})
        _meta.create_all(conn, checkfirst=True)
    for version, fn in sorted(steps, key=lambda s: s[0]):
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(component.encode())})
            done = conn.execute(
                select(schema_migrations.c.version).where(
                    schema_migrations.c.component == component, schema_migrations.c.version == version
                )
            ).first()
            if done:
                continue
            fn(conn)
            conn.execute(schema_migrations.insert().values(component=component, version=version))
            applied_now.append(version)
            log.info("migration applied", extra={"component": component, "version": version})
    return applied_now


def main(component: str, steps: Iterable[Step], url: str | None) -> int:
    """Apply ``steps`` to the database at ``url`` (from the service's config), logging as JSON."""
    configure_logging(f"{component}-migrate")
    if not url:
        raise SystemExit("set DATABASE_URL or DB_HOST/DB_*")
    engine = create_engine(url)
    try:
        applied = apply(engine, component, steps)
    finally:
        engine.dispose()
    log.info("migrate done", extra={"component": component, "applied": applied})
    return 0

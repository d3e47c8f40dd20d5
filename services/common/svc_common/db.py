"""Database URL from the environment (``DATABASE_URL`` or ``DB_HOST``/``DB_PORT``/``DB_NAME``/``DB_USER``/``DB_PASSWORD``)."""
from __future__ import annotations

import os
from urllib.parse import quote


def database_url_from_env(env: dict | None = None) -> str | None:
    """SQLAlchemy URL using psycopg 3, or None when no database is configured."""
    env = os.environ if env is None else env
    url = env.get("DATABASE_URL")
    if not url and env.get("DB_HOST"):
        user = quote(env.get("DB_USER", "postgres"), safe="")
        password = quote(env.get("DB_PASSWORD", ""), safe="")
        auth = f"{user}:{password}@" if password else f"{user}@"
        url = f"postgresql://{auth}{env['DB_HOST']}:{env.get('DB_PORT', '5432')}/{env.get('DB_NAME', 'postgres')}"
    if not url:
        return None
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url

import uuid

import pytest

from svc_common.db import database_url_from_env


def _reachable_pg() -> tuple[str | None, str]:
    url = database_url_from_env()
    if not url:
        return None, "DATABASE_URL / DB_HOST not set"
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(url, connect_args={"connect_timeout": 3})
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001
        return None, f"Postgres at {url.split('@')[-1]} unreachable: {str(exc).splitlines()[0]}"
    return url, ""


@pytest.fixture(scope="session")
def pg_url():
    url, reason = _reachable_pg()
    if not url:
        pytest.skip(reason)
    return url


@pytest.fixture()
def sqlite_app(tmp_path):
    """An app on a throwaway SQLite file (no servers needed)."""
    from event_catalog.app import create_app
    from event_catalog.db import make_engine
    from event_catalog.models import MIGRATIONS

    from svc_common.migrations import apply

    url = f"sqlite:///{tmp_path / 'events.db'}"
    eng = make_engine(url)
    apply(eng, "event-catalog", MIGRATIONS)
    eng.dispose()
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    yield app
    app.extensions["event_catalog.engine"].dispose()


@pytest.fixture(scope="session")
def pg_app(pg_url):
    from event_catalog.app import create_app
    from event_catalog.db import make_engine
    from event_catalog.models import MIGRATIONS

    from svc_common.migrations import apply

    eng = make_engine(pg_url)
    apply(eng, "event-catalog", MIGRATIONS)
    eng.dispose()
    app = create_app({"DATABASE_URL": pg_url, "TESTING": True})
    yield app
    app.extensions["event_catalog.engine"].dispose()


@pytest.fixture()
def unique_name():
    return f"test-event-{uuid.uuid4().hex[:10]}"

"""Event catalog: events with seats left, on Postgres (SQLite when no database is configured)."""

"""Settings, read only from environment variables (names as in DESIGN.md)."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    users_table: str
    log_level: str = "INFO"
    max_body_bytes: int = 16 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            users_table=os.environ.get("USERS_TABLE", "ticketing-sandbox-users"),
            log_level=os.environ.get("LOG_LEVEL", "INFO"),
            max_body_bytes=int(os.environ.get("MAX_BODY_BYTES", str(16 * 1024))),
        )

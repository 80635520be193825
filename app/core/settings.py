"""Configuration from RELANCE_* environment variables (names fixed by API.md)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql://user@host:port/db; unset: embedded PostgreSQL in data_dir",
    )
    data_dir: Path = Path("./.relance")
    admin_token: str | None = None
    scheduler_enabled: bool = True
    scheduler_interval_seconds: float = 10.0
    webhook_allow_private_urls: bool = False
    timezone: str = "Europe/Paris"
    log_level: str = "INFO"
    max_body_bytes: int = 1024 * 1024
    # POST /v1/invoices/import takes whole files: a Factur-X PDF with its fonts and logo.
    max_import_bytes: int = 10 * 1024 * 1024
    db_pool_size: int = 20
    db_pooler: Literal["pgbouncer"] | None = Field(
        default=None,
        description="pgbouncer: the database URL is a PgBouncer in transaction mode (no prepared "
        "statement outlives its transaction, reads run in a transaction)",
    )
    event_retention_days: int = 30

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone: fail at start, not at the first sweep
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()

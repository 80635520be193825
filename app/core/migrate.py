"""Schema migrations: `alembic upgrade head` under a PostgreSQL advisory lock, so replicas that
start together migrate once, one after the other (directly or through PgBouncer)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_LOCK_KEY = 0x52454C414E4345  # "RELANCE"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade to head, one process at a time. The lock is transaction-scoped, taken in the
    migrations' own transaction and released by its COMMIT (or by a crash's rollback): a
    session lock would not survive PgBouncer's transaction pooling, where the unlock can reach
    another server connection than the lock and leave it held there."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        await conn.run_sync(_upgrade)
        await conn.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        exists = (await conn.execute(text("SELECT to_regclass('alembic_version')"))).scalar()
        if exists is None:
            return None
        return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()


def _revision(connection: Connection, message: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    # Sequential ids ("0001", "0002"...) keep the history readable in a directory listing.
    rev_id = f"{len(list((MIGRATIONS_DIR / 'versions').glob('[0-9]*.py'))) + 1:04d}"
    command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)


async def make_revision(engine: AsyncEngine, message: str) -> None:
    """Developer tool (`make migration m=...`): autogenerate a revision against a migrated db."""
    await migrate(engine)
    async with engine.connect() as conn:
        await conn.run_sync(_revision, message)

"""Alembic environment: runs on the connection handed over by app.core.migrate (advisory lock
held), or opens one from RELANCE_DATABASE_URL for the alembic command line."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from app.core.db import create_engine
from app.core.settings import get_settings
from app.models import Base
from app.outbox.partitions import include_in_autogenerate

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        include_name=include_in_autogenerate,
    )
    with context.begin_transaction():
        # A migration waiting for a lock would queue every later query on that table behind
        # it: it fails instead (start-up stops, and can be run again), for every revision.
        context.execute("SET LOCAL lock_timeout = '10s'")
        context.run_migrations()


async def _run_online() -> None:
    url = get_settings().database_url
    if not url:
        raise SystemExit("Set RELANCE_DATABASE_URL, or use `relance migrate`.")
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_online())

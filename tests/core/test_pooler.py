"""RELANCE_DB_POOLER=pgbouncer: what changes on the engine (the suite itself runs through a real
PgBouncer in CI: .ci/with-pgbouncer)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from app.core.db import behind_pooler, create_engine, read_engine
from app.core.migrate import migrate


async def test_behind_a_pooler_no_statement_outlives_its_transaction(database_url):
    engine = create_engine(database_url, pool_size=1, pooler="pgbouncer")
    try:
        assert behind_pooler(engine)
        reads = read_engine(engine)
        assert reads.get_execution_options().get("isolation_level") != "AUTOCOMMIT"
        async with reads.connect() as conn:
            for _ in range(3):  # the same statement again: prepared afresh, under a new name
                assert (await conn.execute(text("SELECT 1"))).scalar() == 1
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            assert driver._config.statement_cache_size == 0
    finally:
        await engine.dispose()


async def test_direct_connections_keep_autocommit_reads(database_url):
    if os.environ.get("RELANCE_DB_POOLER"):
        pytest.skip("this run goes through a pooler (.ci/with-pgbouncer)")
    engine = create_engine(database_url, pool_size=1, pooler=None)
    try:
        assert not behind_pooler(engine)
        assert read_engine(engine).get_execution_options()["isolation_level"] == "AUTOCOMMIT"
    finally:
        await engine.dispose()


async def test_migrations_leave_no_advisory_lock_behind(database_url):
    """Nothing is held once the migrations committed. (That the lock is transaction-scoped shows
    through PgBouncer: tests/core/test_migrate.py in CI's .ci/with-pgbouncer run, where a
    session lock's unlock can reach another server connection than its lock.)"""
    engine = create_engine(database_url, pool_size=1)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            held = await conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
            )
            assert held.scalar() == 0
    finally:
        await engine.dispose()

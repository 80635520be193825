"""Where the test database comes from, in this order: RELANCE_TEST_DATABASE_URL (a server; a fresh
database is created on it for the run), testcontainers when a Docker engine answers, else an
embedded PostgreSQL in a temporary directory."""

from __future__ import annotations

import asyncio
import contextlib
import graphlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.database_server import embedded_postgres
from app.core.db import create_engine, on_driver
from app.core.migrate import migrate


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def _server_url() -> Iterator[str]:
    configured = os.environ.get("RELANCE_TEST_DATABASE_URL")
    if configured:
        yield configured
    elif _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as pg:
            yield pg.get_connection_url()
    else:
        with (
            tempfile.TemporaryDirectory(prefix="relance-test-") as tmp,
            embedded_postgres(Path(tmp), cleanup="delete") as url,
        ):
            yield url


async def _admin(server_url: str, sql: str) -> None:
    engine = create_engine(server_url, pool_size=1, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


@contextlib.contextmanager
def test_database() -> Iterator[str]:
    """A fresh, migrated database for this test run; dropped at the end."""
    with _server_url() as server_url:
        name = f"relance_test_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        try:
            asyncio.run(_migrate(url))
            yield url
        finally:
            asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# Heap pages the tables may hold, dead rows included, before the next emptying truncates them.
# DELETE leaves dead rows behind (the local server runs without autovacuum), which later scans
# would read; TRUNCATE starts the files anew but costs about 140 ms for the ~40 tables.
_MOST_PAGES_BEFORE_TRUNCATE = 512

_TABLES = text(
    "SELECT quote_ident(c.relname) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
    "AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'alembic_version'"
)
# Foreign keys between those tables (a partitioned parent's own constraint, not its copies), the
# names quoted as quote_ident does.
_REFERENCES = text(
    "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
    "WHERE contype = 'f' AND conparentid = 0 AND connamespace = 'public'::regnamespace"
)
_SEQUENCES = text("SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public'")
_HEAP_PAGES = text(
    "SELECT coalesce(sum(pg_relation_size(c.oid)), 0) / current_setting('block_size')::int "
    "FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
)


async def _clearing_scripts(conn: AsyncConnection) -> tuple[str, str]:
    """(DELETE each table, children before the tables they reference; TRUNCATE them all), each
    resetting the sequences as TRUNCATE ... RESTART IDENTITY does. The names come from the
    catalog, quoted by PostgreSQL."""
    tables = list((await conn.execute(_TABLES)).scalars())
    must_go_first: dict[str, set[str]] = {table: set() for table in tables}
    for child, parent in (await conn.execute(_REFERENCES)).all():
        if child != parent and child in must_go_first and parent in must_go_first:
            must_go_first[parent].add(child)
    ordered = list(graphlib.TopologicalSorter(must_go_first).static_order())
    restarts = "".join(
        f"ALTER SEQUENCE {name} RESTART; " for name in (await conn.execute(_SEQUENCES)).scalars()
    )
    deletes = "".join(f"DELETE FROM {table}; " for table in ordered)  # noqa: S608
    return deletes + restarts, f"TRUNCATE {', '.join(ordered)} RESTART IDENTITY CASCADE"


async def empty_all_tables(engine: AsyncEngine) -> None:
    """Every row of the test database gone (the migrations' version kept), between two tests:
    by DELETE, much cheaper than TRUNCATE on tables holding a few rows, and by TRUNCATE once
    the dead rows add up."""
    async with engine.connect() as conn:
        # Read from the catalog each time (a few ms): a test may have added a table.
        deleting, truncating = await _clearing_scripts(conn)
        pages = (await conn.execute(_HEAP_PAGES)).scalar_one()
        await conn.commit()
        script = truncating if pages > _MOST_PAGES_BEFORE_TRUNCATE else deleting
        # Several statements in one round trip: the driver's simple query, one transaction.
        await on_driver(conn, lambda driver: driver.execute(script))

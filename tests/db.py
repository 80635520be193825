"""Where the test database comes from, in this order: RELANCE_TEST_DATABASE_URL (a server; a fresh
database is created on it for the run), testcontainers when a Docker engine answers, else an
embedded PostgreSQL in a temporary directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.core.database_server import embedded_postgres
from app.core.db import create_engine
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

from __future__ import annotations

import asyncio

from app.core.db import create_engine
from app.core.migrate import current_revision, head_revision, migrate
from tests.reliability.harness import fresh_database


async def test_replicas_starting_together_migrate_once(database_url):
    """Three processes' worth of engines migrate one empty database at once: the advisory lock
    lets one build the schema while the others wait, then find it at head."""
    async with fresh_database(database_url, prefix="relance_migrate") as url:
        engines = [create_engine(url, pool_size=1) for _ in range(3)]
        try:
            await asyncio.gather(*(migrate(engine) for engine in engines))
            assert await current_revision(engines[0]) == head_revision()
        finally:
            for engine in engines:
                await engine.dispose()

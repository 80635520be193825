"""Row locks held by another transaction, to show in which order a statement takes its locks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")


def _lock(column: Any, row_id: str, *, nowait: bool = False) -> Any:
    return select(column).where(column == row_id).with_for_update(nowait=nowait)


@contextlib.asynccontextmanager
async def row_locked(
    engine: AsyncEngine, id_column: Any, row_id: str
) -> AsyncIterator[AsyncConnection]:
    """Another transaction holding one row's lock (`id_column`, e.g. `Invoice.id`), as a request
    in flight does."""
    async with engine.connect() as conn, conn.begin():
        await conn.execute(_lock(id_column, row_id))
        yield conn


async def waits_for_first_row(
    engine: AsyncEngine,
    id_column: Any,
    first: str,
    second: str,
    work: Coroutine[Any, Any, T],
    *,
    within: float,
) -> T:
    """Run `work` while another transaction holds `first`'s row lock: `work` must wait for it
    without having taken `second`'s lock (the other transaction takes it at once, NOWAIT, else
    LockNotAvailable); returns what `work` returns, `within` seconds of the lock's release."""
    async with row_locked(engine, id_column, first) as holder:
        running = asyncio.ensure_future(work)
        await asyncio.sleep(0.5)
        assert not running.done(), "waits for the first row"
        await holder.execute(_lock(id_column, second, nowait=True))  # not taken before the first
    return await asyncio.wait_for(running, within)

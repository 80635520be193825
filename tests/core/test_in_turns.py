"""Background work takes turns with the requests on the event loop."""

from __future__ import annotations

import asyncio

from app.core.scheduler import in_turns


async def test_in_turns_gives_every_item_in_order_and_lets_other_tasks_run():
    ran: list[int] = []

    async def other() -> None:
        ran.append(len(seen))

    seen: list[int] = []
    task = asyncio.get_running_loop().create_task(other())
    async for item in in_turns(range(120), every=50):
        seen.append(item)
    await task
    assert seen == list(range(120))
    assert ran == [50], "the other task ran at the first turn, not after the whole loop"

"""The in-process scheduler: APScheduler only ticks; correctness across replicas and restarts
comes from PostgreSQL (row claims with SKIP LOCKED, unique keys per occurrence)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI

log = logging.getLogger("relance.scheduler")

# Jobs registered by the domains (sweep, deliveries, housekeeping). Each takes the app.
TickJob = Callable[[FastAPI], Awaitable[object]]
TICK_JOBS: list[tuple[str, TickJob]] = []


async def tick(app: FastAPI) -> None:
    for name, job in TICK_JOBS:
        try:
            await job(app)
        except Exception:  # one failing job must not stop the others or the scheduler
            log.exception("scheduled job %s failed", name)


def build_scheduler(app: FastAPI) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        seconds=app.state.settings.scheduler_interval_seconds,
        args=[app],
        id="tick",
        max_instances=1,  # a slow tick is skipped, not stacked
        coalesce=True,
    )
    return scheduler

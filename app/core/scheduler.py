"""The in-process scheduler: APScheduler only ticks; correctness across replicas and restarts
comes from PostgreSQL (row claims with SKIP LOCKED, unique keys per occurrence)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI

log = logging.getLogger("relance.scheduler")

# The jobs of a tick, in order, as the composition root (app.main) lists them. Each takes the app.
TickJob = Callable[[FastAPI], Awaitable[object]]


async def tick(app: FastAPI, jobs: Sequence[tuple[str, TickJob]]) -> None:
    for name, job in jobs:
        try:
            await job(app)
        except Exception:  # one failing job must not stop the others or the scheduler
            log.exception("scheduled job %s failed", name)


def build_scheduler(app: FastAPI, jobs: Sequence[tuple[str, TickJob]]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        seconds=app.state.settings.scheduler_interval_seconds,
        args=[app, tuple(jobs)],
        id="tick",
        max_instances=1,  # a slow tick is skipped, not stacked
        coalesce=True,
    )
    return scheduler

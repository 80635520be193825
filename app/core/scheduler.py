"""The in-process scheduler: APScheduler only ticks; correctness across replicas and restarts
comes from PostgreSQL (row claims with SKIP LOCKED, unique keys per occurrence)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI

from app.core.metrics import SCHEDULER_LAG, observe_pool

log = logging.getLogger("relance.scheduler")

# The jobs of a tick, in order, as the composition root (app.main) lists them. Each takes the app.
TickJob = Callable[[FastAPI], Awaitable[object]]

TICK_JOB_ID = "tick"

T = TypeVar("T")

# Background work shares the event loop with the requests: a sweep batch computed in one go
# (500 invoices evaluated, their events built) held every request behind it for up to 50 ms.
TURN = 50


async def in_turns(items: Iterable[T], every: int = TURN) -> AsyncIterator[T]:
    """`items`, letting the event loop run the other tasks after every `every` of them."""
    for n, item in enumerate(items, 1):
        yield item
        if n % every == 0:
            await asyncio.sleep(0)


@dataclass
class TickSchedule:
    """When the running tick was due: APScheduler tells its listeners, not the job itself."""

    scheduled_at: dt.datetime | None = None

    def record(self, event: JobSubmissionEvent) -> None:
        if event.job_id == TICK_JOB_ID and event.scheduled_run_times:
            # With coalesce, missed runs are run once: the latest is the one that runs.
            self.scheduled_at = max(event.scheduled_run_times)


def _lag_seconds(scheduled_at: dt.datetime | None) -> float:
    if scheduled_at is None:
        return 0.0
    return max((dt.datetime.now(dt.UTC) - scheduled_at).total_seconds(), 0.0)


async def tick(
    app: FastAPI, jobs: Sequence[tuple[str, TickJob]], schedule: TickSchedule | None = None
) -> None:
    scheduled_at = schedule.scheduled_at if schedule else None
    # Other processes' pools are read at their own ticks (the /metrics sum is that fresh).
    observe_pool(app.state.engine.pool)
    for name, job in jobs:
        # Each job starts after the ones before it: its lag includes their run time.
        SCHEDULER_LAG.labels(job=name).set(_lag_seconds(scheduled_at))
        try:
            await job(app)
        except Exception:  # one failing job must not stop the others or the scheduler
            log.exception("scheduled job %s failed", name)


def build_scheduler(app: FastAPI, jobs: Sequence[tuple[str, TickJob]]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    schedule = TickSchedule()
    scheduler.add_listener(schedule.record, EVENT_JOB_SUBMITTED)
    interval = app.state.settings.scheduler_interval_seconds
    scheduler.add_job(
        tick,
        "interval",
        seconds=interval,
        # Replicas started together would tick in step, and the one a little ahead would take
        # every sweep once a sweep is quicker than that lead (seen in tests/reliability).
        jitter=interval * 0.2,
        args=[app, tuple(jobs), schedule],
        id=TICK_JOB_ID,
        max_instances=1,  # a slow tick is skipped, not stacked
        coalesce=True,
    )
    return scheduler

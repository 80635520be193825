"""The rate book's watch: operators learn when the current or next half-year has no published
rate (the relance_rate_unpublished gauge, one warning per gap in the log), at start-up and then
at most once an hour, so that the turn of a half-year shows without a restart."""

from __future__ import annotations

import time

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.legal.rates import CoverageGap
from app.legal.repository import check_coverage

RATE_CHECK_INTERVAL_SECONDS = 3600.0
# Monotonic time of this process's last check; None: never ran.
_last_check: float | None = None


async def check_rates(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> list[CoverageGap]:
    """The half-years with no published rate as of the clock's today (read-only)."""
    global _last_check
    _last_check = time.monotonic()
    async with sessionmaker() as session:
        return await check_coverage(session, clock.today())


async def rate_coverage_tick(app: FastAPI) -> list[CoverageGap] | None:
    """The scheduler job: the check at most once an hour per process."""
    if _last_check is not None and time.monotonic() - _last_check < RATE_CHECK_INTERVAL_SECONDS:
        return None
    return await check_rates(app.state.sessionmaker, app.state.clock)

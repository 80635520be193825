"""Advancing a sandbox tenant's test clock: the scheduler's work for that tenant, day by day.

The walk sweeps at the clock's instant, then at each instant something of the tenant falls due
(always a local midnight, `next_action_at`), in order, up to `to`: what the scheduler would have
done had it ticked through every day in between, each step emitted on its own day (the engine
evaluates each sweep at that day, so the policy's spacing holds: never a late burst). A day with
nothing due is not swept: its sweep would find nothing.

The tenant's row is locked (FOR NO KEY UPDATE) for the whole walk, and the new clock committed
with that lock released: two advances of one tenant run one after the other, the second from
where the first left the clock. Events stay exactly once whatever happens: each day's sweep
commits its own batches, and `(invoice, occurrence)` is unique; if an advance fails midway its
clock is not moved, and the next advance walks those days again, finding them already done."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedInstant
from app.core.errors import FieldError, NotFound, Unprocessable
from app.escalation.tasks import ADMIN_DELIVERY_BUDGET_SECONDS, SweepStats, sweep
from app.ledger.invoices.models import Invoice
from app.outbox.webhooks.tasks import dispatcher
from app.tenants import repository
from app.tenants.service import KnownTenant

# An absurd jump is refused: about 6 years reaches the 5-year prescription between businesses in
# one call; beyond, a typo (year 2062 for 2026) would walk decades.
MAX_ADVANCE = dt.timedelta(days=2200)


class NotSandbox(NotFound):
    def __init__(self) -> None:
        super().__init__(
            "This tenant is live: it has no test clock (create one with "
            '`POST /v1/admin/tenants {"name": ..., "sandbox": true}`).'
        )


@dataclass
class Walk:
    previous: dt.datetime
    now: dt.datetime
    days_stepped: int = 0
    sweeps: int = 0
    invoices: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)

    def add(self, stats: SweepStats) -> None:
        self.sweeps += 1
        self.invoices += stats.invoices
        for type_, count in stats.by_type.items():
            self.by_type[type_] = self.by_type.get(type_, 0) + count


def _refuse(detail: str, msg: str) -> Unprocessable:
    return Unprocessable(detail, errors=[FieldError(loc=["body", "to"], msg=msg)])


def check_jump(previous: dt.datetime, to: dt.datetime) -> None:
    if to < previous:
        raise _refuse(
            f"A test clock only moves forward: it is at {previous.isoformat()}.", "before now"
        )
    if to - previous > MAX_ADVANCE:
        raise _refuse(
            f"An advance is at most {MAX_ADVANCE.days} days; advance in several steps.",
            "too far ahead",
        )


async def _next_due(
    sessionmaker: async_sessionmaker[AsyncSession], tenant_id: str, after: dt.datetime
) -> dt.datetime | None:
    """The next instant, after `after`, at which one of the tenant's open invoices falls due."""
    stmt = select(func.min(Invoice.next_action_at)).where(
        Invoice.tenant_id == tenant_id,
        Invoice.status == "open",
        Invoice.next_action_at > after,
    )
    async with sessionmaker() as session:
        return (await session.execute(stmt)).scalar_one()


async def _walk(app: FastAPI, tenant_id: str, walk: Walk) -> None:
    sessionmaker = app.state.sessionmaker
    at: dt.datetime | None = walk.previous
    while at is not None and at <= walk.now:
        clock = FixedInstant(app.state.clock, at)
        walk.add(await sweep(sessionmaker, clock, tenant_id=tenant_id, claim_of=app.state.claim_of))
        # Everything due at `at` was planned past it by the sweep; a row a concurrent request
        # held locked is left for the next advance (which sweeps its starting instant first).
        at = await _next_due(sessionmaker, tenant_id, at)


async def advance(app: FastAPI, tenant: KnownTenant, to: dt.datetime) -> Walk:
    """Move the sandbox tenant's clock to `to`, sweeping each day on the way, then deliver its
    due webhooks (real HTTP, real time, for at most ADMIN_DELIVERY_BUDGET_SECONDS)."""
    if not tenant.sandbox:
        raise NotSandbox()
    async with app.state.sessionmaker() as lock:
        previous = await repository.lock_test_clock(lock, tenant.id)
        if previous is None:
            raise NotSandbox()
        check_jump(previous, to)
        walk = Walk(previous=previous, now=to)
        tz = app.state.clock.tz
        walk.days_stepped = (to.astimezone(tz).date() - previous.astimezone(tz).date()).days
        await _walk(app, tenant.id, walk)
        await repository.set_test_clock(lock, tenant.id, to)
        await lock.commit()
    stats = await dispatcher(app).run(
        app, budget=ADMIN_DELIVERY_BUDGET_SECONDS, tenant_id=tenant.id
    )
    walk.deliveries = stats.by_outcome
    return walk

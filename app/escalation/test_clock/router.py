"""The test clock of a sandbox tenant (a live tenant gets 404)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.core.errors import problem_responses
from app.escalation.test_clock import service
from app.escalation.test_clock.schemas import AdvanceRequest, AdvanceResult, ClockOut
from app.tenants.auth import ClockDep, CurrentTenant

router = APIRouter(prefix="/v1/test-clock", tags=["test clock"])


@router.get(
    "",
    summary="The sandbox tenant's test clock",
    description="The instant this sandbox tenant lives at. It starts at the real time of the "
    "tenant's creation and stands still until advanced. A live tenant gets 404.",
    responses=problem_responses(401, 404),
)
async def get_test_clock(tenant: CurrentTenant, clock: ClockDep) -> ClockOut:
    if not tenant.sandbox:
        raise service.NotSandbox()
    return ClockOut(now=clock.now())


@router.post(
    "/advance",
    summary="Move the test clock forward, running the scheduler's work day by day",
    description="Moves the sandbox tenant's clock to `to` and runs this tenant's sweep as if "
    "the scheduler had run through every day in between: at the clock's current instant, then "
    "at each day's instant where something falls due, each step on its own day (its events "
    "are dated that day: `created_at`), never a late burst. Then delivers this tenant's due "
    "webhooks (real HTTP, for at most 10 s; what is left, and the retries of a failed "
    "delivery, follow the real time with the scheduler; `webhook-timestamp` is the real time). "
    "Backwards, or more than 2200 days ahead: 422. Two advances of one tenant run one after "
    "the other (the second from where the first left the clock); no event is ever emitted "
    "twice. The scheduler never sweeps a sandbox tenant: only this does. A live tenant gets "
    "404.",
    responses=problem_responses(401, 404, 422),
)
async def advance_test_clock(
    body: AdvanceRequest, tenant: CurrentTenant, request: Request
) -> AdvanceResult:
    walk = await service.advance(request.app, tenant, body.to)
    return AdvanceResult(
        previous=walk.previous,
        now=walk.now,
        days_stepped=walk.days_stepped,
        sweeps=walk.sweeps,
        invoices_swept=walk.invoices,
        events_created=sum(walk.by_type.values()),
        events_by_type=walk.by_type,
        deliveries=walk.deliveries,
        deliveries_attempted=sum(walk.deliveries.values()),
    )

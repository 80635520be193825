from __future__ import annotations

from fastapi import APIRouter, Request

from app.core.clock import FixedInstant
from app.core.db import SessionDep
from app.core.errors import FieldError, Unprocessable, problem_responses
from app.escalation import tasks
from app.escalation.schemas import SweepRequest, SweepResult, Timeline
from app.escalation.tasks import deliver_all_due, sweep_app
from app.escalation.timeline import timeline
from app.tenants.auth import AdminDep, ClockDep, TenantId

router = APIRouter(prefix="/v1/invoices/{invoice_id}", tags=["invoices"])


@router.get(
    "/timeline",
    summary="Recorded actions, payments, emitted events and planned steps, by date",
    responses=problem_responses(401, 404),
)
async def get_timeline(
    invoice_id: str, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> Timeline:
    return await timeline(session, tenant_id, invoice_id, clock)


admin_router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[AdminDep])


@admin_router.post(
    "/sweep",
    summary="Run the scheduler's work now, as of an instant",
    description="Deadline detection and event creation for everything due at `as_of`, then the "
    "deliveries of due webhooks, synchronously. Sweeping the same instant twice changes nothing "
    "the second time. Deliveries get at most 10 seconds (a receiver that does not answer must not "
    "hold the call for its 15 s timeout per attempt): `deliveries` counts the attempts recorded "
    "by then; the rest go on in the background and with the scheduler.",
    responses=problem_responses(401, 404, 422),
)
async def run_sweep(body: SweepRequest, request: Request) -> SweepResult:
    if body.as_of.tzinfo is None:
        raise Unprocessable(
            "as_of needs a UTC offset.",
            errors=[FieldError(loc=["body", "as_of"], msg="needs a UTC offset")],
        )
    if not 1900 <= body.as_of.year <= 9000:  # day arithmetic near year 1 or 9999 overflows
        raise Unprocessable(
            "as_of must be between the years 1900 and 9000.",
            errors=[FieldError(loc=["body", "as_of"], msg="out of range")],
        )
    clock = FixedInstant(request.app.state.clock, body.as_of)
    stats = await sweep_app(request.app, clock)
    deliveries = await deliver_all_due(request.app, clock, tasks.ADMIN_DELIVERY_BUDGET_SECONDS)
    return SweepResult(
        as_of=body.as_of,
        invoices_swept=stats.invoices,
        events_created=stats.events,
        events_by_type=stats.by_type,
        deliveries=deliveries,
    )

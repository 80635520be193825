from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request

from app.core.clock import FixedInstant
from app.core.db import SessionDep
from app.core.errors import FieldError, Unprocessable, problem_responses
from app.escalation import tasks
from app.escalation.schemas import PlannedEventOut, SweepRequest, SweepResult, Timeline
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


# A dry run lists at most this many events (the counts cover them all).
DRY_RUN_LISTED = 1000


@admin_router.post(
    "/sweep",
    summary="Run the scheduler's work now, as of an instant",
    description="Deadline detection and event creation for everything due at `as_of`, then the "
    "deliveries of due webhooks, synchronously. Sweeping the same instant twice changes nothing "
    "the second time. Deliveries get at most 10 seconds (a receiver that does not answer must not "
    "hold the call for its 15 s timeout per attempt): `deliveries` counts the attempts recorded "
    "by then; the rest go on in the background and with the scheduler.\n\n"
    "A future `as_of` (more than a minute ahead of the server's clock) would send, now, the "
    "reminders due by then: it is refused (422) unless `force` is true. `dry_run` writes and "
    "delivers nothing and answers the events the sweep would emit (`would_emit`), for any "
    "`as_of`.",
    responses=problem_responses(401, 404, 422),
)
async def run_sweep(body: SweepRequest, request: Request) -> SweepResult:
    _check_as_of(body, request.app.state.clock.now())
    clock = FixedInstant(request.app.state.clock, body.as_of)
    if body.dry_run:
        preview = await tasks.preview_sweep(request.app.state.sessionmaker, clock)
        return SweepResult(
            as_of=body.as_of,
            dry_run=True,
            invoices_swept=preview.invoices,
            events_created=0,
            events_by_type=preview.by_type,
            deliveries={},
            would_emit=[
                PlannedEventOut.model_validate(event, from_attributes=True)
                for event in preview.events[:DRY_RUN_LISTED]
            ],
        )
    stats = await sweep_app(request.app, clock)
    deliveries = await deliver_all_due(request.app, clock, tasks.ADMIN_DELIVERY_BUDGET_SECONDS)
    return SweepResult(
        as_of=body.as_of,
        dry_run=False,
        invoices_swept=stats.invoices,
        events_created=stats.events,
        events_by_type=stats.by_type,
        deliveries=deliveries,
    )


def _as_of_error(detail: str, msg: str) -> Unprocessable:
    return Unprocessable(detail, errors=[FieldError(loc=["body", "as_of"], msg=msg)])


def _check_as_of(body: SweepRequest, clock_now: dt.datetime) -> None:
    if body.as_of.tzinfo is None:
        raise _as_of_error("as_of needs a UTC offset.", "needs a UTC offset")
    if not 1900 <= body.as_of.year <= 9000:  # day arithmetic near year 1 or 9999 overflows
        raise _as_of_error("as_of must be between the years 1900 and 9000.", "out of range")
    # The service's clock, not the sweep's: a future instant sends tomorrow's reminders today.
    now = clock_now
    if tasks.is_future(body.as_of, now) and not (body.force or body.dry_run):
        raise _as_of_error(
            f"as_of {body.as_of.isoformat()} is in the future (now {now.isoformat()}): the "
            "reminders due by then would be sent now. Use dry_run to see them, or force to "
            "send them anyway.",
            "in the future (use dry_run, or force)",
        )

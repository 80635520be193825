from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from app.core.clock import FixedInstant
from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import FieldError, Unprocessable, problem_responses
from app.escalation import tasks
from app.escalation.actions.service import list_actions
from app.escalation.schemas import SweepRequest, SweepResult, Timeline, TimelineItem
from app.escalation.service import load_engine_inputs
from app.escalation.tasks import deliver_all_due, sweep_app
from app.ledger.invoices.models import Invoice
from app.ledger.payments.models import Payment
from app.outbox.events.models import Event
from app.tenants.auth import AdminDep, ClockDep, TenantId

router = APIRouter(prefix="/v1/invoices/{invoice_id}", tags=["invoices"])

_ORDER = {"payment": 0, "action": 1, "event": 2, "due": 3, "planned": 4}


@router.get(
    "/timeline",
    summary="Recorded actions, payments, emitted events and planned steps, by date",
    responses=problem_responses(401, 404),
)
async def get_timeline(
    invoice_id: str, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> Timeline:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id)
    inputs = await load_engine_inputs(session, [invoice], clock)
    evaluation = inputs[invoice.id].evaluate(clock.today())
    items = [
        TimelineItem(
            kind="action",
            date=clock.local_day(a.performed_at),
            type=a.type,
            code=a.step,
            channel=a.channel,
            id=a.id,
            detail={
                k: v
                for k, v in {
                    "note": a.note,
                    "outcome": a.outcome,
                    "tracking_number": a.tracking_number,
                    "acknowledged_at": a.acknowledged_at and a.acknowledged_at.isoformat(),
                    "presented_at": a.presented_at and a.presented_at.isoformat(),
                    "promised_date": a.promised_date and a.promised_date.isoformat(),
                }.items()
                if v
            },
        )
        for a in await list_actions(session, invoice.id)
    ]
    payments = await session.execute(select(Payment).where(Payment.invoice_id == invoice.id))
    items += [
        TimelineItem(
            kind="payment",
            date=p.paid_at,
            type="payment",
            id=p.id,
            detail={"amount": f"{p.amount:.2f}"},
        )
        for p in payments.scalars()
    ]
    events = await session.execute(
        select(Event.id, Event.type, Event.occurrence, Event.occurred_on, Event.created_at).where(
            Event.invoice_id == invoice.id
        )
    )
    for event_id, type_, occurrence, occurred_on, created_at in events:
        code = occurrence.removeprefix("step:") if occurrence.startswith("step:") else None
        items.append(
            TimelineItem(
                kind="event",
                date=occurred_on or clock.local_day(created_at),
                type=type_,
                code=code,
                id=event_id,
                detail={"occurrence": occurrence},
            )
        )
    for kind, occurrences in (("due", evaluation.due), ("planned", evaluation.planned)):
        for occ in occurrences:
            items.append(
                TimelineItem(
                    kind=kind,
                    date=occ.on,
                    type=occ.event_type,
                    code=occ.step.code if occ.step else None,
                    channel=occ.step.channel if occ.step else None,
                    detail={"occurrence": occ.key, **{k: str(v) for k, v in occ.detail.items()}},
                )
            )
    items.sort(key=lambda i: (i.date, _ORDER[i.kind]))
    return Timeline(
        invoice_id=invoice.id,
        stage=evaluation.stage,
        paused=evaluation.paused,
        paused_reason=evaluation.paused_reason,
        items=items,
    )


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

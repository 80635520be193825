"""An invoice's timeline: its e-invoice lifecycle statuses, recorded actions and payments, the
events emitted about it, the engine's due and planned occurrences, and where an uncontested
commercial claims procedure stands (the debtor's month after the commandement de payer, and what
comes next), by date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import get_owned
from app.escalation.actions.models import Action
from app.escalation.actions.service import list_actions
from app.escalation.engine import Evaluation
from app.escalation.grouping.models import GroupedStep
from app.escalation.procedure import TIMELINE_TYPE_PREFIX, UncontestedClaim, uncontested_claim
from app.escalation.schemas import Timeline, TimelineItem
from app.escalation.service import EngineInputs, load_engine_inputs
from app.ledger.invoices.models import Invoice
from app.ledger.lifecycle.models import LifecycleStatus
from app.ledger.payments.models import Payment
from app.legal.einvoicing import STATUSES
from app.outbox.events.models import DebtorEventKey, EventKey

# Within a day: e-invoice statuses, payments, actions, emitted events, then the engine's due and
# planned steps.
_ORDER = {"lifecycle_status": 0, "payment": 1, "action": 2, "event": 3, "due": 4, "planned": 5}


async def timeline(
    session: AsyncSession, tenant_id: str, invoice_id: str, clock: Clock
) -> Timeline:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id)
    inputs = (await load_engine_inputs(session, [invoice], clock))[invoice.id]
    today = clock.today()
    evaluation = inputs.evaluate(today)
    items = [_action_item(a, clock) for a in await list_actions(session, invoice.id)]
    items += await _payment_items(session, invoice.id)
    items += await _status_items(session, invoice.id, clock)
    items += await _event_items(session, invoice.id, clock)
    items += await _grouped_items(session, invoice.id)
    items += _engine_items(evaluation)
    if invoice.status == "open":
        items += _procedure_items(inputs, today)
    items.sort(key=lambda i: (i.date, _ORDER[i.kind]))
    return Timeline(
        invoice_id=invoice.id,
        stage=evaluation.stage,
        paused=evaluation.paused,
        paused_reason=evaluation.paused_reason,
        items=items,
    )


def _action_item(a: Action, clock: Clock) -> TimelineItem:
    return TimelineItem(
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
                "served_on": a.served_on and a.served_on.isoformat(),
                "promised_date": a.promised_date and a.promised_date.isoformat(),
            }.items()
            if v
        },
    )


async def _payment_items(session: AsyncSession, invoice_id: str) -> list[TimelineItem]:
    payments = await session.execute(select(Payment).where(Payment.invoice_id == invoice_id))
    return [
        TimelineItem(
            kind="payment",
            date=p.paid_at,
            type="payment",
            id=p.id,
            detail={"amount": f"{p.amount:.2f}"},
        )
        for p in payments.scalars()
    ]


async def _status_items(session: AsyncSession, invoice_id: str, clock: Clock) -> list[TimelineItem]:
    statuses = await session.execute(
        select(LifecycleStatus).where(LifecycleStatus.invoice_id == invoice_id)
    )
    items = []
    for s in statuses.scalars():
        detail = {
            "label": STATUSES[s.code].label,  # type: ignore[index]
            "effect": s.effect,
            "reason_code": s.reason_code,
            "reason": s.reason,
            "amount": None if s.amount is None else f"{s.amount:.2f}",
            "platform": s.platform,
            "message_id": s.message_id,
        }
        items.append(
            TimelineItem(
                kind="lifecycle_status",
                date=clock.local_day(s.at),
                type=f"lifecycle_status.{s.code}",
                code=s.code,
                id=s.id,
                detail={k: v for k, v in detail.items() if v is not None},
            )
        )
    return items


async def _event_items(session: AsyncSession, invoice_id: str, clock: Clock) -> list[TimelineItem]:
    # From the exactly-once keys, which outlive the events' monthly partitions.
    events = await session.execute(
        select(
            EventKey.event_id,
            EventKey.type,
            EventKey.occurrence,
            EventKey.occurred_on,
            EventKey.created_at,
        ).where(EventKey.invoice_id == invoice_id)
    )
    items = []
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
    return items


async def _grouped_items(session: AsyncSession, invoice_id: str) -> list[TimelineItem]:
    """The invoice's steps sent with its debtor's grouped events (grouping "debtor")."""
    rows = await session.execute(
        select(
            GroupedStep.occurrence,
            GroupedStep.occurred_on,
            DebtorEventKey.event_id,
            DebtorEventKey.type,
        )
        .join(DebtorEventKey, DebtorEventKey.event_id == GroupedStep.event_id)
        .where(GroupedStep.invoice_id == invoice_id)
    )
    return [
        TimelineItem(
            kind="event",
            date=occurred_on,
            type=type_,
            code=occurrence.removeprefix("step:") if occurrence.startswith("step:") else None,
            id=event_id,
            detail={"occurrence": occurrence, "grouped": True},
        )
        for occurrence, occurred_on, event_id, type_ in rows
    ]


def _engine_items(evaluation: Evaluation) -> Iterable[TimelineItem]:
    for kind, occurrences in (("due", evaluation.due), ("planned", evaluation.planned)):
        for occ in occurrences:
            yield TimelineItem(
                kind=kind,
                date=occ.on,
                type=occ.event_type,
                code=occ.step.code if occ.step else None,
                channel=occ.step.channel if occ.step else None,
                detail={"occurrence": occ.key, **{k: str(v) for k, v in occ.detail.items()}},
            )


def _procedure_items(inputs: EngineInputs, today: dt.date) -> list[TimelineItem]:
    """The uncontested claims procedure's next steps: `planned` while their day is ahead, `due`
    once it has come (the step can be taken)."""
    procedure = uncontested_claim(
        inputs.actions, disputed=inputs.state.disputed, calendar=inputs.policy.calendar
    )
    if procedure is None:
        return []
    return [
        TimelineItem(
            kind="planned" if step.on is not None and step.on > today else "due",
            date=step.on or procedure.commandement.performed_on,
            type=TIMELINE_TYPE_PREFIX + step.code,
            id=procedure.commandement.id,
            detail={"explanation": step.explanation, **_procedure_detail(procedure)},
        )
        for step in procedure.next
    ]


def _procedure_detail(procedure: UncontestedClaim) -> dict[str, str]:
    detail = {
        "commandement_id": procedure.commandement.id,
        "served_on": procedure.commandement.served_on,
        "contest_period_ends_on": procedure.contest_period_ends_on,
        "pv_possible_from": procedure.pv_possible_from,
    }
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in detail.items() if v}

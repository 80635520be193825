"""An invoice's timeline: its e-invoice lifecycle statuses, recorded actions and payments, the
events emitted about it, the engine's due and planned occurrences, and where an uncontested
commercial claims procedure stands (the debtor's month after the commandement de payer, and what
comes next), by date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.clock import Clock
from app.core.crud import get_owned
from app.core.db import rows_where, rows_where_many
from app.escalation.actions.models import Action
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
    # Every kind of item in one round trip through the driver (rows_where_many): the ORM cost
    # several times more CPU per statement, and one statement per kind twice the time
    # (bench/README.md).
    conn = await session.connection()
    actions, payments, statuses, keys, grouped = await rows_where_many(
        conn,
        [
            (model, "invoice_id", [invoice.id])
            for model in (Action, Payment, LifecycleStatus, EventKey, GroupedStep)
        ],
    )
    items = [_action_item(a, clock) for a in sorted(actions, key=lambda a: (a.performed_at, a.id))]
    items += _payment_items(payments)
    items += _status_items(statuses, clock)
    items += _event_items(keys, clock)
    items += await _grouped_items(conn, grouped)
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


def _action_item(a: Any, clock: Clock) -> TimelineItem:
    """From an action's row (`rows_where`)."""
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


def _payment_items(payments: Iterable[Any]) -> list[TimelineItem]:
    return [
        TimelineItem(
            kind="payment",
            date=p.paid_at,
            type="payment",
            id=p.id,
            detail={"amount": f"{p.amount:.2f}"},
        )
        for p in payments
    ]


def _status_items(statuses: Iterable[Any], clock: Clock) -> list[TimelineItem]:
    items = []
    for s in statuses:
        detail = {
            "label": STATUSES[s.code].label,
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


def _event_items(keys: Iterable[Any], clock: Clock) -> list[TimelineItem]:
    # From the exactly-once keys, which outlive the events' monthly partitions.
    return [
        TimelineItem(
            kind="event",
            date=key.occurred_on or clock.local_day(key.created_at),
            type=key.type,
            code=_step_code(key.occurrence),
            id=key.event_id,
            detail={"occurrence": key.occurrence},
        )
        for key in keys
    ]


def _step_code(occurrence: str) -> str | None:
    return occurrence.removeprefix("step:") if occurrence.startswith("step:") else None


async def _grouped_items(conn: AsyncConnection, steps: list[Any]) -> list[TimelineItem]:
    """The invoice's steps sent with its debtor's grouped events (grouping "debtor")."""
    if not steps:  # most invoices: no round trip
        return []
    keys = await rows_where(conn, DebtorEventKey, "event_id", {s.event_id for s in steps})
    type_of = {key.event_id: key.type for key in keys}
    return [
        TimelineItem(
            kind="event",
            date=step.occurred_on,
            type=type_of[step.event_id],
            code=_step_code(step.occurrence),
            id=step.event_id,
            detail={"occurrence": step.occurrence, "grouped": True},
        )
        for step in steps
        if step.event_id in type_of
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

"""Keeps each invoice's dunning state current: whenever an invoice (or what the engine reads about
it) changes, the pure engine is run for today and its answer is stored on the invoice, with
`next_action_at`, the indexed instant at which the sweep must look at it again.

Deadline events are written only by the sweep (app.escalation.tasks); refreshing never emits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import FRENCH_CALENDAR
from app.core.clock import Clock
from app.creditors.models import Creditor
from app.debtors.models import Debtor
from app.escalation.engine import Evaluation, InvoiceState, RecordedAction, evaluate
from app.escalation.policy import Policy
from app.events.models import Event
from app.invoices.models import Invoice
from app.policies.service import policy_for_creditor


def engine_state(
    invoice: Invoice,
    debtor: Debtor,
    *,
    emitted: Mapping[str, dt.date] | None = None,
) -> InvoiceState:
    return InvoiceState(
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount=invoice.amount,
        balance=invoice.amount - (invoice.paid_amount or Decimal(0)),
        status=invoice.status,  # type: ignore[arg-type]
        debtor_kind=debtor.kind,  # type: ignore[arg-type]
        created_on=invoice.tracked_since,
        disputed=invoice.disputed,
        insolvent=debtor.insolvency_procedure is not None,
        emitted=dict(emitted or {}),
    )


def apply_evaluation(invoice: Invoice, evaluation: Evaluation, clock: Clock) -> None:
    invoice.dunning_stage = evaluation.stage
    invoice.last_step = evaluation.last_step
    invoice.next_step = evaluation.next_step
    invoice.paused = evaluation.paused
    invoice.paused_reason = evaluation.paused_reason
    invoice.formal_notice_deadline = evaluation.formal_notice_deadline
    invoice.limitation_ends_on = evaluation.limitation_ends_on
    # Something due now is looked at by the next sweep; otherwise at the next planned day.
    next_day = evaluation.due[0].on if evaluation.due else evaluation.next_action_on
    invoice.next_action_at = clock.start_of_day(next_day) if next_day else None


def run_engine(
    invoice: Invoice,
    debtor: Debtor,
    policy: Policy,
    clock: Clock,
    *,
    actions: Sequence[RecordedAction] = (),
    emitted: Mapping[str, dt.date] | None = None,
) -> Evaluation:
    return evaluate(
        engine_state(invoice, debtor, emitted=emitted),
        policy,
        actions,
        FRENCH_CALENDAR,
        clock.today(),
    )


async def emitted_occurrences(session: AsyncSession, invoice_id: str) -> dict[str, dt.date]:
    rows = await session.execute(
        select(Event.occurrence, Event.occurred_on, Event.created_at).where(
            Event.invoice_id == invoice_id
        )
    )
    return {occ: (on or created.date()) for occ, on, created in rows}


async def refresh_invoice(
    session: AsyncSession,
    invoice: Invoice,
    clock: Clock,
    *,
    debtor: Debtor | None = None,
    creditor: Creditor | None = None,
) -> Evaluation:
    if debtor is None:
        debtor = await session.get_one(Debtor, invoice.debtor_id)
    if creditor is None:
        creditor = await session.get_one(Creditor, invoice.creditor_id)
    policy = await policy_for_creditor(session, creditor)
    evaluation = run_engine(
        invoice, debtor, policy, clock, emitted=await emitted_occurrences(session, invoice.id)
    )
    apply_evaluation(invoice, evaluation, clock)
    await session.flush()
    return evaluation


async def refresh_debtor_invoices(session: AsyncSession, debtor: Debtor, clock: Clock) -> None:
    invoices = (
        await session.execute(
            select(Invoice)
            .where(Invoice.debtor_id == debtor.id, Invoice.status == "open")
            .order_by(Invoice.id)
            .with_for_update()
        )
    ).scalars()
    for invoice in invoices:
        await refresh_invoice(session, invoice, clock, debtor=debtor)

"""Keeps each invoice's dunning state current: whenever an invoice (or what the engine reads about
it: actions, disputes, payment plan, debtor) changes, the pure engine is run for today and its
answer is stored on the invoice, with `next_action_at`, the indexed instant at which the sweep
must look at it again.

Deadline events are written only by the sweep (app.escalation.tasks); refreshing never emits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.models import Action
from app.core.clock import Clock
from app.creditors.models import Creditor
from app.debtors.models import Debtor
from app.escalation.engine import (
    Evaluation,
    Installment,
    InvoiceState,
    RecordedAction,
    evaluate,
)
from app.escalation.policy import Policy
from app.events.models import Event
from app.invoices.models import Invoice
from app.payment_plans.models import Installment as InstallmentRow
from app.payment_plans.models import PaymentPlan
from app.policies.service import policy_for_creditor


@dataclass(frozen=True)
class EngineInputs:
    state: InvoiceState
    policy: Policy
    actions: tuple[RecordedAction, ...]
    debtor: Debtor
    creditor: Creditor


def to_recorded(action: Action, clock: Clock) -> RecordedAction:
    return RecordedAction(
        id=action.id,
        type=action.type,
        channel=action.channel,
        performed_on=clock.local_day(action.performed_at),
        acknowledged_on=action.acknowledged_at,
        presented_on=action.presented_at,
        promised_date=action.promised_date,
    )


def engine_state(
    invoice: Invoice,
    debtor: Debtor,
    *,
    emitted: Mapping[str, dt.date] | None = None,
    installments: tuple[Installment, ...] = (),
    paid_since_plan: Decimal = Decimal(0),
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
        installments=installments,
        paid_since_plan=paid_since_plan,
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
    invoice: Invoice, debtor: Debtor, policy: Policy, clock: Clock, today: dt.date | None = None
) -> Evaluation:
    """For an invoice with no history yet (creation, batch import)."""
    state = engine_state(invoice, debtor)
    return evaluate(state, policy, (), policy.calendar, today or clock.today())


async def emitted_occurrences(session: AsyncSession, invoice_id: str) -> dict[str, dt.date]:
    rows = await session.execute(
        select(Event.occurrence, Event.occurred_on, Event.created_at).where(
            Event.invoice_id == invoice_id
        )
    )
    return {occ: (on or created.date()) for occ, on, created in rows}


async def _active_plan(
    session: AsyncSession, invoice: Invoice
) -> tuple[tuple[Installment, ...], Decimal]:
    plan = (
        await session.execute(
            select(PaymentPlan).where(
                PaymentPlan.invoice_id == invoice.id, PaymentPlan.status == "active"
            )
        )
    ).scalar_one_or_none()
    if plan is None:
        return (), Decimal(0)
    rows = await session.execute(
        select(InstallmentRow).where(InstallmentRow.plan_id == plan.id).order_by(InstallmentRow.seq)
    )
    installments = tuple(Installment(r.due_date, r.amount) for r in rows.scalars())
    return installments, invoice.paid_amount - plan.paid_before


async def load_engine_inputs(
    session: AsyncSession,
    invoice: Invoice,
    clock: Clock,
    *,
    debtor: Debtor | None = None,
    creditor: Creditor | None = None,
) -> EngineInputs:
    if debtor is None:
        debtor = await session.get_one(Debtor, invoice.debtor_id)
    if creditor is None:
        creditor = await session.get_one(Creditor, invoice.creditor_id)
    actions = tuple(
        to_recorded(a, clock)
        for a in (
            await session.execute(
                select(Action).where(Action.invoice_id == invoice.id).order_by(Action.id)
            )
        ).scalars()
    )
    installments, paid_since_plan = await _active_plan(session, invoice)
    state = engine_state(
        invoice,
        debtor,
        emitted=await emitted_occurrences(session, invoice.id),
        installments=installments,
        paid_since_plan=paid_since_plan,
    )
    policy = await policy_for_creditor(session, creditor)
    return EngineInputs(state, policy, actions, debtor, creditor)


def evaluate_inputs(inputs: EngineInputs, today: dt.date) -> Evaluation:
    return evaluate(inputs.state, inputs.policy, inputs.actions, inputs.policy.calendar, today)


async def refresh_invoice(
    session: AsyncSession,
    invoice: Invoice,
    clock: Clock,
    *,
    debtor: Debtor | None = None,
    creditor: Creditor | None = None,
) -> Evaluation:
    inputs = await load_engine_inputs(session, invoice, clock, debtor=debtor, creditor=creditor)
    evaluation = evaluate_inputs(inputs, clock.today())
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

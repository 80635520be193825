"""Recorded actions: what was done about an invoice. Contacts beyond the amicable caps are refused
(409) unless overridden with a note; a mise en demeure needs a registered letter (or a commissaire
de justice) and its proof; recording anything re-plans the escalation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import get_owned
from app.core.db import flush, mark_invoice_changed
from app.core.errors import Conflict, FieldError, Unprocessable
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.escalation.actions.models import Action
from app.escalation.actions.schemas import ActionCreate, ActionOut, ActionUpdate, ProofOut
from app.escalation.engine import count_contacts
from app.escalation.service import load_engine_inputs, to_recorded
from app.ledger.invoices.models import Invoice
from app.legal import figures as legal

# Clock skew tolerated between the integrator's servers and ours.
_FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def to_out(action: Action) -> ActionOut:
    return ActionOut(
        id=action.id,
        invoice_id=action.invoice_id,
        type=action.type,
        channel=action.channel,
        step=action.step,
        performed_at=action.performed_at,
        note=action.note,
        outcome=action.outcome,
        proof=ProofOut(
            tracking_number=action.tracking_number,
            acknowledged_at=action.acknowledged_at,
            presented_at=action.presented_at,
        ),
        promised_date=action.promised_date,
        override=action.override,
        created_at=action.created_at,
        updated_at=action.updated_at,
    )


def _check_proof_dates(performed_on: dt.date, action: Action, today: dt.date) -> None:
    for name in ("acknowledged_at", "presented_at"):
        value = getattr(action, name)
        if value is not None and not performed_on <= value <= today:
            raise Unprocessable(
                f"proof.{name} must be between the sending day and today.",
                errors=[
                    FieldError(loc=["body", "proof", name], msg="outside the sending day..today")
                ],
            )


async def record_action(
    session: AsyncSession, tenant_id: str, invoice_id: str, data: ActionCreate, clock: Clock
) -> Action:
    # The row lock serialises concurrent recordings: two contacts near a cap can't both pass.
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id, lock=True)
    if data.performed_at > clock.now() + _FUTURE_TOLERANCE:
        raise Unprocessable(
            "performed_at is in the future.",
            errors=[FieldError(loc=["body", "performed_at"], msg="must not be in the future")],
        )
    proof = data.proof
    action = Action(
        id=new_id("act"),
        tenant_id=tenant_id,
        invoice_id=invoice.id,
        type=data.type,
        channel=data.channel or ("phone" if data.type == "phone_call" else None),
        step=data.step,
        performed_at=data.performed_at,
        note=data.note,
        outcome=data.outcome,
        tracking_number=proof.tracking_number if proof else None,
        acknowledged_at=proof.acknowledged_at if proof else None,
        presented_at=proof.presented_at if proof else None,
        promised_date=data.promised_date,
        override=data.override,
    )
    performed_on = clock.local_day(data.performed_at)
    _check_proof_dates(performed_on, action, clock.today())
    if data.promised_date is not None and data.promised_date < performed_on:
        raise Unprocessable(
            "promised_date is before the promise.",
            errors=[FieldError(loc=["body", "promised_date"], msg="before performed_at")],
        )

    inputs = (await load_engine_inputs(session, [invoice], clock))[invoice.id]
    before = count_contacts(inputs.policy, inputs.state, inputs.actions)
    after = count_contacts(
        inputs.policy, inputs.state, [*inputs.actions, to_recorded(action, clock)]
    )
    over = [
        channel
        for channel, cap in legal.AMICABLE_CAPS.items()
        if after[channel] > cap and after[channel] > before[channel]
    ]
    if over and not data.override:
        channel = over[0]
        raise Conflict(
            f"This would be {after[channel]} {channel} contacts in the amicable phase, beyond the "
            f"cap of {legal.AMICABLE_CAPS[channel]} (counting the pre-reminder). Pressure on the "
            "debtor is forbidden; send `override: true` with a `note` to record it anyway.",
            contacts=after,
        )
    session.add(action)
    mark_invoice_changed(session, invoice, clock)
    await flush(session)
    await session.refresh(action)
    return action


async def update_action(
    session: AsyncSession, tenant_id: str, action_id: str, data: ActionUpdate, clock: Clock
) -> Action:
    action = await get_owned(session, Action, tenant_id, action_id)
    invoice = await get_owned(session, Invoice, tenant_id, action.invoice_id, lock=True)
    await session.refresh(action, with_for_update=True)
    changes = data.model_dump(exclude_unset=True, exclude={"proof"})
    for field, value in changes.items():
        setattr(action, field, value)
    if data.proof is not None:
        for field, value in data.proof.model_dump(exclude_unset=True).items():
            current = getattr(action, field)
            if current is not None and current != value:
                # Proof is evidence: once given it is not rewritten; record a new action instead.
                raise Conflict(f"proof.{field} is already recorded as {current}.")
            setattr(action, field, value)
    _check_proof_dates(clock.local_day(action.performed_at), action, clock.today())
    mark_invoice_changed(session, invoice, clock)
    await flush(session)
    await session.refresh(action)
    return action


async def list_actions(session: AsyncSession, invoice_id: str) -> list[Action]:
    rows = await session.execute(
        select(Action)
        .where(Action.invoice_id == invoice_id)
        .order_by(Action.performed_at, Action.id)
    )
    return list(rows.scalars())


async def list_actions_page(
    session: AsyncSession, tenant_id: str, invoice_id: str, page: PageParams
) -> Page[ActionOut]:
    """One page of the invoice's actions, in the order they were recorded."""
    await get_owned(session, Invoice, tenant_id, invoice_id)
    stmt = select(Action).where(Action.invoice_id == invoice_id, Action.tenant_id == tenant_id)
    return await page_of(session, stmt, Action.id, page, to_out)

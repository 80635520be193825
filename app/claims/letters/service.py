"""The letters of an invoice, filled from the creditor, the debtor, the claim and the recorded
actions (the reminders already sent)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.claims.letters.render import LetterContext, LetterInvoice, LetterKind, Party, SentReminder
from app.claims.service import claim_for
from app.escalation.actions.models import Action
from app.escalation.policies.service import policy_for_creditor
from app.ledger.creditors.models import Creditor
from app.ledger.debtors.models import Debtor
from app.ledger.invoices.models import Invoice

_CONTACTS = ("pre_reminder", "reminder", "phone_call", "formal_notice")


def _address_lines(address: dict[str, Any] | None) -> tuple[str, ...]:
    if not address:
        return ()
    lines = [address.get("line1"), address.get("line2")]
    city = " ".join(filter(None, [address.get("postal_code"), address.get("city")]))
    lines.append(city)
    if address.get("country") not in (None, "FR"):
        lines.append(address["country"])
    return tuple(line for line in lines if line)


async def letter_context(
    session: AsyncSession, invoice: Invoice, kind: LetterKind, today: dt.date
) -> LetterContext:
    creditor = await session.get_one(Creditor, invoice.creditor_id)
    debtor = await session.get_one(Debtor, invoice.debtor_id)
    actions = (
        await session.execute(
            select(Action)
            .where(Action.invoice_id == invoice.id, Action.type.in_(_CONTACTS))
            .order_by(Action.performed_at)
        )
    ).scalars()
    reminders = tuple(
        SentReminder(on=a.performed_at.date(), type=a.step or a.type, channel=a.channel or "")
        for a in actions
        if a.type != "formal_notice"
    )
    policy = await policy_for_creditor(session, creditor)
    deadline_date = None
    if kind == "formal_notice" and invoice.formal_notice_deadline is not None:
        deadline_date = invoice.formal_notice_deadline
    claim = (
        None
        if kind == "pre_reminder"
        else await claim_for(session, invoice, today, debtor=debtor, creditor=creditor)
    )
    return LetterContext(
        kind=kind,
        creditor=Party(
            name=creditor.name,
            siren=creditor.siren,
            siret=creditor.siret,
            address_lines=_address_lines(creditor.address),
            email=creditor.email,
            phone=creditor.phone,
        ),
        debtor=Party(
            name=debtor.name,
            siren=debtor.siren,
            siret=debtor.siret,
            address_lines=_address_lines(debtor.address),
            email=debtor.email,
            phone=debtor.phone,
        ),
        debtor_kind=debtor.kind,
        invoices=(
            LetterInvoice(
                number=invoice.number,
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
                amount=invoice.amount,
                balance=invoice.balance,
            ),
        ),
        claim=claim,
        today=today,
        iban=creditor.iban,
        bic=creditor.bic,
        city=(creditor.address or {}).get("city"),
        reminders_sent=reminders,
        deadline_days=policy.formal_notice_deadline_days,
        deadline_date=deadline_date,
    )

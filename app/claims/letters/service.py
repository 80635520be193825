"""The letters of an invoice, filled from the creditor, the debtor, the claim and the recorded
actions (the reminders already sent).

A letter is dated as of its sending, never as of its rendering: the day of the recorded action
that sent it (the `formal_notice` action's `performed_at` for a mise en demeure, the action
carrying the step for a reminder), or the `as_of` day the caller gives; only a letter neither
sent nor dated is a draft of today. The claim, the reminders already sent and the deadline are
those of that day, so rendering it again later gives the same letter. The deadline is the
engine's (app.legal.deadlines, the creditor's business calendar): from the recorded date of
service, AR or first presentation, else from the assumed receipt, said so in the letter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.claims.letters.render import (
    LetterContext,
    LetterInvoice,
    LetterKind,
    Party,
    SentReminder,
    sum_claims,
)
from app.claims.letters.wording import Delivery
from app.claims.service import claim_for
from app.core.clock import Clock
from app.core.errors import Conflict, FieldError, Unprocessable
from app.escalation.actions.models import Action
from app.escalation.policies.service import policy_for_creditor
from app.escalation.policy import Policy
from app.escalation.service import proof_facts
from app.ledger.creditors.models import Creditor
from app.ledger.debtors.models import Debtor
from app.ledger.debtors.schemas import Language
from app.ledger.invoices.models import Invoice
from app.legal import deadlines

_CONTACTS = ("pre_reminder", "reminder", "phone_call", "formal_notice")


class InvoiceOverdue(Conflict):
    code, title = "invoice-overdue", "Invoice overdue"


class NothingToClaim(Conflict):
    code, title = "nothing-to-claim", "Nothing to claim"


def _check_pre_reminder(invoice: Invoice, kind: LetterKind, dated: dt.date) -> None:
    """The pre-reminder ("avez-vous bien reçu notre facture ?") is for an invoice not yet due
    (stage `not_due`): the engine emits none once the due date has passed, nor may a letter."""
    if kind == "pre_reminder" and dated > invoice.due_date:
        raise InvoiceOverdue(
            f"A pre-reminder is only for an invoice not yet due: invoice {invoice.number} fell "
            f"due on {invoice.due_date.isoformat()} and is overdue on {dated.isoformat()}, the "
            "letter's date. Send reminder_1 instead.",
            due_date=invoice.due_date.isoformat(),
            letter_date=dated.isoformat(),
        )


def _address_lines(address: dict[str, Any] | None) -> tuple[str, ...]:
    if not address:
        return ()
    lines = [address.get("line1"), address.get("line2")]
    city = " ".join(filter(None, [address.get("postal_code"), address.get("city")]))
    lines.append(city)
    if address.get("country") not in (None, "FR"):
        lines.append(address["country"])
    return tuple(line for line in lines if line)


def _sends(action: Action, kind: LetterKind) -> bool:
    """Whether a recorded action is the sending of a letter of this kind."""
    if kind == "formal_notice":
        return action.type == "formal_notice"
    if kind == "pre_reminder":
        return action.type == "pre_reminder" or action.step == "pre_reminder"
    return action.step == kind


def sending_action(
    actions: Sequence[Action], kind: LetterKind, as_of: dt.date | None, clock: Clock
) -> Action | None:
    """The recorded action that sent this letter: the latest one, or with `as_of` the latest one
    performed that day (none: the letter dated `as_of` is not recorded as sent)."""
    found = [
        a
        for a in actions
        if _sends(a, kind) and (as_of is None or clock.local_day(a.performed_at) == as_of)
    ]
    return max(found, key=lambda a: (a.performed_at, a.id), default=None)


def _delivery(sending: Action | None, policy: Policy) -> Delivery:
    if sending is not None:
        channel = sending.channel
    else:
        step = next((s for s in policy.steps if s.kind == "formal_notice"), None)
        channel = step.channel if step else None
    return "commissaire_de_justice" if channel == "commissaire_de_justice" else "registered_letter"


def _party(obj: Creditor | Debtor) -> Party:
    return Party(
        name=obj.name,
        siren=obj.siren,
        siret=obj.siret,
        address_lines=_address_lines(obj.address),
        email=obj.email,
        phone=obj.phone,
    )


async def letter_context(
    session: AsyncSession,
    invoice: Invoice,
    kind: LetterKind,
    clock: Clock,
    as_of: dt.date | None = None,
    language: Language | None = None,
) -> LetterContext:
    """The letter's content; in `language`, else the debtor's."""
    if as_of is not None and as_of < invoice.issue_date:
        raise Unprocessable(
            "as_of is before the invoice's issue date: a letter cannot be dated before it.",
            errors=[FieldError(loc=["query", "as_of"], msg="before the invoice's issue_date")],
        )
    creditor = await session.get_one(Creditor, invoice.creditor_id)
    debtor = await session.get_one(Debtor, invoice.debtor_id)
    actions = list(
        (
            await session.execute(
                select(Action)
                .where(Action.invoice_id == invoice.id, Action.type.in_(_CONTACTS))
                .order_by(Action.performed_at, Action.id)
            )
        ).scalars()
    )
    sending = sending_action(actions, kind, as_of, clock)
    dated = as_of or (clock.local_day(sending.performed_at) if sending else clock.today())
    _check_pre_reminder(invoice, kind, dated)
    reminders = tuple(
        SentReminder(
            on=clock.local_day(a.performed_at), type=a.step or a.type, channel=a.channel or ""
        )
        for a in actions
        if a.type != "formal_notice"
        and a is not sending
        and clock.local_day(a.performed_at) <= dated
    )
    policy = await policy_for_creditor(session, creditor)
    deadline_date = None
    if kind == "formal_notice" and sending is not None:
        proof = await proof_facts(session, [invoice.id], clock)
        deadline_date = deadlines.formal_notice_deadline(
            served_on=sending.served_on,
            acknowledged_on=sending.acknowledged_at,
            presented_on=sending.presented_at,
            days=policy.formal_notice_deadline_days,
            calendar=policy.calendar,
            proof=proof.get(sending.id, ()),
        )
    # As of the letter's day: payments recorded since do not change a letter already sent.
    claim = await claim_for(session, invoice, dated, debtor=debtor, creditor=creditor)
    return LetterContext(
        kind=kind,
        creditor=_party(creditor),
        debtor=_party(debtor),
        debtor_kind=debtor.kind,
        invoices=(
            LetterInvoice(
                number=invoice.number,
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
                amount=invoice.amount,
                balance=claim.principal,
            ),
        ),
        claim=None if kind == "pre_reminder" else claim,
        today=dated,
        iban=creditor.iban,
        bic=creditor.bic,
        city=(creditor.address or {}).get("city"),
        reminders_sent=reminders,
        deadline_days=policy.formal_notice_deadline_days,
        deadline_date=deadline_date,
        calendar=policy.calendar,
        delivery=_delivery(sending, policy),
        language=language or debtor.language,
    )


GroupedLetterKind = Literal["reminder_1", "reminder_2", "formal_notice"]
# Past the amicable phase: left out of a grouped reminder (a mise en demeure already sent, or
# in court); a grouped mise en demeure keeps those whose notice it is.
_LEFT_OUT_OF_REMINDERS = ("formal_notice_sent", "litigation")


async def _grouped_invoices(
    session: AsyncSession, debtor: Debtor, kind: GroupedLetterKind, dated: dt.date
) -> list[Invoice]:
    """The debtor's invoices a grouped letter lists, as the grouped event does: open, with a
    balance, overdue on the letter's day, not paused (dispute, promise, plan, insolvency)."""
    rows = await session.execute(
        select(Invoice)
        .where(
            Invoice.debtor_id == debtor.id,
            Invoice.status == "open",
            Invoice.due_date < dated,
            Invoice.paused.is_(False),
            Invoice.amount > Invoice.paid_amount,
        )
        .order_by(Invoice.due_date, Invoice.number)
    )
    left_out = ("litigation",) if kind == "formal_notice" else _LEFT_OUT_OF_REMINDERS
    return [i for i in rows.scalars() if i.dunning_stage not in left_out]


async def debtor_letter_context(
    session: AsyncSession,
    debtor: Debtor,
    kind: GroupedLetterKind,
    clock: Clock,
    as_of: dt.date | None = None,
    language: Language | None = None,
) -> LetterContext:
    """The grouped letter (relevé) of a debtor: every invoice it lists with its balance and, for
    a business debtor, each one's interest and 40 EUR indemnity (D441-5: per invoice). Dated
    `as_of`, else the day of the latest grouped sending recorded (an action on the listed
    invoices), else today (a draft)."""
    dated = as_of or clock.today()
    invoices = await _grouped_invoices(session, debtor, kind, dated)
    if not invoices:
        raise NothingToClaim(
            f"Debtor {debtor.id} has no open overdue invoice to chase on {dated.isoformat()} "
            "(paused, disputed or past the amicable phase are left out)."
        )
    creditor = await session.get_one(Creditor, debtor.creditor_id)
    actions = list(
        (
            await session.execute(
                select(Action)
                .where(Action.invoice_id.in_([i.id for i in invoices]), Action.type.in_(_CONTACTS))
                .order_by(Action.performed_at, Action.id)
            )
        ).scalars()
    )
    sending = sending_action(actions, kind, as_of, clock)
    if as_of is None and sending is not None:
        dated = clock.local_day(sending.performed_at)
    policy = await policy_for_creditor(session, creditor)
    claims = [
        await claim_for(session, invoice, dated, debtor=debtor, creditor=creditor)
        for invoice in invoices
    ]
    deadline_date = None
    if kind == "formal_notice" and sending is not None:
        deadline_date = deadlines.formal_notice_deadline(
            served_on=sending.served_on,
            acknowledged_on=sending.acknowledged_at,
            presented_on=sending.presented_at,
            days=policy.formal_notice_deadline_days,
            calendar=policy.calendar,
        )
    # One line per grouped sending: the same action recorded on each invoice is one reminder.
    reminders = {
        (clock.local_day(a.performed_at), a.step or a.type, a.channel or "")
        for a in actions
        if a.type != "formal_notice"
        and (sending is None or a.performed_at != sending.performed_at)
        and clock.local_day(a.performed_at) <= dated
    }
    return LetterContext(
        kind=kind,
        creditor=_party(creditor),
        debtor=_party(debtor),
        debtor_kind=debtor.kind,
        invoices=tuple(
            LetterInvoice(
                number=invoice.number,
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
                amount=invoice.amount,
                balance=claim.principal,
            )
            for invoice, claim in zip(invoices, claims, strict=True)
        ),
        claim=sum_claims(claims),
        invoice_claims=tuple(
            (invoice.number, claim) for invoice, claim in zip(invoices, claims, strict=True)
        ),
        today=dated,
        iban=creditor.iban,
        bic=creditor.bic,
        city=(creditor.address or {}).get("city"),
        reminders_sent=tuple(SentReminder(on, t, ch) for on, t, ch in sorted(reminders)),
        deadline_days=policy.formal_notice_deadline_days,
        deadline_date=deadline_date,
        calendar=policy.calendar,
        delivery=_delivery(sending, policy),
        language=language or debtor.language,
    )

"""Is an invoice ready for court? The checks the seed guides list before an injonction de payer:
a mise en demeure sent by registered letter and received, its deadline passed, no dispute the
debtor could raise, proof of the claim on file, a solvent debtor, a claim not time-barred."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.claims.litigation.procedures import (
    EXPLANATIONS,
    creditor_holds_the_claim,
    options,
    prefer_uncontested,
    uncontested_claim_check,
)
from app.claims.litigation.schemas import Check, Readiness
from app.claims.schemas import ClaimInsolvencyOut
from app.claims.service import invoice_claim, invoice_claim_out
from app.core.clock import Clock
from app.escalation.actions.models import Action
from app.escalation.service import proof_facts
from app.ledger.debtors.models import Debtor
from app.ledger.documents.models import Document
from app.ledger.invoices.models import Invoice
from app.legal import deadlines
from app.legal import figures as legal
from app.legal.interest import Claim

PROOF_KINDS = ("signed_quote", "purchase_order", "delivery_note", "contract")


async def _took_effect(
    session: AsyncSession, notice: Action, clock: Clock | None
) -> dt.date | None:
    """The day the mise en demeure took effect: as typed in, or from its proof events."""
    facts = (
        (await proof_facts(session, [notice.invoice_id], clock)).get(notice.id, []) if clock else []
    )
    return deadlines.notice_start(
        served_on=notice.served_on,
        acknowledged_on=notice.acknowledged_at,
        presented_on=notice.presented_at,
        proof=facts,
    )


async def readiness(
    session: AsyncSession, invoice: Invoice, today: dt.date, clock: Clock | None = None
) -> Readiness:
    debtor = await session.get_one(Debtor, invoice.debtor_id)
    notices = (
        (
            await session.execute(
                select(Action)
                .where(Action.invoice_id == invoice.id, Action.type == "formal_notice")
                .order_by(Action.performed_at.desc())
            )
        )
        .scalars()
        .all()
    )
    proofs = (
        (await session.execute(select(Document.kind).where(Document.invoice_id == invoice.id)))
        .scalars()
        .all()
    )
    found = await invoice_claim(session, invoice, today, debtor=debtor)
    claim = found.claim
    notice = notices[0] if notices else None
    received = notice and await _took_effect(session, notice, clock)
    deadline = invoice.formal_notice_deadline
    limitation = invoice.limitation_ends_on
    insolvent = debtor.insolvency_procedure is not None
    checks = [
        Check(
            code="balance_outstanding",
            ok=invoice.status == "open" and invoice.claimable_balance > 0,
            detail=f"status {invoice.status}, balance {invoice.claimable_balance:.2f}",
        ),
        creditor_holds_the_claim(invoice),
        Check(
            code="formal_notice_recorded",
            ok=notice is not None,
            detail=f"sent by {notice.channel} on {notice.performed_at.date()}, "
            f"tracking {notice.tracking_number}"
            if notice
            else "no mise en demeure recorded (registered letter with AR required)",
        ),
        Check(
            code="formal_notice_received",
            ok=bool(received),
            detail=f"served, received or presented on {received}"
            if received
            else "no date of service, AR date nor first presentation recorded",
        ),
        Check(
            code="formal_notice_deadline_passed",
            ok=deadline is not None and deadline < today,
            detail=f"deadline {deadline}" if deadline else "no deadline yet",
        ),
        Check(
            code="no_open_dispute",
            ok=not invoice.disputed,
            detail="a dispute is open: the debtor would raise it"
            if invoice.disputed
            else "no open dispute",
        ),
        Check(
            code="proof_documents",
            ok=any(k in PROOF_KINDS for k in proofs),
            detail=f"on file: {', '.join(sorted(set(proofs)))}"
            if proofs
            else "no signed quote, purchase order, delivery note or contract recorded",
        ),
        Check(
            code="debtor_not_insolvent",
            ok=not insolvent,
            detail=_insolvency_detail(found.insolvency),
        ),
        Check(
            code="not_time_barred",
            ok=limitation is not None and today <= limitation,
            detail=f"limitation period ends on {limitation}",
        ),
    ]
    if insolvent:
        procedure, alternatives = "declaration_de_creance", []
    elif invoice.disputed:
        procedure, alternatives = "mediation", ["assignation"]
    elif petites_creances_amount(claim) <= legal.PETITES_CREANCES_MAX_EUR:
        procedure, alternatives = "petites_creances", ["injonction_de_payer", "mediation"]
    else:
        procedure, alternatives = (
            "injonction_de_payer",
            ["refere_provision", "assignation", "mediation"],
        )
    uncontested = await uncontested_claim_check(
        session, invoice, debtor, today, limitation, clock or Clock()
    )
    procedure, alternatives = prefer_uncontested(procedure, alternatives, uncontested)
    return Readiness(
        ready=all(c.ok for c in checks),
        recommended_procedure=procedure,
        explanation=EXPLANATIONS.get(procedure, ""),
        procedures=options(procedure, alternatives),
        uncontested_claim=uncontested,
        alternatives=alternatives,
        court="tribunal_de_commerce" if debtor.kind == "business" else "tribunal_judiciaire",
        claim=invoice_claim_out(invoice, found, today),
        checks=checks,
        insolvency=found.insolvency,
    )


def petites_creances_amount(claim: Claim) -> Decimal:
    """What the 5,000 EUR limit of the petites créances procedure counts: the claim "en
    principal et intérêts" (CPCE R125-1), not the fixed indemnity nor other costs."""
    return claim.principal + claim.interest


def _insolvency_detail(insolvency: ClaimInsolvencyOut | None) -> str:
    if insolvency is None:
        return "no collective proceedings"
    opened = f"{insolvency.procedure} opened on {insolvency.opened_on}"
    if not insolvency.arose_before_opening:
        return (
            f"{opened}; this invoice was issued after the opening judgment: not a prior claim "
            "to declare (C. com. L622-17)"
        )
    if insolvency.declaration_deadline is None:
        deadline = (
            "BODACC publication not recorded: the 2-month deadline (C. com. R622-24) runs from it"
        )
    else:
        deadline = (
            f"declare the claim to the mandataire judiciaire by "
            f"{insolvency.declaration_deadline} (BODACC publication of "
            f"{insolvency.published_on} + 2 months, C. com. R622-24)"
        )
    amounts = insolvency.to_declare
    assert amounts is not None  # a prior claim always has amounts to declare
    return (
        f"{opened}: interest stopped (C. com. L622-28); {deadline}; to declare: "
        f"{amounts.total:.2f} (principal {amounts.principal:.2f}, interest "
        f"{amounts.interest:.2f}, indemnity {amounts.fixed_indemnity:.2f})"
    )

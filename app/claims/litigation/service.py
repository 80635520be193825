"""Is an invoice ready for court? The checks the seed guides list before an injonction de payer:
a mise en demeure sent by registered letter and received, its deadline passed, no dispute the
debtor could raise, proof of the claim on file, a solvent debtor, a claim not time-barred."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.claims.litigation.schemas import Check, Readiness
from app.claims.service import claim_for, claim_out
from app.escalation.actions.models import Action
from app.ledger.debtors.models import Debtor
from app.ledger.documents.models import Document
from app.ledger.invoices.models import Invoice
from app.legal import figures as legal

PROOF_KINDS = ("signed_quote", "purchase_order", "delivery_note", "contract")


async def readiness(session: AsyncSession, invoice: Invoice, today: dt.date) -> Readiness:
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
    claim = await claim_for(session, invoice, today, debtor=debtor)
    notice = notices[0] if notices else None
    received = notice and (notice.acknowledged_at or notice.presented_at)
    deadline = invoice.formal_notice_deadline
    limitation = invoice.limitation_ends_on
    insolvent = debtor.insolvency_procedure is not None
    checks = [
        Check(
            code="balance_outstanding",
            ok=invoice.status == "open" and invoice.balance > 0,
            detail=f"status {invoice.status}, balance {invoice.balance:.2f}",
        ),
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
            detail=f"received or presented on {received}"
            if received
            else "no AR date nor first presentation recorded",
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
            detail=f"{debtor.insolvency_procedure} opened on {debtor.insolvency_opened_on}: "
            "declare the claim to the mandataire"
            if insolvent
            else "no collective proceedings",
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
    elif claim.total <= legal.PETITES_CREANCES_MAX_EUR:
        procedure, alternatives = "petites_creances", ["injonction_de_payer", "mediation"]
    else:
        procedure, alternatives = (
            "injonction_de_payer",
            ["refere_provision", "assignation", "mediation"],
        )
    return Readiness(
        ready=all(c.ok for c in checks),
        recommended_procedure=procedure,
        alternatives=alternatives,
        court="tribunal_de_commerce" if debtor.kind == "business" else "tribunal_judiciaire",
        claim=claim_out(invoice, claim, today),
        checks=checks,
    )

"""The recovery procedures readiness may recommend, each with a short explanation in French for
the creditor, and the conditions of the procédure simplifiée de recouvrement des créances
commerciales incontestées (loi du 23 avril 2026, CPCE L126-1 and following; figures and sources
in app/legal/figures.py).

L126-1 asks for a claim invoiced between traders ("facturation entre commerçants") that is
certain, liquid and due. What the service can check: a business debtor (not whether both parties
are traders: said in the detail); no open dispute and none upheld (the procedure is for
uncontested claims; a refusal of the invoice is recorded as a dispute); the debtor's commitment
on file (a signed quote, purchase order, delivery note or contract: what makes the claim
certain for the commissaire de justice and the clerk who check it; an e-invoice approved by the
debtor would be the best evidence); an amount stated by the invoice and still owed (liquid); a
due date passed (due); a solvent debtor; a claim not time-barred. Readiness recommends the
procedure only when all of them hold: without the commitment on file a contest is likelier,
and a contest ends the procedure.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.claims.litigation.schemas import Check, ProcedureOption, UncontestedClaimOut
from app.core.clock import Clock
from app.escalation.procedure import uncontested_claim
from app.escalation.service import load_engine_inputs
from app.ledger.debtors.models import Debtor
from app.ledger.disputes.models import Dispute
from app.ledger.documents.models import Document
from app.ledger.invoices.models import Invoice
from app.ledger.lifecycle.models import LifecycleStatus
from app.legal import figures as legal

Procedure = Literal[
    "creances_commerciales_incontestees",
    "petites_creances",
    "injonction_de_payer",
    "refere_provision",
    "assignation",
    "mediation",
    "declaration_de_creance",
]
UNCONTESTED: Final = "creances_commerciales_incontestees"
# Documents showing the debtor's commitment (the proof kinds of readiness's proof_documents).
COMMITMENT_KINDS: Final = ("signed_quote", "purchase_order", "delivery_note", "contract")

EXPLANATIONS: Final[dict[str, str]] = {
    UNCONTESTED: "Procédure simplifiée de recouvrement des créances commerciales "
    "incontestées (loi du 23 avril 2026) : sans juge et sans plafond de montant, un commissaire "
    "de justice signifie à votre client un commandement de payer ; il a un mois pour payer ou "
    "contester. Sans paiement ni contestation, le commissaire dresse un procès-verbal de "
    "non-contestation que le greffier du tribunal de commerce rend exécutoire. Réservée aux "
    "factures entre commerçants, pour une créance certaine, liquide et exigible : c'est la voie "
    "la plus rapide et la moins coûteuse vers un titre exécutoire. Si votre client conteste, la "
    "procédure s'arrête et il faut saisir le juge.",
    "petites_creances": "Procédure simplifiée de recouvrement des petites créances (créance de "
    "5 000 EUR au plus en principal et intérêts) : un commissaire de justice invite votre "
    "client à accepter un accord de paiement, qu'il rend exécutoire. Sans l'accord du "
    "débiteur, elle n'aboutit pas.",
    "injonction_de_payer": "Injonction de payer : vous déposez une requête au tribunal avec les "
    "justificatifs de la créance (facture, bon de commande, mise en demeure) ; le juge rend une "
    "ordonnance sans audience, que vous faites signifier. Votre client a un mois pour former "
    "opposition. Rapide, peu coûteuse, sans avocat obligatoire.",
    "refere_provision": "Référé-provision : une audience rapide devant le juge des référés, qui "
    "peut condamner votre client à verser une provision lorsque l'obligation n'est pas "
    "sérieusement contestable.",
    "assignation": "Assignation en paiement : un procès au fond devant le tribunal, pour une "
    "créance importante ou discutée ; plus long et plus coûteux, il tranche le litige.",
    "mediation": "Médiation (médiateur des entreprises, gratuit et confidentiel) : une "
    "contestation est ouverte ; un tiers aide à trouver une solution amiable avant tout procès.",
    "declaration_de_creance": "Déclaration de créance : votre client est en procédure "
    "collective ; les poursuites individuelles sont arrêtées. Déclarez votre créance au "
    "mandataire judiciaire dans le délai légal, sans quoi elle ne sera pas payée dans la "
    "procédure.",
}


def options(procedure: str, alternatives: list[str]) -> list[ProcedureOption]:
    """The recommended procedure then its alternatives, each with its explanation."""
    return [
        ProcedureOption(procedure=p, explanation=EXPLANATIONS.get(p, ""))
        for p in [procedure, *alternatives]
    ]


def creditor_holds_the_claim(invoice: Invoice) -> Check:
    """A refused (210), undelivered (213, 221) or factored (225) e-invoice is never the
    creditor's to take to court."""
    outcome = invoice.lifecycle_outcome
    return Check(
        code="creditor_holds_the_claim",
        ok=outcome is None,
        detail=_OUTCOME_DETAIL[outcome] if outcome else "no e-invoice status ends the claim",
    )


_OUTCOME_DETAIL = {
    "refused": "the debtor refused the e-invoice (status 210): issue a credit note, or a new "
    "invoice once the disagreement is settled",
    "undelivered": "the e-invoice was never delivered (status 213 or 221): send it again",
    "factored": "the e-invoice is factored (status 225): the claim belongs to the factor",
}


def prefer_uncontested(
    procedure: str, alternatives: list[str], check: UncontestedClaimOut
) -> tuple[str, list[str]]:
    """The uncontested claims procedure first when the claim is eligible: it leads to an
    enforceable title without a judge; the court procedures stay as alternatives."""
    if not check.eligible or procedure == UNCONTESTED:
        return procedure, alternatives
    rest = [p for p in [procedure, *alternatives] if p != UNCONTESTED]
    return UNCONTESTED, rest


async def uncontested_claim_check(
    session: AsyncSession,
    invoice: Invoice,
    debtor: Debtor,
    today: dt.date,
    limitation: dt.date | None,
    clock: Clock,
) -> UncontestedClaimOut:
    """Whether the claim fits the procedure, and where the procedure stands if it has begun."""
    upheld = (
        await session.execute(
            select(Dispute.id).where(
                Dispute.invoice_id == invoice.id, Dispute.resolution == "upheld"
            )
        )
    ).first() is not None
    # An e-invoice the debtor approved (204, 205, 206) and never disputed (207) is the best
    # evidence that the claim is uncontested.
    disputed_by_status = (
        await session.execute(
            select(LifecycleStatus.id).where(
                LifecycleStatus.invoice_id == invoice.id, LifecycleStatus.code == "207"
            )
        )
    ).first() is not None
    approved = bool(invoice.approved) and not disputed_by_status
    committed = (
        await session.execute(
            select(Document.id).where(
                Document.invoice_id == invoice.id, Document.kind.in_(COMMITMENT_KINDS)
            )
        )
    ).first() is not None
    conditions = _conditions(
        invoice, debtor, today, limitation, upheld=upheld, committed=committed, approved=approved
    )
    out = UncontestedClaimOut(
        eligible=all(c.ok for c in conditions),
        conditions=conditions,
        legal_basis="CPCE L126-1 à L126-5 (loi du 23 avril 2026)",
        verified=legal.UNCONTESTED_CLAIMS_VERIFIED,
    )
    inputs = (await load_engine_inputs(session, [invoice], clock))[invoice.id]
    procedure = uncontested_claim(
        inputs.actions, disputed=invoice.disputed, calendar=inputs.policy.calendar
    )
    if procedure is None:
        return out
    step = procedure.next[0]
    return out.model_copy(
        update={
            "started": True,
            "commandement_served_on": procedure.commandement.served_on,
            "contest_period_ends_on": procedure.contest_period_ends_on,
            "pv_possible_from": procedure.pv_possible_from,
            "next_step": step.code,
            "next_step_on": step.on,
            "next_step_explanation": step.explanation,
        }
    )


def _conditions(
    invoice: Invoice,
    debtor: Debtor,
    today: dt.date,
    limitation: dt.date | None,
    *,
    upheld: bool,
    committed: bool,
    approved: bool,
) -> list[Check]:
    business = debtor.kind == "business"
    refused = invoice.lifecycle_outcome == "refused"
    return [
        Check(
            code="invoiced_between_businesses",
            ok=business,
            detail="facture adressée à un professionnel ; la loi vise les factures entre "
            "commerçants : la qualité de commerçant des deux parties n'est pas vérifiée par le "
            "service"
            if business
            else "le débiteur est un consommateur : la procédure ne s'applique pas",
        ),
        Check(
            code="not_contested",
            ok=not invoice.disputed and not upheld and not refused,
            detail="une contestation est ouverte"
            if invoice.disputed
            else "le débiteur a refusé la facture électronique (statut 210)"
            if refused
            else "une contestation a été jugée fondée"
            if upheld
            else "aucune contestation ni refus enregistré",
        ),
        Check(
            code="claim_certain",
            ok=committed or approved,
            detail="facture électronique approuvée par le débiteur (statut 204, 205 ou 206) et "
            "jamais mise en litige : la meilleure preuve d'une créance incontestée"
            if approved
            else "engagement du débiteur au dossier (devis signé, bon de commande, bon de "
            "livraison ou contrat)"
            if committed
            else "aucun devis signé, bon de commande, bon de livraison ni contrat au dossier : "
            "ajoutez-en un (POST /v1/invoices/{id}/documents) pour établir une créance certaine",
        ),
        Check(
            code="claim_liquid",
            ok=invoice.status == "open" and invoice.claimable_balance > 0,
            detail=f"montant facturé, reste dû {invoice.claimable_balance:.2f} {invoice.currency}",
        ),
        Check(
            code="claim_due",
            ok=today > invoice.due_date,
            detail=f"échue le {invoice.due_date.isoformat()}",
        ),
        Check(
            code="creditor_holds_the_claim",
            ok=invoice.lifecycle_outcome in (None, "refused"),  # refused: see not_contested
            detail="la facture électronique n'a jamais été remise (statut 213 ou 221)"
            if invoice.lifecycle_outcome == "undelivered"
            else "la facture est affacturée (statut 225) : la créance appartient au factor"
            if invoice.lifecycle_outcome == "factored"
            else "aucun statut de la facture électronique ne retire la créance au créancier",
        ),
        Check(
            code="debtor_not_insolvent",
            ok=debtor.insolvency_procedure is None,
            detail="pas de procédure collective"
            if debtor.insolvency_procedure is None
            else f"{debtor.insolvency_procedure} : poursuites individuelles arrêtées",
        ),
        Check(
            code="not_time_barred",
            ok=limitation is not None and today <= limitation,
            detail=f"prescription le {limitation.isoformat()}" if limitation else "inconnue",
        ),
    ]

from __future__ import annotations

from fastapi import APIRouter

from app.claims.litigation import service
from app.claims.litigation.schemas import Readiness
from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.ledger.invoices.models import Invoice
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1/invoices/{invoice_id}", tags=["claims"])


@router.get(
    "/litigation-readiness",
    summary="Checks before court and the recommended procedure",
    description="Checks: balance outstanding, mise en demeure recorded, received (AR) or "
    "presented, its deadline passed, no open dispute, proof documents on file, debtor not "
    "under insolvency proceedings, claim not time-barred. Procedure: `petites_creances` when "
    "principal + interest is at most 5,000 EUR (CPCE R125-1: the 40 EUR indemnity and other "
    "costs do not count), `injonction_de_payer` above; `mediation` while a dispute is open; "
    "`declaration_de_creance` under insolvency proceedings, with `insolvency`: the declaration "
    "deadline (BODACC publication + 2 months, C. com. R622-24) and the amounts to declare.\n\n"
    "`creances_commerciales_incontestees` comes first for a claim eligible to the procédure "
    "simplifiée de recouvrement des créances commerciales incontestées (loi du 23 avril 2026, "
    "CPCE L126-1 and following: an invoice between traders, certain (the debtor's commitment "
    "on file: signed quote, purchase order, delivery note or contract), liquid and due; no open "
    "dispute; no amount limit): `uncontested_claim` lists its conditions and, once a "
    "`commandement_de_payer` is recorded, the debtor's month and the next step. Every "
    "procedure comes with a short explanation in French for the creditor (`explanation`, "
    "`procedures`).",
    responses=problem_responses(401, 404),
)
async def get_litigation_readiness(
    invoice_id: str, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> Readiness:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id)
    return await service.readiness(session, invoice, clock.today(), clock)

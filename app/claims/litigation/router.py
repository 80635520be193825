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
    "the claim with interest is at most 5,000 EUR, `injonction_de_payer` above; `mediation` "
    "while a dispute is open; `declaration_de_creance` under insolvency proceedings.",
    responses=problem_responses(401, 404),
)
async def get_litigation_readiness(
    invoice_id: str, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> Readiness:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id)
    return await service.readiness(session, invoice, clock.today())

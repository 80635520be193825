from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.claims import service
from app.claims.schemas import ClaimOut, RatePublish, RatesOut, Statement
from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.types import Day
from app.ledger.invoices.models import Invoice
from app.tenants.auth import AdminDep, ClockDep, ServiceClockDep, TenantId

router = APIRouter(prefix="/v1", tags=["claims"])

CLAIM_CONVENTION = """What the creditor may claim on `as_of` (default: today).

* **Business debtor**: simple interest from the day after the due date, without any reminder
  (C. com. L441-10), on the unpaid principal, at the default rate of each half-year (ECB main
  refinancing rate in force on 1 January / 1 July + 10 points) or the contractual rate
  (invoice's, else creditor's `late_penalty_rate`); plus the fixed indemnity for recovery costs,
  40 EUR or the creditor's higher amount (D441-5).
* **Consumer debtor**: no indemnity, no recovery fees (C. conso L111-8); interest at the taux
  d'intérêt légal only from the recorded mise en demeure (C. civ. 1231-6, 1344-1).
* **Convention**: interest accrues for each day from the start to `as_of` inclusive on the
  principal unpaid that day (a payment stops interest from its own day); periods split at each
  half-year and each payment; amount = principal x rate / 100 x days / **365** (also in leap
  years), rounded half-up to the cent per period. A half-year whose rate is not published yet
  uses the last known rate (for the default B2B rate past the ECB table: the last known ECB
  rate + 10) and is flagged `provisional`.
* **Contractual-rate floor, per half-year**: L441-10 II allows no contractual rate below 3 x
  the taux d'intérêt légal. In a period where the agreed rate is below 3 x the taux légal of
  that half-year, the period is charged at that floor and flagged `floor_applied` (with
  `contractual_rate` and `rate_floor`).
* **Collective proceedings** (the debtor's `insolvency`): the opening judgment stops interest
  from its date (C. com. L622-28, L631-14, L641-3) for invoices issued before it;
  `insolvency` gives the declaration deadline (BODACC publication + 2 months, R622-24) and the
  amounts to declare (principal, interest and indemnity up to the day before the opening).
* Interest and indemnity stay claimable after the principal is paid.
"""


@router.get(
    "/invoices/{invoice_id}/claim",
    summary="Principal, late interest by period, fixed indemnity and total",
    description=CLAIM_CONVENTION,
    responses=problem_responses(401, 404, 422),
)
async def get_claim(
    invoice_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    as_of: Annotated[Day | None, Query(description="Default: today")] = None,
) -> ClaimOut:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id)
    day = service.today_or(as_of, clock)
    found = await service.invoice_claim(session, invoice, day)
    return service.invoice_claim_out(invoice, found, day)


@router.get(
    "/rates",
    summary="Late-penalty and legal interest rates by half-year",
    responses=problem_responses(401),
)
async def list_rates(tenant_id: TenantId, session: SessionDep, clock: ClockDep) -> RatesOut:
    return await service.rates_out(session, clock.today())


@router.post(
    "/admin/rates",
    status_code=status.HTTP_201_CREATED,
    summary="Add (or correct) a newly published half-year rate",
    dependencies=[AdminDep],
    tags=["admin"],
    responses=problem_responses(401, 404, 422),
)
async def publish_rate(body: RatePublish, session: SessionDep, clock: ServiceClockDep) -> RatesOut:
    return await service.publish_rate(session, body, clock.today())


@router.get(
    "/debtors/{debtor_id}/statement",
    summary="A debtor's open invoices with their claims, and the totals (relevé de compte)",
    responses=problem_responses(401, 404, 422),
)
async def get_debtor_statement(
    debtor_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    as_of: Annotated[Day | None, Query(description="Default: today")] = None,
) -> Statement:
    day = service.today_or(as_of, clock)
    return await service.debtor_statement(session, tenant_id, debtor_id, day)

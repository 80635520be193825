from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from app.claims import service
from app.claims.schemas import (
    ClaimOut,
    HalfYearRateOut,
    RatePublish,
    RatesOut,
    Statement,
    StatementLine,
    StatementTotals,
)
from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.types import Day
from app.ledger.debtors.models import Debtor
from app.ledger.invoices.models import Invoice
from app.legal import figures as legal
from app.legal import repository
from app.legal.interest import combine_claims
from app.legal.rates import RATE_KINDS, half_year_of
from app.tenants.auth import AdminDep, ClockDep, TenantId

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
  uses the last known rate and is flagged `provisional`.
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
    return service.claim_out(invoice, await service.claim_for(session, invoice, day), day)


async def _rates(session: SessionDep, today: dt.date) -> RatesOut:
    book = await repository.rate_book(session)
    year, half = half_year_of(today)
    lists = {
        kind: [HalfYearRateOut(year=y, half=h, rate=r) for y, h, r in book.half_years(kind)]
        for kind in RATE_KINDS
    }
    current = {}
    for kind in RATE_KINDS:
        found = book.rate_for(kind, year, half)
        current[kind] = {
            "rate": format(found.rate.normalize(), "f"),
            "provisional": found.provisional,
            "source": found.source,
        }
    return RatesOut(
        b2b_default=lists["b2b_default"],
        legal_individual=lists["legal_individual"],
        legal_other=lists["legal_other"],
        ecb_main_refinancing=[
            {"from": day.isoformat(), "rate": f"{rate:.2f}"}
            for day, rate in legal.ECB_MAIN_REFINANCING_RATE
        ],
        current=current,
    )


@router.get(
    "/rates",
    summary="Late-penalty and legal interest rates by half-year",
    responses=problem_responses(401),
)
async def list_rates(tenant_id: TenantId, session: SessionDep, clock: ClockDep) -> RatesOut:
    return await _rates(session, clock.today())


@router.post(
    "/admin/rates",
    status_code=status.HTTP_201_CREATED,
    summary="Add (or correct) a newly published half-year rate",
    dependencies=[AdminDep],
    tags=["admin"],
    responses=problem_responses(401, 404, 422),
)
async def publish_rate(body: RatePublish, session: SessionDep, clock: ClockDep) -> RatesOut:
    await repository.publish_rate(session, body.kind, body.year, body.half, body.rate, body.source)
    await session.flush()
    return await _rates(session, clock.today())


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
    debtor = await get_owned(session, Debtor, tenant_id, debtor_id)
    day = service.today_or(as_of, clock)
    invoices = (
        (
            await session.execute(
                select(Invoice)
                .where(Invoice.debtor_id == debtor.id, Invoice.status == "open")
                .order_by(Invoice.due_date, Invoice.id)
            )
        )
        .scalars()
        .all()
    )
    rates = await repository.rate_book(session)
    lines = []
    claims = []
    for invoice in invoices:
        claim = await service.claim_for(session, invoice, day, rates=rates, debtor=debtor)
        claims.append(claim)
        lines.append(
            StatementLine(
                **service.claim_out(invoice, claim, day).model_dump(),
                number=invoice.number,
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
            )
        )
    combined = combine_claims(claims)
    return Statement(
        debtor_id=debtor.id,
        as_of=day,
        currency="EUR",
        invoices=lines,
        totals=StatementTotals(
            principal=combined.principal,
            interest=combined.interest,
            fixed_indemnity=combined.fixed_indemnity,
            total=combined.total,
        ),
    )

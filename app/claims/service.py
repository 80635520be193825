"""Claims of invoices as of a day, from the rate book (app/legal/figures.py plus the half-years
operators published since) and the invoice's payments and mise en demeure; a debtor's statement;
the rate book as the API shows it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.claims.schemas import (
    ClaimOut,
    HalfYearRateOut,
    InterestPeriodOut,
    RatePublish,
    RatesOut,
    Statement,
    StatementLine,
    StatementTotals,
)
from app.core.clock import Clock
from app.core.crud import get_owned
from app.escalation.actions.models import Action
from app.ledger.creditors.models import Creditor
from app.ledger.debtors.models import Debtor
from app.ledger.invoices.models import Invoice
from app.ledger.payments.models import Payment as PaymentRow
from app.legal import figures as legal
from app.legal import repository
from app.legal.interest import Claim, Payment, combine_claims, compute_claim
from app.legal.rates import RATE_KINDS, RateBook, half_year_of
from app.legal.repository import rate_book


def consumer_interest_start(actions: list[Action]) -> dt.date | None:
    """Consumer interest runs from the mise en demeure: its receipt when known, else its sending."""
    notices = [a for a in actions if a.type == "formal_notice"]
    if not notices:
        return None
    first = min(notices, key=lambda a: a.performed_at)
    return first.acknowledged_at or first.presented_at or first.performed_at.date()


async def claim_for(
    session: AsyncSession,
    invoice: Invoice,
    as_of: dt.date,
    *,
    rates: RateBook | None = None,
    debtor: Debtor | None = None,
    creditor: Creditor | None = None,
) -> Claim:
    if debtor is None:
        debtor = await session.get_one(Debtor, invoice.debtor_id)
    if creditor is None:
        creditor = await session.get_one(Creditor, invoice.creditor_id)
    payments = (
        await session.execute(select(PaymentRow).where(PaymentRow.invoice_id == invoice.id))
    ).scalars()
    actions = list(
        (await session.execute(select(Action).where(Action.invoice_id == invoice.id))).scalars()
    )
    return compute_claim(
        amount=invoice.amount,
        due_date=invoice.due_date,
        payments=[Payment(p.paid_at, p.amount) for p in payments],
        as_of=as_of,
        debtor_kind=debtor.kind,
        rates=rates or await rate_book(session),
        contractual_rate=invoice.late_penalty_rate or creditor.late_penalty_rate,
        consumer_interest_from=consumer_interest_start(actions),
        fixed_indemnity=creditor.fixed_indemnity,
    )


def claim_out(invoice: Invoice, claim: Claim, as_of: dt.date) -> ClaimOut:
    return ClaimOut(
        invoice_id=invoice.id,
        as_of=as_of,
        currency=invoice.currency,
        principal=claim.principal,
        interest=claim.interest,
        interest_periods=[
            InterestPeriodOut(
                start=p.start,
                end=p.end,
                days=p.days,
                rate=p.rate,
                principal=p.principal,
                amount=p.amount,
                provisional=p.provisional,
            )
            for p in claim.interest_periods
        ],
        fixed_indemnity=claim.fixed_indemnity,
        total=claim.total,
        provisional=claim.provisional,
        rate_basis=claim.rate_basis,
    )


async def claim_json(session: AsyncSession, invoice: Invoice, as_of: dt.date) -> dict[str, Any]:
    """The claim as the API shows it, for an event (the sweep's formal notices). The rate book
    is read once per session: a sweep batch with many formal notices reads it once."""
    rates: RateBook | None = session.info.get(_RATE_BOOK)
    if rates is None:
        rates = session.info[_RATE_BOOK] = await rate_book(session)
    claim = await claim_for(session, invoice, as_of, rates=rates)
    return claim_out(invoice, claim, as_of).model_dump(mode="json", by_alias=True)


_RATE_BOOK = "relance.rate_book"


def today_or(as_of: dt.date | None, clock: Clock) -> dt.date:
    return as_of or clock.today()


async def debtor_statement(
    session: AsyncSession, tenant_id: str, debtor_id: str, as_of: dt.date
) -> Statement:
    """The debtor's open invoices (by due date) with their claims, and the totals."""
    debtor = await get_owned(session, Debtor, tenant_id, debtor_id)
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
    rates = await rate_book(session)
    lines = []
    claims = []
    for invoice in invoices:
        claim = await claim_for(session, invoice, as_of, rates=rates, debtor=debtor)
        claims.append(claim)
        lines.append(
            StatementLine(
                **claim_out(invoice, claim, as_of).model_dump(),
                number=invoice.number,
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
            )
        )
    combined = combine_claims(claims)
    return Statement(
        debtor_id=debtor.id,
        as_of=as_of,
        currency="EUR",
        invoices=lines,
        totals=StatementTotals(
            principal=combined.principal,
            interest=combined.interest,
            fixed_indemnity=combined.fixed_indemnity,
            total=combined.total,
        ),
    )


async def rates_out(session: AsyncSession, today: dt.date) -> RatesOut:
    """The rate book by half-year, and the rates in force `today`."""
    book = await rate_book(session)
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


async def publish_rate(session: AsyncSession, body: RatePublish, today: dt.date) -> RatesOut:
    """Record (or correct) a half-year's rate; the rate book as it is then."""
    await repository.publish_rate(session, body.kind, body.year, body.half, body.rate, body.source)
    await session.flush()
    return await rates_out(session, today)

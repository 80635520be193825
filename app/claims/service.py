"""Claims of invoices as of a day, from the rate table (app/core/legal.py plus the half-years
operators published since) and the invoice's payments and mise en demeure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.models import Action
from app.claims.interest import Claim, Payment, compute_claim, minimum_contractual_rate
from app.claims.models import PublishedRate
from app.claims.rates import RateBook
from app.claims.schemas import ClaimOut, InterestPeriodOut, RatePublish
from app.core.clock import Clock
from app.core.errors import FieldError, Unprocessable
from app.creditors.models import Creditor
from app.debtors.models import Debtor
from app.invoices.models import Invoice
from app.payments.models import Payment as PaymentRow


async def rate_book(session: AsyncSession) -> RateBook:
    rows = await session.execute(select(PublishedRate).order_by(PublishedRate.id))
    return RateBook(extra=[(r.kind, r.year, r.half, r.rate) for r in rows.scalars()])  # type: ignore[misc]


async def publish_rate(session: AsyncSession, data: RatePublish) -> None:
    from sqlalchemy.dialects.postgresql import insert

    await session.execute(
        insert(PublishedRate)
        .values(kind=data.kind, year=data.year, half=data.half, rate=data.rate, source=data.source)
        .on_conflict_do_update(
            index_elements=[PublishedRate.kind, PublishedRate.year, PublishedRate.half],
            set_={"rate": data.rate, "source": data.source},
        )
    )


async def check_contractual_rate(
    session: AsyncSession, rate: Decimal | None, on: dt.date, loc: list[str | int]
) -> None:
    """C. com. L441-10: a contractual rate may not be below 3 x the taux d'intérêt légal."""
    if rate is None:
        return
    floor = minimum_contractual_rate(on, await rate_book(session))
    if rate < floor:
        raise Unprocessable(
            f"A contractual late-penalty rate of {rate}% is below the legal floor of {floor}% "
            "(3 x the taux d'intérêt légal, C. com. L441-10).",
            errors=[FieldError(loc=loc, msg=f"below the legal floor of {floor}%")],
        )


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
        debtor_kind=debtor.kind,  # type: ignore[arg-type]
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


def today_or(as_of: dt.date | None, clock: Clock) -> dt.date:
    return as_of or clock.today()

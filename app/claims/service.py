"""Claims of invoices as of a day, from the rate book (app/legal/figures.py plus the half-years
operators published since) and the invoice's payments and mise en demeure; a debtor's statement;
the rate book as the API shows it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.claims.schemas import (
    ClaimInsolvencyOut,
    ClaimOut,
    DeclaredAmounts,
    HalfYearRateOut,
    InterestPeriodOut,
    RatePublish,
    RatesOut,
    Statement,
    StatementInsolvencyOut,
    StatementLine,
    StatementTotals,
    UnpublishedRateOut,
)
from app.core.clock import Clock
from app.core.crud import get_owned
from app.escalation.actions.models import Action
from app.escalation.service import proof_facts
from app.ledger.creditors.models import Creditor
from app.ledger.debtors.models import Debtor
from app.ledger.invoices.models import Invoice
from app.ledger.payments.models import Payment as PaymentRow
from app.legal import figures as legal
from app.legal import repository
from app.legal.deadlines import ProofFact, notice_start
from app.legal.einvoicing import claimable
from app.legal.insolvency import amounts_as_of, declaration_dates
from app.legal.interest import Claim, Payment, combine_claims, compute_claim
from app.legal.rates import RATE_KINDS, RateBook, half_year_of
from app.legal.repository import rate_book, report_coverage, warn_if_provisional


def consumer_interest_start(
    actions: list[Action], proof: Mapping[str, Sequence[ProofFact]] | None = None
) -> dt.date | None:
    """Consumer interest runs from the mise en demeure: the day it took effect when known (its
    service by a commissaire de justice, its AR or first presentation, typed in or reported by
    the provider: `proof`, action id -> its proof events), else its sending."""
    notices = [a for a in actions if a.type == "formal_notice"]
    if not notices:
        return None
    first = min(notices, key=lambda a: a.performed_at)
    took_effect = notice_start(
        served_on=first.served_on,
        acknowledged_on=first.acknowledged_at,
        presented_on=first.presented_at,
        proof=(proof or {}).get(first.id, ()),
    )
    return took_effect or first.performed_at.date()


async def _proof(session: AsyncSession, actions: list[Action]) -> dict[str, list[ProofFact]]:
    """The proof events of the invoice's formal notices (no query when it has none)."""
    notices = [a for a in actions if a.type == "formal_notice"]
    if not notices:
        return {}
    # Only local days are read, in Europe/Paris (the default RELANCE_TIMEZONE): no clock here.
    return await proof_facts(session, [notices[0].invoice_id], Clock())


@dataclass(frozen=True)
class _ClaimInputs:
    """What an invoice's claim is computed from, read once for the claim and the declaration."""

    debtor: Debtor
    creditor: Creditor
    payments: list[Payment]
    consumer_interest_from: dt.date | None


async def _inputs(
    session: AsyncSession, invoice: Invoice, debtor: Debtor | None, creditor: Creditor | None
) -> _ClaimInputs:
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
    return _ClaimInputs(
        debtor=debtor,
        creditor=creditor,
        payments=[Payment(p.paid_at, p.amount) for p in payments],
        consumer_interest_from=consumer_interest_start(actions, await _proof(session, actions)),
    )


def _opening_judgment(invoice: Invoice, debtor: Debtor) -> dt.date | None:
    """The opening judgment that stops this invoice's interest: the debtor's, when the invoice
    was issued before it (a prior claim, L622-28); a later invoice's interest runs on."""
    opened_on = debtor.insolvency_opened_on if debtor.insolvency_procedure else None
    if opened_on is None or invoice.issue_date >= opened_on:
        return None
    return opened_on


def _compute(invoice: Invoice, inputs: _ClaimInputs, as_of: dt.date, rates: RateBook) -> Claim:
    claim = compute_claim(
        # A partial approval (e-invoice status 206) limits the claim and its interest.
        amount=claimable(invoice.amount, invoice.approved_amount),
        due_date=invoice.due_date,
        payments=inputs.payments,
        as_of=as_of,
        debtor_kind=inputs.debtor.kind,
        rates=rates,
        contractual_rate=invoice.late_penalty_rate or inputs.creditor.late_penalty_rate,
        consumer_interest_from=inputs.consumer_interest_from,
        fixed_indemnity=inputs.creditor.fixed_indemnity,
        interest_stops_on=_opening_judgment(invoice, inputs.debtor),
    )
    warn_if_provisional(claim)
    return claim


def _dates(debtor: Debtor) -> dict[str, Any] | None:
    if debtor.insolvency_procedure is None or debtor.insolvency_opened_on is None:
        return None
    dates = declaration_dates(debtor.insolvency_opened_on, debtor.insolvency_published_on)
    return {
        "procedure": debtor.insolvency_procedure,
        "opened_on": dates.opened_on,
        "published_on": dates.published_on,
        "declaration_deadline": dates.deadline,
        "relief_from_foreclosure_deadline": dates.relief_deadline,
        "amounts_as_of": amounts_as_of(dates.opened_on),
    }


def _declared(claim: Claim) -> DeclaredAmounts:
    return DeclaredAmounts(
        principal=claim.principal,
        interest=claim.interest,
        fixed_indemnity=claim.fixed_indemnity,
        total=claim.total,
    )


def _declaration(
    invoice: Invoice, inputs: _ClaimInputs, rates: RateBook
) -> tuple[ClaimInsolvencyOut, Claim | None] | None:
    """The invoice's share of the declaration to the mandataire: its claim on the day before
    the opening judgment (interest and indemnity up to the opening), and the deadline."""
    dates = _dates(inputs.debtor)
    if dates is None:
        return None
    prior = _opening_judgment(invoice, inputs.debtor) is not None
    declared = _compute(invoice, inputs, dates["amounts_as_of"], rates) if prior else None
    out = ClaimInsolvencyOut(
        **dates,
        arose_before_opening=prior,
        due_at_opening=invoice.due_date < dates["opened_on"],
        to_declare=_declared(declared) if declared is not None else None,
    )
    return out, declared


@dataclass(frozen=True)
class InvoiceClaim:
    claim: Claim
    insolvency: ClaimInsolvencyOut | None
    declared: Claim | None  # the amounts to declare, as a claim (None: nothing to declare)


async def invoice_claim(
    session: AsyncSession,
    invoice: Invoice,
    as_of: dt.date,
    *,
    rates: RateBook | None = None,
    debtor: Debtor | None = None,
    creditor: Creditor | None = None,
) -> InvoiceClaim:
    """The claim on ``as_of`` and, under collective proceedings, what to declare."""
    inputs = await _inputs(session, invoice, debtor, creditor)
    rates = rates or await rate_book(session)
    declaration = _declaration(invoice, inputs, rates)
    return InvoiceClaim(
        claim=_compute(invoice, inputs, as_of, rates),
        insolvency=declaration[0] if declaration else None,
        declared=declaration[1] if declaration else None,
    )


async def claim_for(
    session: AsyncSession,
    invoice: Invoice,
    as_of: dt.date,
    *,
    rates: RateBook | None = None,
    debtor: Debtor | None = None,
    creditor: Creditor | None = None,
) -> Claim:
    """The claim on `as_of` alone (see `invoice_claim`)."""
    found = await invoice_claim(
        session, invoice, as_of, rates=rates, debtor=debtor, creditor=creditor
    )
    return found.claim


def claim_out(
    invoice: Invoice,
    claim: Claim,
    as_of: dt.date,
    insolvency: ClaimInsolvencyOut | None = None,
) -> ClaimOut:
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
                contractual_rate=p.contractual_rate,
                rate_floor=p.rate_floor,
                floor_applied=p.floor_applied,
            )
            for p in claim.interest_periods
        ],
        fixed_indemnity=claim.fixed_indemnity,
        total=claim.total,
        provisional=claim.provisional,
        rate_basis=claim.rate_basis,
        floor_applied=claim.floor_applied,
        interest_stopped_on=claim.interest_stopped_on,
        insolvency=insolvency,
    )


def invoice_claim_out(invoice: Invoice, found: InvoiceClaim, as_of: dt.date) -> ClaimOut:
    return claim_out(invoice, found.claim, as_of, found.insolvency)


async def claim_json(session: AsyncSession, invoice: Invoice, as_of: dt.date) -> dict[str, Any]:
    """The claim as the API shows it, for an event (the sweep's formal notices). The rate book
    is read once per session: a sweep batch with many formal notices reads it once."""
    rates: RateBook | None = session.info.get(_RATE_BOOK)
    if rates is None:
        rates = session.info[_RATE_BOOK] = await rate_book(session)
    found = await invoice_claim(session, invoice, as_of, rates=rates)
    return invoice_claim_out(invoice, found, as_of).model_dump(mode="json", by_alias=True)


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
    declared = []
    for invoice in invoices:
        found = await invoice_claim(session, invoice, as_of, rates=rates, debtor=debtor)
        claims.append(found.claim)
        if found.declared is not None:
            declared.append(found.declared)
        lines.append(
            StatementLine(
                **invoice_claim_out(invoice, found, as_of).model_dump(),
                number=invoice.number,
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
            )
        )
    combined = combine_claims(claims)
    dates = _dates(debtor)
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
        insolvency=StatementInsolvencyOut(**dates, to_declare=_declared(combine_claims(declared)))
        if dates is not None
        else None,
    )


async def rates_out(session: AsyncSession, today: dt.date) -> RatesOut:
    """The rate book by half-year, the rates in force `today`, and the current or next
    half-years with no published rate (also reported to /metrics and the log)."""
    book = await rate_book(session)
    year, half = half_year_of(today)
    lists = {
        kind: [
            HalfYearRateOut(
                year=k.year,
                half=k.half,
                rate=k.rate,
                source=k.source,
                verified=k.verified,
                origin=k.origin,
            )
            for k in book.known_rates(kind)
        ]
        for kind in RATE_KINDS
    }
    unpublished = []
    for gap in report_coverage(book, today):
        found = book.rate_for(gap.kind, gap.year, gap.half)
        unpublished.append(
            UnpublishedRateOut(
                kind=gap.kind,
                horizon=gap.horizon,
                year=gap.year,
                half=gap.half,
                provisional_rate=found.rate,
                source=found.source,
            )
        )
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
        unpublished=unpublished,
    )


async def publish_rate(session: AsyncSession, body: RatePublish, today: dt.date) -> RatesOut:
    """Record (or correct) a half-year's rate; the rate book as it is then."""
    await repository.publish_rate(session, body.kind, body.year, body.half, body.rate, body.source)
    await session.flush()
    return await rates_out(session, today)

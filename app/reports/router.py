"""Reports for a creditor's finance team and the operators: aged balance, DSO, the D441-6
payment-terms table, recovery by escalation step. Each runs one SQL statement."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import FieldError, Unprocessable, problem_responses
from app.core.types import Currency, Day
from app.ledger.creditors.models import Creditor
from app.reports import service
from app.reports.schemas import AgedBalance, Dso, PaymentTerms, Recovery
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1/reports", tags=["reports"])

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

CreditorFilter = Annotated[
    str | None,
    Query(max_length=40, description="One of the tenant's creditors; absent: all of them"),
]
AsOf = Annotated[
    Day | None, Query(description="The day the report is computed at; default: today (service)")
]
CurrencyFilter = Annotated[Currency, Query(description="Only invoices in this currency are summed")]

_RULES = """
**Outstanding at a day**: an invoice issued on or before that day, neither cancelled nor written
off (those are excluded entirely, whatever the day they were closed), whose balance at that day
(amount minus the payments dated on or before it) is above zero. A paid invoice counts at the days
before its payments.

**Days late** = the day - due date. Buckets: `not_due` (days late <= 0), `1_30` (1 to 30),
`31_60`, `61_90`, `over_90` (more than 90).
"""


async def _check_creditor(session: SessionDep, tenant_id: str, creditor_id: str | None) -> None:
    # Another tenant's creditor answers 404 exactly like a missing one.
    if creditor_id is not None:
        await get_owned(session, Creditor, tenant_id, creditor_id)


def _wants_csv(format_: str | None, accept: str | None) -> bool:
    """`?format=` wins; else CSV only when the Accept header prefers text/csv to JSON."""
    if format_ is not None:
        return format_ == "csv"
    csv_q = json_q = 0.0
    for item in (accept or "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in ("text/csv", "text/*"):
            csv_q = max(csv_q, q)
        if media in ("application/json", "application/*", "*/*"):
            json_q = max(json_q, q)
    return csv_q > json_q


_CSV_EXAMPLE = (
    "debtor_id,debtor_name,not_due,1_30,31_60,61_90,over_90,total\r\n"
    'deb_01,"Martin, Fils & Cie",0.00,1250.00,0.00,0.00,300.00,1550.00\r\n'
    "TOTAL,,0.00,1250.00,0.00,0.00,300.00,1550.00\r\n"
)


@router.get(
    "/aged-balance",
    summary="Aged balance (balance âgée)",
    description="The balances outstanding at `as_of` in buckets of days late, with the count of "
    "invoices and the amount in each, the total, and the same per debtor (largest total first)."
    "\n" + _RULES + "\n**CSV**: send `Accept: text/csv` (or `?format=csv`) for the same report as "
    "CSV: one row per debtor then a `TOTAL` row; columns `debtor_id, debtor_name, not_due, 1_30, "
    "31_60, 61_90, over_90, total` (amounts, 2 decimals, dot separator, RFC 4180 quoting, CRLF). "
    "A debtor name starting with `= + - @` is prefixed with `'` so that no spreadsheet runs it.",
    response_model=AgedBalance,
    responses={
        200: {
            "description": "The report, as JSON or CSV by `Accept` / `format`",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}},
        },
        **problem_responses(401, 404, 422),
    },
)
async def aged_balance(
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    creditor_id: CreditorFilter = None,
    as_of: AsOf = None,
    currency: CurrencyFilter = "EUR",
    format: Annotated[
        Literal["json", "csv"] | None,
        Query(description="Overrides the Accept header"),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    await _check_creditor(session, tenant_id, creditor_id)
    day = as_of or clock.today()
    report = await service.aged_balance(
        session, tenant_id, as_of=day, currency=currency, creditor_id=creditor_id
    )
    if _wants_csv(format, accept):
        return Response(
            service.aged_balance_csv(report),
            media_type=CSV_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="aged-balance-{day}.csv"',
                "Vary": "Accept",
            },
        )
    # The report is already in its JSON form; `response_model` documents it.
    return Response(
        service.aged_balance_json(report),
        media_type="application/json",
        headers={"Vary": "Accept"},
    )


@router.get(
    "/dso",
    summary="Days sales outstanding (DSO)",
    description=f"**Method**: {service.DSO_METHOD}\n\nExample: 30,000.00 outstanding and "
    "45,000.00 invoiced over the last 90 days give DSO = 30000 / 45000 x 90 = 60.0 days.",
    responses=problem_responses(401, 404, 422),
)
async def dso(
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    creditor_id: CreditorFilter = None,
    as_of: AsOf = None,
    days: Annotated[
        int, Query(ge=1, le=3650, description="Length of the sales period, in days")
    ] = 90,
    currency: CurrencyFilter = "EUR",
) -> Dso:
    await _check_creditor(session, tenant_id, creditor_id)
    return await service.dso(
        session,
        tenant_id,
        as_of=as_of or clock.today(),
        days=days,
        currency=currency,
        creditor_id=creditor_id,
    )


@router.get(
    "/payment-terms",
    summary="Payment-terms table (C. com. D441-6): invoices issued, unpaid and past due",
    description="The table French companies publish in their management report (article D. "
    "441-6 I 1° du Code de commerce, model of the arrêté of 20 March 2017): the invoices issued "
    "by the creditor, unpaid and past due at the closing date of the fiscal year, per lateness "
    "bucket (`1_30`, `31_60`, `61_90`, `over_90` = 91 days and more, days late = closing date - "
    "due date), with the number of invoices, their amount (TTC: the balance at the closing date) "
    "and the percentage of the fiscal year's revenue TTC (the invoices issued in the 12 months "
    "ending on `fiscal_year_end`, cancelled ones excluded); then the total (1 day and more).\n\n"
    "Business and consumer debtors alike. Invoices under dispute at the closing date (a dispute "
    "opened by then and not resolved before its end) are left out of the buckets and reported "
    "under `excluded` (row (B) of the table). Reference terms (C): the contractual due date of "
    "each invoice.\n" + _RULES,
    responses=problem_responses(401, 404, 422),
)
async def payment_terms(
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    creditor_id: Annotated[str, Query(max_length=40, description="The creditor (required)")],
    fiscal_year_end: Annotated[Day, Query(description="Closing date of the fiscal year")],
    currency: CurrencyFilter = "EUR",
) -> PaymentTerms:
    await _check_creditor(session, tenant_id, creditor_id)
    return await service.payment_terms(
        session,
        tenant_id,
        creditor_id=creditor_id,
        fiscal_year_end=fiscal_year_end,
        currency=currency,
        tz=clock.tz.key,
    )


@router.get(
    "/recovery",
    summary="Recovery by escalation step",
    description="The invoices paid in full (optionally with their payment date, `closed_on`, "
    "between `from` and `to` inclusive), by the furthest escalation step reached before the day "
    "of the payment that settled them: `before_due` (paid on or before the due date), "
    "`after_due` (late, before any reminder), `after_<code>` for each reminder step of the "
    "policies (the last `dunning.step_due` event before payment), `after_formal_notice` (a "
    "recorded `formal_notice` action or an `invoice.formal_notice_required` event before "
    "payment), `in_litigation` (a `formal_notice.deadline_expired` event or a recorded "
    "injonction de payer / petites créances / assignation before payment).\n\n"
    "`before` means on an earlier day (service time zone): a payment dated the day a step fell "
    "due is counted before it. Each invoice counts once, with its full amount. Averages: days "
    "from issue to payment, and days late at payment (negative when paid early), 1 decimal. "
    "The fixed steps are always listed, reminder steps when some invoice reached them, in "
    "escalation order.",
    responses=problem_responses(401, 404, 422),
)
async def recovery(
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    creditor_id: CreditorFilter = None,
    closed_from: Annotated[
        Day | None, Query(alias="from", description="First payment day included")
    ] = None,
    closed_to: Annotated[
        Day | None, Query(alias="to", description="Last payment day included")
    ] = None,
    currency: CurrencyFilter = "EUR",
) -> Recovery:
    if closed_from is not None and closed_to is not None and closed_from > closed_to:
        raise Unprocessable(
            "`from` is after `to`.",
            errors=[FieldError(loc=["query", "to"], msg="must not be before `from`")],
        )
    await _check_creditor(session, tenant_id, creditor_id)
    return await service.recovery(
        session,
        tenant_id,
        currency=currency,
        creditor_id=creditor_id,
        closed_from=closed_from,
        closed_to=closed_to,
        tz=clock.tz.key,
    )

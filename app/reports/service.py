"""Report queries. Each report is ONE SQL statement over the tenant's invoices: aggregates with
FILTER clauses and joins the planner can hash, never one query per invoice.

Shared rules:
- The balance of an invoice "as of" a day is its amount minus the payments dated on or before that
  day: a past day is right, whatever was paid since (see `_balances`).
- Cancelled (credit note) and written-off invoices are excluded from balances entirely, whatever
  the day they were closed: simple, and what a finance team expects of an aged balance.
- Days late = the day - due date. Aging buckets: not_due <= 0, 1_30, 31_60, 61_90, over_90 > 90.
- Amounts are only summed within one currency (a query parameter, default EUR).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import pydantic_core
from sqlalchemy import (
    ARRAY,
    CTE,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.types import quantize_money
from app.escalation.actions.models import Action
from app.escalation.engine import FORMAL_NOTICE_REQUIRED_KEY, RECOVERY_PROCEDURE_ACTIONS
from app.escalation.grouping.models import GroupedStep
from app.ledger.debtors.models import Debtor
from app.ledger.disputes.models import Dispute
from app.ledger.invoices.models import Invoice
from app.ledger.payments.models import Payment
from app.outbox.events.models import EventKey
from app.reports.schemas import (
    AGING_BUCKETS,
    LATE_BUCKETS,
    Dso,
    PaymentTerms,
    PaymentTermsColumn,
    PaymentTermsExcluded,
    Recovery,
    RecoveryLine,
    RecoveryTotals,
)

ZERO: Final = Decimal("0.00")
# Recorded actions that mean the claim went to court or to a commissaire de justice's procedure
# (for the recovery report): the engine's list, in a stable order.
JUDICIAL_ACTIONS: Final = tuple(sorted(RECOVERY_PROCEDURE_ACTIONS))

DSO_METHOD: Final = (
    "DSO = receivables / sales x days. Receivables: the sum of the balances at as_of (amount minus "
    "payments dated on or before as_of) of the invoices issued on or before as_of, cancelled and "
    "written-off invoices excluded. Sales: the sum of the amounts of the invoices issued in the "
    "`days` days ending on as_of (as_of - days < issue_date <= as_of), cancelled invoices excluded "
    "(a credit note undoes the sale; a write-off does not). Rounded half-up to 1 decimal; null "
    "when sales are 0."
)
REFERENCE_TERMS: Final = "Délais contractuels: the due date of each invoice"
PAYMENT_TERMS_LABELS: Final = {
    "1_30": "1 à 30 jours",
    "31_60": "31 à 60 jours",
    "61_90": "61 à 90 jours",
    "over_90": "91 jours et plus",
    "total": "Total (1 jour et plus)",
}


# --- shared building blocks ----------------------------------------------------------------------
def _local_day(column: Any, tz: str) -> ColumnElement[dt.date]:
    """The creditors' local day of a timestamp (the service's time zone)."""
    return cast(func.timezone(tz, column), Date)


def _balances(
    tenant_id: str,
    as_of: dt.date,
    *,
    currency: str,
    creditor_id: str | None,
    due_before: dt.date | None = None,
    extra: tuple[ColumnElement[Any], ...] = (),
) -> Subquery:
    """Invoices outstanding at `as_of`: one row (id, debtor_id, due_date, balance) per invoice
    issued on or before as_of, neither cancelled nor written off, with a balance > 0 at as_of.

    balance at as_of = amount - payments dated <= as_of
                     = (amount - paid_amount) + payments dated > as_of,
    because paid_amount is the sum of the invoice's payments (app.ledger.payments.service writes
    both in one transaction). The second form needs only the payments made after as_of (none
    when as_of is today): the ledger is scanned once and never grouped with all its payments,
    which spilled a hash aggregate of every invoice to disk and ran about twice slower at 1M
    invoices."""
    later = (
        select(Payment.invoice_id, func.sum(Payment.amount).label("amount"))
        .where(Payment.tenant_id == tenant_id, Payment.paid_at > as_of)
        .group_by(Payment.invoice_id)
        .cte("later_payments")
    )
    balance = Invoice.amount - Invoice.paid_amount + func.coalesce(later.c.amount, ZERO)
    filters = [
        Invoice.tenant_id == tenant_id,
        Invoice.issue_date <= as_of,
        Invoice.currency == currency,
    ]
    if creditor_id is not None:
        filters.append(Invoice.creditor_id == creditor_id)
    if due_before is not None:
        filters.append(Invoice.due_date < due_before)
    columns = (Invoice.id, Invoice.debtor_id, Invoice.due_date, balance.label("balance"), *extra)
    return (
        select(*columns)
        .outerjoin(later, later.c.invoice_id == Invoice.id)
        .where(
            or_(
                and_(Invoice.status == "open", balance > 0),
                # A paid invoice is outstanding at as_of only if some payments came after it.
                and_(Invoice.status == "paid", later.c.invoice_id.is_not(None)),
            ),
            *filters,
        )
        .subquery("balances")
    )


def _days_late(day: dt.date, due_date: ColumnElement[dt.date]) -> ColumnElement[int]:
    # date - date is an integer number of days in PostgreSQL.
    return type_coerce(literal(day, Date) - due_date, Integer)


def _late_ranges(days_late: ColumnElement[int]) -> dict[str, ColumnElement[bool]]:
    return {
        "not_due": days_late <= 0,
        "1_30": days_late.between(1, 30),
        "31_60": days_late.between(31, 60),
        "61_90": days_late.between(61, 90),
        "over_90": days_late > 90,
    }


def _count_sum(
    condition: ColumnElement[bool] | None, amount: ColumnElement[Decimal], name: str
) -> tuple[ColumnElement[int], ColumnElement[Decimal]]:
    if condition is None:
        return func.count().label(f"n_{name}"), func.coalesce(func.sum(amount), ZERO).label(
            f"a_{name}"
        )
    return (
        func.count().filter(condition).label(f"n_{name}"),
        func.coalesce(func.sum(amount).filter(condition), ZERO).label(f"a_{name}"),
    )


def _money(value: Decimal | None) -> Decimal:
    return quantize_money(value if value is not None else ZERO)


# --- aged balance --------------------------------------------------------------------------------
def _as_text(amount: ColumnElement[Decimal]) -> ColumnElement[str]:
    """A sum of money as the API writes it ("1250.00"): the database formats it, so that a
    report of thousands of debtors makes no Decimal, and no model, per cell in Python. `round`
    is half away from zero, like quantize_money's ROUND_HALF_UP, and a numeric has no negative
    zero."""
    return cast(func.round(func.coalesce(amount, ZERO), 2), String)


def aged_balance_statement(
    tenant_id: str, as_of: dt.date, *, currency: str, creditor_id: str | None
) -> Select[Any]:
    """One row per debtor with a balance, largest total first: the debtor's id and name, the
    count and amount of each bucket in AGING_BUCKETS order, then the total count and amount.
    A plain GROUP BY of the invoices by debtor, which the planner hashes (in parallel on a large
    ledger; a GROUPING SETS total row made it sort every invoice, twice slower), then the
    debtors' names joined to the groups (9 % faster than joined to every invoice first:
    bench/README.md)."""
    b = _balances(tenant_id, as_of, currency=currency, creditor_id=creditor_id)
    ranges = _late_ranges(_days_late(as_of, b.c.due_date))
    # _count_sum's pairs, with the amounts as text.
    cells: list[ColumnElement[Any]] = []
    for name in AGING_BUCKETS:
        cells.append(func.count().filter(ranges[name]).label(f"n_{name}"))
        cells.append(_as_text(func.sum(b.c.balance).filter(ranges[name])).label(f"a_{name}"))
    total = func.sum(b.c.balance)
    cells += [func.count().label("n_total"), _as_text(total).label("a_total")]
    per_debtor = (
        select(b.c.debtor_id, total.label("total"), *cells)
        .group_by(b.c.debtor_id)
        .subquery("per_debtor")
    )
    return (
        select(Debtor.id, Debtor.name, *(per_debtor.c[cell.name] for cell in cells))
        .join_from(per_debtor, Debtor, Debtor.id == per_debtor.c.debtor_id)
        .order_by(per_debtor.c.total.desc(), Debtor.name, Debtor.id)
    )


# Where each bucket's count and amount are in a row of aged_balance_statement; the debtor's
# total count and amount are the last two cells.
_CELLS: Final = tuple((bucket, 2 + 2 * i, 3 + 2 * i) for i, bucket in enumerate(AGING_BUCKETS))


async def aged_balance(
    session: AsyncSession,
    tenant_id: str,
    *,
    as_of: dt.date,
    currency: str,
    creditor_id: str | None,
) -> dict[str, Any]:
    """The report in its JSON form (the `AgedBalance` schema), built from the statement's
    rows as plain values: with a model and a Decimal per cell, a report of 3,600 debtors cost
    112 ms of the service's CPU, 35 to 40 ms this way; meanwhile the process serves nothing
    else (bench/README.md, eighth session)."""
    stmt = aged_balance_statement(tenant_id, as_of, currency=currency, creditor_id=creditor_id)
    rows = (await session.execute(stmt)).all()
    debtors = [
        {
            "debtor_id": row[0],
            "name": row[1],
            "buckets": {b: {"count": row[n], "amount": row[a]} for b, n, a in _CELLS},
            "total": {"count": row[-2], "amount": row[-1]},
        }
        for row in rows
    ]
    # The totals add up the debtors' cells as written, exactly (Decimal, 2 decimals each).
    columns = list(zip(*rows, strict=True)) or [()] * len(stmt.selected_columns)
    counts = {b: sum(columns[n]) for b, n, _ in _CELLS}
    amounts = {b: sum(map(Decimal, columns[a]), ZERO) for b, _, a in _CELLS}
    return {
        "as_of": as_of.isoformat(),
        "currency": currency,
        "creditor_id": creditor_id,
        "buckets": [
            {"bucket": b, "count": counts[b], "amount": str(amounts[b])} for b in AGING_BUCKETS
        ],
        "total": {"count": sum(counts.values()), "amount": str(sum(amounts.values(), ZERO))},
        "debtors": debtors,
    }


def aged_balance_json(report: dict[str, Any]) -> bytes:
    # pydantic's serializer of plain values: a quarter of json.dumps's CPU on a large report.
    return pydantic_core.to_json(report)


CSV_COLUMNS: Final = ("debtor_id", "debtor_name", *AGING_BUCKETS, "total")
# A cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP).
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def aged_balance_csv(report: dict[str, Any]) -> str:
    """One row per debtor plus a TOTAL row; amounts with 2 decimals and a dot; RFC 4180 quoting
    and CRLF line ends. Names a spreadsheet would run as a formula get a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for debtor in report["debtors"]:
        buckets = debtor["buckets"]
        writer.writerow(
            [
                debtor["debtor_id"],
                _safe_cell(debtor["name"]),
                *(buckets[bucket]["amount"] for bucket in AGING_BUCKETS),
                debtor["total"]["amount"],
            ]
        )
    writer.writerow(
        ["TOTAL", "", *(line["amount"] for line in report["buckets"]), report["total"]["amount"]]
    )
    return out.getvalue()


# --- DSO -----------------------------------------------------------------------------------------
def dso_statement(
    tenant_id: str, as_of: dt.date, days: int, *, currency: str, creditor_id: str | None
) -> Select[Any]:
    b = _balances(tenant_id, as_of, currency=currency, creditor_id=creditor_id)
    sales = select(func.coalesce(func.sum(Invoice.amount), ZERO)).where(
        Invoice.tenant_id == tenant_id,
        Invoice.status != "cancelled",
        Invoice.currency == currency,
        Invoice.issue_date > as_of - dt.timedelta(days=days),
        Invoice.issue_date <= as_of,
    )
    if creditor_id is not None:
        sales = sales.where(Invoice.creditor_id == creditor_id)
    return select(
        func.coalesce(func.sum(b.c.balance), ZERO).label("receivables"),
        sales.scalar_subquery().label("sales"),
    )


async def dso(
    session: AsyncSession,
    tenant_id: str,
    *,
    as_of: dt.date,
    days: int,
    currency: str,
    creditor_id: str | None,
) -> Dso:
    stmt = dso_statement(tenant_id, as_of, days, currency=currency, creditor_id=creditor_id)
    receivables, sales = (await session.execute(stmt)).one()
    receivables, sales = _money(receivables), _money(sales)
    value = None
    if sales > 0:
        value = (receivables * days / sales).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return Dso(
        as_of=as_of,
        days=days,
        currency=currency,
        creditor_id=creditor_id,
        receivables=receivables,
        sales=sales,
        dso=value,
        method=DSO_METHOD,
    )


# --- payment terms (C. com. D441-6 I 1°) ---------------------------------------------------------
def fiscal_year_start(fiscal_year_end: dt.date) -> dt.date:
    """The first day of the 12 months ending on `fiscal_year_end` (31/12 -> 01/01; 28/02/2025
    -> 01/03/2024)."""
    after = fiscal_year_end + dt.timedelta(days=1)
    try:
        return after.replace(year=after.year - 1)
    except ValueError:  # 29 February: the year before has none
        return dt.date(after.year - 1, 3, 1)


def payment_terms_statement(
    tenant_id: str, creditor_id: str, fiscal_year_end: dt.date, *, currency: str, tz: str
) -> Select[Any]:
    start = fiscal_year_start(fiscal_year_end)
    # Disputed at the closing date: a dispute opened by then and not resolved before the end of it.
    disputed = (
        exists()
        .where(
            Dispute.invoice_id == Invoice.id,
            _local_day(Dispute.opened_at, tz) <= fiscal_year_end,
            or_(
                Dispute.resolved_at.is_(None),
                _local_day(Dispute.resolved_at, tz) > fiscal_year_end,
            ),
        )
        .label("disputed")
    )
    # Only invoices past due at closing (days late >= 1) go through the dispute check.
    b = _balances(
        tenant_id,
        fiscal_year_end,
        currency=currency,
        creditor_id=creditor_id,
        due_before=fiscal_year_end,
        extra=(disputed,),
    )
    ranges = _late_ranges(_days_late(fiscal_year_end, b.c.due_date))
    counted = ~b.c.disputed
    columns: list[ColumnElement[Any]] = []
    for name in LATE_BUCKETS:
        columns.extend(_count_sum(and_(counted, ranges[name]), b.c.balance, name))
    columns.extend(_count_sum(counted, b.c.balance, "total"))
    columns.extend(_count_sum(b.c.disputed, b.c.balance, "excluded"))
    revenue = select(func.coalesce(func.sum(Invoice.amount), ZERO)).where(
        Invoice.tenant_id == tenant_id,
        Invoice.creditor_id == creditor_id,
        Invoice.status != "cancelled",
        Invoice.currency == currency,
        Invoice.issue_date.between(start, fiscal_year_end),
    )
    return select(*columns, revenue.scalar_subquery().label("revenue")).select_from(b)


async def payment_terms(
    session: AsyncSession,
    tenant_id: str,
    *,
    creditor_id: str,
    fiscal_year_end: dt.date,
    currency: str,
    tz: str,
) -> PaymentTerms:
    stmt = payment_terms_statement(
        tenant_id, creditor_id, fiscal_year_end, currency=currency, tz=tz
    )
    row = (await session.execute(stmt)).one()
    revenue = _money(row.revenue)

    def column(name: str) -> PaymentTermsColumn:
        amount = _money(row._mapping[f"a_{name}"])
        share = amount * 100 / revenue if revenue > 0 else None
        return PaymentTermsColumn(
            bucket=name,
            label=PAYMENT_TERMS_LABELS[name],
            count=int(row._mapping[f"n_{name}"]),
            amount=amount,
            revenue_share=share,
        )

    return PaymentTerms(
        creditor_id=creditor_id,
        currency=currency,
        fiscal_year_start=fiscal_year_start(fiscal_year_end),
        fiscal_year_end=fiscal_year_end,
        revenue=revenue,
        buckets=[column(name) for name in LATE_BUCKETS],
        total=column("total"),
        excluded=PaymentTermsExcluded(count=int(row.n_excluded), amount=_money(row.a_excluded)),
        reference_terms=REFERENCE_TERMS,
    )


# --- recovery by escalation step -----------------------------------------------------------------
STEP_EVENT: Final = "dunning.step_due"
NOTICE_EVENT: Final = "invoice.formal_notice_required"
LITIGATION_EVENT: Final = "formal_notice.deadline_expired"
STEP_PREFIX: Final = "step:"
FIXED_STEPS: Final = ("before_due", "after_due", "after_formal_notice", "in_litigation")
_RANK: Final = {"before_due": 0, "after_due": 1, "after_formal_notice": 3, "in_litigation": 4}
_REMINDER_RANK: Final = 2


def recovery_statement(
    tenant_id: str,
    *,
    currency: str,
    creditor_id: str | None,
    closed_from: dt.date | None,
    closed_to: dt.date | None,
    tz: str,
) -> Select[Any]:
    paid = _paid_invoices(
        tenant_id,
        currency=currency,
        creditor_id=creditor_id,
        closed_from=closed_from,
        closed_to=closed_to,
    )
    classified = _classified(paid, _escalation_events(paid, tz), _escalation_actions(paid, tz))
    c = classified.c
    # Sums, not averages: the total line is computed exactly from the step lines.
    return select(
        c.step,
        func.min(c.rank).label("rank"),
        func.avg(c.step_offset).label("step_offset"),
        func.count().label("count"),
        func.coalesce(func.sum(c.amount), ZERO).label("amount"),
        func.sum(c.days_to_pay).label("days_to_pay"),
        func.sum(c.days_late).label("days_late"),
    ).group_by(c.step)


def _paid_invoices(
    tenant_id: str,
    *,
    currency: str,
    creditor_id: str | None,
    closed_from: dt.date | None,
    closed_to: dt.date | None,
) -> CTE:
    """The paid invoices of the report."""
    paid_q = select(
        Invoice.id, Invoice.amount, Invoice.issue_date, Invoice.due_date, Invoice.closed_on
    ).where(Invoice.tenant_id == tenant_id, Invoice.status == "paid", Invoice.currency == currency)
    if creditor_id is not None:
        paid_q = paid_q.where(Invoice.creditor_id == creditor_id)
    if closed_from is not None:
        paid_q = paid_q.where(Invoice.closed_on >= closed_from)
    if closed_to is not None:
        paid_q = paid_q.where(Invoice.closed_on <= closed_to)
    return paid_q.cte("paid")


def _late(paid: CTE) -> ColumnElement[bool]:
    # Only invoices paid after their due date need their escalation history.
    return paid.c.closed_on > paid.c.due_date


def _occurrences(tz: str) -> Subquery:
    """The escalation occurrences per invoice: its own events (their keys, which outlive the
    events' partitions), and the steps it was sent with
    its debtor's grouped events (grouping "debtor": grouped_steps, typed as the per-invoice
    event they stand for)."""
    own = select(
        EventKey.invoice_id,
        EventKey.type,
        EventKey.occurrence,
        func.coalesce(EventKey.occurred_on, _local_day(EventKey.created_at, tz)).label("day"),
    ).where(
        or_(
            and_(EventKey.type == STEP_EVENT, EventKey.occurrence.startswith(STEP_PREFIX)),
            EventKey.type.in_((NOTICE_EVENT, LITIGATION_EVENT)),
        )
    )
    grouped = select(
        GroupedStep.invoice_id,
        case(
            (GroupedStep.occurrence == FORMAL_NOTICE_REQUIRED_KEY, literal(NOTICE_EVENT)),
            else_=literal(STEP_EVENT),
        ).label("type"),
        GroupedStep.occurrence,
        GroupedStep.occurred_on.label("day"),
    ).where(GroupedStep.event_id.is_not(None))  # sent, not passed over beyond a cap
    return union_all(own, grouped).subquery("occurrences")


def _escalation_events(paid: CTE, tz: str) -> Subquery:
    """Per late invoice, the escalation events before its payment: the last reminder step (code
    and day), whether a formal notice was required, whether its deadline expired."""
    # "Before the payment": on a day strictly before it. A payment dated the day a reminder fell
    # due was almost always under way before the reminder went out.
    occ = _occurrences(tz)
    is_step = occ.c.type == STEP_EVENT
    # The last reminder before payment: max() of [day, code] arrays (days as ISO text sort like
    # dates). A plain aggregate, unlike an ordered array_agg, lets the planner hash the groups.
    last_step = type_coerce(
        func.max(
            pg_array(
                [
                    func.to_char(occ.c.day, "YYYY-MM-DD"),
                    func.substr(occ.c.occurrence, len(STEP_PREFIX) + 1),
                ]
            )
        ).filter(is_step),
        ARRAY(String),
    )
    return (
        select(
            occ.c.invoice_id,
            last_step[2].label("step_code"),
            cast(last_step[1], Date).label("step_on"),
            func.bool_or(occ.c.type == NOTICE_EVENT).label("notice"),
            func.bool_or(occ.c.type == LITIGATION_EVENT).label("litigation"),
        )
        .join(paid, paid.c.id == occ.c.invoice_id)
        .where(occ.c.day < paid.c.closed_on, _late(paid))
        .group_by(occ.c.invoice_id)
        .subquery("escalation_events")
    )


def _escalation_actions(paid: CTE, tz: str) -> Subquery:
    """Per late invoice, whether a formal notice or a court procedure was recorded before its
    payment."""
    return (
        select(
            Action.invoice_id,
            func.bool_or(Action.type == "formal_notice").label("notice"),
            func.bool_or(Action.type.in_(JUDICIAL_ACTIONS)).label("litigation"),
        )
        .join(paid, paid.c.id == Action.invoice_id)
        .where(
            Action.type.in_(("formal_notice", *JUDICIAL_ACTIONS)),
            _local_day(Action.performed_at, tz) < paid.c.closed_on,
            _late(paid),
        )
        .group_by(Action.invoice_id)
        .subquery("escalation_actions")
    )


def _classified(paid: CTE, events: Subquery, actions: Subquery) -> Subquery:
    """Each paid invoice with the furthest step it reached before payment, and its figures."""
    before_due = paid.c.closed_on <= paid.c.due_date
    litigation = or_(events.c.litigation, actions.c.litigation)
    notice = or_(events.c.notice, actions.c.notice)
    reminded = events.c.step_code.is_not(None)
    step = case(
        (before_due, literal("before_due")),
        (litigation, literal("in_litigation")),
        (notice, literal("after_formal_notice")),
        (reminded, literal("after_") + events.c.step_code),
        else_=literal("after_due"),
    )
    rank = case(
        (before_due, _RANK["before_due"]),
        (litigation, _RANK["in_litigation"]),
        (notice, _RANK["after_formal_notice"]),
        (reminded, _REMINDER_RANK),
        else_=_RANK["after_due"],
    )
    return (
        select(
            step.label("step"),
            rank.label("rank"),
            # How late the reminder itself came: orders custom reminder steps among themselves.
            (events.c.step_on - paid.c.due_date).label("step_offset"),
            paid.c.amount,
            (paid.c.closed_on - paid.c.issue_date).label("days_to_pay"),
            (paid.c.closed_on - paid.c.due_date).label("days_late"),
        )
        .select_from(
            paid.outerjoin(events, events.c.invoice_id == paid.c.id).outerjoin(
                actions, actions.c.invoice_id == paid.c.id
            )
        )
        .subquery("classified")
    )


async def recovery(
    session: AsyncSession,
    tenant_id: str,
    *,
    currency: str,
    creditor_id: str | None,
    closed_from: dt.date | None,
    closed_to: dt.date | None,
    tz: str,
) -> Recovery:
    stmt = recovery_statement(
        tenant_id,
        currency=currency,
        creditor_id=creditor_id,
        closed_from=closed_from,
        closed_to=closed_to,
        tz=tz,
    )
    rows = (await session.execute(stmt)).all()
    lines: dict[str, tuple[tuple[Any, ...], RecoveryLine]] = {
        name: ((_RANK[name], Decimal(0), name), RecoveryLine(step=name, **_figures(0, ZERO, 0, 0)))
        for name in FIXED_STEPS
    }
    for row in rows:
        offset = row.step_offset if row.step_offset is not None else Decimal(0)
        figures = _figures(row.count, row.amount, row.days_to_pay, row.days_late)
        lines[row.step] = (
            (int(row.rank), offset, row.step),
            RecoveryLine(step=row.step, **figures),
        )
    count = sum(int(row.count) for row in rows)
    total = _figures(
        count,
        sum((row.amount for row in rows), ZERO),
        sum(int(row.days_to_pay) for row in rows),
        sum(int(row.days_late) for row in rows),
    )
    return Recovery(
        creditor_id=creditor_id,
        currency=currency,
        closed_from=closed_from,
        closed_to=closed_to,
        steps=[line for _, line in sorted(lines.values(), key=lambda kv: kv[0])],
        total=RecoveryTotals(**total),
    )


def _figures(count: int, amount: Decimal, days_to_pay: int, days_late: int) -> dict[str, Any]:
    def mean(days: int) -> Decimal | None:
        return Decimal(days) / count if count else None

    return {
        "count": count,
        "amount": _money(amount),
        "average_days_to_pay": mean(days_to_pay),
        "average_days_late": mean(days_late),
    }

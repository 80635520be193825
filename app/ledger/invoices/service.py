"""Invoices: creation, changes, closing, and the set-based batch upsert.

Every change ends with `mark_invoice_changed`: the unit of work refreshes the invoice's dunning
state (and writes the events a change causes) before the commit, in one batch."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.clock import Clock
from app.core.crud import apply_changes, get_owned
from app.core.db import flush, mark_invoice_changed, remember_loaded
from app.core.errors import (
    Conflict,
    FieldError,
    ProblemError,
    Unprocessable,
    errors_summary,
    field_errors,
    problem_body,
)
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.ledger.creditors.models import Creditor
from app.ledger.debtors.models import Debtor
from app.ledger.invoices import repository
from app.ledger.invoices.models import Invoice, NewInvoice
from app.ledger.invoices.schemas import (
    BatchItemError,
    BatchResult,
    DunningOut,
    InvoiceCreate,
    InvoiceFilters,
    InvoiceOut,
    InvoiceStatus,
    InvoiceUpdate,
)
from app.legal import figures as legal
from app.legal.interest import minimum_contractual_rate
from app.legal.repository import check_contractual_rate, rate_book

_CREATE = TypeAdapter(InvoiceCreate)


def _end_of_month(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def legal_warnings(issue_date: dt.date, due_date: dt.date) -> list[str]:
    """C. com. L441-10: agreed terms may not exceed 60 days from the invoice date, or 45 days end
    of month. Beyond both, the term is unlawful: warn, don't refuse."""
    days = (due_date - issue_date).days
    if days <= legal.MAX_PAYMENT_TERMS_DAYS:  # within the first bound: lawful (most invoices)
        return []
    latest_lawful = max(
        issue_date + dt.timedelta(days=legal.MAX_PAYMENT_TERMS_DAYS),
        _end_of_month(issue_date + dt.timedelta(days=legal.MAX_PAYMENT_TERMS_END_OF_MONTH_DAYS)),
    )
    if due_date > latest_lawful:
        return [
            f"payment_terms_exceed_legal_maximum: {days} days from the invoice date exceed the "
            f"legal maximum of {legal.MAX_PAYMENT_TERMS_DAYS} days (or "
            f"{legal.MAX_PAYMENT_TERMS_END_OF_MONTH_DAYS} days end of month), C. com. L441-10"
        ]
    return []


def to_out(invoice: Invoice | NewInvoice | SimpleNamespace, today: dt.date) -> InvoiceOut:
    """The invoice as the API shows it, from the ORM object or its columns as attributes."""
    late = invoice.status == "open" and invoice.due_date < today
    return InvoiceOut(
        id=invoice.id,
        creditor_id=invoice.creditor_id,
        debtor_id=invoice.debtor_id,
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount=invoice.amount,
        currency=invoice.currency,
        late_penalty_rate=invoice.late_penalty_rate,
        external_id=invoice.external_id,
        paid_amount=invoice.paid_amount,
        balance=invoice.amount - invoice.paid_amount,
        status=invoice.status,
        closed_reason=invoice.closed_reason,
        days_overdue=(today - invoice.due_date).days if late else 0,
        disputed=invoice.disputed,
        received_on=invoice.received_on,
        approved=bool(invoice.approved),
        approved_amount=invoice.approved_amount,
        dunning=DunningOut(
            stage=invoice.dunning_stage,
            last_step=invoice.last_step,
            next_step=invoice.next_step,
            next_action_at=invoice.next_action_at,
            paused=invoice.paused,
            paused_reason=invoice.paused_reason,
            formal_notice_deadline=invoice.formal_notice_deadline,
        ),
        limitation_ends_on=invoice.limitation_ends_on,
        warnings=legal_warnings(invoice.issue_date, invoice.due_date),
        created_at=invoice.created_at,
        updated_at=invoice.updated_at,
    )


def _debtor_error(detail: str) -> Unprocessable:
    return Unprocessable(detail, errors=[FieldError(loc=["body", "debtor_id"], msg=detail)])


def _check_parties(creditor: Any | None, debtor: Any | None, creditor_id: str) -> tuple[Any, Any]:
    """The creditor and debtor a body names, as found among the tenant's (None: not found); 422
    on the field that names something unknown (or another tenant's, or another creditor's
    debtor). For a create and for each item of a batch."""
    if creditor is None:
        raise Unprocessable(
            f"No creditor {creditor_id}.",
            errors=[FieldError(loc=["body", "creditor_id"], msg="unknown creditor")],
        )
    if debtor is None:
        raise _debtor_error("unknown debtor")
    if debtor.creditor_id != creditor.id:
        raise _debtor_error("the debtor belongs to another creditor")
    return creditor, debtor


async def create_invoice(
    session: AsyncSession, tenant_id: str, data: InvoiceCreate, clock: Clock
) -> NewInvoice:
    """Two statements through the driver, on the session's connection: the parties' read, then
    the INSERT. The seam plans the invoice in between, from the rows read (no query). The INSERT
    is the only write: `POST /v1/invoices` runs it with no transaction around (`one_statement`),
    an import in its own transaction."""
    conn = await session.connection()
    found = await repository.parties(conn, tenant_id, data.creditor_id, data.debtor_id)
    creditor, debtor = _check_parties(*found, data.creditor_id)
    remember_loaded(session, Creditor, creditor)
    remember_loaded(session, Debtor, debtor)
    await check_contractual_rate(
        session, data.late_penalty_rate, clock.today(), ["body", "late_penalty_rate"]
    )
    invoice = NewInvoice(
        id=new_id("inv"),
        tenant_id=tenant_id,
        creditor_id=creditor.id,
        debtor_id=debtor.id,
        number=data.number,
        issue_date=data.issue_date,
        due_date=data.due_date or data.issue_date + dt.timedelta(days=creditor.payment_terms_days),
        amount=data.amount,
        currency=data.currency,
        late_penalty_rate=data.late_penalty_rate,
        external_id=data.external_id,
        paid_amount=Decimal("0.00"),
        status="open",
        disputed=False,
        tracked_since=clock.today(),
    )
    # Planned through the seam as a new invoice (it has no history to read); the INSERT is the
    # repository's.
    mark_invoice_changed(session, invoice, clock)
    await flush(session)
    stored = await repository.insert(conn, invoice)
    if stored is None:
        raise _number_taken()
    invoice.created_at, invoice.updated_at = stored
    return invoice


async def update_invoice(
    session: AsyncSession, tenant_id: str, invoice_id: str, data: InvoiceUpdate, clock: Clock
) -> Invoice:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id, lock=True)
    changes = data.model_dump(exclude_unset=True)
    await check_contractual_rate(
        session, changes.get("late_penalty_rate"), clock.today(), ["body", "late_penalty_rate"]
    )
    money_or_dates = {"issue_date", "due_date", "amount", "currency"} & changes.keys()
    if money_or_dates and invoice.status != "open":
        raise Conflict(
            f"The invoice is {invoice.status}; its amount and dates can no longer change."
        )
    issue = changes.get("issue_date", invoice.issue_date)
    due = changes.get("due_date", invoice.due_date)
    if due < issue:
        raise Unprocessable(
            "due_date must not be before issue_date.",
            errors=[FieldError(loc=["body", "due_date"], msg="must not be before issue_date")],
        )
    if changes.get("amount", invoice.amount) < invoice.paid_amount:
        raise Unprocessable(
            "The amount cannot be less than what was already paid.",
            errors=[FieldError(loc=["body", "amount"], msg="less than the amount already paid")],
        )
    apply_changes(invoice, changes)
    if invoice.status == "open" and invoice.amount == invoice.paid_amount:
        raise Unprocessable(
            "The amount would equal what was already paid; record a payment instead.",
            errors=[FieldError(loc=["body", "amount"], msg="equals the amount already paid")],
        )
    mark_invoice_changed(session, invoice, clock)
    await flush(session)
    return invoice


async def close_invoice(
    session: AsyncSession,
    tenant_id: str,
    invoice_id: str,
    *,
    status: InvoiceStatus,
    reason: str,
    clock: Clock,
) -> Invoice:
    """Cancel (credit note) or write off an open invoice: escalation stops."""
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id, lock=True)
    if invoice.status != "open":
        raise Conflict(f"The invoice is already {invoice.status}.")
    invoice.status = status
    invoice.closed_reason = reason
    invoice.closed_on = clock.today()
    mark_invoice_changed(session, invoice, clock)
    await flush(session)
    return invoice


# --- batch ---------------------------------------------------------------------------------------

_COMPARED = (
    "debtor_id",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "late_penalty_rate",
    "external_id",
)


async def list_invoices(
    conn: AsyncConnection,
    tenant_id: str,
    page: PageParams,
    clock: Clock,
    filters: InvoiceFilters | None = None,
) -> Page[InvoiceOut]:
    """One page of the tenant's invoices that match every filter given: the columns, read as
    Core rows (an ORM object per row cost more than `to_out`)."""
    today = clock.today()
    stmt = select(*Invoice.__table__.columns).where(
        Invoice.tenant_id == tenant_id, *filter_conditions(filters or InvoiceFilters(), today)
    )
    return await page_of(conn, stmt, Invoice.id, page, lambda r: to_out(r, today))


# The filters that are a plain equality on a column.
_EQUAL_FILTERS = {
    "creditor_id": Invoice.creditor_id,
    "debtor_id": Invoice.debtor_id,
    "number": Invoice.number,
    "external_id": Invoice.external_id,
    "status": Invoice.status,
    "stage": Invoice.dunning_stage,
}


def filter_conditions(filters: InvoiceFilters, today: dt.date) -> list[ColumnElement[bool]]:
    """The WHERE conditions of `filters`; `overdue` is true for open and past due on `today`."""
    conditions = [
        column == getattr(filters, name)
        for name, column in _EQUAL_FILTERS.items()
        if getattr(filters, name) is not None
    ]
    if filters.due_after is not None:
        conditions.append(Invoice.due_date >= filters.due_after)
    if filters.due_before is not None:
        conditions.append(Invoice.due_date <= filters.due_before)
    if filters.overdue is not None:
        late = (Invoice.status == "open") & (Invoice.due_date < today)
        conditions.append(late if filters.overdue else ~late)
    return conditions


def _item_problem(exc: ProblemError, index: int) -> dict[str, object]:
    """The problem of item `index`, each `loc` pointing into the request: the item's checks say
    `["body", "amount"]` as for `POST /v1/invoices`, the batch answers
    `["body", "invoices", index, "amount"]`."""
    problem = problem_body(exc)
    if exc.errors:
        problem["errors"] = [
            {"loc": ["body", "invoices", index, *e.loc[1:]], "msg": e.msg} for e in exc.errors
        ]
    return problem


def _validation_problem(err: ValidationError) -> Unprocessable:
    """An item's validation errors, as `POST /v1/invoices` would report them; the detail names
    each field within the item (`amount: ...`)."""
    errors = field_errors(err.errors(), root=["body"])
    return Unprocessable(errors_summary(errors, skip=1), errors=errors)


async def upsert_batch(
    session: AsyncSession, tenant_id: str, items: list[dict[str, Any]], clock: Clock
) -> BatchResult:
    """Upsert by (creditor_id, number) in a few set-based statements, whatever the batch size.
    Bad items are reported by index and never block the good ones; an unchanged item writes
    nothing, so re-running a batch creates and updates nothing."""
    errors: list[BatchItemError] = []
    parsed = _parse_items(items, errors)
    batch = await _load_batch(session, tenant_id, parsed)
    today = clock.today()
    rate_floor = minimum_contractual_rate(today, await rate_book(session))
    for index, data in sorted(parsed.items()):
        try:
            _plan_item(batch, index, data, tenant_id=tenant_id, today=today, rate_floor=rate_floor)
        except ProblemError as exc:
            errors.append(BatchItemError(index=index, problem=_item_problem(exc, index)))

    # One batched refresh: the updated invoices, and the new ones planned before their INSERT.
    for invoice in [*batch.new_invoices, *batch.changed]:
        mark_invoice_changed(session, invoice, clock)
    await flush(session)
    created = await _insert_new(session, batch, errors)
    errors.sort(key=lambda e: e.index)
    return BatchResult(
        created=created, updated=len(batch.changed), unchanged=batch.unchanged, errors=errors
    )


@dataclass
class _Batch:
    """What a batch upsert found stored, and what it is to write."""

    creditors: dict[str, Creditor]
    debtors: dict[str, Debtor]
    existing: dict[tuple[str, str], Invoice]  # by (creditor_id, number)
    seen: set[tuple[str, str]] = field(default_factory=set)
    new_invoices: list[NewInvoice] = field(default_factory=list)
    new_index: dict[tuple[str, str], int] = field(default_factory=dict)
    changed: list[Invoice] = field(default_factory=list)
    unchanged: int = 0


def _parse_items(
    items: list[dict[str, Any]], errors: list[BatchItemError]
) -> dict[int, InvoiceCreate]:
    """The valid items by index; a problem in `errors` for each invalid one."""
    parsed: dict[int, InvoiceCreate] = {}
    for index, item in enumerate(items):
        try:
            parsed[index] = _CREATE.validate_python(item)
        except ValidationError as exc:
            errors.append(
                BatchItemError(index=index, problem=_item_problem(_validation_problem(exc), index))
            )
    return parsed


# A batch's existing invoices, locked: its (creditor_id, number) pairs as two arrays, each pair
# one probe of the unique index. `number IN (...)` lists went bad once PostgreSQL switched the
# prepared statement to its generic plan (after 5 runs): 1,000 parameters it cannot hash, compared
# with every invoice of the creditor, 150-200 ms a batch instead of 2 ms (bench/README.md). A
# row-value IN of 1,000 pairs took ~200 ms to plan. Locked in id order, as the unit of work
# locks the invoices it refreshes (app.escalation.service._LOCK_AND_REREAD): in the order the
# join met them (the unique index's, or the items' under another plan), a batch and a debtor's
# update, or two batches, could each wait for the other.
_EXISTING = select(Invoice).from_statement(
    text(
        """
        SELECT invoices.* FROM invoices
        JOIN unnest(CAST(:creditor_ids AS varchar[]), CAST(:numbers AS varchar[]))
             AS k(creditor_id, number)
          ON invoices.creditor_id = k.creditor_id AND invoices.number = k.number
        WHERE invoices.tenant_id = :tenant_id
        ORDER BY invoices.id
        FOR UPDATE OF invoices
        """
    )
)


async def _load_batch(
    session: AsyncSession, tenant_id: str, parsed: dict[int, InvoiceCreate]
) -> _Batch:
    """The creditors, debtors and existing invoices (locked) the items name."""
    creditor_ids = {p.creditor_id for p in parsed.values()}
    debtor_ids = {p.debtor_id for p in parsed.values()}
    creditors = {
        c.id: c
        for c in (
            await session.execute(
                select(Creditor).where(
                    Creditor.tenant_id == tenant_id, Creditor.id.in_(creditor_ids)
                )
            )
        ).scalars()
    }
    debtors = {
        d.id: d
        for d in (
            await session.execute(
                select(Debtor).where(Debtor.tenant_id == tenant_id, Debtor.id.in_(debtor_ids))
            )
        ).scalars()
    }
    keys = list({(p.creditor_id, p.number) for p in parsed.values()})
    found = await session.execute(
        _EXISTING,
        {
            "tenant_id": tenant_id,
            "creditor_ids": [creditor_id for creditor_id, _ in keys],
            "numbers": [number for _, number in keys],
        },
    )
    existing = {(i.creditor_id, i.number): i for i in found.scalars()}
    return _Batch(creditors=creditors, debtors=debtors, existing=existing)


def _plan_item(
    batch: _Batch,
    index: int,
    data: InvoiceCreate,
    *,
    tenant_id: str,
    today: dt.date,
    rate_floor: Decimal,
) -> None:
    """Add the item to the batch's new, changed or unchanged invoices; ProblemError if it is
    refused."""
    key = (data.creditor_id, data.number)
    creditor = _check_item(batch, data, rate_floor)
    batch.seen.add(key)
    values = data.model_dump()
    values["due_date"] = data.due_date or data.issue_date + dt.timedelta(
        days=creditor.payment_terms_days
    )
    current = batch.existing.get(key)
    if current is None:
        invoice = NewInvoice(
            id=new_id("inv"),
            tenant_id=tenant_id,
            paid_amount=Decimal("0.00"),
            status="open",
            disputed=False,
            tracked_since=today,
            **values,
        )
        batch.new_invoices.append(invoice)
        batch.new_index[key] = index
        return
    if all(getattr(current, f) == values[f] for f in _COMPARED):
        batch.unchanged += 1
        return
    _check_change(current, data, values)
    apply_changes(current, {f: values[f] for f in _COMPARED})
    batch.changed.append(current)


def _check_item(batch: _Batch, data: InvoiceCreate, rate_floor: Decimal) -> Creditor:
    """The item's creditor, once its creditor, debtor, number and rate are acceptable."""
    creditor: Creditor
    creditor, _ = _check_parties(
        batch.creditors.get(data.creditor_id), batch.debtors.get(data.debtor_id), data.creditor_id
    )
    if (data.creditor_id, data.number) in batch.seen:
        raise Conflict(
            f"Invoice number {data.number} appears twice in this batch.",
            errors=[FieldError(loc=["body", "number"], msg="appears twice in this batch")],
        )
    if data.late_penalty_rate is not None and data.late_penalty_rate < rate_floor:
        raise Unprocessable(
            f"A contractual late-penalty rate of {data.late_penalty_rate}% is below the "
            f"legal floor of {rate_floor}% (3 x the taux d'intérêt légal, L441-10).",
            errors=[FieldError(loc=["body", "late_penalty_rate"], msg="below the floor")],
        )
    return creditor


def _check_change(current: Invoice, data: InvoiceCreate, values: dict[str, Any]) -> None:
    """An existing invoice may still change to `values`."""
    if current.status != "open":
        raise Conflict(f"Invoice {data.number} is {current.status}; it can no longer change.")
    if values["amount"] < current.paid_amount:
        raise Unprocessable(
            "The amount cannot be less than what was already paid.",
            errors=[FieldError(loc=["body", "amount"], msg="less than the amount already paid")],
        )
    if values["amount"] == current.paid_amount:
        raise Unprocessable(
            "The amount would equal what was already paid; record a payment instead.",
            errors=[FieldError(loc=["body", "amount"], msg="equals the amount already paid")],
        )


async def _insert_new(session: AsyncSession, batch: _Batch, errors: list[BatchItemError]) -> int:
    """INSERT the new invoices in one statement; how many were created. One created
    concurrently meanwhile is a conflict in `errors`."""
    if not batch.new_invoices:
        return 0
    # Through the driver, in the batch's transaction (begun by its reads).
    done = await repository.insert_many(await session.connection(), batch.new_invoices)
    for key, index in batch.new_index.items():
        if key not in done:  # created concurrently by another request since we looked
            problem = _item_problem(_number_taken(), index)
            errors.append(BatchItemError(index=index, problem=problem))
    return len(done)


def _number_taken() -> Conflict:
    return Conflict(
        "This creditor already has an invoice with this number.",
        errors=[FieldError(loc=["body", "number"], msg="already used by this creditor")],
    )

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import get_owned
from app.core.db import QueuedEvent, flush, mark_invoice_changed
from app.core.errors import Conflict, FieldError, Unprocessable
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.ledger.invoices.models import Invoice
from app.ledger.payments.models import Payment
from app.ledger.payments.schemas import PaymentCreate, PaymentOut


async def record_payment(
    session: AsyncSession, tenant_id: str, invoice_id: str, data: PaymentCreate, clock: Clock
) -> Payment:
    # The row lock serialises concurrent payments on one invoice: the balance stays exact.
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id, lock=True)
    if invoice.status != "open":
        raise Conflict(f"The invoice is {invoice.status}; no payment can be recorded.")
    if data.paid_at > clock.today():
        raise Unprocessable(
            "paid_at is in the future.",
            errors=[FieldError(loc=["body", "paid_at"], msg="must not be in the future")],
        )
    if data.amount > invoice.balance:
        raise Unprocessable(
            f"Overpayment: {data.amount} exceeds the balance of {invoice.balance}.",
            errors=[
                FieldError(loc=["body", "amount"], msg=f"exceeds the balance {invoice.balance}")
            ],
        )
    payment = Payment(
        id=new_id("pay"),
        tenant_id=tenant_id,
        invoice_id=invoice.id,
        amount=data.amount,
        paid_at=data.paid_at,
        method=data.method,
        reference=data.reference,
    )
    session.add(payment)
    invoice.paid_amount += data.amount
    if invoice.balance == 0:
        invoice.status = "paid"
        invoice.closed_on = data.paid_at
    paid = None
    if invoice.status == "paid":
        paid = QueuedEvent(
            type="invoice.paid",
            occurrence="paid",
            data={
                "payment": {
                    "id": payment.id,
                    "amount": f"{payment.amount:.2f}",
                    "paid_at": payment.paid_at.isoformat(),
                }
            },
        )
    mark_invoice_changed(session, invoice, clock, paid)
    await flush(session)
    return payment


async def list_payments(
    session: AsyncSession, tenant_id: str, invoice_id: str, page: PageParams
) -> Page[PaymentOut]:
    await get_owned(session, Invoice, tenant_id, invoice_id)
    stmt = select(Payment).where(Payment.invoice_id == invoice_id, Payment.tenant_id == tenant_id)
    return await page_of(session, stmt, Payment.id, page, PaymentOut.model_validate)

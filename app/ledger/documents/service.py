"""Proof documents of a claim (metadata only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.crud import get_owned
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.ledger.documents.models import Document
from app.ledger.documents.schemas import DocumentCreate, DocumentOut
from app.ledger.invoices.models import Invoice


async def add_document(
    session: AsyncSession, tenant_id: str, invoice_id: str, data: DocumentCreate
) -> Document:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id)
    document = Document(
        id=new_id("doc"), tenant_id=tenant_id, invoice_id=invoice.id, **data.model_dump()
    )
    session.add(document)
    await session.flush()
    await session.refresh(document)
    return document


async def list_documents(
    session: AsyncSession, tenant_id: str, invoice_id: str, page: PageParams
) -> Page[DocumentOut]:
    await get_owned(session, Invoice, tenant_id, invoice_id)
    stmt = select(Document).where(
        Document.invoice_id == invoice_id, Document.tenant_id == tenant_id
    )
    return await page_of(session, stmt, Document.id, page, DocumentOut.model_validate)

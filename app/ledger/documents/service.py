"""Proof documents of a claim: metadata, and the file itself when the service received it."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from app.core.crud import get_owned
from app.core.errors import NotFound
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.ledger.documents.models import Document
from app.ledger.documents.schemas import DocumentCreate, DocumentFile, DocumentKind, DocumentOut
from app.ledger.invoices.models import Invoice, NewInvoice


def document_out(document: Document) -> DocumentOut:
    file = None
    if document.file_name and document.content_type and document.size is not None:
        file = DocumentFile(
            name=document.file_name,
            content_type=document.content_type,
            size=document.size,
            sha256=document.sha256 or "",
            url=f"/v1/invoices/{document.invoice_id}/documents/{document.id}/file",
        )
    return DocumentOut(
        id=document.id,
        invoice_id=document.invoice_id,
        kind=document.kind,
        reference=document.reference,
        date=document.date,
        note=document.note,
        file=file,
        created_at=document.created_at,
    )


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


async def has_file(session: AsyncSession, invoice: Invoice, content: bytes) -> bool:
    """Whether one of the invoice's documents keeps exactly these bytes."""
    return await _same_file(session, invoice.id, hashlib.sha256(content).hexdigest()) is not None


async def _same_file(session: AsyncSession, invoice_id: str, digest: str) -> Document | None:
    return (
        await session.execute(
            select(Document)
            .where(Document.invoice_id == invoice_id, Document.sha256 == digest)
            .order_by(Document.id)
            .limit(1)
        )
    ).scalar_one_or_none()


async def keep_file(
    session: AsyncSession,
    invoice: Invoice | NewInvoice,
    *,
    kind: DocumentKind,
    content: bytes,
    content_type: str,
    file_name: str,
    reference: str,
    date: dt.date,
    note: str | None = None,
) -> tuple[Document, bool]:
    """The invoice's document holding this file, added unless the invoice already has the same
    bytes (a file sent twice is kept once); and whether it was added."""
    digest = hashlib.sha256(content).hexdigest()
    same = await _same_file(session, invoice.id, digest)
    if same is not None:
        return same, False
    document = Document(
        id=new_id("doc"),
        tenant_id=invoice.tenant_id,
        invoice_id=invoice.id,
        kind=kind,
        reference=reference,
        date=date,
        note=note,
        file_name=file_name,
        content_type=content_type,
        size=len(content),
        sha256=digest,
        content=content,
    )
    session.add(document)
    await session.flush()
    await session.refresh(document, ["created_at"])
    return document, True


async def get_file(
    session: AsyncSession, tenant_id: str, invoice_id: str, document_id: str
) -> Document:
    """The document with its bytes; 404 when it is another's, or keeps no file."""
    document = (
        await session.execute(
            select(Document)
            .options(undefer(Document.content))
            .where(
                Document.id == document_id,
                Document.invoice_id == invoice_id,
                Document.tenant_id == tenant_id,
            )
        )
    ).scalar_one_or_none()
    if document is None:
        raise NotFound(f"No document {document_id} on invoice {invoice_id}.")
    if document.content is None:
        raise NotFound(f"Document {document_id} is metadata only: the service keeps no file.")
    return document


async def list_documents(
    session: AsyncSession, tenant_id: str, invoice_id: str, page: PageParams
) -> Page[DocumentOut]:
    await get_owned(session, Invoice, tenant_id, invoice_id)
    stmt = select(Document).where(
        Document.invoice_id == invoice_id, Document.tenant_id == tenant_id
    )
    return await page_of(session, stmt, Document.id, page, document_out)

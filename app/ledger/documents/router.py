from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of, page_params
from app.ledger.documents.models import Document
from app.ledger.documents.schemas import DocumentCreate, DocumentOut
from app.ledger.invoices.models import Invoice
from app.tenants.auth import TenantId

router = APIRouter(prefix="/v1/invoices/{invoice_id}/documents", tags=["actions"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record a document proving the claim (metadata only)",
    responses=problem_responses(401, 404, 422),
)
async def add_document(
    invoice_id: str, body: DocumentCreate, tenant_id: TenantId, session: SessionDep
) -> DocumentOut:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id)
    document = Document(
        id=new_id("doc"), tenant_id=tenant_id, invoice_id=invoice.id, **body.model_dump()
    )
    session.add(document)
    await session.flush()
    await session.refresh(document)
    return DocumentOut.model_validate(document)


@router.get(
    "", summary="List an invoice's proof documents", responses=problem_responses(401, 404, 422)
)
async def list_documents(
    invoice_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[DocumentOut]:
    await get_owned(session, Invoice, tenant_id, invoice_id)
    stmt = select(Document).where(
        Document.invoice_id == invoice_id, Document.tenant_id == tenant_id
    )
    return await page_of(session, stmt, Document.id, page, DocumentOut.model_validate)

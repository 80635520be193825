from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.ledger.documents import service
from app.ledger.documents.schemas import DocumentCreate, DocumentOut
from app.ledger.documents.service import document_out
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
    document = await service.add_document(session, tenant_id, invoice_id, body)
    return document_out(document)


@router.get(
    "",
    summary="List an invoice's proof documents",
    description="In the order they were recorded, oldest first unless `order=desc`.",
    responses=problem_responses(401, 404, 422),
)
async def list_documents(
    invoice_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[DocumentOut]:
    return await service.list_documents(session, tenant_id, invoice_id, page)


@router.get(
    "/{document_id}/file",
    summary="Download a document's file",
    description="The file the service keeps for the document (an imported Factur-X PDF or "
    "CII / UBL XML), byte for byte, with its media type. 404 for a metadata-only document.",
    response_class=Response,
    responses={
        200: {
            "description": "The file",
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "application/xml": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(401, 404),
    },
)
async def download_document_file(
    invoice_id: str, document_id: str, tenant_id: TenantId, session: SessionDep
) -> Response:
    document = await service.get_file(session, tenant_id, invoice_id, document_id)
    return Response(
        content=document.content,
        media_type=document.content_type,
        headers={"Content-Disposition": f'attachment; filename="{document.file_name}"'},
    )

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.db import SessionDep, one_statement, read_connection, request_session
from app.core.errors import FieldError, NotFound, Unprocessable, problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.core.types import Day
from app.ledger.documents.service import document_out
from app.ledger.invoices import einvoice_import, repository, service
from app.ledger.invoices.einvoice import UnsupportedMediaType
from app.ledger.invoices.schemas import (
    BatchInvoices,
    BatchResult,
    CloseInvoice,
    DunningStage,
    EInvoiceIntake,
    ImportedInvoice,
    InvoiceCreate,
    InvoiceFilters,
    InvoiceOut,
    InvoiceStatus,
    InvoiceUpdate,
)
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an invoice",
    description="`due_date` defaults to the issue date plus the creditor's payment terms. Terms "
    "beyond the legal maximum (C. com. L441-10) are accepted and reported in `warnings`.",
    responses=problem_responses(401, 409, 422),
)
async def create_invoice(
    body: InvoiceCreate, tenant_id: TenantId, request: Request, clock: ClockDep
) -> InvoiceOut:
    async with request_session(request) as session:
        # Its only write is one INSERT: no BEGIN and COMMIT (under an Idempotency-Key, the key's
        # transaction instead).
        await one_statement(session)
        invoice = await service.create_invoice(session, tenant_id, body, clock)
    return service.to_out(invoice, clock.today())


@router.post(
    "/batch",
    summary="Upsert up to 1000 invoices by (creditor_id, number)",
    description="Each item is an invoice as for `POST /v1/invoices`. Bad items are reported by "
    "index with a problem and never block the good ones; unchanged items write nothing.",
    responses=problem_responses(401, 413, 422),
)
async def upsert_invoices(
    body: BatchInvoices, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> BatchResult:
    return await service.upsert_batch(session, tenant_id, body.invoices, clock)


IMPORT_PATH = f"{router.prefix}/import"  # its own body limit (app.main)
IMPORT_MEDIA_TYPES = ("application/pdf", "application/xml", "text/xml")
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_IMPORT_BODY = {
    "required": True,
    "description": "The file itself as the raw request body (not multipart), at most "
    "`RELANCE_MAX_IMPORT_BYTES` (10 MiB by default; larger: 413).",
    "content": {
        "application/pdf": {
            **_BINARY,
            "description": "A Factur-X PDF (PDF/A-3 with its CII XML attached as "
            "factur-x.xml; ZUGFeRD 2 too). A plain PDF is refused (422).",
        },
        "application/xml": {
            **_BINARY,
            "description": "A CII XML (rsm:CrossIndustryInvoice, the XML of Factur-X) or a UBL "
            "2.1 Invoice (urn:oasis:names:specification:ubl:schema:xsd:Invoice-2).",
        },
        "text/xml": {**_BINARY, "description": "As application/xml."},
    },
}
_IMPORT_DESCRIPTION = """\
Takes in an e-invoice as a Plateforme Agréée delivers it. The fields read (EN 16931 business terms):

| field | CII (and Factur-X) | UBL 2.1 |
|---|---|---|
| `number` (BT-1) | rsm:ExchangedDocument/ram:ID | cbc:ID |
| `issue_date` (BT-2) | ram:IssueDateTime | cbc:IssueDate |
| `due_date` (BT-9) | ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime | cbc:DueDate, else cac:PaymentMeans/cbc:PaymentDueDate |
| `amount` (BT-115, amount due) | ram:DuePayableAmount | cac:LegalMonetaryTotal/cbc:PayableAmount |
| `currency` (BT-5) | ram:InvoiceCurrencyCode | cbc:DocumentCurrencyCode |
| seller SIREN (BT-30) / VAT (BT-31) | ram:SellerTradeParty: ram:SpecifiedLegalOrganization/ram:ID, ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA'] | cac:AccountingSupplierParty: cac:PartyLegalEntity/cbc:CompanyID, cac:PartyTaxScheme/cbc:CompanyID |
| buyer name (BT-44), SIREN (BT-47) / VAT (BT-48), identifier (BT-46) | ram:BuyerTradeParty: ram:Name, as the seller's, ram:ID | cac:AccountingCustomerParty: cbc:RegistrationName, as the seller's, cac:PartyIdentification/cbc:ID |

- **Creditor**: the tenant's creditor whose `siren` is the seller's SIREN (legal identifier with \
scheme 0002, or the first 9 digits of a SIRET, scheme 0009, or the SIREN inside a French VAT \
number FRkk+SIREN), or whose `vat_number` is the seller's. None, or several: 422.
- **Debtor**: the creditor's debtor whose `external_id` is the buyer identifier (BT-46, without \
scheme), else whose `siren` is the buyer's; else one is created (`kind` business, the buyer's \
name, SIREN and identifier as `external_id`): `intake.debtor_created`.
- **Invoice**: upserted by (creditor, number) through the same services as `POST /v1/invoices` \
and `PATCH /v1/invoices/{id}` (same checks, events and dunning plan). First import: 201; the \
same file again: 200 `unchanged`; a corrected file (amount, dates, currency): 200 `updated` \
(409 if the invoice is no longer open). An existing invoice keeps its debtor.
- **File**: kept as a document of the invoice (kind `invoice`), byte for byte, once per content \
(SHA-256); download it at `intake.document.file.url`.
- **Credit notes** (a UBL CreditNote, or type code 381, 261, 262, 396... of UNTDID 1001) are \
applied to the one invoice they credit (BG-3, BT-25) among the creditor's: the whole amount \
cancels it (`outcome` cancelled, `closed_reason` names the credit note), less lowers its amount \
(`outcome` credited); 200 with that invoice. Sent again: `unchanged`. No reference, an unknown \
invoice, a larger credit or another currency: 422; an invoice no longer open: 409.
- **Refused (422, `detail` says why)**: neither a PDF nor XML; a PDF without Factur-X XML; an \
XML that is neither CII nor UBL; no number, issue date, due date or amount due; an amount due \
that is negative or zero; a currency that is not ISO 4217; a seller that is no creditor of the \
tenant; a new buyer with neither SIREN nor identifier (BT-46), or no name. XML is parsed \
without DTDs or entities.
"""  # noqa: E501 (a markdown table)


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    summary="Import an e-invoice (Factur-X PDF, CII or UBL XML)",
    description=_IMPORT_DESCRIPTION,
    openapi_extra={"requestBody": _IMPORT_BODY},
    responses={
        200: {"model": ImportedInvoice, "description": "Already imported: unchanged or updated"},
        201: {"description": "A new invoice (and perhaps a new debtor)"},
        **problem_responses(401, 409, 413, 415, 422),
    },
)
async def import_einvoice(
    request: Request, response: Response, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> ImportedInvoice:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in IMPORT_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Send the file as the raw body with Content-Type {', '.join(IMPORT_MEDIA_TYPES)} "
            f"(got {media_type or 'none'})."
        )
    body = await request.body()
    result = await einvoice_import.import_einvoice(session, tenant_id, body, media_type, clock)
    if result.outcome != "created":
        response.status_code = status.HTTP_200_OK
    found = result.einvoice
    out = service.to_out(result.invoice, clock.today())
    return ImportedInvoice(
        **out.model_dump(),
        intake=EInvoiceIntake(
            format=found.format,
            profile=found.profile,
            type_code=found.type_code,
            outcome=result.outcome,
            debtor_created=result.debtor_created,
            document=document_out(result.document),
        ),
    )


# async: a plain `def` dependency would run in a worker thread (app.core.pagination.page_params).
async def invoice_filters(
    creditor_id: Annotated[
        str | None,
        Query(max_length=40, description="Only this creditor's invoices", examples=["cred_01J..."]),
    ] = None,
    debtor_id: Annotated[
        str | None,
        Query(max_length=40, description="Only this debtor's invoices", examples=["debt_01J..."]),
    ] = None,
    number: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The invoice number, exactly (unique per creditor, so up to one per "
            "creditor)",
            examples=["F-2026-001"],
        ),
    ] = None,
    external_id: Annotated[
        str | None,
        Query(max_length=200, description="Your own id of the invoice, exactly", examples=["42"]),
    ] = None,
    status: Annotated[
        InvoiceStatus | None, Query(description="Lifecycle status", examples=["open"])
    ] = None,
    stage: Annotated[
        DunningStage | None,
        Query(description="Dunning stage (`dunning.stage`)", examples=["formal_notice_required"]),
    ] = None,
    overdue: Annotated[
        bool | None,
        Query(description="true: open and past due; false: the others", examples=[True]),
    ] = None,
    due_after: Annotated[
        Day | None,
        Query(description="Due on or after this day", examples=["2026-01-01"]),
    ] = None,
    due_before: Annotated[
        Day | None,
        Query(
            description="Due on or before this day (not before `due_after`)",
            examples=["2026-03-31"],
        ),
    ] = None,
) -> InvoiceFilters:
    if due_after is not None and due_before is not None and due_after > due_before:
        raise Unprocessable(
            f"due_after ({due_after}) is after due_before ({due_before}): no invoice can match.",
            errors=[FieldError(loc=["query", "due_after"], msg="after due_before")],
        )
    return InvoiceFilters(
        creditor_id=creditor_id,
        debtor_id=debtor_id,
        number=number,
        external_id=external_id,
        status=status,
        stage=stage,
        overdue=overdue,
        due_after=due_after,
        due_before=due_before,
    )


@router.get(
    "",
    summary="List invoices",
    description="Every filter given narrows the list (they combine with AND); another tenant's "
    "invoices never match. Creation order, oldest first unless `order=desc`.",
    responses=problem_responses(401, 422),
)
async def list_invoices(
    tenant_id: TenantId,
    request: Request,
    clock: ClockDep,
    page: Annotated[PageParams, Depends(page_params)],
    filters: Annotated[InvoiceFilters, Depends(invoice_filters)],
) -> Page[InvoiceOut]:
    async with read_connection(request) as conn:
        return await service.list_invoices(conn, tenant_id, page, clock, filters)


@router.get("/{invoice_id}", summary="Get an invoice", responses=problem_responses(401, 404))
async def get_invoice(
    invoice_id: str, tenant_id: TenantId, request: Request, clock: ClockDep
) -> InvoiceOut:
    async with read_connection(request) as conn:
        invoice = await repository.find(conn, tenant_id, invoice_id)
    if invoice is None:
        raise NotFound(f"No invoice {invoice_id}.")
    return service.to_out(invoice, clock.today())


@router.patch(
    "/{invoice_id}",
    summary="Correct an invoice",
    description="Amounts and dates can change while the invoice is open; the escalation is "
    "re-planned.",
    responses=problem_responses(401, 404, 409, 422),
)
async def update_invoice(
    invoice_id: str, body: InvoiceUpdate, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> InvoiceOut:
    invoice = await service.update_invoice(session, tenant_id, invoice_id, body, clock)
    return service.to_out(invoice, clock.today())


@router.post(
    "/{invoice_id}/cancel",
    summary="Cancel an invoice (credit note)",
    responses=problem_responses(401, 404, 409, 422),
)
async def cancel_invoice(
    invoice_id: str, body: CloseInvoice, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> InvoiceOut:
    return await _close(session, tenant_id, invoice_id, "cancelled", body, clock)


@router.post(
    "/{invoice_id}/write-off",
    summary="Write an invoice off (irrecoverable)",
    responses=problem_responses(401, 404, 409, 422),
)
async def write_off_invoice(
    invoice_id: str, body: CloseInvoice, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> InvoiceOut:
    return await _close(session, tenant_id, invoice_id, "written_off", body, clock)


async def _close(
    session: AsyncSession,
    tenant_id: str,
    invoice_id: str,
    status: InvoiceStatus,
    body: CloseInvoice,
    clock: Clock,
) -> InvoiceOut:
    invoice = await service.close_invoice(
        session, tenant_id, invoice_id, status=status, reason=body.reason, clock=clock
    )
    return service.to_out(invoice, clock.today())

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from app.core.types import Day, InputModel, Note

DocumentKind = Literal[
    "signed_quote", "purchase_order", "delivery_note", "contract", "invoice", "other"
]


class DocumentCreate(InputModel):
    kind: DocumentKind = Field(description="Proof of the claim, as an injonction de payer needs")
    reference: str | None = Field(default=None, max_length=200)
    date: Day | None = None
    note: Note | None = None


class DocumentFile(BaseModel):
    """The file the service keeps for a document (an imported e-invoice)."""

    name: str = Field(description="File name, for the download", examples=["F-2026-001.pdf"])
    content_type: str = Field(description="Media type", examples=["application/pdf"])
    size: int = Field(description="Size in bytes", examples=[48213])
    sha256: str = Field(description="SHA-256 of the content, hex: the same file is kept once")
    url: str = Field(
        description="Where to download it (with the API key)",
        examples=["/v1/invoices/inv_01M8.../documents/doc_01M8.../file"],
    )


class DocumentOut(BaseModel):
    id: str
    invoice_id: str
    kind: DocumentKind
    reference: str | None
    date: dt.date | None
    note: str | None
    file: DocumentFile | None = Field(
        description="The file itself, when the service keeps it (an imported e-invoice); null: "
        "metadata only"
    )
    created_at: dt.datetime

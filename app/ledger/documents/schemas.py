from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Day, InputModel, Note

DocumentKind = Literal[
    "signed_quote", "purchase_order", "delivery_note", "contract", "invoice", "other"
]


class DocumentCreate(InputModel):
    kind: DocumentKind = Field(description="Proof of the claim, as an injonction de payer needs")
    reference: str | None = Field(default=None, max_length=200)
    date: Day | None = None
    note: Note | None = None


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    invoice_id: str
    kind: DocumentKind
    reference: str | None
    date: dt.date | None
    note: str | None
    created_at: dt.datetime

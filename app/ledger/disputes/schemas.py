from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import InputModel, JsonExample, Note

DisputeReason = Literal["quality", "billing_error", "not_received", "amount", "other"]
DisputeResolution = Literal["upheld", "rejected", "credit_note", "settled", "other"]
DisputeStatus = Literal["open", "resolved"]

DISPUTE_EXAMPLE: JsonExample = {
    "id": "dsp_01M8RXWXACVP817JVNF2CSEQ4P",
    "invoice_id": "inv_01M8RXWX88H94KEF3D8W10RNV5",
    "reason": "quality",
    "note": "Colis abîmé à la livraison",
    "status": "open",
    "opened_at": "2026-03-02T09:00:00Z",
    "resolved_at": None,
    "resolution": None,
    "resolution_note": None,
}


class DisputeCreate(InputModel):
    reason: DisputeReason
    note: Note | None = None


class DisputeResolve(InputModel):
    resolution: DisputeResolution = Field(
        description="upheld (the debtor was right), rejected (the claim stands), credit_note, "
        "settled, other"
    )
    note: Note | None = None


class DisputeOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [DISPUTE_EXAMPLE]}
    )

    id: str
    invoice_id: str
    reason: DisputeReason
    note: str | None
    status: DisputeStatus
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: DisputeResolution | None
    resolution_note: str | None

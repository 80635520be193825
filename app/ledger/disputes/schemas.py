from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import InputModel, Note

DisputeReason = Literal["quality", "billing_error", "not_received", "amount", "other"]
DisputeResolution = Literal["upheld", "rejected", "credit_note", "settled", "other"]
DisputeStatus = Literal["open", "resolved"]


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
    model_config = ConfigDict(from_attributes=True)

    id: str
    invoice_id: str
    reason: DisputeReason
    note: str | None
    status: DisputeStatus
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: DisputeResolution | None
    resolution_note: str | None

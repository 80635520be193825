from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.types import InputModel, JsonExample
from app.escalation.actions.schemas import ProviderName, ProviderRef
from app.legal.deadlines import ProofStatus

# The providers whose own callback formats the service reads.
CallbackProvider = Literal["ar24", "maileva"]
ProofSource = Literal["api", "callback"]

_STATUS = (
    "What the provider reports. `deposited`: handed to the provider (no effect). `presented`: "
    "first presentation (the postman's visit, the LRE's notification e-mail). `accepted`: AR "
    "signed / LRE accepted: the deadline runs from it. `refused`, `neglected` (LRE left "
    "15 days), `not_claimed` (LRAR left at the post office): the deadline runs from the first "
    "presentation. `returned`: address unknown (NPAI): no deadline; send the notice again."
)

_PROOF_EVENT: JsonExample = {
    "status": "accepted",
    "at": "2026-03-19T11:02:00+01:00",
    "provider": "maileva",
    "provider_ref": "e6118f29-89c3-41e5-82e8-00cb0b7b1b0c",
    "document_url": "https://api.maileva.com/registered_mail/v2/sendings/e6118f29/recipients/1/download_acknowledgement_of_receipt",
}


class ProofEventIn(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PROOF_EVENT]})

    status: ProofStatus = Field(description=_STATUS)
    at: dt.datetime = Field(
        description="When it happened (RFC 3339 with offset); its local day is the one that "
        "counts. Not in the future, not before the letter was sent."
    )
    provider: ProviderName | None = Field(
        default=None, description="The registered-mail provider (`ar24`, `maileva`, ...)"
    )
    provider_ref: ProviderRef | None = Field(
        default=None,
        description="The provider's id of the letter. The first event that gives one stores "
        "it on the action (if the action has none): the provider's callbacks then find the "
        "action by it.",
    )
    document_url: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        default=None, description="Where the provider's proof (PDF) is"
    )
    report_id: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None,
        description="Your (or the provider's) id of this report. Idempotency: the same "
        "`report_id`, or else the same (`provider`, `provider_ref`, `status`), is recorded once "
        "(200 with the first one).",
    )

    @field_validator("at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("at needs a UTC offset (RFC 3339)")
        if not 1990 <= value.year <= 2100:
            raise ValueError("at must be between 1990 and 2100")
        return value


class ProofEventOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "pev_01M8RXWXB3K1C2D3E4F5G6H7J8",
                    "action_id": "act_01M8RXWX9JZTQ08RRAA1NE4BJF",
                    **_PROOF_EVENT,
                    "on": "2026-03-19",
                    "report_id": None,
                    "source": "api",
                    "created_at": "2026-03-19T10:05:12Z",
                }
            ]
        }
    )

    id: str
    action_id: str
    status: ProofStatus
    at: dt.datetime
    on: dt.date = Field(description="The local day it counts as")
    provider: str | None
    provider_ref: str | None
    document_url: str | None
    report_id: str | None
    source: ProofSource = Field(description="`api` or `callback` (a provider's own)")
    created_at: dt.datetime


class CallbackConfigOut(BaseModel):
    """Returned once: only a hash of the secret is kept."""

    provider: CallbackProvider
    callback_url: str = Field(
        description="The URL to give the provider (the token in its query: for AR24, whose "
        "webhook is a plain URL)"
    )
    token: str = Field(description="`?token=` of the callback URL: `<username>.<password>`")
    basic_auth: dict[str, str] = Field(
        description="The same secret as HTTP Basic credentials (`username`, `password`): for "
        "Maileva's subscription `authentication.basic`"
    )
    created_at: dt.datetime


class CallbackOut(BaseModel):
    """What the service did with a provider's callback."""

    received: bool = Field(default=True, description="Always true: the callback was read")
    matched: bool = Field(description="A formal notice of this tenant carries this letter")
    applied: bool = Field(description="A new proof event was recorded")
    action_id: str | None = None
    status: ProofStatus | None = Field(
        default=None, description="The proof status the provider's report maps to"
    )
    detail: str = Field(description="Why nothing was applied, or what was")

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, model_validator

from app.core.types import Day, InputModel, Note
from app.escalation.engine import ActionType
from app.escalation.policy import Channel


class ProofIn(InputModel):
    tracking_number: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Registered-letter number (LRAR) or the commissaire de justice's act reference",
    )
    acknowledged_at: Day | None = Field(
        default=None, description="Day the AR (avis de réception) was signed"
    )
    presented_at: Day | None = Field(
        default=None, description="Day an unclaimed letter was first presented (pli avisé)"
    )


class ActionCreate(InputModel):
    type: ActionType
    channel: Channel | None = None
    performed_at: dt.datetime = Field(description="When it was done (RFC 3339 with offset)")
    step: str | None = Field(
        default=None, max_length=40, description="The policy step it carries out, if any"
    )
    note: Note | None = None
    outcome: Note | None = None
    proof: ProofIn | None = None
    promised_date: Day | None = Field(
        default=None, description="promise_to_pay: the day the debtor promised to pay"
    )
    override: bool = Field(
        default=False,
        description="Record a contact beyond the amicable caps anyway (a `note` must say why)",
    )

    @model_validator(mode="after")
    def _rules(self) -> ActionCreate:
        if self.performed_at.tzinfo is None:
            raise ValueError("performed_at needs a UTC offset")
        if not 1900 <= self.performed_at.year <= 9000:  # near year 1 or 9999 it overflows
            raise ValueError("performed_at is out of range (years 1900 to 9000)")
        if self.type == "formal_notice":
            if self.channel not in ("registered_letter", "commissaire_de_justice"):
                raise ValueError(
                    "a mise en demeure is recorded with channel registered_letter (LRAR) or "
                    "commissaire_de_justice; an e-mail does not prove receipt"
                )
            if self.proof is None or self.proof.tracking_number is None:
                raise ValueError("a mise en demeure needs proof.tracking_number")
        if self.type == "phone_call" and self.channel not in (None, "phone"):
            raise ValueError("a phone_call has channel phone")
        if self.type == "promise_to_pay" and self.promised_date is None:
            raise ValueError("a promise_to_pay needs promised_date")
        if self.type != "promise_to_pay" and self.promised_date is not None:
            raise ValueError("promised_date is only for promise_to_pay")
        if self.override and not self.note:
            raise ValueError("override needs a note saying why")
        return self


class ActionUpdate(InputModel):
    """Completes a recorded action: its proof, note or outcome. Type, channel and date are
    never rewritten: record a new action to correct one."""

    note: Note | None = None
    outcome: Note | None = None
    proof: ProofIn | None = None


class ProofOut(BaseModel):
    tracking_number: str | None
    acknowledged_at: dt.date | None
    presented_at: dt.date | None


class ActionOut(BaseModel):
    id: str
    invoice_id: str
    type: ActionType
    channel: Channel | None
    step: str | None
    performed_at: dt.datetime
    note: str | None
    outcome: str | None
    proof: ProofOut
    promised_date: dt.date | None
    override: bool
    created_at: dt.datetime
    updated_at: dt.datetime

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator

from app.core.clock import Clock
from app.core.types import Day, InputModel, JsonExample, Note
from app.escalation.engine import ActionType
from app.escalation.policy import FORMAL_NOTICE_CHANNELS, Channel

# RFC 3339: a full date, "T" (or a space), a full time and an offset (Z or +hh:mm).
_RFC3339: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day_or_instant(value: Any) -> dt.date:
    """A date, or an aware instant (kept as a datetime: its local day is the service's to say)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("a timestamp needs a UTC offset (RFC 3339)")
        parsed: dt.date = value
    elif isinstance(value, dt.date):
        parsed = value
    elif isinstance(value, str) and _DATE.fullmatch(value):
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid date") from None
    elif isinstance(value, str) and _RFC3339.fullmatch(value):
        try:
            parsed = dt.datetime.fromisoformat(value[:10] + "T" + value[11:].upper())
        except ValueError:
            raise ValueError(f"{value!r} is not a valid RFC 3339 timestamp") from None
    else:
        raise ValueError(
            "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp with offset "
            "(2026-02-04T10:15:00+01:00)"
        )
    if not 1990 <= parsed.year <= 2100:
        raise ValueError("must be between 1990 and 2100")
    return parsed


# A proof date as providers report it: a day, or an instant whose local day (in the service's
# time zone) is the day that counts.
DayOrInstant = Annotated[
    dt.date,
    PlainValidator(_day_or_instant),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
            "examples": ["2026-02-04", "2026-02-04T10:15:00+01:00"],
        }
    ),
]
_LOCAL_DAY: Final = (
    " A date (YYYY-MM-DD) or an RFC 3339 timestamp with offset: a timestamp counts as its local "
    "day in the service's time zone (RELANCE_TIMEZONE, default Europe/Paris)."
)
PROOF_DATES: Final = ("acknowledged_at", "presented_at", "served_on")

# A provider's name (lower case) and its id of a letter.
ProviderName = Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[a-z0-9_-]+$")]
ProviderRef = Annotated[str, Field(min_length=1, max_length=128)]


def local_day(value: dt.date | None, clock: Clock) -> dt.date | None:
    """The day a proof date counts as: a timestamp's local day, a date as given."""
    if isinstance(value, dt.datetime):
        return clock.local_day(value)
    return value


class ProofIn(InputModel):
    tracking_number: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Registered-letter number (LRAR) or the commissaire de justice's act reference",
    )
    acknowledged_at: DayOrInstant | None = Field(
        default=None,
        description="Registered letter: when the AR (avis de réception) was signed; the "
        "deadline of a mise en demeure runs from it." + _LOCAL_DAY,
    )
    presented_at: DayOrInstant | None = Field(
        default=None,
        description="Registered letter: when it was first presented (pli avisé); the deadline "
        "runs from it when the letter is refused, neglected or not claimed." + _LOCAL_DAY,
    )
    provider: ProviderName | None = Field(
        default=None,
        description="Registered-mail provider that carries the letter (`ar24`, `maileva`, or "
        "another name): with `provider_ref`, how its callbacks find this action.",
    )
    provider_ref: ProviderRef | None = Field(
        default=None,
        description="The provider's id of the letter (AR24: the mail id; Maileva: the sending "
        "id). `POST /v1/registered-mail/{provider}/callback` matches the provider's reports "
        "to this action by it; unique per tenant and provider.",
    )
    served_on: DayOrInstant | None = Field(
        default=None,
        description="Channel `commissaire_de_justice` only: the date of service (signification) "
        "of the act. The deadline of a mise en demeure served this way runs from it, as does "
        "the debtor's month after a `commandement_de_payer`; it takes precedence over "
        "`acknowledged_at` and `presented_at`." + _LOCAL_DAY,
    )


# A mise en demeure sent by registered letter, its AR signed three days later.
_ACTION: JsonExample = {
    "type": "formal_notice",
    "channel": "registered_letter",
    "performed_at": "2026-03-16T10:15:00+01:00",
    "step": "formal_notice",
    "note": "LRAR envoyée au siège",
    "proof": {"tracking_number": "1A23456789012", "acknowledged_at": "2026-03-19"},
}
ACTION_EXAMPLE: JsonExample = {
    "id": "act_01M8RXWX9JZTQ08RRAA1NE4BJF",
    "invoice_id": "inv_01M8RXWX88H94KEF3D8W10RNV5",
    **_ACTION,
    "performed_at": "2026-03-16T09:15:00Z",
    "outcome": None,
    "proof": {
        "tracking_number": "1A23456789012",
        "provider": None,
        "provider_ref": None,
        "acknowledged_at": "2026-03-19",
        "presented_at": None,
        "served_on": None,
    },
    "promised_date": None,
    "override": False,
    "created_at": "2026-03-16T09:20:31Z",
    "updated_at": "2026-03-19T14:02:09Z",
}


class ActionCreate(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ACTION]})

    type: ActionType = Field(
        description="What was done. The uncontested commercial claims procedure (loi du "
        "23 avril 2026, CPCE L126-1 and following; business debtors only): "
        "`commandement_de_payer` (served by a commissaire de justice; `proof.served_on` starts "
        "the debtor's month to pay or contest), `pv_non_contestation` (drawn by the commissaire "
        "de justice at the earliest 8 days after that month), `titre_executoire` (the "
        "enforceable title: the PV made enforceable by the clerk of the tribunal de commerce, "
        "or another title). Each of them stops the amicable escalation (stage `litigation`)."
    )
    channel: Channel | None = Field(
        default=None,
        description="How it was sent. `commandement_de_payer` and `pv_non_contestation` are "
        "acts of a commissaire de justice: channel `commissaire_de_justice` (the default for "
        "them).",
    )
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
        self.performed_at = self.performed_at.astimezone(dt.UTC)  # as stored and answered
        if self.type == "formal_notice":
            if self.channel not in FORMAL_NOTICE_CHANNELS:
                raise ValueError(
                    "a mise en demeure is recorded with channel registered_letter (LRAR), lre "
                    "(qualified electronic registered letter) or commissaire_de_justice; an "
                    "e-mail does not prove receipt"
                )
            proof = self.proof
            if proof is None or (proof.tracking_number is None and proof.provider_ref is None):
                raise ValueError(
                    "a mise en demeure needs proof.tracking_number (or the registered-mail "
                    "provider's proof.provider_ref)"
                )
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
    provider: str | None = Field(default=None, description="The registered-mail provider")
    provider_ref: str | None = Field(default=None, description="The provider's id of the letter")
    acknowledged_at: dt.date | None = Field(description="The local day the AR was signed")
    presented_at: dt.date | None = Field(description="The local day of the first presentation")
    served_on: dt.date | None = Field(
        description="The local day the commissaire de justice served the act"
    )


class ActionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ACTION_EXAMPLE]})

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


class DebtorActionCreate(ActionCreate):
    """One action for several invoices of one debtor (a grouped reminder or mise en demeure)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_ACTION,
                    "invoice_ids": [
                        "inv_01M8RXWX88H94KEF3D8W10RNV5",
                        "inv_01M8RXWXC5Q2D7S1N8ZK3GJT4E",
                    ],
                }
            ]
        }
    )

    invoice_ids: list[str] = Field(
        min_length=1,
        max_length=200,
        description="The debtor's invoices the action is about (the invoices of the grouped "
        "event's `data.invoices`); each gets the action. An invoice of another debtor, or none "
        "of the tenant's, is refused (422) and nothing is recorded.",
    )

    @model_validator(mode="after")
    def _distinct(self) -> DebtorActionCreate:
        if len(set(self.invoice_ids)) != len(self.invoice_ids):
            raise ValueError("invoice_ids lists an invoice twice")
        return self

    def for_one_invoice(self) -> ActionCreate:
        """The action as recorded on each invoice (already validated)."""
        return ActionCreate.model_construct(
            self.model_fields_set - {"invoice_ids"},
            **{name: getattr(self, name) for name in ActionCreate.model_fields},
        )


class DebtorActionsOut(BaseModel):
    debtor_id: str
    actions: list[ActionOut] = Field(description="One action per invoice, in `invoice_ids` order")

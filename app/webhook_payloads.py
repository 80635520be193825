"""The OpenAPI `webhooks` section: what the service POSTs to endpoints, one entry per event type
of the catalogue (app.outbox.events.schemas.EventType), each with its payload as a pydantic
model. Part of the composition root: a payload shows resources of several parts (the invoice of
the ledger, the claim of the claims), which the outbox below them cannot import.

The models document; the service builds the payloads where the events arise (the sweep's
`event_data`, the ledger's queued events). tests/core/test_openapi_docs.py checks that every
event type has an entry and that payloads of real events validate against their models."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from fastapi import FastAPI, Header
from fastapi.responses import Response
from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import models_json_schema

from app.claims.schemas import ClaimOut
from app.core.types import MoneyOut
from app.escalation.grouping.engine import ExclusionReason
from app.escalation.policy import Channel, StepKind
from app.ledger.debtors.schemas import DebtorOut
from app.ledger.disputes.schemas import DisputeOut
from app.ledger.invoices.schemas import InvoiceOut
from app.ledger.lifecycle.schemas import LifecycleStatusOut
from app.legal.deadlines import ProofStatus
from app.outbox.events.schemas import EVENT_TYPES, EventType

REF_PREFIX = "#/components/schemas/"
_INVOICE = "The invoice as `GET /v1/invoices/{id}` shows it once the event is written."


class StepData(BaseModel):
    """The policy step that fell due."""

    code: str = Field(description="The step's code in the policy", examples=["reminder_1"])
    kind: StepKind
    channel: Channel = Field(description="How the step is to be sent")
    offset_days: int = Field(description="Days after the due date (negative: before it)")
    letter_url: str | None = Field(
        description="The letter to send, rendered as text, HTML or PDF by `Accept`",
        examples=["/v1/invoices/inv_01M8RXWX88H94KEF3D8W10RNV5/letters/reminder_1"],
    )


class DeadlineData(BaseModel):
    """What every deadline event carries: the invoice, and which occurrence fell due when."""

    invoice: InvoiceOut = Field(description=_INVOICE)
    occurrence: str = Field(
        description="What fell due; unique per invoice (the event exists once)",
        examples=["step:reminder_1"],
    )
    due_on: dt.date = Field(description="The day it fell due")


class StepDueData(DeadlineData):
    step: StepData


class FormalNoticeRequiredData(StepDueData):
    claim: ClaimOut = Field(
        description="What the mise en demeure must state: principal, interest, indemnity"
    )


class DeadlineExpiredData(DeadlineData):
    deadline: dt.date = Field(
        description="The last day the mise en demeure gave the debtor (from its AR, first "
        "presentation or service, extended to a business day)"
    )


class ProofEventData(BaseModel):
    id: str = Field(examples=["pev_01M8RXWXB3K1C2D3E4F5G6H7J8"])
    status: ProofStatus
    at: dt.datetime = Field(description="When it happened, as the provider reported it")
    provider: str | None = Field(examples=["ar24"])
    provider_ref: str | None = Field(description="The provider's id of the letter")
    document_url: str | None = Field(description="The provider's proof (PDF), if given")


class NoticeEffectData(BaseModel):
    took_effect_on: dt.date | None = Field(
        description="The day the mise en demeure took effect: its AR, or its first "
        "presentation when refused, neglected or not claimed; null while unknown"
    )
    must_resend: bool = Field(
        description="The letter came back undelivered (NPAI): no deadline runs; send a new "
        "mise en demeure (a new `formal_notice` action)"
    )


class ProofUpdatedData(BaseModel):
    invoice: InvoiceOut = Field(
        description=_INVOICE + " Its `formal_notice_deadline` follows the proof."
    )
    action_id: str = Field(description="The formal notice's action")
    proof_event: ProofEventData = Field(description="The report just recorded")
    notice: NoticeEffectData = Field(description="What all the proof events now say")


class InstallmentMissedData(DeadlineData):
    installment: int = Field(description="Which installment of the plan (1 for the first)")


class PrescriptionApproachingData(DeadlineData):
    limitation_ends_on: dt.date = Field(description="The last day to sue")


class PaymentData(BaseModel):
    id: str = Field(examples=["pay_01M8RXWXA0VFZKKA2V7P6AVWWG"])
    amount: MoneyOut
    paid_at: dt.date


class PaidData(BaseModel):
    invoice: InvoiceOut = Field(description=_INVOICE)
    payment: PaymentData = Field(description="The payment that brought the balance to zero")


class DisputeData(BaseModel):
    invoice: InvoiceOut = Field(description=_INVOICE)
    dispute: DisputeOut


class LifecycleStatusData(BaseModel):
    invoice: InvoiceOut = Field(description=_INVOICE)
    lifecycle_status: LifecycleStatusOut = Field(
        description="The status received and its effect (`effect`, `dispute_id`, `payment_id`)"
    )


class GroupedInvoiceData(BaseModel):
    """One open overdue invoice of the debtor, listed in its grouped event."""

    id: str = Field(examples=["inv_01M8RXWX88H94KEF3D8W10RNV5"])
    number: str = Field(examples=["F-2026-001"])
    issue_date: dt.date
    due_date: dt.date
    days_overdue: int
    balance: MoneyOut
    claim: ClaimOut | None = Field(
        default=None,
        description="`debtor.formal_notice_required` only: the invoice's claim (principal, "
        "interest, the 40 EUR indemnity for a business debtor), as the mise en demeure states it",
    )


class ExcludedInvoiceData(BaseModel):
    """An open invoice of the debtor left out of the group, and why."""

    invoice_id: str
    number: str
    reason: ExclusionReason = Field(
        description="Its pause (dispute, promise_to_pay, payment_plan, insolvency, suspended, "
        "payment_announced), past the amicable phase (formal_notice_sent, litigation), or an "
        "e-invoice outcome that ends the chase (refused, undelivered, factored)"
    )


class GroupedStepData(BaseModel):
    """A grouped policy's step for all of a debtor's overdue invoices (one a day at most)."""

    debtor: DebtorOut = Field(description="The debtor as `GET /v1/debtors/{id}` shows it")
    occurrence: str = Field(
        description="`grouped:<day>`: unique per debtor (one grouped event a day at most)",
        examples=["grouped:2026-06-08"],
    )
    due_on: dt.date = Field(description="The day it fell due")
    step: StepData = Field(description="The highest level due among the debtor's invoices")
    invoices: list[GroupedInvoiceData] = Field(
        description="Every open overdue invoice of the debtor under the policy, with its balance"
    )
    total_due: MoneyOut = Field(description="The sum of their balances")
    currency: str = Field(examples=["EUR"])
    excluded: list[ExcludedInvoiceData] = Field(
        description="Open invoices left out of the group, with the reason"
    )
    letter_url: str = Field(
        description="The grouped letter (relevé), as text, HTML or PDF by `Accept`",
        examples=["/v1/debtors/debt_01M8RXWX62BF21R4FRX6K5QKXH/letters/reminder_1"],
    )


# What each event type's `data` holds, and when the event is written (API.md, "Event catalogue").
CATALOGUE: Final[Mapping[EventType, tuple[type[BaseModel], str]]] = {
    "invoice.pre_reminder_due": (
        StepDueData,
        "The pre-reminder date of the policy is reached (default: due date - 7 days).",
    ),
    "invoice.overdue": (DeadlineData, "The first day after the due date, balance > 0."),
    "dunning.step_due": (
        StepDueData,
        "A reminder step of the policy is due (`data.step`: code, channel, letter_url).",
    ),
    "invoice.formal_notice_required": (
        FormalNoticeRequiredData,
        "The mise en demeure step is due: it must be sent by registered letter and recorded "
        "(an action `formal_notice`).",
    ),
    "formal_notice.deadline_expired": (
        DeadlineExpiredData,
        "The deadline of a recorded mise en demeure passed unpaid: the invoice is in stage "
        "`litigation`.",
    ),
    "formal_notice.proof_updated": (
        ProofUpdatedData,
        "A registered-mail provider's report on a mise en demeure was recorded (`POST "
        "/v1/actions/{id}/proof-events` or a provider's callback), once per report: the "
        "deadline starts at `accepted`, or at the first presentation when `refused`, "
        "`neglected` or `not_claimed`; `returned` starts none (`notice.must_resend`).",
    ),
    "payment_plan.installment_missed": (
        InstallmentMissedData,
        "An installment of the payment plan is unpaid after its due date.",
    ),
    "invoice.paid": (PaidData, "The balance reaches zero."),
    "invoice.dispute_opened": (DisputeData, "A dispute is opened: the escalation pauses."),
    "invoice.dispute_resolved": (DisputeData, "The dispute is resolved."),
    "invoice.prescription_approaching": (
        PrescriptionApproachingData,
        "90 days before the limitation period ends.",
    ),
    "invoice.lifecycle_status_received": (
        LifecycleStatusData,
        "An e-invoice lifecycle status (AFNOR / CDAR code) was recorded; `data.lifecycle_status."
        "effect` says what it did (a 207 also emits `invoice.dispute_opened`, a 212 that pays "
        "the balance `invoice.paid`).",
    ),
    "debtor.dunning_step_due": (
        GroupedStepData,
        'A policy with `grouping: "debtor"`: a reminder step is due for some of the debtor\'s '
        "invoices; one event for all of its open overdue invoices, at the highest level due "
        "among them (at most one grouped event per debtor a day, the amicable caps counted per "
        "debtor).",
    ),
    "debtor.formal_notice_required": (
        GroupedStepData,
        'A policy with `grouping: "debtor"`: the mise en demeure is due; one for all of the '
        "debtor's open overdue invoices, each with its claim (record it with `POST "
        "/v1/debtors/{id}/actions`).",
    ),
}


def _model_name(event_type: str) -> str:
    """`invoice.formal_notice_required` -> `InvoiceFormalNoticeRequiredEvent`."""
    words = event_type.replace(".", "_").split("_")
    return "".join(word.capitalize() for word in words) + "Event"


@functools.cache
def payload_model(event_type: EventType) -> type[BaseModel]:
    """The body POSTed for `event_type`: `{id, type, created_at, data}`."""
    data_model, when = CATALOGUE[event_type]
    type_literal: Any = Literal.__getitem__(event_type)  # a Literal of a runtime value
    model: type[BaseModel] = create_model(
        _model_name(event_type),
        __doc__=when,
        id=(str, Field(description="The event's id, also `webhook-id`: deduplicate on it.")),
        type=(type_literal, Field(examples=[event_type])),
        created_at=(dt.datetime, Field(description="When the event was written")),
        data=(data_model, ...),
    )
    return model


_HEADERS = (
    ("webhook_id", "webhook-id", "The event id (Standard Webhooks): deduplicate on it."),
    ("webhook_timestamp", "webhook-timestamp", "Unix time of this attempt, in seconds."),
    (
        "webhook_signature",
        "webhook-signature",
        "`v1,<base64 HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{body}` with the "
        "endpoint's secret; verify it with the `standardwebhooks` package. After a rotation, "
        "two signatures separated by a space for 24 h.",
    ),
)
_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"description": "Any 2xx within 15 s acknowledges the event."},
    410: {"description": "Gone: the endpoint is disabled, nothing more is sent to it."},
    "default": {
        "description": "Anything else, or no answer within 15 s: retried with exponential "
        "backoff and jitter over about 3 days (`Retry-After` honoured)."
    },
}


def _receiver() -> Any:
    """A stand-in for the consumer's endpoint, whose headers FastAPI documents."""

    async def receive(**_: Any) -> None:  # never called: webhooks are documentation only
        return None

    receive.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str, Header(alias=alias, description=description)],
            )
            for name, alias, description in _HEADERS
        ]
    )
    return receive


def _request_body(event_type: EventType) -> dict[str, Any]:
    ref = f"{REF_PREFIX}{_model_name(event_type)}"
    return {"required": True, "content": {"application/json": {"schema": {"$ref": ref}}}}


def webhook_schemas() -> dict[str, Any]:
    """The payloads' schemas for `components.schemas`, as the service sends them
    (serialization mode: `interest_periods[].from`, every field present). FastAPI would
    document a request body in validation mode, as if the consumer sent it."""
    models = [(payload_model(event_type), "serialization") for event_type in EVENT_TYPES]
    _, schema = models_json_schema(models, ref_template=REF_PREFIX + "{model}")  # type: ignore[arg-type]
    definitions: dict[str, Any] = schema["$defs"]
    return definitions


def install_webhooks(app: FastAPI) -> None:
    """Document every event type under the OpenAPI `webhooks` (OpenAPI 3.1); the payloads'
    schemas are `webhook_schemas()`, which the OpenAPI hook of app.main adds."""
    for event_type in EVENT_TYPES:
        app.webhooks.add_api_route(
            event_type,
            _receiver(),
            methods=["POST"],
            summary=event_type,
            description=CATALOGUE[event_type][1],
            operation_id="webhook_" + event_type.replace(".", "_"),
            response_class=Response,
            responses=_RESPONSES,
            tags=["webhooks"],
            openapi_extra={"requestBody": _request_body(event_type)},
        )

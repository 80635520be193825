from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.core.types import InputModel, JsonExample, PatchModel
from app.outbox.events.schemas import EVENT_TYPES
from app.outbox.webhooks.url_safety import MAX_URL_LENGTH, UnsafeUrl, check_url_syntax

ALL_EVENTS = "*"
DeliveryStatus = Literal["pending", "succeeded", "failed", "cancelled"]


def _url(value: str) -> str:
    try:
        return check_url_syntax(value)
    except UnsafeUrl as exc:
        raise ValueError(str(exc)) from None


def _event_types(values: list[str]) -> list[str]:
    unknown = [v for v in values if v != ALL_EVENTS and v not in EVENT_TYPES]
    if unknown:
        raise ValueError(
            f"unknown event type(s) {', '.join(unknown)}; use '*' or one of "
            + ", ".join(EVENT_TYPES)
        )
    return list(dict.fromkeys(values))  # duplicates would only add noise


WebhookUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="http(s) URL; must resolve to public addresses unless "
        "RELANCE_WEBHOOK_ALLOW_PRIVATE_URLS is set. Stored normalised.",
        examples=["https://saas.example/webhooks/relance"],
    ),
    AfterValidator(_url),
]
EventTypes = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(
        min_length=1,
        max_length=len(EVENT_TYPES) + 1,
        description='Event types to receive; `["*"]` for all.',
        examples=[["*"], ["invoice.overdue", "invoice.paid"]],
    ),
    AfterValidator(_event_types),
]
Description = Annotated[str, Field(max_length=500)]


_ENDPOINT: JsonExample = {
    "url": "https://saas.example/webhooks/relance",
    "event_types": ["*"],
    "description": "Facturo production",
    "enabled": True,
}
ENDPOINT_EXAMPLE: JsonExample = {
    "id": "we_01M8RXWX7TN3EH612MCVAZR60R",
    **_ENDPOINT,
    "disabled_reason": None,
    "failing_since": None,
    "previous_secret_expires_at": None,
    "created_at": "2026-01-05T09:30:00Z",
    "updated_at": "2026-01-05T09:30:00Z",
}


class WebhookEndpointCreate(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ENDPOINT]})

    url: WebhookUrl
    event_types: EventTypes = Field(default_factory=lambda: [ALL_EVENTS])
    description: Description | None = None
    enabled: bool = True


class WebhookEndpointUpdate(PatchModel):
    required_fields = ("url", "event_types", "enabled")

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(
        default=None,
        description="false cancels the pending deliveries; true re-enables an endpoint that "
        "was disabled (also automatically) and clears `disabled_reason`.",
    )


class WebhookEndpointOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [ENDPOINT_EXAMPLE]}
    )

    id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the service disabled it: `gone` (the receiver answered 410) or "
        "`failing for 5 days`; null when enabled or disabled through the API."
    )
    failing_since: dt.datetime | None = Field(
        description="First failed attempt since the last success; disabled after 5 days."
    )
    previous_secret_expires_at: dt.datetime | None = Field(
        description="Until then, deliveries are also signed with the secret before the last "
        "rotation."
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookEndpointCreated(WebhookEndpointOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**ENDPOINT_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        }
    )

    secret: str = Field(
        description="`whsec_...`: shown only now and by rotate-secret; keep it.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class SecretOut(BaseModel):
    secret: str = Field(description="The new `whsec_...` secret.")
    previous_secret_expires_at: dt.datetime = Field(
        description="The old secret keeps signing (alongside the new) until then: 24 h."
    )


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    attempted_at: dt.datetime
    status_code: int | None = Field(description="null when no HTTP answer was received.")
    duration_ms: int
    error: str | None = Field(description="timeout, connection error, unsafe url, ...")
    response_body: str | None = Field(description="The first 2 KB of the answer.")


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    endpoint_id: str
    status: DeliveryStatus = Field(
        description="`pending` (waiting or retrying), `succeeded`, `failed` (retries "
        "exhausted) or `cancelled` (endpoint disabled or deleted)."
    )
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    attempts: list[AttemptOut] = Field(description="Every attempt, oldest first.")

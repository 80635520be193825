"""The documentation: /docs and /redoc with local assets only, the OpenAPI `webhooks` (one per
event type, payloads that match the events the service writes), realistic examples."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from app.claims.schemas import ClaimOut
from app.escalation.actions.schemas import ActionCreate, ActionOut
from app.ledger.creditors.schemas import CreditorCreate, CreditorOut
from app.ledger.debtors.schemas import DebtorCreate, DebtorOut
from app.ledger.disputes.schemas import DisputeOut
from app.ledger.invoices.schemas import InvoiceCreate, InvoiceOut
from app.ledger.lifecycle.schemas import (
    LifecycleStatusCreate,
    LifecycleStatusOut,
    RoutedLifecycleStatusCreate,
)
from app.ledger.payments.schemas import PaymentCreate, PaymentOut
from app.openapi_export import openapi_json
from app.outbox.events.models import Event
from app.outbox.events.schemas import EVENT_TYPES, EventOut
from app.outbox.webhooks.schemas import (
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointOut,
)
from app.webhook_payloads import payload_model
from tests.factories import ledger

# src="...", href="..." and Swagger UI's `url: '...'` (the OpenAPI document it loads).
_REFERENCES = re.compile(r"""(?:src|href)="([^"]+)"|url: '([^']+)'""")
_CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_doc_pages_load_only_assets_the_service_serves(client, page):
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = [a or b for a, b in _REFERENCES.findall(response.text)]
    assert any(u.endswith(".js") for u in urls), urls
    assert "/openapi.json" in urls or page == "/redoc"
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url}"
        assert not url.startswith("//"), f"{page} loads {url}"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rfind(".") :]
        expected = _CONTENT_TYPES.get(suffix, "application/json")
        assert expected in asset.headers["content-type"], (url, asset.headers["content-type"])
    assert "fonts.googleapis" not in response.text


async def test_redoc_reads_the_local_openapi(client):
    assert 'spec-url="/openapi.json"' in (await client.get("/redoc")).text


def test_every_event_type_is_documented_as_a_webhook():
    doc = json.loads(openapi_json())
    assert doc["openapi"].startswith("3.1")
    assert set(doc["webhooks"]) == set(EVENT_TYPES)
    for event_type, item in doc["webhooks"].items():
        operation = item["post"]
        assert operation["description"], event_type
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        payload = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert payload["properties"]["type"]["const"] == event_type
        assert {p["name"] for p in operation["parameters"]} == {
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        }
        assert "410" in operation["responses"]
    # Event payloads show the resources as the API does (the invoice's own schema).
    data = doc["components"]["schemas"]["StepDueData"]
    assert data["properties"]["invoice"]["$ref"].endswith("/InvoiceOut")


EXAMPLED: tuple[type[BaseModel], ...] = (
    CreditorCreate,
    CreditorOut,
    DebtorCreate,
    DebtorOut,
    InvoiceCreate,
    InvoiceOut,
    PaymentCreate,
    PaymentOut,
    ActionCreate,
    ActionOut,
    WebhookEndpointCreate,
    WebhookEndpointOut,
    WebhookEndpointCreated,
    EventOut,
    DisputeOut,
    ClaimOut,
    LifecycleStatusCreate,
    RoutedLifecycleStatusCreate,
    LifecycleStatusOut,
)


def test_main_resources_have_examples_in_the_openapi():
    schemas = json.loads(openapi_json())["components"]["schemas"]
    for model in EXAMPLED:
        examples = schemas[model.__name__].get("examples")
        assert examples, f"{model.__name__} has no example"
        assert "string" not in json.dumps(examples), model.__name__


@pytest.mark.parametrize("model", EXAMPLED, ids=lambda m: m.__name__)
def test_examples_are_valid_bodies_of_their_schema(model):
    for example in model.model_json_schema()["examples"]:
        model.model_validate(example)  # raises if the example drifted from the model


async def test_webhook_payload_models_match_the_events_written(
    client, tenant, admin_headers, app, clock
):
    """Real events of a whole escalation, a dispute and the payment validate against the
    payload models of the `webhooks` section, with no key the model does not document."""
    clock.set(dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC))
    made = await ledger(
        client, tenant, issue_date="2026-06-11", due_date="2026-07-11", amount="5000.00"
    )
    invoice_id = made["invoice"]["id"]
    day = dt.date(2026, 6, 1)
    while day <= dt.date(2026, 8, 10):
        as_of = dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC).isoformat()
        response = await client.post(
            "/v1/admin/sweep", json={"as_of": as_of, "force": True}, headers=admin_headers
        )
        assert response.status_code == 200, response.text
        day += dt.timedelta(days=1)
    clock.set(dt.datetime(2026, 8, 11, 8, tzinfo=dt.UTC))
    dispute = await client.post(
        f"/v1/invoices/{invoice_id}/disputes", json={"reason": "quality"}, headers=tenant.headers
    )
    resolved = await client.post(
        f"/v1/disputes/{dispute.json()['id']}/resolve",
        json={"resolution": "rejected"},
        headers=tenant.headers,
    )
    assert resolved.status_code == 200, resolved.text
    status = await client.post(
        f"/v1/invoices/{invoice_id}/lifecycle-statuses",
        json={"code": "205", "at": "2026-08-11T09:00:00+02:00", "message_id": "CDAR-1"},
        headers=tenant.headers,
    )
    assert status.status_code == 201, status.text
    paid = await client.post(
        f"/v1/invoices/{invoice_id}/payments",
        json={"amount": "5000.00", "paid_at": "2026-08-11", "method": "transfer"},
        headers=tenant.headers,
    )
    assert paid.status_code == 201, paid.text

    # From the table: the API lists only the last 30 days (retention) of the clock.
    async with app.state.sessionmaker() as session:
        events = list((await session.execute(select(Event))).scalars())
    for event in events:
        model = payload_model(event.type)
        model.model_validate(
            {"id": event.id, "type": event.type, "created_at": event.created_at, "data": event.data}
        )
        documented = set(model.model_fields["data"].annotation.model_fields)  # type: ignore[union-attr]
        assert set(event.data) <= documented, (event.type, set(event.data) - documented)
    assert {e.type for e in events} >= {
        "invoice.pre_reminder_due",
        "invoice.overdue",
        "dunning.step_due",
        "invoice.formal_notice_required",
        "invoice.dispute_opened",
        "invoice.dispute_resolved",
        "invoice.paid",
        "invoice.lifecycle_status_received",
    }

"""E-invoice lifecycle statuses through the API: each code's effect on the invoice and its
escalation, contradictions (409), unknown codes (422), idempotency on message_id, routing by
number, tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.legal.einvoicing import LIFECYCLE_CODES, STATUSES
from app.outbox.events.models import Event
from tests.factories import VALID_SIREN, ledger

AT = "2026-03-02T10:00:00+01:00"


async def post(client, tenant, invoice_id: str, code: str, **fields: Any):
    body = {"code": code, "at": AT, **fields}
    return await client.post(
        f"/v1/invoices/{invoice_id}/lifecycle-statuses", json=body, headers=tenant.headers
    )


async def ok(client, tenant, invoice_id: str, code: str, **fields: Any) -> dict:
    response = await post(client, tenant, invoice_id, code, **fields)
    assert response.status_code == 201, response.text
    return response.json()


async def invoice_of(client, tenant, invoice_id: str) -> dict:
    return (await client.get(f"/v1/invoices/{invoice_id}", headers=tenant.headers)).json()


@pytest.fixture
async def made(client, tenant) -> dict:
    return await ledger(client, tenant)


@pytest.fixture
async def inv(made) -> str:
    return made["invoice"]["id"]


async def test_the_table_has_every_documented_code_and_the_openapi_lists_them(client):
    assert set(LIFECYCLE_CODES) == set(STATUSES)
    spec = (await client.get("/openapi.json")).json()
    code = spec["components"]["schemas"]["LifecycleStatusCreate"]["properties"]["code"]
    assert set(code["enum"]) == set(LIFECYCLE_CODES)
    for entry in STATUSES.values():
        assert f"| `{entry.code}` | {entry.label} | `{entry.effect}` |" in code["description"]
    assert "invoice.lifecycle_status_received" in spec["webhooks"]


@pytest.mark.parametrize("code", ["200", "201", "214", "224", "226", "227", "228"])
async def test_informational_codes_change_nothing(client, tenant, inv, code):
    before = await invoice_of(client, tenant, inv)
    out = await ok(client, tenant, inv, code)
    assert out["effect"] == "informational"
    assert out["label"] == STATUSES[code].label
    after = out["invoice"]
    for key in ("dunning", "status", "balance", "approved", "received_on", "disputed"):
        assert after[key] == before[key], key


@pytest.mark.parametrize("code", ["202", "203"])
async def test_receipt_dates_the_invoice_and_keeps_the_first(client, tenant, inv, code):
    out = await ok(client, tenant, inv, code, at="2026-01-16T23:30:00+00:00")
    assert out["effect"] == "received"
    assert out["invoice"]["received_on"] == "2026-01-17"  # the local (Paris) day
    later = await ok(client, tenant, inv, code, at="2026-01-20T10:00:00+01:00")
    assert later["invoice"]["received_on"] == "2026-01-17"


@pytest.mark.parametrize("code", ["204", "205"])
async def test_approval(client, tenant, inv, code):
    out = await ok(client, tenant, inv, code)
    assert (out["effect"], out["invoice"]["approved"], out["invoice"]["approved_amount"]) == (
        "approved",
        True,
        None,
    )


async def test_partial_approval_limits_the_claim_and_the_dunning(client, tenant, inv):
    missing = await post(client, tenant, inv, "206")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["body", "amount"]
    too_much = await post(client, tenant, inv, "206", amount="1250.01")
    assert too_much.status_code == 422
    out = await ok(client, tenant, inv, "206", amount="800.00", reason_code="QTE_ERR")
    assert (out["invoice"]["approved"], out["invoice"]["approved_amount"]) == (True, "800.00")
    claim = (await client.get(f"/v1/invoices/{inv}/claim", headers=tenant.headers)).json()
    assert claim["principal"] == "800.00"
    # Paying the approved part ends the chase, though the rest stays on the books.
    paid = await ok(client, tenant, inv, "212")
    assert paid["amount"] is None
    assert paid["payment_id"]
    invoice = paid["invoice"]
    assert (invoice["paid_amount"], invoice["status"], invoice["dunning"]["stage"]) == (
        "800.00",
        "open",
        "closed",
    )


async def test_dispute_opens_a_ledger_dispute_with_the_reason(client, tenant, app, inv):
    out = await ok(
        client, tenant, inv, "207", reason_code="MONTANTTOTAL_ERR", reason="Montant total erroné"
    )
    assert out["effect"] == "dispute_opened"
    assert out["dispute_id"]
    assert out["invoice"]["disputed"] is True
    assert out["invoice"]["dunning"]["paused_reason"] == "dispute"
    dispute = (await client.get(f"/v1/disputes/{out['dispute_id']}", headers=tenant.headers)).json()
    assert dispute["reason"] == "amount"
    assert "MONTANTTOTAL_ERR Montant total erroné" in dispute["note"]
    again = await post(client, tenant, inv, "207")
    assert again.status_code == 409
    async with app.state.sessionmaker() as session:
        types = (await session.execute(select(Event.type).where(Event.invoice_id == inv))).scalars()
        assert set(types) >= {"invoice.dispute_opened", "invoice.lifecycle_status_received"}


async def test_suspension_pauses_until_completed(client, tenant, inv):
    early = await post(client, tenant, inv, "209")
    assert early.status_code == 409
    assert "208" in early.json()["detail"]
    out = await ok(client, tenant, inv, "208", reason_code="JUSTIF_ABS")
    assert out["invoice"]["dunning"]["paused"] is True
    assert out["invoice"]["dunning"]["paused_reason"] == "suspended"
    assert out["invoice"]["dunning"]["next_step"] is None
    resumed = await ok(client, tenant, inv, "209")
    assert resumed["effect"] == "resumed"
    assert resumed["invoice"]["dunning"]["paused"] is False
    assert (await post(client, tenant, inv, "209")).status_code == 409


async def test_refusal_ends_the_chase_and_contradicts_a_later_approval(client, tenant, inv):
    out = await ok(client, tenant, inv, "210", reason_code="DOUBLON")
    dunning = out["invoice"]["dunning"]
    assert (dunning["stage"], dunning["next_action_at"], dunning["next_step"]) == (
        "refused",
        None,
        None,
    )
    late = await post(client, tenant, inv, "205")
    assert late.status_code == 409
    assert "refused" in late.json()["detail"]
    assert (await post(client, tenant, inv, "207")).status_code == 409
    listed = await client.get("/v1/invoices?stage=refused", headers=tenant.headers)
    assert [i["id"] for i in listed.json()["data"]] == [inv]


async def test_payment_announced_pauses_for_a_bounded_time(client, tenant, clock, inv):
    out = await ok(client, tenant, inv, "211")
    dunning = out["invoice"]["dunning"]
    assert (dunning["paused"], dunning["paused_reason"]) == (True, "payment_announced")
    # 15 days from the status's day (2026-03-02): re-planned on the 18th at the latest.
    assert dunning["next_action_at"] <= "2026-03-18T00:00:00+01:00"


async def test_cashed_records_a_payment(client, tenant, app, inv):
    out = await ok(client, tenant, inv, "212", amount="250.00", message_id="m-212")
    payments = (await client.get(f"/v1/invoices/{inv}/payments", headers=tenant.headers)).json()
    [payment] = payments["data"]
    assert payment["id"] == out["payment_id"]
    assert (payment["amount"], payment["paid_at"], payment["method"]) == (
        "250.00",
        "2026-03-02",
        "e_invoicing_status",
    )
    assert out["invoice"]["balance"] == "1000.00"
    full = await ok(client, tenant, inv, "212")
    assert full["invoice"]["status"] == "paid"
    again = await post(client, tenant, inv, "212", amount="1.00")
    assert again.status_code == 409
    async with app.state.sessionmaker() as session:
        types = list(
            (await session.execute(select(Event.type).where(Event.invoice_id == inv))).scalars()
        )
    assert "invoice.paid" in types


async def test_overpayment_by_status_is_422(client, tenant, inv):
    response = await post(client, tenant, inv, "212", amount="5000.00")
    assert response.status_code == 422


@pytest.mark.parametrize("code", ["213", "221"])
async def test_rejected_or_misrouted_is_undelivered(client, tenant, inv, code):
    out = await ok(client, tenant, inv, code, reason_code="ROUTING_ERR")
    assert out["effect"] == "undelivered"
    assert out["invoice"]["dunning"]["stage"] == "undelivered"
    assert out["invoice"]["dunning"]["next_action_at"] is None


async def test_cancelled_uses_the_cancel_path(client, tenant, inv):
    out = await ok(client, tenant, inv, "220", reason="Avoir AV-12")
    invoice = out["invoice"]
    assert (invoice["status"], invoice["dunning"]["stage"]) == ("cancelled", "closed")
    assert "220" in invoice["closed_reason"]
    assert "Avoir AV-12" in invoice["closed_reason"]
    cashed = await post(client, tenant, inv, "212")
    assert cashed.status_code == 409
    assert "cancelled" in cashed.json()["detail"]


async def test_factored_is_never_chased_by_the_creditor(client, tenant, inv):
    out = await ok(client, tenant, inv, "225")
    assert out["invoice"]["dunning"]["stage"] == "factored"
    assert (await post(client, tenant, inv, "208")).status_code == 409
    readiness = (
        await client.get(f"/v1/invoices/{inv}/litigation-readiness", headers=tenant.headers)
    ).json()
    assert readiness["ready"] is False
    check = next(c for c in readiness["checks"] if c["code"] == "creditor_holds_the_claim")
    assert check["ok"] is False


async def test_unknown_code_is_422(client, tenant, inv):
    for code in ("215", "299", "abc"):
        response = await post(client, tenant, inv, code)
        assert response.status_code == 422, code
        assert response.json()["errors"][0]["loc"][:2] == ["body", "code"]


async def test_idempotent_on_message_id(client, tenant, app, inv):
    first = await ok(client, tenant, inv, "211", message_id="CDAR-1", platform="pa.example.fr")
    again = await post(client, tenant, inv, "211", message_id="CDAR-1", platform="pa.example.fr")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    different = await post(client, tenant, inv, "212", message_id="CDAR-1")
    assert different.status_code == 409
    listed = await client.get(f"/v1/invoices/{inv}/lifecycle-statuses", headers=tenant.headers)
    assert [s["id"] for s in listed.json()["data"]] == [first["id"]]
    async with app.state.sessionmaker() as session:
        events = list(
            (
                await session.execute(
                    select(Event.type).where(
                        Event.invoice_id == inv, Event.type == "invoice.lifecycle_status_received"
                    )
                )
            ).scalars()
        )
    assert len(events) == 1


async def test_list_in_order(client, tenant, inv):
    a = await ok(client, tenant, inv, "200")
    b = await ok(client, tenant, inv, "202")
    url = f"/v1/invoices/{inv}/lifecycle-statuses"
    asc = (await client.get(url, headers=tenant.headers)).json()["data"]
    desc = (await client.get(f"{url}?order=desc", headers=tenant.headers)).json()["data"]
    assert [s["id"] for s in asc] == [a["id"], b["id"]]
    assert [s["id"] for s in desc] == [b["id"], a["id"]]
    assert asc[1]["code"] == "202"
    assert asc[1]["effect_description"]


async def test_routed_by_creditor_id_or_seller_siren(client, tenant, made, inv):
    number = made["invoice"]["number"]
    by_id = await client.post(
        "/v1/lifecycle-statuses",
        json={"creditor_id": made["creditor"]["id"], "invoice_number": number, "code": "202",
              "at": AT},
        headers=tenant.headers,
    )  # fmt: skip
    assert by_id.status_code == 201, by_id.text
    assert by_id.json()["invoice_id"] == inv
    by_siren = await client.post(
        "/v1/lifecycle-statuses",
        json={"seller_siren": VALID_SIREN, "invoice_number": number, "code": "205", "at": AT},
        headers=tenant.headers,
    )
    assert by_siren.status_code == 201, by_siren.text
    assert by_siren.json()["invoice"]["approved"] is True
    unknown = await client.post(
        "/v1/lifecycle-statuses",
        json={"seller_siren": VALID_SIREN, "invoice_number": "NOPE", "code": "205", "at": AT},
        headers=tenant.headers,
    )
    assert unknown.status_code == 422
    both = await client.post(
        "/v1/lifecycle-statuses",
        json={"invoice_number": number, "code": "205", "at": AT},
        headers=tenant.headers,
    )
    assert both.status_code == 422


async def test_tenant_isolation(client, tenant, other_tenant, made, inv):
    assert (await post(client, other_tenant, inv, "210")).status_code == 404
    listed = await client.get(
        f"/v1/invoices/{inv}/lifecycle-statuses", headers=other_tenant.headers
    )
    assert listed.status_code == 404
    routed = await client.post(
        "/v1/lifecycle-statuses",
        json={"seller_siren": VALID_SIREN, "invoice_number": made["invoice"]["number"],
              "code": "210", "at": AT},
        headers=other_tenant.headers,
    )  # fmt: skip
    assert routed.status_code == 422
    # The same message_id in another tenant is another message.
    await ok(client, tenant, inv, "200", message_id="shared")
    theirs = await ledger(client, other_tenant)
    await ok(client, other_tenant, theirs["invoice"]["id"], "200", message_id="shared")
    assert (await invoice_of(client, tenant, inv))["dunning"]["stage"] != "refused"


async def test_timeline_shows_the_statuses(client, tenant, inv):
    status = await ok(client, tenant, inv, "205", reason="OK")
    timeline = (await client.get(f"/v1/invoices/{inv}/timeline", headers=tenant.headers)).json()
    item = next(i for i in timeline["items"] if i["kind"] == "lifecycle_status")
    assert (item["type"], item["code"], item["id"]) == ("lifecycle_status.205", "205", status["id"])
    assert item["detail"]["label"] == "Approuvée"


async def _uncontested(client, tenant, invoice_id: str) -> tuple[dict, set[str]]:
    response = await client.get(
        f"/v1/invoices/{invoice_id}/litigation-readiness", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    failing = {c["code"] for c in body["uncontested_claim"]["conditions"] if not c["ok"]}
    return body, failing


@pytest.mark.parametrize("code", ["204", "205"])
async def test_an_approved_never_disputed_invoice_is_evidence_for_the_uncontested_procedure(
    client, tenant, code
):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    invoice_id = made["invoice"]["id"]
    _, failing = await _uncontested(client, tenant, invoice_id)
    assert failing == {"claim_certain"}  # no document on file, no approval yet
    await ok(client, tenant, invoice_id, code)
    body, failing = await _uncontested(client, tenant, invoice_id)
    assert failing == set()
    assert body["recommended_procedure"] == "creances_commerciales_incontestees"
    certain = next(
        c for c in body["uncontested_claim"]["conditions"] if c["code"] == "claim_certain"
    )
    assert "approuvée" in certain["detail"]


async def test_an_approval_after_a_dispute_is_not_that_evidence(client, tenant):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    invoice_id = made["invoice"]["id"]
    status = await ok(client, tenant, invoice_id, "207", reason_code="QUALITE_ERR")
    resolved = await client.post(
        f"/v1/disputes/{status['dispute_id']}/resolve",
        json={"resolution": "rejected"},
        headers=tenant.headers,
    )
    assert resolved.status_code == 200, resolved.text
    await ok(client, tenant, invoice_id, "205")
    _, failing = await _uncontested(client, tenant, invoice_id)
    assert "claim_certain" in failing


@pytest.mark.parametrize(
    ("code", "condition"),
    [
        ("210", "not_contested"),
        ("213", "creditor_holds_the_claim"),
        ("225", "creditor_holds_the_claim"),
    ],
)
async def test_refused_undelivered_or_factored_is_never_ready(client, tenant, code, condition):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    invoice_id = made["invoice"]["id"]
    await ok(client, tenant, invoice_id, "205")
    await ok(client, tenant, invoice_id, code)
    body, failing = await _uncontested(client, tenant, invoice_id)
    assert condition in failing
    assert body["uncontested_claim"]["eligible"] is False
    assert body["ready"] is False
    held = next(c for c in body["checks"] if c["code"] == "creditor_holds_the_claim")
    assert held["ok"] is False

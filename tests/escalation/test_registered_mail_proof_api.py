"""Issue 16, part 3 through the API: proof events on a mise en demeure and the deadline they start,
the consumer's prior consent to an LRE, and the AR24 and Maileva callbacks (authentication,
matching by provider_ref, idempotency, tenant isolation)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from tests.factories import create_creditor, create_debtor, create_invoice, ledger

NOON = "T10:00:00+01:00"
# Maileva's notification format (developer.maileva.com, "Maileva / notifications (webhook)";
# the same example in cube43/maileva src/NotificationsWebhooks/Model/ResourceType.php).
SENDING_ID = "e6118f29-89c3-41e5-82e8-00cb0b7b1b0c"
RECIPIENT_ID = "0b1f3c52-8d2a-4b41-9d34-6c1c2a1e7f10"


@pytest.fixture(autouse=True)
def _after_the_letters(clock):
    """Thursday 19 March 2026: after every report these tests send."""
    clock.set(dt.datetime(2026, 3, 19, 12, 0, tzinfo=dt.UTC))


def maileva_notification(event_type: str, event_date: str, **extra: str) -> dict:
    return {
        "source": "api.maileva.com",
        "user_id": "12345678-c014-4923-9bb9-497addd5e901",
        "client_id": "f5e22e36-c014-4923-9bb9-497addd5e901",
        "event_type": event_type,
        "resource_type": "registered_mail/v2/recipients",
        "event_date": event_date,
        "event_location": "FR",
        "resource_id": RECIPIENT_ID,
        "resource_location": "https://api.maileva.com/registered_mail/v2/sendings/"
        f"{SENDING_ID}/recipients/{RECIPIENT_ID}",
        "resource_custom_id": "order1234",
        "resource_custom_data": "my_data",
        **extra,
    }


async def _notice(client, tenant, *, debtor_kind="business", channel="registered_letter", **proof):
    """An invoice and its mise en demeure, sent on Monday 2 March 2026."""
    creditor = await create_creditor(client, tenant)
    fields = {"kind": debtor_kind, "name": "M. Martin"} if debtor_kind == "consumer" else {}
    debtor = await create_debtor(client, tenant, creditor["id"], **fields)
    invoice = await create_invoice(
        client,
        tenant,
        creditor["id"],
        debtor["id"],
        issue_date="2026-01-01",
        due_date="2026-01-15",
    )
    sent = await client.post(
        f"/v1/invoices/{invoice['id']}/actions",
        json={
            "type": "formal_notice",
            "channel": channel,
            "performed_at": "2026-03-02" + NOON,
            "proof": {"tracking_number": "1A23456789012", **proof},
        },
        headers=tenant.headers,
    )
    assert sent.status_code == 201, sent.text
    return invoice["id"], sent.json()["id"]


async def _proof(client, tenant, action_id, status, day, **body):
    return await client.post(
        f"/v1/actions/{action_id}/proof-events",
        json={"status": status, "at": day + NOON, **body},
        headers=tenant.headers,
    )


async def _dunning(client, tenant, invoice_id):
    response = await client.get(f"/v1/invoices/{invoice_id}", headers=tenant.headers)
    return response.json()["dunning"]


async def _proof_events(client, tenant, action_id):
    response = await client.get(f"/v1/actions/{action_id}/proof-events", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _events(client, tenant, invoice_id):
    response = await client.get(
        "/v1/events",
        params={"type": "formal_notice.proof_updated", "invoice_id": invoice_id},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


# --- proof events and the deadline ---------------------------------------------------------------


async def test_the_deadline_runs_from_the_ar(client, tenant):
    invoice_id, action_id = await _notice(client, tenant)
    assert (await _dunning(client, tenant, invoice_id))["formal_notice_deadline"] is None
    for status, day in [("deposited", "2026-03-02"), ("presented", "2026-03-03")]:
        assert (await _proof(client, tenant, action_id, status, day)).status_code == 201
        # Deposited or presented only: the letter may still be accepted, nothing runs yet.
        assert (await _dunning(client, tenant, invoice_id))["formal_notice_deadline"] is None
    accepted = await _proof(client, tenant, action_id, "accepted", "2026-03-05")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["on"] == "2026-03-05"
    dunning = await _dunning(client, tenant, invoice_id)
    # Thursday 5 March + 8 days = Friday 13 March.
    assert dunning["formal_notice_deadline"] == "2026-03-13"
    assert dunning["stage"] in ("formal_notice_sent", "litigation")
    events = await _events(client, tenant, invoice_id)
    assert len(events) == 3
    last = next(e for e in events if e["data"]["proof_event"]["id"] == accepted.json()["id"])
    assert last["data"]["notice"] == {"took_effect_on": "2026-03-05", "must_resend": False}
    assert last["data"]["invoice"]["dunning"]["formal_notice_deadline"] == "2026-03-13"


@pytest.mark.parametrize(
    ("status", "day"),
    [("refused", "2026-03-04"), ("neglected", "2026-03-18"), ("not_claimed", "2026-03-18")],
)
async def test_a_letter_not_taken_runs_from_its_first_presentation(client, tenant, status, day):
    invoice_id, action_id = await _notice(client, tenant, channel="registered_letter")
    # Out of order: the outcome arrives before the presentation.
    assert (await _proof(client, tenant, action_id, status, day)).status_code == 201
    assert (await _proof(client, tenant, action_id, "presented", "2026-03-03")).status_code == 201
    # Tuesday 3 March + 8 days = Wednesday 11 March.
    assert (await _dunning(client, tenant, invoice_id))["formal_notice_deadline"] == "2026-03-11"


async def test_events_in_any_order_give_the_same_deadline(client, tenant):
    invoice_id, action_id = await _notice(client, tenant)
    for status, day in [("accepted", "2026-03-06"), ("deposited", "2026-03-02")]:
        assert (await _proof(client, tenant, action_id, status, day)).status_code == 201
    assert (await _proof(client, tenant, action_id, "presented", "2026-03-03")).status_code == 201
    # Friday 6 March + 8 = Saturday 14 -> Monday 16 March.
    assert (await _dunning(client, tenant, invoice_id))["formal_notice_deadline"] == "2026-03-16"


async def test_a_returned_letter_runs_no_deadline_and_asks_for_a_new_notice(client, tenant):
    invoice_id, action_id = await _notice(client, tenant)
    returned = await _proof(client, tenant, action_id, "returned", "2026-03-06")
    assert returned.status_code == 201, returned.text
    dunning = await _dunning(client, tenant, invoice_id)
    assert dunning["formal_notice_deadline"] is None
    assert dunning["stage"] == "formal_notice_required"
    assert dunning["next_step"] == "formal_notice_resend"
    (event,) = await _events(client, tenant, invoice_id)
    assert event["data"]["notice"] == {"took_effect_on": None, "must_resend": True}
    # Sent again to the right address: the new notice is the one that counts.
    again = await client.post(
        f"/v1/invoices/{invoice_id}/actions",
        json={
            "type": "formal_notice",
            "channel": "registered_letter",
            "performed_at": "2026-03-09" + NOON,
            "proof": {"tracking_number": "1A000002", "acknowledged_at": "2026-03-11"},
        },
        headers=tenant.headers,
    )
    assert again.status_code == 201, again.text
    dunning = await _dunning(client, tenant, invoice_id)
    assert dunning["stage"] == "formal_notice_sent"
    assert dunning["formal_notice_deadline"] == "2026-03-19"


async def test_the_same_report_twice_is_one_event(client, tenant):
    invoice_id, action_id = await _notice(client, tenant)
    body = {"provider": "maileva", "provider_ref": SENDING_ID}
    first = await _proof(client, tenant, action_id, "accepted", "2026-03-05", **body)
    again = await _proof(client, tenant, action_id, "accepted", "2026-03-05", **body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    by_id = await _proof(client, tenant, action_id, "presented", "2026-03-03", report_id="evt-1")
    by_id_again = await _proof(
        client, tenant, action_id, "presented", "2026-03-04", report_id="evt-1"
    )
    assert (by_id.status_code, by_id_again.status_code) == (201, 200)
    assert len(await _proof_events(client, tenant, action_id)) == 2
    assert len(await _events(client, tenant, invoice_id)) == 2
    # The first provider_ref names the letter on the action.
    action = (await client.get(f"/v1/actions/{action_id}", headers=tenant.headers)).json()
    assert action["proof"]["provider"] == "maileva"
    assert action["proof"]["provider_ref"] == SENDING_ID


async def test_proof_events_are_refused_where_they_mean_nothing(client, tenant):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    reminder = await client.post(
        f"/v1/invoices/{made['invoice']['id']}/actions",
        json={"type": "reminder", "channel": "email", "performed_at": "2026-02-02" + NOON},
        headers=tenant.headers,
    )
    assert reminder.status_code == 201, reminder.text
    refused = await _proof(client, tenant, reminder.json()["id"], "accepted", "2026-02-03")
    assert refused.status_code == 422
    assert "formal notice" in refused.json()["detail"]
    _, action_id = await _notice(client, tenant)
    before_sending = await _proof(client, tenant, action_id, "accepted", "2026-03-01")
    assert before_sending.status_code == 422
    future = await _proof(client, tenant, action_id, "accepted", "2099-03-01")
    assert future.status_code == 422
    naive = await client.post(
        f"/v1/actions/{action_id}/proof-events",
        json={"status": "accepted", "at": "2026-03-05T10:00:00"},
        headers=tenant.headers,
    )
    assert naive.status_code == 422
    unknown = await _proof(client, tenant, action_id, "delivered", "2026-03-05")
    assert unknown.status_code == 422
    assert await _proof_events(client, tenant, action_id) == []


async def test_another_tenants_action_is_not_found(client, tenant, other_tenant):
    _, action_id = await _notice(client, tenant)
    response = await _proof(client, other_tenant, action_id, "accepted", "2026-03-05")
    assert response.status_code == 404
    listed = await client.get(f"/v1/actions/{action_id}/proof-events", headers=other_tenant.headers)
    assert listed.status_code == 404


async def test_one_letter_is_one_action(client, tenant):
    await _notice(client, tenant, provider="ar24", provider_ref="5417952")
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    invoice = await create_invoice(client, tenant, creditor["id"], debtor["id"])
    second = await client.post(
        f"/v1/invoices/{invoice['id']}/actions",
        json={
            "type": "formal_notice",
            "channel": "lre",
            "performed_at": "2026-03-02" + NOON,
            "proof": {"provider": "ar24", "provider_ref": "5417952"},
        },
        headers=tenant.headers,
    )
    assert second.status_code == 409, second.text


# --- LRE: a consumer's prior consent -------------------------------------------------------------


async def _lre_to_consumer(client, tenant, consent=None):
    creditor = await create_creditor(client, tenant)
    fields = {"kind": "consumer", "name": "Jeanne Martin"}
    if consent is not None:
        fields["lre_consent"] = consent
    debtor = await create_debtor(client, tenant, creditor["id"], **fields)
    invoice = await create_invoice(client, tenant, creditor["id"], debtor["id"])
    response = await client.post(
        f"/v1/invoices/{invoice['id']}/actions",
        json={
            "type": "formal_notice",
            "channel": "lre",
            "performed_at": "2026-03-02" + NOON,
            "proof": {"provider": "ar24", "provider_ref": f"lre-{debtor['id']}"},
        },
        headers=tenant.headers,
    )
    return debtor, response


async def test_an_lre_to_a_consumer_without_consent_is_refused(client, tenant):
    debtor, refused = await _lre_to_consumer(client, tenant)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert "L100" in problem["detail"]
    assert "eIDAS" in problem["detail"]
    assert problem["legal_reference"] == "CPCE L100 II; eIDAS art. 44"
    assert ["body", "channel"] in [e["loc"] for e in problem["errors"]]
    assert debtor["lre_consent"] is None


async def test_an_lre_to_a_consumer_who_consented_beforehand_is_recorded(client, tenant):
    consent = {"given_at": "2026-01-10T09:30:00+01:00", "evidence": "Contrat 2026-114, art. 12"}
    debtor, sent = await _lre_to_consumer(client, tenant, consent)
    assert sent.status_code == 201, sent.text
    assert sent.json()["channel"] == "lre"
    assert debtor["lre_consent"] == {
        "given_at": "2026-01-10T08:30:00Z",
        "evidence": "Contrat 2026-114, art. 12",
    }


async def test_a_consent_given_after_the_sending_does_not_count(client, tenant):
    consent = {"given_at": "2026-03-05T09:30:00+01:00", "evidence": "Formulaire signé"}
    _, refused = await _lre_to_consumer(client, tenant, consent)
    assert refused.status_code == 422
    assert "later" in refused.json()["errors"][0]["msg"]


async def test_consent_is_recorded_and_withdrawn_on_the_debtor(client, tenant):
    debtor, _ = await _lre_to_consumer(client, tenant)
    url = f"/v1/debtors/{debtor['id']}"
    consent = {"given_at": "2026-01-10T09:30:00+01:00", "evidence": "Gestionnaire AR24 #881"}
    given = await client.patch(url, json={"lre_consent": consent}, headers=tenant.headers)
    assert given.status_code == 200, given.text
    assert given.json()["lre_consent"]["evidence"] == "Gestionnaire AR24 #881"
    withdrawn = await client.patch(url, json={"lre_consent": None}, headers=tenant.headers)
    assert withdrawn.json()["lre_consent"] is None
    naive = {"given_at": "2026-01-10T09:30:00", "evidence": "x"}
    assert (
        await client.patch(url, json={"lre_consent": naive}, headers=tenant.headers)
    ).status_code == 422


async def test_an_lre_to_a_business_needs_no_consent(client, tenant):
    _, action_id = await _notice(client, tenant, channel="lre")
    accepted = await _proof(client, tenant, action_id, "neglected", "2026-03-18")
    assert accepted.status_code == 201, accepted.text


# --- providers' callbacks ------------------------------------------------------------------------


async def _config(client, tenant, provider):
    response = await client.post(f"/v1/registered-mail/{provider}/config", headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


def _basic(config) -> dict[str, str]:
    pair = f"{config['basic_auth']['username']}:{config['basic_auth']['password']}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


async def test_a_maileva_ar_notification_starts_the_deadline(client, tenant):
    invoice_id, action_id = await _notice(
        client, tenant, provider="maileva", provider_ref=SENDING_ID
    )
    config = await _config(client, tenant, "maileva")
    body = maileva_notification(
        "ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED", "2026-03-05T10:23:31.137Z"
    )
    response = await client.post(
        "/v1/registered-mail/maileva/callback", json=body, headers=_basic(config)
    )
    assert response.status_code == 201, response.text  # what Maileva takes as received
    assert response.json()["matched"] is True
    assert response.json()["applied"] is True
    assert response.json()["action_id"] == action_id
    (event,) = await _proof_events(client, tenant, action_id)
    assert (event["status"], event["on"], event["source"]) == ("accepted", "2026-03-05", "callback")
    assert (await _dunning(client, tenant, invoice_id))["formal_notice_deadline"] == "2026-03-13"
    # Maileva retries until it gets 201: a repeat is answered 201 and changes nothing.
    again = await client.post(
        "/v1/registered-mail/maileva/callback", json=body, headers=_basic(config)
    )
    assert again.status_code == 201
    assert again.json()["applied"] is False
    assert len(await _proof_events(client, tenant, action_id)) == 1


async def test_a_maileva_event_without_legal_effect_changes_nothing(client, tenant):
    _, action_id = await _notice(client, tenant, provider="maileva", provider_ref=SENDING_ID)
    config = await _config(client, tenant, "maileva")
    body = maileva_notification("ON_STATUS_ARCHIVED", "2026-03-05T10:23:31Z")
    response = await client.post(
        "/v1/registered-mail/maileva/callback", json=body, headers=_basic(config)
    )
    assert response.status_code == 201
    assert (response.json()["matched"], response.json()["applied"]) == (True, False)
    assert await _proof_events(client, tenant, action_id) == []


async def test_maileva_finds_the_action_by_the_custom_id_sent_back(client, tenant):
    _, action_id = await _notice(client, tenant)
    config = await _config(client, tenant, "maileva")
    body = maileva_notification(
        "ON_DEPOSIT_PROOF_RECEIVED", "2026-03-02T16:00:00Z", resource_custom_id=action_id
    )
    response = await client.post(
        "/v1/registered-mail/maileva/callback", json=body, headers=_basic(config)
    )
    assert response.status_code == 201, response.text
    assert response.json()["applied"] is True
    (event,) = await _proof_events(client, tenant, action_id)
    assert event["status"] == "deposited"


async def test_ar24_callbacks_follow_an_lre_to_its_neglect(client, tenant):
    invoice_id, action_id = await _notice(
        client, tenant, channel="lre", provider="ar24", provider_ref="5417952"
    )
    config = await _config(client, tenant, "ar24")
    assert config["callback_url"].startswith("http://relance.test/v1/registered-mail/ar24/")
    url = config["callback_url"].removeprefix("http://relance.test")
    # AR24 posts form data (its API's input format) on each status change of the mail.
    for status, day in [("ev", "2026-03-03"), ("negligence", "2026-03-18")]:
        response = await client.post(
            url,
            content=f"id_mail=5417952&status={status}&date={day}T09:00:00%2B01:00",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text  # what AR24 takes as received
        assert response.json()["applied"] is True
    statuses = [e["status"] for e in await _proof_events(client, tenant, action_id)]
    assert statuses == ["presented", "neglected"]
    # Neglected: from the first presentation, Tuesday 3 March + 8 days = Wednesday 11 March.
    assert (await _dunning(client, tenant, invoice_id))["formal_notice_deadline"] == "2026-03-11"


async def test_an_ar24_json_callback_without_a_date_counts_from_its_receipt(client, tenant):
    _invoice_id, action_id = await _notice(client, tenant, provider="ar24", provider_ref="77")
    config = await _config(client, tenant, "ar24")
    response = await client.post(
        "/v1/registered-mail/ar24/callback",
        params={"token": config["token"]},
        json={"id_mail": "77", "status": "AR"},
    )
    assert response.status_code == 200, response.text
    (event,) = await _proof_events(client, tenant, action_id)
    assert event["status"] == "accepted"
    assert event["on"] == "2026-03-19"  # the day it arrived: never before the real AR


async def test_an_unknown_letter_is_acknowledged_and_changes_nothing(client, tenant):
    _, action_id = await _notice(client, tenant, provider="ar24", provider_ref="5417952")
    config = await _config(client, tenant, "ar24")
    response = await client.post(
        "/v1/registered-mail/ar24/callback",
        params={"token": config["token"]},
        json={"id_mail": "999", "status": "AR"},
    )
    assert response.status_code == 200  # a 404 would make AR24 retry 48 times for nothing
    assert response.json()["matched"] is False
    assert await _proof_events(client, tenant, action_id) == []


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"params": {"token": "rmc_nothing.nothing"}},
        {"params": {"token": "garbage"}},
        {"headers": {"Authorization": "Basic " + base64.b64encode(b"rmc_x:y").decode()}},
        {"headers": {"Authorization": "Bearer not-a-callback-secret"}},
    ],
)
async def test_a_callback_that_cannot_authenticate_changes_nothing(client, tenant, credentials):
    invoice_id, action_id = await _notice(client, tenant, provider="ar24", provider_ref="5417952")
    await _config(client, tenant, "ar24")
    response = await client.post(
        "/v1/registered-mail/ar24/callback",
        json={"id_mail": "5417952", "status": "AR", "date": "2026-03-05T10:00:00+01:00"},
        **credentials,
    )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await _proof_events(client, tenant, action_id) == []
    assert (await _dunning(client, tenant, invoice_id))["formal_notice_deadline"] is None


async def test_a_secret_opens_only_its_provider_and_a_rotated_one_stops_working(client, tenant):
    _, action_id = await _notice(client, tenant, provider="maileva", provider_ref=SENDING_ID)
    ar24 = await _config(client, tenant, "ar24")
    body = maileva_notification("ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED", "2026-03-05T10:00:00Z")
    wrong_provider = await client.post(
        "/v1/registered-mail/maileva/callback", json=body, params={"token": ar24["token"]}
    )
    assert wrong_provider.status_code == 401
    old = await _config(client, tenant, "maileva")
    new = await _config(client, tenant, "maileva")
    assert new["basic_auth"]["username"] == old["basic_auth"]["username"]
    rotated = await client.post(
        "/v1/registered-mail/maileva/callback", json=body, headers=_basic(old)
    )
    assert rotated.status_code == 401
    assert await _proof_events(client, tenant, action_id) == []


async def test_unknown_provider_and_unreadable_bodies(client, tenant):
    config = await _config(client, tenant, "ar24")
    unknown = await client.post("/v1/registered-mail/laposte/callback", json={})
    assert unknown.status_code == 404
    assert (
        await client.post("/v1/registered-mail/laposte/config", headers=tenant.headers)
    ).status_code == 404
    for content in [b"not json", b"[1, 2]", b'{"status": "AR"}']:
        response = await client.post(
            "/v1/registered-mail/ar24/callback",
            params={"token": config["token"]},
            content=content,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
    no_key = await client.post("/v1/registered-mail/ar24/config")
    assert no_key.status_code == 401


async def test_a_callback_only_ever_touches_its_tenants_actions(client, tenant, other_tenant):
    invoice_id, action_id = await _notice(client, tenant, provider="ar24", provider_ref="5417952")
    theirs = await _config(client, other_tenant, "ar24")
    response = await client.post(
        "/v1/registered-mail/ar24/callback",
        params={"token": theirs["token"]},
        json={"id_mail": "5417952", "status": "AR", "date": "2026-03-05T10:00:00+01:00"},
    )
    assert response.status_code == 200
    assert response.json()["matched"] is False
    assert await _proof_events(client, tenant, action_id) == []
    assert (await _dunning(client, tenant, invoice_id))["formal_notice_deadline"] is None
    # Another tenant's action id sent back as Maileva's custom id is not theirs either.
    maileva = await _config(client, other_tenant, "maileva")
    body = maileva_notification(
        "ON_DEPOSIT_PROOF_RECEIVED", "2026-03-02T16:00:00Z", resource_custom_id=action_id
    )
    crossed = await client.post(
        "/v1/registered-mail/maileva/callback", json=body, headers=_basic(maileva)
    )
    assert crossed.status_code == 201
    assert crossed.json()["matched"] is False
    assert await _proof_events(client, tenant, action_id) == []


async def test_the_letter_and_readiness_follow_the_proof_events(client, tenant):
    invoice_id, action_id = await _notice(client, tenant)
    url = f"/v1/invoices/{invoice_id}"
    readiness = (await client.get(f"{url}/litigation-readiness", headers=tenant.headers)).json()
    received = next(c for c in readiness["checks"] if c["code"] == "formal_notice_received")
    assert received["ok"] is False
    assert (await _proof(client, tenant, action_id, "accepted", "2026-03-05")).status_code == 201
    readiness = (await client.get(f"{url}/litigation-readiness", headers=tenant.headers)).json()
    received = next(c for c in readiness["checks"] if c["code"] == "formal_notice_received")
    assert received["ok"] is True
    assert "2026-03-05" in received["detail"]
    letter = await client.get(
        f"{url}/letters/formal_notice", headers={**tenant.headers, "Accept": "text/plain"}
    )
    assert letter.status_code == 200, letter.text
    # The engine's deadline, stated in the letter: 5 March + 8 days = 13 March.
    assert "13 mars 2026" in " ".join(letter.text.split()).replace("\u00a0", " ")

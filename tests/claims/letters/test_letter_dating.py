"""Issue 15, item 6: letters state the engine's deadline (business-day extension included) and are
dated as of their sending, through the recorded action or `as_of`, never re-dated later."""

from __future__ import annotations

import datetime as dt

from tests.factories import ledger

NOON = "T10:00:00+01:00"
TEXT = {"Accept": "text/plain"}


def flat(text: str) -> str:
    return " ".join(text.split()).replace("\u00a0", " ")


async def _letter(client, tenant, invoice_id, kind, **params):
    response = await client.get(
        f"/v1/invoices/{invoice_id}/letters/{kind}",
        params=params,
        headers={**tenant.headers, **TEXT},
    )
    assert response.status_code == 200, response.text
    return response.text


async def _act(client, tenant, invoice_id, **body):
    response = await client.post(
        f"/v1/invoices/{invoice_id}/actions", json=body, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_sent_mise_en_demeure_states_the_engines_deadline_and_keeps_its_date(
    client, tenant, clock
):
    clock.set(dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC))
    made = await ledger(client, tenant, issue_date="2026-09-15", due_date="2026-10-15")
    invoice_id = made["invoice"]["id"]
    await _act(
        client,
        tenant,
        invoice_id,
        type="reminder",
        channel="email",
        step="reminder_1",
        performed_at="2026-10-19" + NOON,
    )
    # Sent on Tuesday 1 December, received on Friday 4 December: 8 days end on Saturday 12,
    # extended to Monday 14 December, as the engine says.
    await _act(
        client,
        tenant,
        invoice_id,
        type="formal_notice",
        channel="registered_letter",
        performed_at="2026-12-01" + NOON,
        proof={"tracking_number": "1A00999", "acknowledged_at": "2026-12-04"},
    )
    invoice = (await client.get(f"/v1/invoices/{invoice_id}", headers=tenant.headers)).json()
    assert invoice["dunning"]["formal_notice_deadline"] == "2026-12-14"
    first = await _letter(client, tenant, invoice_id, "formal_notice")
    text = flat(first)
    assert "Fait à Paris, le 1er décembre 2026" in text
    assert "soit au plus tard le 14 décembre 2026." in text
    assert "12 décembre" not in text
    assert "pour une réception le" not in text  # the receipt is known
    assert "première relance du 19 octobre 2026, par e-mail" in text

    # Weeks later, after a partial payment and another reminder, the same letter comes back.
    clock.set(dt.datetime(2027, 1, 20, 9, 0, tzinfo=dt.UTC))
    paid = await client.post(
        f"/v1/invoices/{invoice_id}/payments",
        json={"amount": "100.00", "paid_at": "2027-01-05"},
        headers=tenant.headers,
    )
    assert paid.status_code == 201, paid.text
    await _act(
        client,
        tenant,
        invoice_id,
        type="phone_call",
        performed_at="2027-01-06" + NOON,
    )
    assert await _letter(client, tenant, invoice_id, "formal_notice") == first
    explicit = await _letter(client, tenant, invoice_id, "formal_notice", as_of="2026-12-01")
    assert explicit == first


async def test_a_draft_states_the_extended_deadline_for_its_assumed_receipt(client, tenant, clock):
    clock.set(dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC))
    made = await ledger(client, tenant, issue_date="2026-09-15", due_date="2026-10-15")
    text = flat(
        await _letter(client, tenant, made["invoice"]["id"], "formal_notice", as_of="2026-12-01")
    )
    # Dated 1 December, received 3 days later (Friday 4): Saturday 12 -> Monday 14.
    assert "Fait à Paris, le 1er décembre 2026" in text
    assert "soit au plus tard le 14 décembre 2026 pour une réception le 4 décembre 2026" in text
    # Without as_of and without a recorded sending, a draft of today.
    today = flat(await _letter(client, tenant, made["invoice"]["id"], "formal_notice"))
    assert "Fait à Paris, le 10 décembre 2026" in today


async def test_a_mise_en_demeure_served_by_a_commissaire_de_justice(client, tenant, clock):
    clock.set(dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC))
    made = await ledger(client, tenant, issue_date="2026-09-15", due_date="2026-10-15")
    invoice_id = made["invoice"]["id"]
    await _act(
        client,
        tenant,
        invoice_id,
        type="formal_notice",
        channel="commissaire_de_justice",
        performed_at="2026-12-02" + NOON,
        proof={"tracking_number": "ACTE-55", "served_on": "2026-12-03T15:20:00+01:00"},
    )
    text = flat(await _letter(client, tenant, invoice_id, "formal_notice"))
    assert "Signifiée par commissaire de justice" in text
    assert "par le présent acte signifié par commissaire de justice" in text
    assert "à compter de sa signification, soit au plus tard le 11 décembre 2026." in text
    assert "Lettre recommandée avec accusé de réception" not in text
    invoice = (await client.get(f"/v1/invoices/{invoice_id}", headers=tenant.headers)).json()
    assert invoice["dunning"]["formal_notice_deadline"] == "2026-12-11"


async def test_a_reminder_is_dated_by_the_action_that_sent_it(client, tenant, clock):
    clock.set(dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC))
    made = await ledger(client, tenant, issue_date="2026-09-15", due_date="2026-10-15")
    invoice_id = made["invoice"]["id"]
    await _act(
        client,
        tenant,
        invoice_id,
        type="reminder",
        channel="email",
        step="reminder_1",
        performed_at="2026-10-19" + NOON,
    )
    await _act(
        client,
        tenant,
        invoice_id,
        type="reminder",
        channel="letter",
        step="reminder_2",
        performed_at="2026-11-02" + NOON,
    )
    await _act(client, tenant, invoice_id, type="phone_call", performed_at="2026-11-20" + NOON)
    text = flat(await _letter(client, tenant, invoice_id, "reminder_2"))
    assert "Fait à Paris, le 2 novembre 2026" in text
    assert "19 octobre 2026" in text  # the reminder sent before it
    assert "20 novembre 2026" not in text  # the call came after it
    # 2 November + 8 days = Tuesday 10 November (Wednesday 11 is a holiday, not reached).
    assert "au plus tard le 10 novembre 2026" in text


async def test_letter_as_of_is_validated(client, tenant):
    made = await ledger(client, tenant)
    url = f"/v1/invoices/{made['invoice']['id']}/letters/formal_notice"
    for params in (
        {"as_of": "2026-13-01"},
        {"as_of": "1850-01-01"},
        {"as_of": "2026-01-14"},  # before the invoice's issue date (15 January)
    ):
        response = await client.get(url, params=params, headers=tenant.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    before = await client.get(url, params={"as_of": "2026-01-14"}, headers=tenant.headers)
    assert [e["loc"] for e in before.json()["errors"]] == [["query", "as_of"]]

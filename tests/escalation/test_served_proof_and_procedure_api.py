"""Issue 15, items 5 and 7 through the API: proof dates as dates or RFC 3339 timestamps, a mise en
demeure served by a commissaire de justice (`proof.served_on`), and the actions of the uncontested
commercial claims procedure with their rules and their timeline."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import create_creditor, create_debtor, create_invoice, ledger

NOON = "T10:00:00+01:00"


async def _action(client, tenant, invoice_id, **body):
    return await client.post(
        f"/v1/invoices/{invoice_id}/actions", json=body, headers=tenant.headers
    )


async def _invoice(client, tenant, invoice_id):
    return (await client.get(f"/v1/invoices/{invoice_id}", headers=tenant.headers)).json()


async def _timeline(client, tenant, invoice_id):
    response = await client.get(f"/v1/invoices/{invoice_id}/timeline", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _locs(response):
    return [e["loc"] for e in response.json().get("errors", [])]


async def test_a_served_mise_en_demeure_runs_from_its_date_of_service(client, tenant):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    invoice_id = made["invoice"]["id"]
    sent = await _action(
        client,
        tenant,
        invoice_id,
        type="formal_notice",
        channel="commissaire_de_justice",
        performed_at="2026-02-19" + NOON,
        # 23:30 UTC on 20 February is Saturday 21 February in Paris: that local day counts.
        proof={"tracking_number": "ACTE-2026-118", "served_on": "2026-02-20T23:30:00Z"},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["proof"]["served_on"] == "2026-02-21"
    invoice = await _invoice(client, tenant, invoice_id)
    # 21 February + 8 days = Sunday 1 March -> Monday 2 March.
    assert invoice["dunning"]["formal_notice_deadline"] == "2026-03-02"
    assert invoice["dunning"]["stage"] == "formal_notice_sent"
    readiness = (
        await client.get(f"/v1/invoices/{invoice_id}/litigation-readiness", headers=tenant.headers)
    ).json()
    received = next(c for c in readiness["checks"] if c["code"] == "formal_notice_received")
    assert received["ok"] is True
    assert "2026-02-21" in received["detail"]
    items = (await _timeline(client, tenant, invoice_id))["items"]
    recorded = next(i for i in items if i["kind"] == "action")
    assert recorded["detail"]["served_on"] == "2026-02-21"


async def test_the_date_of_service_completes_a_served_notice_later(client, tenant):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    invoice_id = made["invoice"]["id"]
    sent = await _action(
        client,
        tenant,
        invoice_id,
        type="formal_notice",
        channel="commissaire_de_justice",
        performed_at="2026-02-16" + NOON,
        proof={"tracking_number": "ACTE-7"},
    )
    assert sent.status_code == 201, sent.text
    assert (await _invoice(client, tenant, invoice_id))["dunning"]["formal_notice_deadline"] is None
    url = f"/v1/actions/{sent.json()['id']}"
    patched = await client.patch(
        url, json={"proof": {"served_on": "2026-02-17T09:12:00+01:00"}}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["proof"]["served_on"] == "2026-02-17"
    # 17 February + 8 = Wednesday 25 February.
    invoice = await _invoice(client, tenant, invoice_id)
    assert invoice["dunning"]["formal_notice_deadline"] == "2026-02-25"
    # The same local day again (another instant of it) is not a rewrite; another day is.
    same = await client.patch(
        url, json={"proof": {"served_on": "2026-02-17T18:00:00+01:00"}}, headers=tenant.headers
    )
    assert same.status_code == 200, same.text
    other = await client.patch(
        url, json={"proof": {"served_on": "2026-02-18"}}, headers=tenant.headers
    )
    assert other.status_code == 409


async def test_registered_letter_proof_takes_timestamps_as_their_local_day(client, tenant):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    sent = await _action(
        client,
        tenant,
        made["invoice"]["id"],
        type="formal_notice",
        channel="registered_letter",
        performed_at="2026-02-18" + NOON,
        proof={
            "tracking_number": "1A00123",
            "presented_at": "2026-02-19T08:05:00.123+01:00",
            "acknowledged_at": "2026-02-20T23:10:00Z",
        },
    )
    assert sent.status_code == 201, sent.text
    proof = sent.json()["proof"]
    assert proof["presented_at"] == "2026-02-19"
    assert proof["acknowledged_at"] == "2026-02-21"  # Saturday in Paris
    assert proof["served_on"] is None
    invoice = await _invoice(client, tenant, made["invoice"]["id"])
    assert invoice["dunning"]["formal_notice_deadline"] == "2026-03-02"  # 1 March is a Sunday


@pytest.mark.parametrize(
    ("proof", "loc"),
    [
        ({"acknowledged_at": "2026-02-20T10:00:00"}, ["body", "proof", "acknowledged_at"]),
        ({"presented_at": "20/02/2026"}, ["body", "proof", "presented_at"]),
        ({"acknowledged_at": 1771581600}, ["body", "proof", "acknowledged_at"]),
        ({"served_on": "2026-02-30"}, ["body", "proof", "served_on"]),
        ({"served_on": "2026-02-20"}, ["body", "proof", "served_on"]),  # not by a commissaire
        ({"acknowledged_at": "2026-02-17T23:00:00Z"}, ["body", "proof", "acknowledged_at"]),
    ],
)
async def test_bad_proof_dates_are_422_with_their_location(client, tenant, proof, loc):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    response = await _action(
        client,
        tenant,
        made["invoice"]["id"],
        type="formal_notice",
        channel="registered_letter",
        performed_at="2026-02-19" + NOON,
        proof={"tracking_number": "1A", **proof},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert loc in _locs(response)


async def test_served_on_on_a_registered_letter_is_422_on_patch_too(client, tenant):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    sent = await _action(
        client,
        tenant,
        made["invoice"]["id"],
        type="formal_notice",
        channel="registered_letter",
        performed_at="2026-02-19" + NOON,
        proof={"tracking_number": "1A"},
    )
    patched = await client.patch(
        f"/v1/actions/{sent.json()['id']}",
        json={"proof": {"served_on": "2026-02-20"}},
        headers=tenant.headers,
    )
    assert patched.status_code == 422
    assert ["body", "proof", "served_on"] in _locs(patched)


async def _commandement(client, tenant, invoice_id, **overrides):
    body = {
        "type": "commandement_de_payer",
        "performed_at": "2026-01-20" + NOON,
        "proof": {"tracking_number": "CDP-2026-001", "served_on": "2026-01-21"},
        **overrides,
    }
    return await _action(client, tenant, invoice_id, **body)


async def test_the_procedure_from_commandement_to_titre_executoire(client, tenant, clock):
    made = await ledger(
        client, tenant, issue_date="2026-01-01", due_date="2026-01-15", amount="48000.00"
    )
    invoice_id = made["invoice"]["id"]
    cmd = await _commandement(client, tenant, invoice_id)
    assert cmd.status_code == 201, cmd.text
    assert cmd.json()["channel"] == "commissaire_de_justice"  # the default for the act
    invoice = await _invoice(client, tenant, invoice_id)
    assert invoice["dunning"]["stage"] == "litigation"

    # Served on Wednesday 21 January: the month ends on Saturday 21 February -> Monday 23;
    # the PV from Tuesday 3 March. Today is Monday 2 March.
    items = (await _timeline(client, tenant, invoice_id))["items"]
    steps = {i["type"]: i for i in items if i["type"].startswith("uncontested_claim.")}
    month = steps["uncontested_claim.contest_period_ends"]
    assert (month["date"], month["kind"]) == ("2026-02-23", "due")
    assert "un mois" in month["detail"]["explanation"]
    assert month["detail"]["served_on"] == "2026-01-21"
    pv_step = steps["uncontested_claim.pv_non_contestation"]
    assert (pv_step["date"], pv_step["kind"]) == ("2026-03-03", "planned")
    assert "procès-verbal de non-contestation" in pv_step["detail"]["explanation"]

    early = await _action(
        client, tenant, invoice_id, type="pv_non_contestation", performed_at="2026-03-02" + NOON
    )
    assert early.status_code == 422, early.text
    assert ["body", "performed_at"] in _locs(early)
    assert "2026-03-03" in early.json()["detail"]

    clock.set(dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC))
    pv = await _action(
        client, tenant, invoice_id, type="pv_non_contestation", performed_at="2026-03-03" + NOON
    )
    assert pv.status_code == 201, pv.text
    items = (await _timeline(client, tenant, invoice_id))["items"]
    assert [i["type"] for i in items if i["type"].startswith("uncontested_claim.")] == [
        "uncontested_claim.titre_executoire"
    ]
    title = await _action(
        client, tenant, invoice_id, type="titre_executoire", performed_at="2026-03-03T11:00:00Z"
    )
    assert title.status_code == 201, title.text
    items = (await _timeline(client, tenant, invoice_id))["items"]
    nxt = [i for i in items if i["type"].startswith("uncontested_claim.")]
    assert [i["type"] for i in nxt] == ["uncontested_claim.execution"]
    assert "exécution forcée" in nxt[0]["detail"]["explanation"]


async def test_a_commandement_without_its_date_of_service_waits_for_it(client, tenant):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    invoice_id = made["invoice"]["id"]
    cmd = await _commandement(client, tenant, invoice_id, proof={"tracking_number": "CDP-1"})
    assert cmd.status_code == 201, cmd.text
    items = (await _timeline(client, tenant, invoice_id))["items"]
    assert [i["type"] for i in items if i["type"].startswith("uncontested_claim.")] == [
        "uncontested_claim.awaiting_service"
    ]
    pv = await _action(
        client, tenant, invoice_id, type="pv_non_contestation", performed_at="2026-03-02" + NOON
    )
    assert pv.status_code == 422
    assert cmd.json()["id"] in pv.json()["detail"]


async def test_commandement_rules(client, tenant):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    invoice_id = made["invoice"]["id"]
    by_letter = await _commandement(client, tenant, invoice_id, channel="registered_letter")
    assert by_letter.status_code == 422
    assert ["body", "proof", "served_on"] in _locs(by_letter)
    no_reference = await _commandement(
        client, tenant, invoice_id, proof={"served_on": "2026-01-21"}
    )
    assert no_reference.status_code == 422
    assert ["body", "proof", "tracking_number"] in _locs(no_reference)
    not_due = await _commandement(
        client,
        tenant,
        invoice_id,
        performed_at="2026-01-14" + NOON,
        proof={"tracking_number": "CDP-1"},
    )
    assert not_due.status_code == 422
    assert ["body", "performed_at"] in _locs(not_due)
    pv_first = await _action(
        client, tenant, invoice_id, type="pv_non_contestation", performed_at="2026-03-02" + NOON
    )
    assert pv_first.status_code == 422
    assert ["body", "type"] in _locs(pv_first)
    letter_pv = await _action(
        client,
        tenant,
        invoice_id,
        type="pv_non_contestation",
        channel="letter",
        performed_at="2026-03-02" + NOON,
    )
    assert letter_pv.status_code == 422
    assert ["body", "channel"] in _locs(letter_pv)

    disputed = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    opened = await client.post(
        f"/v1/invoices/{disputed['invoice']['id']}/disputes",
        json={"reason": "quality", "note": "scratched"},
        headers=tenant.headers,
    )
    assert opened.status_code == 201, opened.text
    contested = await _commandement(client, tenant, disputed["invoice"]["id"])
    assert contested.status_code == 422
    assert "dispute" in contested.json()["detail"]

    creditor = await create_creditor(client, tenant)
    consumer = await create_debtor(client, tenant, creditor["id"], kind="consumer", name="Jean")
    invoice = await create_invoice(
        client, tenant, creditor["id"], consumer["id"], number="C-1", due_date="2026-01-15"
    )
    refused = await _commandement(client, tenant, invoice["id"])
    assert refused.status_code == 422
    assert ["body", "type"] in _locs(refused)
    assert "consumer" in refused.json()["detail"]

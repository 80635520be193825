"""Issue 15, item 7: readiness recommends the procédure simplifiée de recouvrement des créances
commerciales incontestées (loi du 23 avril 2026, CPCE L126-1 and following) for an eligible B2B
claim, says why not otherwise, follows it once started, and explains every procedure in French."""

from __future__ import annotations

from tests.factories import create_creditor, create_debtor, create_invoice, ledger

NOON = "T10:00:00+01:00"
UNCONTESTED = "creances_commerciales_incontestees"


async def _readiness(client, tenant, invoice_id):
    response = await client.get(
        f"/v1/invoices/{invoice_id}/litigation-readiness", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    failing = {c["code"] for c in body["uncontested_claim"]["conditions"] if not c["ok"]}
    return body, failing


async def _purchase_order(client, tenant, invoice_id):
    response = await client.post(
        f"/v1/invoices/{invoice_id}/documents",
        json={"kind": "purchase_order", "reference": "BC-2026-77"},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text


async def test_an_eligible_b2b_claim_is_recommended_the_new_procedure(client, tenant):
    # No amount limit: 48,000 EUR, far above the petites créances ceiling.
    made = await ledger(
        client, tenant, issue_date="2026-01-01", due_date="2026-01-15", amount="48000.00"
    )
    invoice_id = made["invoice"]["id"]
    await _purchase_order(client, tenant, invoice_id)
    body, failing = await _readiness(client, tenant, invoice_id)
    assert failing == set()
    assert body["uncontested_claim"]["eligible"] is True
    assert body["uncontested_claim"]["verified"] is False  # the promulgated text was not found
    assert body["uncontested_claim"]["started"] is False
    assert "L126-1" in body["uncontested_claim"]["legal_basis"]
    assert body["recommended_procedure"] == UNCONTESTED
    assert "injonction_de_payer" in body["alternatives"]
    assert UNCONTESTED not in body["alternatives"]
    assert "commandement de payer" in body["explanation"]
    assert "un mois" in body["explanation"]
    assert [p["procedure"] for p in body["procedures"]] == [UNCONTESTED, *body["alternatives"]]
    assert all(p["explanation"] for p in body["procedures"])
    assert body["court"] == "tribunal_de_commerce"


async def test_without_the_debtors_commitment_on_file_the_court_route_stays(client, tenant):
    made = await ledger(
        client, tenant, issue_date="2026-01-01", due_date="2026-01-15", amount="48000.00"
    )
    body, failing = await _readiness(client, tenant, made["invoice"]["id"])
    assert failing == {"claim_certain"}
    assert body["recommended_procedure"] == "injonction_de_payer"
    detail = next(
        c["detail"] for c in body["uncontested_claim"]["conditions"] if c["code"] == "claim_certain"
    )
    assert "bon de commande" in detail
    assert "ordonnance" in body["explanation"]  # the injonction de payer, explained


async def test_a_claim_not_yet_due_or_contested_is_not_eligible(client, tenant):
    early = await ledger(
        client, tenant, number="F-early", issue_date="2026-02-20", due_date="2026-04-30"
    )
    await _purchase_order(client, tenant, early["invoice"]["id"])
    body, failing = await _readiness(client, tenant, early["invoice"]["id"])
    assert failing == {"claim_due"}
    assert body["recommended_procedure"] != UNCONTESTED

    disputed = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    invoice_id = disputed["invoice"]["id"]
    await _purchase_order(client, tenant, invoice_id)
    opened = await client.post(
        f"/v1/invoices/{invoice_id}/disputes",
        json={"reason": "quality", "note": "scratched"},
        headers=tenant.headers,
    )
    assert opened.status_code == 201, opened.text
    body, failing = await _readiness(client, tenant, invoice_id)
    assert failing == {"not_contested"}
    assert body["recommended_procedure"] == "mediation"
    assert "médiateur des entreprises" in body["explanation"]
    # A dispute resolved in the debtor's favour keeps the claim contested.
    resolved = await client.post(
        f"/v1/disputes/{opened.json()['id']}/resolve",
        json={"resolution": "upheld", "note": "the goods were scratched"},
        headers=tenant.headers,
    )
    assert resolved.status_code == 200, resolved.text
    body, failing = await _readiness(client, tenant, invoice_id)
    assert "not_contested" in failing
    assert body["recommended_procedure"] != UNCONTESTED


async def test_a_consumer_claim_is_not_eligible(client, tenant):
    creditor = await create_creditor(client, tenant)
    consumer = await create_debtor(
        client, tenant, creditor["id"], kind="consumer", name="Jean Dupont"
    )
    invoice = await create_invoice(
        client, tenant, creditor["id"], consumer["id"], number="C-1", due_date="2026-01-15"
    )
    await _purchase_order(client, tenant, invoice["id"])
    body, failing = await _readiness(client, tenant, invoice["id"])
    assert failing == {"invoiced_between_businesses"}
    assert body["recommended_procedure"] == "petites_creances"
    assert UNCONTESTED not in body["alternatives"]
    assert body["court"] == "tribunal_judiciaire"


async def test_readiness_follows_a_started_procedure(client, tenant):
    made = await ledger(
        client, tenant, issue_date="2026-01-01", due_date="2026-01-15", amount="12000.00"
    )
    invoice_id = made["invoice"]["id"]
    await _purchase_order(client, tenant, invoice_id)
    cmd = await client.post(
        f"/v1/invoices/{invoice_id}/actions",
        json={
            "type": "commandement_de_payer",
            "performed_at": "2026-02-09" + NOON,
            "proof": {"tracking_number": "CDP-12", "served_on": "2026-02-10T14:00:00+01:00"},
        },
        headers=tenant.headers,
    )
    assert cmd.status_code == 201, cmd.text
    body, _ = await _readiness(client, tenant, invoice_id)
    procedure = body["uncontested_claim"]
    assert procedure["started"] is True
    assert procedure["commandement_served_on"] == "2026-02-10"
    # 10 February + 1 month = Tuesday 10 March; the PV from Wednesday 18 March.
    assert procedure["contest_period_ends_on"] == "2026-03-10"
    assert procedure["pv_possible_from"] == "2026-03-18"
    assert procedure["next_step"] == "contest_period_ends"
    assert procedure["next_step_on"] == "2026-03-10"
    assert "un mois" in procedure["next_step_explanation"]
    assert body["recommended_procedure"] == UNCONTESTED

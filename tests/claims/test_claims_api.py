from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.factories import ledger

NOON = "T10:00:00+01:00"


async def test_b2b_claim_whole_half_year(client, tenant):
    # 10,000.00 due 2024-12-31, as of 2025-06-30: 181 days at 13.15 % (2025H1)
    # = 1315 x 181 / 365 = 238015 / 365 = 652.0959 -> 652.10; plus 40.00.
    made = await ledger(
        client, tenant, issue_date="2024-12-01", due_date="2024-12-31", amount="10000.00"
    )
    claim = (
        await client.get(
            f"/v1/invoices/{made['invoice']['id']}/claim",
            params={"as_of": "2025-06-30"},
            headers=tenant.headers,
        )
    ).json()
    assert claim["interest_periods"] == [
        {
            "from": "2025-01-01",
            "to": "2025-06-30",
            "days": 181,
            "rate": "13.15",
            "principal": "10000.00",
            "amount": "652.10",
            "provisional": False,
            "contractual_rate": None,
            "rate_floor": None,
            "floor_applied": False,
        }
    ]
    assert (claim["principal"], claim["interest"], claim["fixed_indemnity"], claim["total"]) == (
        "10000.00",
        "652.10",
        "40.00",
        "10692.10",
    )
    assert claim["rate_basis"] == "b2b_default"
    assert (claim["floor_applied"], claim["interest_stopped_on"], claim["insolvency"]) == (
        False,
        None,
        None,
    )


async def test_claim_after_partial_payment_and_2026h2(client, tenant, clock):
    made = await ledger(
        client, tenant, issue_date="2026-01-01", due_date="2026-01-31", amount="1000.00"
    )
    url = f"/v1/invoices/{made['invoice']['id']}"
    await client.post(
        f"{url}/payments",
        json={"amount": "400.00", "paid_at": "2026-02-15"},
        headers=tenant.headers,
    )
    claim = (
        await client.get(f"{url}/claim", params={"as_of": "2026-07-10"}, headers=tenant.headers)
    ).json()
    periods = claim["interest_periods"]
    assert [(p["from"], p["to"], p["principal"]) for p in periods] == [
        ("2026-02-01", "2026-02-14", "1000.00"),
        ("2026-02-15", "2026-06-30", "600.00"),
        ("2026-07-01", "2026-07-10", "600.00"),
    ]
    # 2026H2: ECB 2.40 from 2026-06-17 + 10 = 12.40 (was 12.15, provisional):
    # 600 x 0.124 x 10 / 365 = 744 / 365 = 2.0384 -> 2.04
    assert periods[-1]["provisional"] is False
    assert periods[-1]["rate"] == "12.4"
    assert periods[-1]["amount"] == "2.04"
    assert claim["provisional"] is False
    # 2027H1 is not known yet: the last known ECB rate (2.65) + 10, flagged.
    later = (
        await client.get(f"{url}/claim", params={"as_of": "2027-01-10"}, headers=tenant.headers)
    ).json()
    assert (later["interest_periods"][-1]["rate"], later["provisional"]) == ("12.65", True)


async def test_contractual_rate_below_a_later_half_year_floor_is_raised_per_period(client, tenant):
    # 10 % is valid today (floor 3 x 2.62 = 7.86) but was below the floor in 2024H1
    # (3 x 5.07 = 15.21): 1,000.00 due 2023-12-31, as of 2024-07-31:
    # 2024H1: 182 days at 15.21 = 75.84 (floor applied); 2024H2: 31 days at 3 x 4.92 = 14.76:
    # 1000 x 0.1476 x 31 / 365 = 4575.6 / 365 = 12.5359 -> 12.54 (floor applied).
    made = await ledger(
        client,
        tenant,
        issue_date="2023-12-01",
        due_date="2023-12-31",
        amount="1000.00",
        late_penalty_rate="10",
    )
    claim = (
        await client.get(
            f"/v1/invoices/{made['invoice']['id']}/claim",
            params={"as_of": "2024-07-31"},
            headers=tenant.headers,
        )
    ).json()
    assert [
        (p["from"], p["rate"], p["contractual_rate"], p["rate_floor"], p["floor_applied"])
        for p in claim["interest_periods"]
    ] == [
        ("2024-01-01", "15.21", "10", "15.21", True),
        ("2024-07-01", "14.76", "10", "14.76", True),
    ]
    assert [p["amount"] for p in claim["interest_periods"]] == ["75.84", "12.54"]
    assert (claim["rate_basis"], claim["floor_applied"], claim["interest"]) == (
        "contractual",
        True,
        "88.38",
    )
    # Where the agreed rate is above the floor it applies as agreed (2026H1: floor 7.86).
    recent = (
        await client.get(
            f"/v1/invoices/{made['invoice']['id']}/claim",
            params={"as_of": "2026-01-31"},
            headers=tenant.headers,
        )
    ).json()
    last = recent["interest_periods"][-1]
    assert (last["from"], last["rate"], last["rate_floor"], last["floor_applied"]) == (
        "2026-01-01",
        "10",
        "7.86",
        False,
    )


async def test_consumer_claim_runs_from_the_formal_notice_and_has_no_indemnity(client, tenant):
    from tests.factories import create_creditor, create_debtor, create_invoice

    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(
        client, tenant, creditor["id"], kind="consumer", name="Jean Dupont"
    )
    invoice = await create_invoice(
        client,
        tenant,
        creditor["id"],
        debtor["id"],
        issue_date="2025-12-01",
        due_date="2025-12-31",
        amount="2000.00",
    )
    url = f"/v1/invoices/{invoice['id']}"
    before = (
        await client.get(f"{url}/claim", params={"as_of": "2026-02-28"}, headers=tenant.headers)
    ).json()
    assert (before["interest"], before["fixed_indemnity"], before["rate_basis"]) == (
        "0.00",
        "0.00",
        "none",
    )
    await client.post(
        f"{url}/actions",
        json={
            "type": "formal_notice",
            "channel": "registered_letter",
            "performed_at": "2026-02-02" + NOON,
            "proof": {"tracking_number": "1A", "acknowledged_at": "2026-02-04"},
        },
        headers=tenant.headers,
    )
    after = (
        await client.get(f"{url}/claim", params={"as_of": "2026-02-28"}, headers=tenant.headers)
    ).json()
    assert after["fixed_indemnity"] == "0.00"
    assert after["interest_periods"][0]["from"] == "2026-02-04"
    assert after["interest_periods"][0]["rate"] == "2.62"  # taux légal 2026H1, other cases
    assert after["rate_basis"] == "legal_other"


async def test_paid_invoice_still_shows_penalties(client, tenant):
    made = await ledger(
        client, tenant, issue_date="2026-01-01", due_date="2026-01-15", amount="500.00"
    )
    url = f"/v1/invoices/{made['invoice']['id']}"
    await client.post(
        f"{url}/payments",
        json={"amount": "500.00", "paid_at": "2026-02-14"},
        headers=tenant.headers,
    )
    claim = (await client.get(f"{url}/claim", headers=tenant.headers)).json()
    assert claim["principal"] == "0.00"
    assert claim["fixed_indemnity"] == "40.00"
    assert claim["interest"] != "0.00"


async def test_contractual_rate_floor(client, tenant):
    # 3 x 2.62 (taux légal 2026H1, other cases) = 7.86
    made = await ledger(client, tenant)
    too_low = await client.patch(
        f"/v1/creditors/{made['creditor']['id']}",
        json={"late_penalty_rate": "7.5"},
        headers=tenant.headers,
    )
    assert too_low.status_code == 422
    assert "7.86" in too_low.json()["detail"]
    ok = await client.patch(
        f"/v1/creditors/{made['creditor']['id']}",
        json={"late_penalty_rate": "10"},
        headers=tenant.headers,
    )
    assert ok.status_code == 200
    invoice = await client.patch(
        f"/v1/invoices/{made['invoice']['id']}",
        json={"late_penalty_rate": "1"},
        headers=tenant.headers,
    )
    assert invoice.status_code == 422


async def test_rates_and_publishing_a_half_year(client, tenant, admin_headers, clock):
    import datetime as dt

    rates = (await client.get("/v1/rates", headers=tenant.headers)).json()
    b2b = {(r["year"], r["half"]): r for r in rates["b2b_default"]}
    assert b2b[(2025, 2)]["rate"] == "12.15"
    assert rates["current"]["legal_other"]["provisional"] is False  # 2026H1 is published
    clock.set(dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
    assert (await client.get("/v1/rates", headers=tenant.headers)).json()["current"]["legal_other"][
        "provisional"
    ] is True
    published = await client.post(
        "/v1/admin/rates",
        json={
            "kind": "legal_other",
            "year": 2026,
            "half": 2,
            "rate": "2.70",
            "source": "arrêté du 20 juin 2026",
        },
        headers=admin_headers,
    )
    assert published.status_code == 201, published.text
    assert published.json()["current"]["legal_other"]["provisional"] is False
    assert (
        await client.post(
            "/v1/admin/rates",
            json={"kind": "b2b_default", "year": 2026, "half": 3, "rate": "1", "source": "x"},
            headers=admin_headers,
        )
    ).status_code == 422
    assert (
        await client.post(
            "/v1/admin/rates",
            json={"kind": "b2b_default", "year": 2026, "half": 2, "rate": "1", "source": "x"},
            headers=tenant.headers,
        )
    ).status_code == 401


MANDATORY = [
    "Mise en demeure de payer",
    "recommandée avec accusé de réception",
    "Atelier Dupont SARL",
    "Client Martin SAS",
    "F-2026-001",
    "1 250,00",
    "L441-10",
    "D441-5",
    "40,00",
    "FR14 2004 1010 0505 0001 3M02 606",
    "BNPAFRPPXXX",
    "8 jours",
    "injonction de payer",
]


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.parametrize("accept", ["text/plain", "text/html", "application/pdf"])
async def test_formal_notice_letter_carries_every_mention(client, tenant, accept):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-31")
    url = f"/v1/invoices/{made['invoice']['id']}"
    await client.post(
        f"{url}/actions",
        json={"type": "reminder", "channel": "email", "performed_at": "2026-02-04" + NOON},
        headers=tenant.headers,
    )
    response = await client.get(
        f"{url}/letters/formal_notice", headers={**tenant.headers, "Accept": accept}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept)
    text = _pdf_text(response.content) if accept == "application/pdf" else response.text
    flat = " ".join(text.split()).replace("\u00a0", " ").replace("\u202f", " ")
    for mention in MANDATORY:
        assert mention in flat, (mention, accept)
    assert "4 février 2026" in flat  # the reminder already sent


async def test_consumer_letters_claim_no_indemnity(client, tenant):
    from tests.factories import create_creditor, create_debtor, create_invoice

    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(
        client, tenant, creditor["id"], kind="consumer", name="Jean Dupont"
    )
    invoice = await create_invoice(
        client, tenant, creditor["id"], debtor["id"], due_date="2026-01-31"
    )
    for kind in ("reminder_1", "reminder_2", "formal_notice"):
        text = (
            await client.get(
                f"/v1/invoices/{invoice['id']}/letters/{kind}",
                headers={**tenant.headers, "Accept": "text/plain"},
            )
        ).text
        assert "40,00" not in text
        assert "frais de recouvrement" not in text.lower()
        assert "D441-5" not in text


async def test_letter_negotiation(client, tenant):
    made = await ledger(client, tenant)
    url = f"/v1/invoices/{made['invoice']['id']}/letters"
    assert (
        await client.get(
            f"{url}/reminder_1", headers={**tenant.headers, "Accept": "application/xml"}
        )
    ).status_code == 406
    default = await client.get(f"{url}/reminder_1", headers=tenant.headers)
    assert default.headers["content-type"].startswith("text/plain")
    html = await client.get(
        f"{url}/reminder_2",
        headers={**tenant.headers, "Accept": "application/pdf;q=0.5, text/html"},
    )
    assert html.headers["content-type"].startswith("text/html")
    assert (await client.get(f"{url}/reminder_9", headers=tenant.headers)).status_code == 422


async def test_debtor_statement(client, tenant):
    from tests.factories import create_invoice

    made = await ledger(
        client,
        tenant,
        number="A",
        issue_date="2024-12-01",
        due_date="2024-12-31",
        amount="10000.00",
    )
    await create_invoice(
        client,
        tenant,
        made["creditor"]["id"],
        made["debtor"]["id"],
        number="B",
        issue_date="2026-02-01",
        due_date="2026-03-31",
        amount="100.00",
    )
    statement = (
        await client.get(
            f"/v1/debtors/{made['debtor']['id']}/statement",
            params={"as_of": "2025-06-30"},
            headers=tenant.headers,
        )
    ).json()
    assert [i["number"] for i in statement["invoices"]] == ["A", "B"]
    assert statement["totals"]["interest"] == "652.10"
    assert statement["totals"]["fixed_indemnity"] == "40.00"
    assert statement["totals"]["total"] == "10792.10"


async def test_litigation_readiness(client, tenant, clock):
    made = await ledger(
        client, tenant, issue_date="2026-01-01", due_date="2026-01-15", amount="3000.00"
    )
    url = f"/v1/invoices/{made['invoice']['id']}"
    first = (await client.get(f"{url}/litigation-readiness", headers=tenant.headers)).json()
    assert first["ready"] is False
    failing = {c["code"] for c in first["checks"] if not c["ok"]}
    assert failing == {
        "formal_notice_recorded",
        "formal_notice_received",
        "formal_notice_deadline_passed",
        "proof_documents",
    }
    assert first["recommended_procedure"] == "petites_creances"
    assert first["court"] == "tribunal_de_commerce"
    await client.post(
        f"{url}/actions",
        json={
            "type": "formal_notice",
            "channel": "registered_letter",
            "performed_at": "2026-02-10" + NOON,
            "proof": {"tracking_number": "1A", "acknowledged_at": "2026-02-12"},
        },
        headers=tenant.headers,
    )
    await client.post(
        f"{url}/documents",
        json={"kind": "purchase_order", "reference": "BC-1"},
        headers=tenant.headers,
    )
    ready = (await client.get(f"{url}/litigation-readiness", headers=tenant.headers)).json()
    assert ready["ready"] is True, ready["checks"]
    big = await ledger(client, tenant, amount="6000.00", due_date="2026-01-15")
    assert (
        await client.get(
            f"/v1/invoices/{big['invoice']['id']}/litigation-readiness", headers=tenant.headers
        )
    ).json()["recommended_procedure"] == "injonction_de_payer"


@pytest.mark.parametrize(
    ("amount", "procedure"),
    [
        # 4,950.00 due 2026-01-31, today 2026-03-02: 30 days at 12.15 % =
        # 4950 x 0.1215 x 30 / 365 = 18042.75 / 365 = 49.43; principal + interest = 4,999.43
        # <= 5,000 although the total with the 40 EUR indemnity is 5,039.43 (CPCE R125-1).
        ("4950.00", "petites_creances"),
        # 4,960.00: 4960 x 0.1215 x 30 / 365 = 49.53 -> 5,009.53 > 5,000.
        ("4960.00", "injonction_de_payer"),
    ],
)
async def test_petites_creances_counts_principal_and_interest_only(
    client, tenant, amount, procedure
):
    made = await ledger(
        client, tenant, issue_date="2026-01-01", due_date="2026-01-31", amount=amount
    )
    body, _ = await _readiness(client, tenant, made["invoice"]["id"])
    claim = body["claim"]
    assert claim["fixed_indemnity"] == "40.00"
    assert body["recommended_procedure"] == procedure, claim
    if procedure == "petites_creances":
        assert claim["principal"] == "4950.00"
        assert claim["interest"] == "49.43"
        assert claim["total"] == "5039.43"  # above 5,000 with the indemnity, still eligible


async def _readiness(client, tenant, invoice_id):
    response = await client.get(
        f"/v1/invoices/{invoice_id}/litigation-readiness", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return body, {c["code"] for c in body["checks"] if not c["ok"]}


async def test_litigation_readiness_for_a_consumer_a_dispute_and_insolvency(client, tenant):
    consumer = await ledger(
        client, tenant, issue_date="2026-01-01", due_date="2026-01-15", amount="300.00"
    )
    await client.patch(
        f"/v1/debtors/{consumer['debtor']['id']}", json={"kind": "consumer"}, headers=tenant.headers
    )
    body, _ = await _readiness(client, tenant, consumer["invoice"]["id"])
    assert body["court"] == "tribunal_judiciaire"

    disputed = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    opened = await client.post(
        f"/v1/invoices/{disputed['invoice']['id']}/disputes",
        json={"reason": "quality", "note": "scratched"},
        headers=tenant.headers,
    )
    assert opened.status_code == 201, opened.text
    body, failing = await _readiness(client, tenant, disputed["invoice"]["id"])
    assert "no_open_dispute" in failing
    assert body["recommended_procedure"] == "mediation"

    insolvent = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-15")
    await client.patch(
        f"/v1/debtors/{insolvent['debtor']['id']}",
        json={"insolvency": {"procedure": "redressement_judiciaire", "opened_on": "2026-02-01"}},
        headers=tenant.headers,
    )
    body, failing = await _readiness(client, tenant, insolvent["invoice"]["id"])
    assert "debtor_not_insolvent" in failing
    assert body["recommended_procedure"] == "declaration_de_creance"
    # No BODACC date recorded yet: no deadline, and the check says what starts it.
    assert body["insolvency"]["declaration_deadline"] is None
    detail = next(c["detail"] for c in body["checks"] if c["code"] == "debtor_not_insolvent")
    assert "BODACC publication not recorded" in detail


async def test_litigation_readiness_of_a_time_barred_invoice(client, tenant, clock):
    # B2B: 5 years from the due date (C. com. L110-4); the service clock is in 2026.
    old = await ledger(client, tenant, issue_date="2020-01-01", due_date="2020-01-31")
    _, failing = await _readiness(client, tenant, old["invoice"]["id"])
    assert "not_time_barred" in failing
    recent = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-31")
    _, failing = await _readiness(client, tenant, recent["invoice"]["id"])
    assert "not_time_barred" not in failing

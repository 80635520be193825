"""Collective proceedings: interest stops at the opening judgment (C. com. L622-28); the claim,
the debtor's statement and readiness show the declaration deadline (BODACC publication + 2
months, R622-24) and the amounts to declare."""

from __future__ import annotations

from tests.factories import create_creditor, create_debtor, create_invoice

# Redressement opened on Tuesday 24 February 2026, published in the BODACC on 27 February.
INSOLVENCY = {
    "procedure": "redressement_judiciaire",
    "opened_on": "2026-02-24",
    "published_on": "2026-02-27",
}


async def _insolvent_debtor_with_invoices(client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    invoices = {}
    for number, issue, due, amount in (
        ("A", "2025-12-01", "2025-12-31", "1000.00"),  # late before the opening
        ("B", "2026-02-20", "2026-03-20", "500.00"),  # prior claim, not yet due at the opening
        ("C", "2026-02-25", "2026-03-10", "300.00"),  # issued after the opening judgment
    ):
        invoices[number] = await create_invoice(
            client,
            tenant,
            creditor["id"],
            debtor["id"],
            number=number,
            issue_date=issue,
            due_date=due,
            amount=amount,
        )
    patched = await client.patch(
        f"/v1/debtors/{debtor['id']}", json={"insolvency": INSOLVENCY}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    return debtor, invoices


async def _claim(client, tenant, invoice, as_of):
    response = await client.get(
        f"/v1/invoices/{invoice['id']}/claim", params={"as_of": as_of}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


DATES = {
    "procedure": "redressement_judiciaire",
    "opened_on": "2026-02-24",
    "published_on": "2026-02-27",
    "declaration_deadline": "2026-04-27",
    "relief_from_foreclosure_deadline": "2026-08-27",
    "amounts_as_of": "2026-02-23",
}


async def test_interest_stops_at_the_opening_and_the_claim_shows_what_to_declare(client, tenant):
    _, invoices = await _insolvent_debtor_with_invoices(client, tenant)
    # A: 1,000.00 due 2025-12-31: interest 2026-01-01 .. 2026-02-23 (the judgment takes effect
    # at zero hour of 24 February): 54 days at 12.15 % = 1000 x 0.1215 x 54 / 365
    # = 6561 / 365 = 17.9753 -> 17.98, however late the claim is asked for; plus 40.00.
    claim = await _claim(client, tenant, invoices["A"], "2026-06-30")
    assert [(p["from"], p["to"], p["days"]) for p in claim["interest_periods"]] == [
        ("2026-01-01", "2026-02-23", 54)
    ]
    assert (claim["interest"], claim["fixed_indemnity"], claim["total"]) == (
        "17.98",
        "40.00",
        "1057.98",
    )
    assert claim["interest_stopped_on"] == "2026-02-24"
    assert claim["insolvency"] == {
        **DATES,
        "arose_before_opening": True,
        "due_at_opening": True,
        "to_declare": {
            "principal": "1000.00",
            "interest": "17.98",
            "fixed_indemnity": "40.00",
            "total": "1057.98",
        },
    }
    # The claim the day before the judgment is the same: nothing runs after it.
    assert (await _claim(client, tenant, invoices["A"], "2026-02-23"))["interest"] == "17.98"


async def test_a_prior_claim_not_yet_due_and_a_later_invoice(client, tenant):
    _, invoices = await _insolvent_debtor_with_invoices(client, tenant)
    not_due = (await _claim(client, tenant, invoices["B"], "2026-06-30"))["insolvency"]
    assert (not_due["arose_before_opening"], not_due["due_at_opening"]) == (True, False)
    assert not_due["to_declare"] == {
        "principal": "500.00",
        "interest": "0.00",
        "fixed_indemnity": "0.00",
        "total": "500.00",
    }
    # C was issued after the opening: not a prior claim, its interest is not stopped:
    # 300.00 due 2026-03-10, as of 2026-03-31: 21 days at 12.15 % = 300 x 0.1215 x 21 / 365
    # = 765.45 / 365 = 2.0971 -> 2.10.
    later = await _claim(client, tenant, invoices["C"], "2026-03-31")
    assert later["interest"] == "2.10"
    assert later["interest_stopped_on"] is None
    assert later["insolvency"]["arose_before_opening"] is False
    assert later["insolvency"]["to_declare"] is None


async def test_statement_shows_the_deadline_and_the_totals_to_declare(client, tenant):
    debtor, _ = await _insolvent_debtor_with_invoices(client, tenant)
    statement = (
        await client.get(
            f"/v1/debtors/{debtor['id']}/statement",
            params={"as_of": "2026-06-30"},
            headers=tenant.headers,
        )
    ).json()
    assert [line["number"] for line in statement["invoices"]] == ["A", "C", "B"]  # by due date
    assert statement["insolvency"] == {
        **DATES,
        # A (1,057.98) and B (500.00); C is not declared.
        "to_declare": {
            "principal": "1500.00",
            "interest": "17.98",
            "fixed_indemnity": "40.00",
            "total": "1557.98",
        },
    }
    assert statement["invoices"][0]["insolvency"]["to_declare"]["total"] == "1057.98"


async def test_readiness_recommends_the_declaration_with_its_deadline(client, tenant):
    _, invoices = await _insolvent_debtor_with_invoices(client, tenant)
    response = await client.get(
        f"/v1/invoices/{invoices['A']['id']}/litigation-readiness", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recommended_procedure"] == "declaration_de_creance"
    assert body["ready"] is False
    assert body["insolvency"]["declaration_deadline"] == "2026-04-27"
    assert body["insolvency"]["to_declare"]["total"] == "1057.98"
    assert body["claim"]["interest"] == "17.98"  # today (2026-03-02), stopped on 24 February
    check = next(c for c in body["checks"] if c["code"] == "debtor_not_insolvent")
    assert check["ok"] is False
    assert "2026-04-27" in check["detail"]
    assert "1057.98" in check["detail"]


async def test_clearing_the_insolvency_restores_the_interest(client, tenant):
    debtor, invoices = await _insolvent_debtor_with_invoices(client, tenant)
    await client.patch(
        f"/v1/debtors/{debtor['id']}", json={"insolvency": None}, headers=tenant.headers
    )
    claim = await _claim(client, tenant, invoices["A"], "2026-06-30")
    assert claim["insolvency"] is None
    assert claim["interest_stopped_on"] is None
    assert claim["interest"] != "17.98"


async def test_statement_of_a_solvent_debtor_has_no_insolvency(client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    statement = (
        await client.get(f"/v1/debtors/{debtor['id']}/statement", headers=tenant.headers)
    ).json()
    assert statement["insolvency"] is None

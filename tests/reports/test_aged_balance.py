"""Aged balance on the known ledger (tests/reports/conftest.py): buckets, totals, per debtor, CSV."""

from __future__ import annotations

import csv
import io

import pytest

from app.reports.schemas import AgedBalance
from tests.factories import create_creditor, create_debtor, create_invoice
from tests.reports.conftest import AS_OF

URL = "/v1/reports/aged-balance"
BUCKETS = ["not_due", "1_30", "31_60", "61_90", "over_90"]

EXPECTED_BUCKETS = [
    {"bucket": "not_due", "count": 2, "amount": "1150.00"},  # A1 1000.00, B4 150.00 (0 days)
    {"bucket": "1_30", "count": 2, "amount": "633.33"},  # A2 300.00 (24), B6 333.33 (30)
    {"bucket": "31_60", "count": 2, "amount": "850.00"},  # A3 800.00 (59), B5 50.00 (60)
    {"bucket": "61_90", "count": 2, "amount": "1275.50"},  # A7 75.50 (90), B1 1200.00 (70)
    {"bucket": "over_90", "count": 3, "amount": "1760.00"},  # A4 250, A8 10 (91), A9 1500
]
ALPHA = {
    "not_due": {"count": 1, "amount": "1000.00"},
    "1_30": {"count": 1, "amount": "300.00"},
    "31_60": {"count": 1, "amount": "800.00"},
    "61_90": {"count": 1, "amount": "75.50"},
    "over_90": {"count": 3, "amount": "1760.00"},
}
BETA = {
    "not_due": {"count": 1, "amount": "150.00"},
    "1_30": {"count": 1, "amount": "333.33"},
    "31_60": {"count": 1, "amount": "50.00"},
    "61_90": {"count": 1, "amount": "1200.00"},
    "over_90": {"count": 0, "amount": "0.00"},
}


async def test_buckets_totals_and_debtors_on_the_known_ledger(client, tenant, known_ledger):
    response = await client.get(
        URL, params={"creditor_id": known_ledger.creditor, "as_of": AS_OF}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "as_of": AS_OF,
        "currency": "EUR",
        "creditor_id": known_ledger.creditor,
        "buckets": EXPECTED_BUCKETS,
        # Paid (A5), cancelled (A6), written-off (B2) and issued after as_of (B3) are out;
        # B1, paid after as_of, is in with its whole balance at as_of.
        "total": {"count": 11, "amount": "5668.83"},
        "debtors": [
            {
                "debtor_id": known_ledger.alpha,
                "name": "Alpha SARL",
                "buckets": ALPHA,
                "total": {"count": 7, "amount": "3935.50"},
            },
            {
                "debtor_id": known_ledger.beta,
                "name": "Beta, Fils & Cie",
                "buckets": BETA,
                "total": {"count": 4, "amount": "1733.33"},
            },
        ],
    }


async def test_the_json_is_the_published_schema(client, tenant, known_ledger):
    # The report is written without its model (app.reports.service.aged_balance): it must still
    # be exactly what the OpenAPI schema says, field for field.
    response = await client.get(
        URL, params={"creditor_id": known_ledger.creditor, "as_of": AS_OF}, headers=tenant.headers
    )
    report = AgedBalance.model_validate_json(response.content)
    assert report.model_dump(mode="json", by_alias=True) == response.json()
    assert len(report.debtors) == 2
    assert response.headers["vary"] == "Accept"


async def test_default_as_of_is_the_service_today(client, tenant, known_ledger):
    # Today (2026-03-02): B1 is paid, B3 (700.00, issued 2026-03-01) is outstanding.
    body = (
        await client.get(URL, params={"creditor_id": known_ledger.creditor}, headers=tenant.headers)
    ).json()
    assert body["as_of"] == "2026-03-02"
    assert body["total"] == {"count": 11, "amount": "5168.83"}
    beta = next(d for d in body["debtors"] if d["debtor_id"] == known_ledger.beta)
    # Two days later every Beta invoice moved: B3 is not due, B4 (due 2026-02-28) 2 days late,
    # B6 32 days, B5 62 days.
    assert beta["buckets"] == {
        "not_due": {"count": 1, "amount": "700.00"},
        "1_30": {"count": 1, "amount": "150.00"},
        "31_60": {"count": 1, "amount": "333.33"},
        "61_90": {"count": 1, "amount": "50.00"},
        "over_90": {"count": 0, "amount": "0.00"},
    }


async def test_payments_after_as_of_do_not_count(client, tenant, known_ledger):
    body = (
        await client.get(
            URL,
            params={"creditor_id": known_ledger.creditor, "as_of": "2026-02-09"},
            headers=tenant.headers,
        )
    ).json()
    alpha = next(d for d in body["debtors"] if d["debtor_id"] == known_ledger.alpha)
    # A2 (due 02-04, 200.00 paid 02-10) and A5 (due 02-01, paid in full 02-15) owe everything.
    assert alpha["buckets"]["1_30"] == {"count": 2, "amount": "900.00"}
    # A1, issued 2026-02-10, did not exist yet.
    assert alpha["buckets"]["not_due"] == {"count": 0, "amount": "0.00"}


async def test_without_creditor_all_the_tenants_creditors_count(client, tenant, known_ledger):
    body = (await client.get(URL, params={"as_of": AS_OF}, headers=tenant.headers)).json()
    assert body["creditor_id"] is None
    assert body["total"] == {"count": 12, "amount": "10668.83"}
    # X1 (5000.00, 59 days late) is the largest debtor total: listed first.
    assert body["debtors"][0]["name"] == "Gamma SA"
    assert body["debtors"][0]["buckets"]["31_60"] == {"count": 1, "amount": "5000.00"}
    assert body["buckets"][2] == {"bucket": "31_60", "count": 3, "amount": "5850.00"}


def _parse_csv(text):
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("params", "headers"),
    [({}, {"Accept": "text/csv"}), ({"format": "csv"}, {}), ({}, {"Accept": "text/csv;q=0.9"})],
)
async def test_csv_matches_the_json(client, tenant, known_ledger, params, headers):
    query = {"creditor_id": known_ledger.creditor, "as_of": AS_OF}
    as_json = (await client.get(URL, params=query, headers=tenant.headers)).json()
    response = await client.get(
        URL, params={**query, **params}, headers={**tenant.headers, **headers}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "aged-balance-2026-02-28.csv" in response.headers["content-disposition"]
    assert response.text.endswith("\r\n")
    # The comma in a name is quoted, not a column separator.
    assert f'{known_ledger.beta},"Beta, Fils & Cie",' in response.text

    rows = _parse_csv(response.text)
    assert rows[0] == ["debtor_id", "debtor_name", *BUCKETS, "total"]
    expected = [
        [
            d["debtor_id"],
            d["name"],
            *(d["buckets"][b]["amount"] for b in BUCKETS),
            d["total"]["amount"],
        ]
        for d in as_json["debtors"]
    ]
    expected.append(
        ["TOTAL", "", *(line["amount"] for line in as_json["buckets"]), as_json["total"]["amount"]]
    )
    assert rows[1:] == expected
    assert rows[-1] == ["TOTAL", "", "1150.00", "633.33", "850.00", "1275.50", "1760.00", "5668.83"]


async def test_json_stays_the_default(client, tenant, known_ledger):
    for accept in ("application/json", "*/*", "text/csv;q=0.5, application/json", "text/html"):
        response = await client.get(
            URL, params={"as_of": AS_OF}, headers={**tenant.headers, "Accept": accept}
        )
        assert response.headers["content-type"] == "application/json", accept
        assert response.headers["vary"] == "Accept"
    forced = await client.get(
        URL, params={"format": "json"}, headers={**tenant.headers, "Accept": "text/csv"}
    )
    assert forced.headers["content-type"] == "application/json"


async def test_csv_neutralises_formulas_in_names(client, tenant):
    creditor = (await create_creditor(client, tenant))["id"]
    debtor = (await create_debtor(client, tenant, creditor, name='=HYPERLINK("x")'))["id"]
    await create_invoice(client, tenant, creditor, debtor, amount="10.00")
    response = await client.get(URL, params={"format": "csv"}, headers=tenant.headers)
    rows = _parse_csv(response.text)
    assert rows[1][1] == '\'=HYPERLINK("x")'
    # The JSON keeps the name as it is.
    body = (await client.get(URL, headers=tenant.headers)).json()
    assert body["debtors"][0]["name"] == '=HYPERLINK("x")'


async def test_empty_report_has_all_buckets_at_zero(client, tenant):
    response = await client.get(URL, params={"format": "csv"}, headers=tenant.headers)
    assert _parse_csv(response.text) == [
        ["debtor_id", "debtor_name", *BUCKETS, "total"],
        ["TOTAL", "", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"],
    ]
    body = (await client.get(URL, headers=tenant.headers)).json()
    assert body["buckets"] == [{"bucket": b, "count": 0, "amount": "0.00"} for b in BUCKETS]
    assert body["total"] == {"count": 0, "amount": "0.00"}
    assert body["debtors"] == []


async def test_other_currencies_are_not_summed_with_euros(client, tenant):
    creditor = (await create_creditor(client, tenant))["id"]
    debtor = (await create_debtor(client, tenant, creditor))["id"]
    await create_invoice(client, tenant, creditor, debtor, number="E", amount="100.00")
    await create_invoice(
        client, tenant, creditor, debtor, number="U", amount="70.00", currency="USD"
    )
    eur = (await client.get(URL, headers=tenant.headers)).json()
    usd = (await client.get(URL, params={"currency": "USD"}, headers=tenant.headers)).json()
    assert (eur["currency"], eur["total"]["amount"]) == ("EUR", "100.00")
    assert (usd["currency"], usd["total"]["amount"]) == ("USD", "70.00")


@pytest.mark.parametrize(
    "params",
    [
        {"as_of": "2026-02-30"},
        {"as_of": "yesterday"},
        {"as_of": "1900-01-01"},
        {"format": "xml"},
        {"currency": "euro"},
        {"creditor_id": "x" * 41},
    ],
)
async def test_bad_parameters_are_422_problems(client, tenant, params):
    response = await client.get(URL, params=params, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"][0] == "query"


async def test_needs_an_api_key(client):
    response = await client.get(URL)
    assert response.status_code == 401

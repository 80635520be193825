"""DSO and the D441-6 payment-terms table on the known ledger (tests/reports/conftest.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.reports.service import fiscal_year_start
from tests.reports.conftest import AS_OF

DSO = "/v1/reports/dso"
TERMS = "/v1/reports/payment-terms"


async def test_dso_hand_computed(client, tenant, known_ledger):
    response = await client.get(
        DSO, params={"creditor_id": known_ledger.creditor, "as_of": AS_OF}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # Receivables = the aged balance total at 2026-02-28. Sales = invoices issued in
    # (2025-11-30, 2026-02-28]: A1 1000 + A2 500 + A3 800 + A5 400 (paid) + B2 600 (written
    # off, still a sale) + B4 150 + B5 99.99 + B6 333.33; A6 (cancelled) and B3 (after) are out.
    # 5668.83 / 3883.32 x 90 = 131.381...
    assert {k: v for k, v in body.items() if k != "method"} == {
        "as_of": AS_OF,
        "days": 90,
        "currency": "EUR",
        "creditor_id": known_ledger.creditor,
        "receivables": "5668.83",
        "sales": "3883.32",
        "dso": "131.4",
    }
    assert "receivables / sales x days" in body["method"]
    aged = await client.get(
        "/v1/reports/aged-balance",
        params={"creditor_id": known_ledger.creditor, "as_of": AS_OF},
        headers=tenant.headers,
    )
    assert aged.json()["total"]["amount"] == body["receivables"]


async def test_dso_over_30_days(client, tenant, known_ledger):
    body = (
        await client.get(
            DSO,
            params={"creditor_id": known_ledger.creditor, "as_of": AS_OF, "days": 30},
            headers=tenant.headers,
        )
    ).json()
    # Sales in (2026-01-29, 2026-02-28]: A1 1000 + B4 150. 5668.83 / 1150 x 30 = 147.88...
    assert (body["days"], body["sales"], body["dso"]) == (30, "1150.00", "147.9")


async def test_dso_is_null_without_sales(client, tenant, known_ledger):
    body = (
        await client.get(
            DSO,
            params={"creditor_id": known_ledger.creditor, "as_of": "2025-09-30", "days": 10},
            headers=tenant.headers,
        )
    ).json()
    # Only A4 (issued 2025-08-01) and A9 are outstanding then; nothing was issued in 10 days.
    assert (body["receivables"], body["sales"], body["dso"]) == ("1750.00", "0.00", None)


@pytest.mark.parametrize("days", ["0", "3651", "-5", "ninety", "1.5"])
async def test_dso_days_outside_1_3650_is_422(client, tenant, days):
    response = await client.get(DSO, params={"days": days}, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "days"]


async def test_dso_default_as_of_is_today(client, tenant):
    body = (await client.get(DSO, headers=tenant.headers)).json()
    assert (body["as_of"], body["days"], body["dso"]) == ("2026-03-02", 90, None)


async def test_payment_terms_table(client, tenant, known_ledger):
    response = await client.get(
        TERMS,
        params={"creditor_id": known_ledger.creditor, "fiscal_year_end": "2025-12-31"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    # At the closing date 2025-12-31 (days late = 2025-12-31 - due date), unpaid and past due:
    #   1_30:  B1 1200.00 (11 days; paid after closing), B5 99.99 (1 day)
    #   31_60: A7 75.50 (31; its dispute was resolved before closing), A8 20.00 (32)
    #   over_90: A4 250.00 (122)
    #   excluded (disputed at closing): A9 1500.00
    # Not late: A3 (due on the closing date), B6 (due 2026-01-29). Out: A6 cancelled, B2
    # written off; A1, A2, A5, B3, B4 issued after closing; X1 another creditor.
    # Revenue 2025 (issued 2025-01-01..2025-12-31, not cancelled): A3 800 + A4 250 + A7 75.50 +
    # A8 20 + A9 1500 + B1 1200 + B2 600 + B5 99.99 + B6 333.33 = 4878.82.
    assert response.json() == {
        "creditor_id": known_ledger.creditor,
        "currency": "EUR",
        "fiscal_year_start": "2025-01-01",
        "fiscal_year_end": "2025-12-31",
        "revenue": "4878.82",
        "buckets": [
            {
                "bucket": "1_30",
                "label": "1 à 30 jours",
                "count": 2,
                "amount": "1299.99",
                "revenue_share": "26.65",
            },
            {
                "bucket": "31_60",
                "label": "31 à 60 jours",
                "count": 2,
                "amount": "95.50",
                "revenue_share": "1.96",
            },
            {
                "bucket": "61_90",
                "label": "61 à 90 jours",
                "count": 0,
                "amount": "0.00",
                "revenue_share": "0.00",
            },
            {
                "bucket": "over_90",
                "label": "91 jours et plus",
                "count": 1,
                "amount": "250.00",
                "revenue_share": "5.12",
            },
        ],
        "total": {
            "bucket": "total",
            "label": "Total (1 jour et plus)",
            "count": 5,
            "amount": "1645.49",
            "revenue_share": "33.73",
        },
        "excluded": {"count": 1, "amount": "1500.00"},
        "reference_terms": "Délais contractuels: the due date of each invoice",
    }


async def test_payment_terms_without_revenue_has_null_shares(client, tenant, known_ledger):
    body = (
        await client.get(
            TERMS,
            params={"creditor_id": known_ledger.other_creditor, "fiscal_year_end": "2024-12-31"},
            headers=tenant.headers,
        )
    ).json()
    assert body["revenue"] == "0.00"
    assert body["total"] == {
        "bucket": "total",
        "label": "Total (1 jour et plus)",
        "count": 0,
        "amount": "0.00",
        "revenue_share": None,
    }


@pytest.mark.parametrize(
    ("end", "start"),
    [
        ("2025-12-31", "2025-01-01"),
        ("2025-06-30", "2024-07-01"),
        ("2025-02-28", "2024-03-01"),
        ("2024-02-29", "2023-03-01"),
        ("2024-02-28", "2023-03-01"),  # the day after is 29 February
    ],
)
def test_fiscal_year_is_the_12_months_ending_on_the_closing_date(end, start):
    assert fiscal_year_start(dt.date.fromisoformat(end)) == dt.date.fromisoformat(start)


@pytest.mark.parametrize(
    "params",
    [
        {"fiscal_year_end": "2025-12-31"},  # creditor_id is required here
        {"creditor_id": "cred_x"},
        {"creditor_id": "cred_x", "fiscal_year_end": "2025-13-01"},
    ],
)
async def test_payment_terms_parameters(client, tenant, params):
    response = await client.get(TERMS, params=params, headers=tenant.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"

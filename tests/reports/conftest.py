"""A known ledger for the report tests, built through the public API, with hand-computed answers.

Creditor C (tenant A), as of 2026-02-28 (days late = 2026-02-28 - due date):

| inv | debtor | issue      | due        | amount  | what happens                      | at 2026-02-28         |
|-----|--------|------------|------------|---------|-----------------------------------|-----------------------|
| A1  | Alpha  | 2026-02-10 | 2026-03-12 | 1000.00 |                                   | not_due (-12) 1000.00 |
| A2  | Alpha  | 2026-01-05 | 2026-02-04 |  500.00 | 200.00 paid 2026-02-10            | 1_30 (24)      300.00 |
| A3  | Alpha  | 2025-12-01 | 2025-12-31 |  800.00 |                                   | 31_60 (59)     800.00 |
| A4  | Alpha  | 2025-08-01 | 2025-08-31 |  250.00 |                                   | over_90 (181)  250.00 |
| A5  | Alpha  | 2026-01-02 | 2026-02-01 |  400.00 | paid in full 2026-02-15           | - (paid)              |
| A6  | Alpha  | 2025-12-10 | 2026-01-09 |  900.00 | cancelled                         | - (cancelled)         |
| A7  | Alpha  | 2025-10-31 | 2025-11-30 |   75.50 | dispute 2025-12-10..2025-12-20    | 61_90 (90)      75.50 |
| A8  | Alpha  | 2025-10-30 | 2025-11-29 |   20.00 | 10.00 paid 2026-02-28 (= as_of)   | over_90 (91)    10.00 |
| A9  | Alpha  | 2025-06-01 | 2025-07-01 | 1500.00 | dispute opened 2025-12-15, open   | over_90 (242) 1500.00 |
| B1  | Beta   | 2025-11-20 | 2025-12-20 | 1200.00 | paid in full 2026-03-01 (> as_of) | 61_90 (70)    1200.00 |
| B2  | Beta   | 2025-12-05 | 2026-01-04 |  600.00 | written off                       | - (written off)       |
| B3  | Beta   | 2026-03-01 | 2026-03-31 |  700.00 | issued after as_of                | -                     |
| B4  | Beta   | 2026-01-30 | 2026-02-28 |  150.00 |                                   | not_due (0)    150.00 |
| B5  | Beta   | 2025-12-01 | 2025-12-30 |   99.99 | 49.99 paid 2026-02-01             | 31_60 (60)      50.00 |
| B6  | Beta   | 2025-12-30 | 2026-01-29 |  333.33 |                                   | 1_30 (30)      333.33 |

Creditor C2 of the same tenant: X1 issued 2025-12-01, due 2025-12-31, 5000.00, open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from tests.conftest import DEFAULT_NOW
from tests.factories import create_creditor, create_debtor, create_invoice

AS_OF = "2026-02-28"

INVOICES = {
    # key: (debtor, issue_date, due_date, amount)
    "A1": ("alpha", "2026-02-10", "2026-03-12", "1000.00"),
    "A2": ("alpha", "2026-01-05", "2026-02-04", "500.00"),
    "A3": ("alpha", "2025-12-01", "2025-12-31", "800.00"),
    "A4": ("alpha", "2025-08-01", "2025-08-31", "250.00"),
    "A5": ("alpha", "2026-01-02", "2026-02-01", "400.00"),
    "A6": ("alpha", "2025-12-10", "2026-01-09", "900.00"),
    "A7": ("alpha", "2025-10-31", "2025-11-30", "75.50"),
    "A8": ("alpha", "2025-10-30", "2025-11-29", "20.00"),
    "A9": ("alpha", "2025-06-01", "2025-07-01", "1500.00"),
    "B1": ("beta", "2025-11-20", "2025-12-20", "1200.00"),
    "B2": ("beta", "2025-12-05", "2026-01-04", "600.00"),
    "B3": ("beta", "2026-03-01", "2026-03-31", "700.00"),
    "B4": ("beta", "2026-01-30", "2026-02-28", "150.00"),
    "B5": ("beta", "2025-12-01", "2025-12-30", "99.99"),
    "B6": ("beta", "2025-12-30", "2026-01-29", "333.33"),
}
PAYMENTS = [("A2", "200.00", "2026-02-10"), ("A5", "400.00", "2026-02-15")]
PAYMENTS += [("A8", "10.00", "2026-02-28"), ("B1", "1200.00", "2026-03-01")]
PAYMENTS += [("B5", "49.99", "2026-02-01")]


@dataclass
class Ledger:
    creditor: str
    other_creditor: str
    alpha: str
    beta: str
    invoices: dict[str, str]


async def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def _dispute(client, clock, headers, invoice_id, opened, resolved=None):
    """Open (and resolve) a dispute at past instants, through the API, by moving the clock."""
    clock.set(dt.datetime.fromisoformat(f"{opened}T10:00:00+01:00"))
    try:
        dispute = await _ok(
            await client.post(
                f"/v1/invoices/{invoice_id}/disputes", json={"reason": "quality"}, headers=headers
            ),
            201,
        )
        if resolved:
            clock.set(dt.datetime.fromisoformat(f"{resolved}T10:00:00+01:00"))
            await _ok(
                await client.post(
                    f"/v1/disputes/{dispute['id']}/resolve",
                    json={"resolution": "rejected"},
                    headers=headers,
                )
            )
    finally:
        clock.set(DEFAULT_NOW)


@pytest.fixture
async def known_ledger(client, tenant, clock) -> Ledger:
    creditor = (await create_creditor(client, tenant))["id"]
    other = (await create_creditor(client, tenant, name="Autre Société SAS"))["id"]
    debtors = {
        "alpha": (await create_debtor(client, tenant, creditor, name="Alpha SARL"))["id"],
        # A comma and an ampersand: the CSV must quote it.
        "beta": (await create_debtor(client, tenant, creditor, name="Beta, Fils & Cie"))["id"],
    }
    ids = {}
    for key, (debtor, issue, due, amount) in INVOICES.items():
        made = await create_invoice(
            client,
            tenant,
            creditor,
            debtors[debtor],
            number=key,
            issue_date=issue,
            due_date=due,
            amount=amount,
        )
        ids[key] = made["id"]
    for key, amount, paid_at in PAYMENTS:
        await _ok(
            await client.post(
                f"/v1/invoices/{ids[key]}/payments",
                json={"amount": amount, "paid_at": paid_at},
                headers=tenant.headers,
            ),
            201,
        )
    for key, path in (("A6", "cancel"), ("B2", "write-off")):
        await _ok(
            await client.post(
                f"/v1/invoices/{ids[key]}/{path}", json={"reason": "test"}, headers=tenant.headers
            )
        )
    await _dispute(client, clock, tenant.headers, ids["A7"], "2025-12-10", "2025-12-20")
    await _dispute(client, clock, tenant.headers, ids["A9"], "2025-12-15")
    other_debtor = (await create_debtor(client, tenant, other, name="Gamma SA"))["id"]
    ids["X1"] = (
        await create_invoice(
            client,
            tenant,
            other,
            other_debtor,
            number="X1",
            issue_date="2025-12-01",
            due_date="2025-12-31",
            amount="5000.00",
        )
    )["id"]
    return Ledger(creditor, other, debtors["alpha"], debtors["beta"], ids)

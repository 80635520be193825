"""Tenant isolation on every ledger route: another tenant's ids answer 404 exactly as missing
ones, and never leak data."""

from __future__ import annotations

import pytest

from tests.factories import ledger

ROUTES = [
    ("GET", "/v1/creditors/{creditor}", None),
    ("PATCH", "/v1/creditors/{creditor}", {"name": "Hijack"}),
    ("GET", "/v1/debtors/{debtor}", None),
    ("PATCH", "/v1/debtors/{debtor}", {"name": "Hijack"}),
    ("GET", "/v1/invoices/{invoice}", None),
    ("PATCH", "/v1/invoices/{invoice}", {"amount": "1.00"}),
    ("POST", "/v1/invoices/{invoice}/cancel", {"reason": "x"}),
    ("POST", "/v1/invoices/{invoice}/write-off", {"reason": "x"}),
    ("POST", "/v1/invoices/{invoice}/payments", {"amount": "1.00", "paid_at": "2026-02-01"}),
    ("GET", "/v1/invoices/{invoice}/payments", None),
    ("POST", "/v1/invoices/{invoice}/disputes", {"reason": "other"}),
    ("GET", "/v1/invoices/{invoice}/disputes", None),
    ("GET", "/v1/disputes/{dispute}", None),
    ("POST", "/v1/disputes/{dispute}/resolve", {"resolution": "rejected"}),
]


@pytest.fixture
async def victim(client, tenant):
    made = await ledger(client, tenant)
    opened = await client.post(
        f"/v1/invoices/{made['invoice']['id']}/disputes",
        json={"reason": "other"},
        headers=tenant.headers,
    )
    return {
        "creditor": made["creditor"]["id"],
        "debtor": made["debtor"]["id"],
        "invoice": made["invoice"]["id"],
        "dispute": opened.json()["id"],
    }


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_other_tenant_gets_404_like_missing(
    client, tenant, other_tenant, victim, method, path, body
):
    url = path.format(**victim)
    foreign = await client.request(method, url, json=body, headers=other_tenant.headers)
    missing = await client.request(
        method,
        path.format(**{k: f"{v[:4]}missing" for k, v in victim.items()}),
        json=body,
        headers=other_tenant.headers,
    )
    assert foreign.status_code == 404, foreign.text
    assert missing.status_code == 404
    assert foreign.json()["title"] == missing.json()["title"]
    for value in victim.values():
        assert value not in foreign.json()["detail"] or value in url  # echoes the asked id only
    # The owner still sees its object unchanged.
    owner = await client.get("/v1/invoices/" + victim["invoice"], headers=tenant.headers)
    assert owner.json()["amount"] == "1250.00"
    assert owner.json()["status"] == "open"


@pytest.mark.parametrize("path", ["/v1/creditors", "/v1/debtors", "/v1/invoices"])
async def test_lists_show_only_own_objects(client, tenant, other_tenant, victim, path):
    response = await client.get(path, headers=other_tenant.headers)
    assert response.status_code == 200
    assert response.json()["data"] == []


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_route_needs_a_key(client, victim, method, path, body):
    response = await client.request(method, path.format(**victim), json=body)
    assert response.status_code == 401

"""Builders that go through the public API, as an integrator would."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TenantClient

VALID_SIREN = "732829320"
VALID_SIRET = "73282932000074"
VALID_VAT = "FR44732829320"
VALID_IBAN = "FR1420041010050500013M02606"
VALID_BIC = "BNPAFRPPXXX"
ADDRESS = {"line1": "12 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"}


async def create_creditor(client: httpx.AsyncClient, tenant: TenantClient, **fields: Any) -> dict:
    body = {
        "name": "Atelier Dupont SARL",
        "siren": VALID_SIREN,
        "vat_number": VALID_VAT,
        "email": "compta@dupont.example",
        "address": ADDRESS,
        "iban": VALID_IBAN,
        "bic": VALID_BIC,
        **fields,
    }
    response = await client.post("/v1/creditors", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def create_debtor(
    client: httpx.AsyncClient, tenant: TenantClient, creditor_id: str, **fields: Any
) -> dict:
    body = {"creditor_id": creditor_id, "kind": "business", "name": "Client Martin SAS", **fields}
    response = await client.post("/v1/debtors", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def create_invoice(
    client: httpx.AsyncClient,
    tenant: TenantClient,
    creditor_id: str,
    debtor_id: str,
    **fields: Any,
) -> dict:
    body = {
        "creditor_id": creditor_id,
        "debtor_id": debtor_id,
        "number": "F-2026-001",
        "issue_date": "2026-01-15",
        "amount": "1250.00",
        **fields,
    }
    response = await client.post("/v1/invoices", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def ledger(client: httpx.AsyncClient, tenant: TenantClient, **invoice: Any) -> dict:
    """A creditor, a business debtor and one invoice."""
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    inv = await create_invoice(client, tenant, creditor["id"], debtor["id"], **invoice)
    return {"creditor": creditor, "debtor": debtor, "invoice": inv}

"""Each report is one SQL statement over the invoices, whatever their number; tenants and
creditors are isolated."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from tests.reports.conftest import AS_OF

REPORTS = [
    ("/v1/reports/aged-balance", {"as_of": AS_OF}),
    ("/v1/reports/aged-balance", {"as_of": AS_OF, "format": "csv"}),
    ("/v1/reports/dso", {"as_of": AS_OF, "days": 90}),
    ("/v1/reports/payment-terms", {"fiscal_year_end": "2025-12-31"}),
    ("/v1/reports/recovery", {"from": "2026-01-01"}),
]


@contextlib.contextmanager
def statements_on_invoices(app):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        # The API-key lookup and the creditor ownership check do not touch invoices.
        if "invoices" in statement:
            seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize(("path", "params"), REPORTS)
async def test_each_report_is_one_statement(app, client, tenant, known_ledger, path, params):
    with statements_on_invoices(app) as seen:
        response = await client.get(
            path, params={**params, "creditor_id": known_ledger.creditor}, headers=tenant.headers
        )
    assert response.status_code == 200, response.text
    assert len(seen) == 1, seen


@pytest.mark.parametrize(("path", "params"), REPORTS)
async def test_foreign_or_missing_creditor_is_404(
    client, tenant, other_tenant, known_ledger, path, params
):
    foreign = await client.get(
        path, params={**params, "creditor_id": known_ledger.creditor}, headers=other_tenant.headers
    )
    missing = await client.get(
        path, params={**params, "creditor_id": "cred_missing"}, headers=other_tenant.headers
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.headers["content-type"] == "application/problem+json"
    assert foreign.json()["title"] == missing.json()["title"]


async def test_another_tenant_sees_zeros(client, other_tenant, known_ledger):
    aged = (
        await client.get(
            "/v1/reports/aged-balance", params={"as_of": AS_OF}, headers=other_tenant.headers
        )
    ).json()
    assert aged["total"] == {"count": 0, "amount": "0.00"}
    assert aged["debtors"] == []
    dso = (
        await client.get("/v1/reports/dso", params={"as_of": AS_OF}, headers=other_tenant.headers)
    ).json()
    assert (dso["receivables"], dso["sales"], dso["dso"]) == ("0.00", "0.00", None)

"""A query parameter a route does not declare answers 422 naming it, on every route of the app
(app/core/query_params.py); the cursor keeps the order it was read in (app/core/pagination.py)."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.core.errors import Unprocessable
from app.core.pagination import PageParams, decode_cursor, encode_cursor, page_params
from app.core.query_params import declared_query_params, unknown_params
from tests.core.test_http_contract import assert_problem
from tests.factories import ledger

# --- pure pieces -----------------------------------------------------------------------------


class _Window(BaseModel):
    since: str | None = None
    until: str | None = None


def test_declared_params_include_dependencies_aliases_and_query_models():
    probe = FastAPI()

    @probe.get("/probe")
    async def _probe(
        page: Annotated[PageParams, Depends(page_params)],
        window: Annotated[_Window, Query()],
        status_filter: Annotated[str | None, Query(alias="status")] = None,
        item_id: str = "x",
    ) -> None:
        return None

    route = next(r for r in probe.routes if isinstance(r, APIRoute))
    assert declared_query_params(route.dependant) == {
        "limit",
        "cursor",
        "order",
        "since",
        "until",
        "status",
        "item_id",
    }


def test_unknown_params_are_named_once_in_order():
    allowed = frozenset({"limit", "cursor", "status"})
    assert unknown_params(["limit", "cursor"], allowed) == []
    assert unknown_params(["a", "limit", "b", "a"], allowed) == ["a", "b"]


def test_a_cursor_carries_its_order():
    assert decode_cursor(encode_cursor("inv_1", "desc"), "desc") == "inv_1"
    assert decode_cursor(encode_cursor("inv_1"), "asc") == "inv_1"
    with pytest.raises(Unprocessable, match="order=desc"):
        decode_cursor(encode_cursor("inv_1", "desc"), "asc")
    with pytest.raises(Unprocessable, match="order=asc"):
        decode_cursor(encode_cursor("inv_1", "asc"), "desc")


def test_cursors_from_before_order_existed_still_read_as_asc():
    legacy = "djE6aW52XzE"  # base64url("v1:inv_1"), as encode_cursor wrote it before `order`
    assert decode_cursor(legacy, "asc") == "inv_1"
    with pytest.raises(Unprocessable):
        decode_cursor(legacy, "desc")


@pytest.mark.parametrize("cursor", ["%%%", "", "djI6YTo", "aGVsbG8", "djI6eDppbnZfMQ"])
def test_foreign_cursors_are_refused(cursor):
    # "djI6YTo" is "v2:a:" with no id; "djI6eDppbnZfMQ" "v2:x:inv_1", an unknown order.
    with pytest.raises(Unprocessable, match="Invalid cursor"):
        decode_cursor(cursor, "asc")


# --- over HTTP ---------------------------------------------------------------------------------


async def test_every_route_of_the_app_refuses_an_unknown_parameter(
    client, app, tenant, admin_headers
):
    """Every operation of the OpenAPI, whatever its method, auth or body: the check runs first,
    so the placeholder ids and missing bodies never matter."""
    operations = [
        (method, path) for path, item in app.openapi()["paths"].items() for method in item
    ]
    assert len(operations) > 50
    for method, path in operations:
        headers = admin_headers if path.startswith("/v1/admin") else tenant.headers
        url = re.sub(r"\{[^}]+\}", "x", path)
        response = await client.request(method, url, params={"frobnicate": "1"}, headers=headers)
        assert response.status_code == 422, (method, path, response.text)
        assert response.json()["errors"] == [
            {"loc": ["query", "frobnicate"], "msg": "unknown query parameter"}
        ], (method, path)


@pytest.fixture
async def made(client, tenant):
    return await ledger(client, tenant)


ROUTES = [
    # (method, path, body, needs the admin token): lists, reads by id, writes, admin, operations
    ("GET", "/v1/invoices", None, False),
    ("GET", "/v1/events", None, False),
    ("GET", "/v1/invoices/{invoice}", None, False),
    ("GET", "/v1/invoices/{invoice}/claim", None, False),
    ("GET", "/v1/tenant", None, False),
    ("GET", "/v1/reports/aged-balance", None, False),
    ("POST", "/v1/creditors", {"name": "Nouveau"}, False),
    ("PATCH", "/v1/debtors/{debtor}", {"name": "Renamed"}, False),
    ("POST", "/v1/admin/tenants", {"name": "Other"}, True),
    ("GET", "/healthz", None, False),
    ("GET", "/readyz", None, False),
    ("GET", "/metrics", None, False),
]


@pytest.mark.parametrize(("method", "path", "body", "admin"), ROUTES)
async def test_an_unknown_query_parameter_is_422(
    client, tenant, admin_headers, made, method, path, body, admin
):
    url = path.format(invoice=made["invoice"]["id"], debtor=made["debtor"]["id"])
    headers = admin_headers if admin else tenant.headers
    response = await client.request(
        method, url, params={"limit": "5", "frobnicate": "1"}, json=body, headers=headers
    )
    problem = assert_problem(response, 422)
    unknown = [e for e in problem["errors"] if e["loc"] == ["query", "frobnicate"]]
    assert unknown == [{"loc": ["query", "frobnicate"], "msg": "unknown query parameter"}]
    assert "frobnicate" in problem["detail"]


async def test_a_misspelt_filter_is_refused_and_nothing_is_written(client, tenant, made):
    misspelt = await client.get("/v1/invoices?stauts=paid", headers=tenant.headers)
    problem = assert_problem(misspelt, 422)
    assert problem["errors"] == [{"loc": ["query", "stauts"], "msg": "unknown query parameter"}]
    assert "status" in problem["detail"]  # the route's own parameters are listed
    before = (await client.get("/v1/creditors", headers=tenant.headers)).json()["data"]
    refused = await client.post(
        "/v1/creditors?dry_run=true", json={"name": "Nouveau"}, headers=tenant.headers
    )
    assert_problem(refused, 422)
    after = (await client.get("/v1/creditors", headers=tenant.headers)).json()["data"]
    assert after == before


async def test_many_unknown_parameters_are_named_up_to_ten(client, tenant):
    query = "&".join(f"p{i}=1" for i in range(25))
    problem = assert_problem(await client.get(f"/v1/invoices?{query}", headers=tenant.headers), 422)
    assert len(problem["errors"]) == 10
    assert "and 15 more" in problem["detail"]


async def test_keys_are_compared_as_decoded(client, tenant):
    # `st%61tus` is `status`, as Starlette decodes it for the route.
    assert (
        await client.get("/v1/invoices?st%61tus=open", headers=tenant.headers)
    ).status_code == 200
    problem = assert_problem(
        await client.get("/v1/invoices?%C3%A9tat=open", headers=tenant.headers), 422
    )
    assert problem["errors"][0]["loc"] == ["query", "état"]


async def test_declared_parameters_still_work(client, tenant, made):
    ok = await client.get(
        "/v1/invoices",
        params={"status": "open", "limit": 5, "order": "desc", "number": "F-2026-001"},
        headers=tenant.headers,
    )
    assert ok.status_code == 200
    assert [i["id"] for i in ok.json()["data"]] == [made["invoice"]["id"]]
    # An aliased parameter (`status`, the `status_filter` argument) is known by its alias.
    endpoint = await client.post(
        "/v1/webhook-endpoints",
        json={"url": "https://hooks.example.com/relance", "event_types": ["*"]},
        headers=tenant.headers,
    )
    if endpoint.status_code == 201:  # URL checks may need DNS; the list is what is tested
        deliveries = await client.get(
            f"/v1/webhook-endpoints/{endpoint.json()['id']}/deliveries?status=failed",
            headers=tenant.headers,
        )
        assert deliveries.status_code == 200
    assert (await client.get("/healthz")).status_code == 200


async def test_the_check_comes_before_authentication(client):
    """Documented choice: the shape of a request is checked before its key (both are public in
    the OpenAPI); a request with a valid shape and no key is 401 as before."""
    assert_problem(await client.get("/v1/invoices?frobnicate=1"), 422)
    assert_problem(await client.get("/v1/invoices?limit=1"), 401)


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
async def test_the_docs_are_left_alone(client, path):
    """FastAPI's own docs routes take what browsers and tools add (documented choice)."""
    assert (await client.get(path, params={"utm_source": "x"})).status_code == 200

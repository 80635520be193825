"""Tenant isolation, probed on EVERY route of the app (read from the app, so new routes are
covered without being listed here): with another tenant's key, the victim's ids answer exactly
as missing ones (404, same problem), bodies and filters naming the victim's objects are refused or
see nothing, no answer ever carries the victim's data, and the victim's objects are unchanged.
Without a key, or with a wrong or revoked one, every /v1 route answers 401."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest

from app.core.settings import Settings
from tests.conftest import ADMIN_TOKEN, DEFAULT_NOW, TenantClient, make_tenant
from tests.einvoice_files import cii_xml
from tests.factories import create_creditor, create_debtor, create_invoice
from tests.reliability.routes import (
    ID_FIELDS,
    PATH_VALUES,
    Route,
    Schemas,
    api_routes,
    performed_at,
)

LOOPBACK_HOOK = "http://127.0.0.1:9/hook"  # the discard port: nothing listens, nothing leaves


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Endpoints point at loopback (never at a public address, even if a delivery is attempted).
    return Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        scheduler_enabled=False,
        webhook_allow_private_urls=True,
        db_pool_size=5,
    )


async def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or (200, 201)), response.text
    return response.json() if response.content else {}


async def build_world(client: httpx.AsyncClient, tenant: TenantClient, canary: str) -> dict:
    """One of each kind of object, every text field marked with `canary`."""
    h = tenant.headers
    creditor = await create_creditor(client, tenant, name=f"{canary} SARL")
    debtor = await create_debtor(client, tenant, creditor["id"], name=f"{canary} SAS")
    invoice = await create_invoice(
        client, tenant, creditor["id"], debtor["id"], number=f"{canary}-1"
    )
    disputed = await create_invoice(
        client, tenant, creditor["id"], debtor["id"], number=f"{canary}-2"
    )
    dispute = await _ok(
        await client.post(
            f"/v1/invoices/{disputed['id']}/disputes",
            json={"reason": "other", "note": canary},
            headers=h,
        )
    )
    action = await _ok(
        await client.post(
            f"/v1/invoices/{invoice['id']}/actions",
            # A mise en demeure by registered letter: the routes of its proof events apply to it.
            json={
                "type": "formal_notice",
                "channel": "registered_letter",
                "performed_at": performed_at(DEFAULT_NOW),
                "note": canary,
                "proof": {"tracking_number": "1A0000000001"},
            },
            headers=h,
        )
    )
    await _ok(
        await client.post(
            f"/v1/invoices/{invoice['id']}/documents",
            json={"kind": "contract", "note": canary},
            headers=h,
        )
    )
    # The invoice's e-invoice, as it stands: a document that keeps its file.
    einvoice = cii_xml(number=invoice["number"], issue="20260115", due="20260214", amount="1250.00")
    imported = await _ok(
        await client.post(
            "/v1/invoices/import",
            content=einvoice,
            headers={**h, "Content-Type": "application/xml"},
        )
    )
    assert imported["id"] == invoice["id"], imported
    document = imported["intake"]["document"]
    payment = await _ok(
        await client.post(
            f"/v1/invoices/{invoice['id']}/payments",
            json={"amount": "50.00", "paid_at": "2026-02-20", "reference": canary},
            headers=h,
        )
    )
    plan = await _ok(
        await client.post(
            f"/v1/invoices/{invoice['id']}/payment-plan",
            json={"installments": [{"due_date": "2026-04-15", "amount": "1200.00"}]},
            headers=h,
        )
    )
    policy = await _ok(
        await client.post(
            "/v1/dunning-policies",
            json={
                "name": canary,
                "steps": [
                    {"code": "reminder_1", "kind": "reminder", "channel": "email", "offset_days": 3}
                ],
            },
            headers=h,
        )
    )
    endpoint = await _ok(
        await client.post(
            "/v1/webhook-endpoints",
            json={"url": LOOPBACK_HOOK, "description": canary, "event_types": ["*"]},
            headers=h,
        )
    )
    key = await _ok(
        await client.post(
            f"/v1/admin/tenants/{tenant.id}/api-keys",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ),
        200,
        201,
    )
    return {
        "tenant": tenant.id,
        "api_key": key["id"],
        "creditor": creditor["id"],
        "debtor": debtor["id"],
        "invoice": invoice["id"],
        "disputed_invoice": disputed["id"],
        "dispute": dispute["id"],
        "action": action["id"],
        "document": document["id"],
        "payment": payment["id"],
        "plan": plan.get("id", ""),
        "policy": policy["id"],
        "endpoint": endpoint["id"],
        "endpoint_secret": endpoint["secret"],
    }


async def add_events(client: httpx.AsyncClient, worlds: list[dict], tenants: list) -> None:
    """The sweep writes each invoice's due events (and a delivery per endpoint)."""
    swept = await client.post(
        "/v1/admin/sweep",
        json={"as_of": DEFAULT_NOW.isoformat()},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert swept.status_code == 200, swept.text
    for world, tenant in zip(worlds, tenants, strict=True):
        events = await _ok(await client.get("/v1/events", headers=tenant.headers))
        assert events["data"], "the sweep wrote no event to probe with"
        world["event"] = events["data"][0]["id"]
        deliveries = await _ok(
            await client.get(
                f"/v1/webhook-endpoints/{world['endpoint']}/deliveries", headers=tenant.headers
            )
        )
        if deliveries["data"]:
            world["delivery"] = deliveries["data"][0]["id"]


def _missing(value: str) -> str:
    """An id of the same shape that exists nowhere."""
    return value[: max(len(value) - 8, 4)] + "ZZZZZZZZ"


def _fill(route: Route, world: dict) -> tuple[str, dict[str, str]]:
    """The route's URL for `world`'s objects, and which of its ids the URL carries."""
    url = route.path
    used: dict[str, str] = {}
    for param in route.path_params:
        if param in PATH_VALUES:
            value = PATH_VALUES[param]
        else:
            kind = ID_FIELDS.get(param)
            assert kind is not None, (
                f"{route}: path parameter {param!r} is unknown to the isolation probe; "
                "add it to ID_FIELDS or PATH_VALUES in tests/reliability/routes.py"
            )
            assert kind in world, f"{route}: the probe world has no {kind} to put in {param}"
            value = world[kind]
            used[param] = value
        url = url.replace("{" + param + "}", value)
    return url, used


# Route name -> a body (or a function of the world) that the route accepts for its owner.
BODIES: dict[str, Any] = {
    "update_creditor": {"name": "Renamed SARL"},
    "update_debtor": {"name": "Renamed SAS"},
    "update_invoice": {"external_id": "ext-probe"},
    "cancel_invoice": {"reason": "probe"},
    "write_off_invoice": {"reason": "probe"},
    "record_payment": {"amount": "1.00", "paid_at": "2026-02-21"},
    "open_dispute": {"reason": "quality"},
    "resolve_dispute": {"resolution": "rejected"},
    "record_action": {"type": "note", "performed_at": performed_at(DEFAULT_NOW), "note": "probe"},
    "update_action": {"note": "probe"},
    "record_proof_event": {"status": "deposited", "at": performed_at(DEFAULT_NOW)},
    "record_debtor_action": lambda w: {
        "type": "note",
        "performed_at": performed_at(DEFAULT_NOW),
        "note": "probe",
        "invoice_ids": [w["invoice"]],
    },
    "add_document": {"kind": "delivery_note"},
    "create_policy": {
        "name": "Probe policy",
        "steps": [{"code": "reminder_1", "kind": "reminder", "channel": "email", "offset_days": 5}],
    },
    "create_webhook_endpoint": {"url": LOOPBACK_HOOK},
    "update_webhook_endpoint": {"description": "probe"},
    "create_creditor": {"name": "Probe SARL", "siren": "732829320"},
    "create_debtor": lambda w: {"creditor_id": w["creditor"], "kind": "business", "name": "P"},
    "create_invoice": lambda w: {
        "creditor_id": w["creditor"],
        "debtor_id": w["debtor"],
        "number": f"PROBE-{secrets.token_hex(3)}",
        "issue_date": "2026-02-01",
        "amount": "10.00",
    },
    "upsert_invoices": lambda w: {
        "invoices": [
            {
                "creditor_id": w["creditor"],
                "debtor_id": w["debtor"],
                "number": f"PROBE-B-{secrets.token_hex(3)}",
                "issue_date": "2026-02-01",
                "amount": "10.00",
            }
        ]
    },
    "redeliver_event": lambda w: {"endpoint_id": w["endpoint"]},
    "create_tenant": {"name": "Probe"},
    "run_sweep": {"as_of": DEFAULT_NOW.isoformat()},
}
# Routes whose own-object control runs last, since they close or remove the object.
CLOSING = {"cancel_invoice", "write_off_invoice", "delete_webhook_endpoint", "resolve_dispute"}


async def _payment_plan_body(client: httpx.AsyncClient, world: dict, headers: dict) -> dict:
    invoice = await client.get(f"/v1/invoices/{world['invoice']}", headers=headers)
    balance = invoice.json().get("balance", "100.00") if invoice.status_code == 200 else "100.00"
    return {"installments": [{"due_date": "2026-04-15", "amount": balance}]}


def _body(route: Route, world: dict, schemas: Schemas) -> Any:
    known = BODIES.get(route.name)
    if known is not None:
        return known(world) if callable(known) else known
    schema = schemas.body_schema(route.operation)
    return schemas.example(schema, world) if schema else None


def _order(route: Route) -> tuple[int, str]:
    rank = {"GET": 0, "PATCH": 1, "POST": 2, "PUT": 2, "DELETE": 4}.get(route.method, 3)
    return (3 if route.name in CLOSING and route.method != "DELETE" else rank, str(route))


def _leaks(response: httpx.Response, victim: dict, canary: str, asked: str) -> list[str]:
    """Victim data in an answer to the attacker: its canary, or ids the attacker did not send."""
    text = response.text
    found = [canary] if canary in text else []
    found += [
        f"{kind}={value}"
        for kind, value in victim.items()
        if isinstance(value, str) and len(value) > 8 and value in text and value not in asked
    ]
    return found


def _same_problem(foreign: httpx.Response, missing: httpx.Response, used: dict) -> bool:
    if foreign.status_code != missing.status_code:
        return False
    if "json" not in foreign.headers.get("content-type", ""):
        return foreign.content == missing.content
    a, b = foreign.json(), missing.json()
    for body in (a, b):
        body.pop("request_id", None)
        body.pop("instance", None)
    detail_a = str(a.pop("detail", ""))
    detail_b = str(b.pop("detail", ""))
    for value in used.values():
        detail_a = detail_a.replace(value, "<id>")
        detail_b = detail_b.replace(_missing(value), "<id>")
    return a == b and detail_a == detail_b


async def _snapshot(client: httpx.AsyncClient, world: dict, headers: dict) -> dict[str, Any]:
    """The victim's view of all its objects."""
    paths = [
        f"/v1/creditors/{world['creditor']}",
        f"/v1/debtors/{world['debtor']}",
        f"/v1/invoices/{world['invoice']}",
        f"/v1/invoices/{world['disputed_invoice']}",
        f"/v1/invoices/{world['invoice']}/payments",
        f"/v1/invoices/{world['invoice']}/actions",
        f"/v1/invoices/{world['invoice']}/documents",
        f"/v1/disputes/{world['dispute']}",
        f"/v1/dunning-policies/{world['policy']}",
        f"/v1/webhook-endpoints/{world['endpoint']}",
        f"/v1/webhook-endpoints/{world['endpoint']}/deliveries",
        "/v1/creditors",
        "/v1/debtors",
        "/v1/invoices",
        "/v1/events",
        "/v1/webhook-endpoints",
        "/v1/dunning-policies",
    ]
    out = {}
    for path in paths:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        out[path] = response.json()
    return out


@pytest.fixture
async def worlds(client, tenant, other_tenant):
    victim_canary = f"VICTIM-{secrets.token_hex(4)}"
    attacker_canary = f"ATTACKER-{secrets.token_hex(4)}"
    victim = await build_world(client, tenant, victim_canary)
    attacker = await build_world(client, other_tenant, attacker_canary)
    await add_events(client, [victim, attacker], [tenant, other_tenant])
    return victim, attacker, victim_canary


async def test_every_route_isolates_tenants(app, client, tenant, other_tenant, worlds, counts):
    victim, attacker, canary = worlds
    schemas = Schemas(app.openapi())
    before = await _snapshot(client, victim, tenant.headers)
    routes = sorted((r for r in api_routes(app) if not r.is_admin), key=_order)
    assert len(routes) >= 40, [str(r) for r in routes]
    failures: list[str] = []
    tally = {"routes": len(routes), "foreign_path": 0, "foreign_reference": 0, "leaks": 0}
    attacker_key = other_tenant.headers

    for route in routes:
        own_url, _ = _fill(route, attacker)
        victim_url, used = _fill(route, victim)
        body = _body(route, attacker, schemas)
        if route.name == "create_payment_plan":
            body = await _payment_plan_body(client, attacker, attacker_key)
        query = schemas.query(route.operation, attacker)

        if used:
            # The victim's ids in the path: exactly what a missing id answers.
            tally["foreign_path"] += 1
            foreign = await client.request(
                route.method, victim_url, json=body, params=query, headers=attacker_key
            )
            missing_url = route.path
            for param in route.path_params:
                value = used.get(param, PATH_VALUES.get(param, ""))
                missing_url = missing_url.replace(
                    "{" + param + "}", _missing(value) if param in used else value
                )
            missing = await client.request(
                route.method, missing_url, json=body, params=query, headers=attacker_key
            )
            if foreign.status_code != 404:
                failures.append(f"{route}: another tenant's id -> {foreign.status_code} (not 404)")
            elif not _same_problem(foreign, missing, used):
                failures.append(
                    f"{route}: another tenant's id answers unlike a missing one: "
                    f"{foreign.text} vs {missing.text}"
                )
            leaks = _leaks(foreign, victim, canary, victim_url)
            if leaks:
                tally["leaks"] += 1
                failures.append(f"{route}: foreign-id answer leaks {leaks}")

            # Control: the same request on the attacker's own objects is accepted, so the 404
            # above comes from isolation, not from an implausible request.
            own = await client.request(
                route.method, own_url, json=body, params=query, headers=attacker_key
            )
            if own.status_code in (401, 404, 422) or own.status_code >= 500:
                failures.append(
                    f"{route}: control on own objects -> {own.status_code} {own.text[:300]}; "
                    "give the probe a plausible body in BODIES (tests/reliability/test_isolation.py)"
                )

        # Bodies and filters that name the victim's objects.
        body_refs, query_refs = schemas.reference_fields(route.operation)
        for field_name in body_refs + query_refs:
            kind = ID_FIELDS.get(field_name)
            if kind is None:
                failures.append(
                    f"{route}: field {field_name!r} is unknown to the isolation probe; add it "
                    "to ID_FIELDS or NOT_REFERENCES in tests/reliability/routes.py"
                )
                continue
            if kind not in victim:
                continue
            tally["foreign_reference"] += 1
            probe_body = dict(body) if isinstance(body, dict) else body
            probe_query = dict(query)
            if field_name in body_refs:
                if not isinstance(probe_body, dict):
                    probe_body = {}
                probe_body[field_name] = victim[kind]
            else:
                probe_query[field_name] = victim[kind]
            response = await client.request(
                route.method, own_url, json=probe_body, params=probe_query, headers=attacker_key
            )
            asked = own_url + json.dumps(probe_body) + json.dumps(probe_query)
            leaks = _leaks(response, victim, canary, asked)
            if leaks:
                tally["leaks"] += 1
                failures.append(f"{route} with {field_name}=victim's: leaks {leaks}")
            if route.method == "GET":
                if response.status_code == 200:
                    data = response.json().get("data")
                    if data:
                        failures.append(f"{route} ?{field_name}=victim's: lists {len(data)} rows")
                elif response.status_code not in (404, 422):
                    failures.append(f"{route} ?{field_name}=victim's -> {response.status_code}")
            elif response.status_code not in (404, 422):
                failures.append(
                    f"{route} with {field_name}=victim's -> {response.status_code} "
                    f"(expected 404 or 422): {response.text[:300]}"
                )

    # The batch names creditors inside its items, which the schema does not show.
    batch = await client.post(
        "/v1/invoices/batch",
        json={
            "invoices": [
                {
                    "creditor_id": victim["creditor"],
                    "debtor_id": victim["debtor"],
                    "number": "HIJACK-1",
                    "issue_date": "2026-02-01",
                    "amount": "10.00",
                },
                {
                    "creditor_id": attacker["creditor"],
                    "debtor_id": victim["debtor"],
                    "number": "HIJACK-2",
                    "issue_date": "2026-02-01",
                    "amount": "10.00",
                },
            ]
        },
        headers=attacker_key,
    )
    tally["foreign_reference"] += 2
    assert batch.status_code == 200, batch.text
    assert batch.json()["created"] == 0, batch.text
    assert batch.json()["updated"] == 0, batch.text
    assert len(batch.json()["errors"]) == 2, batch.text
    assert not _leaks(batch, victim, canary, json.dumps(victim))

    after = await _snapshot(client, victim, tenant.headers)
    changed = [path for path in before if before[path] != after[path]]
    assert not failures, "\n".join(failures)
    assert not changed, f"the victim's objects changed: {changed}"
    counts(**tally, leaked=tally["leaks"], victim_objects_changed=len(changed))


async def test_every_route_needs_a_valid_key(app, client, tenant, other_tenant, worlds, counts):
    """No key, a wrong key, a revoked key: 401 problem+json on every /v1 route; a tenant's key
    on the admin routes: 401."""
    victim, _, canary = worlds
    schemas = Schemas(app.openapi())
    revoked = await client.post(
        f"/v1/admin/tenants/{tenant.id}/api-keys",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    revoked_key = revoked.json()["api_key"]
    revoke = await client.delete(
        f"/v1/admin/api-keys/{revoked.json()['id']}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert revoke.status_code in (200, 204), revoke.text
    keys: dict[str, dict[str, str]] = {
        "none": {},
        "wrong": {"Authorization": "Bearer rk_" + secrets.token_urlsafe(24)},
        "revoked": {"Authorization": f"Bearer {revoked_key}"},
        "malformed": {"Authorization": "Basic dXNlcjpwYXNz"},
    }
    failures = []
    probes = 0
    for route in api_routes(app):
        url, _ = _fill(route, victim)
        body = _body(route, victim, schemas)
        tries = dict(keys)
        if route.is_admin:
            tries["tenant key"] = tenant.headers
        for label, headers in tries.items():
            probes += 1
            response = await client.request(route.method, url, json=body, headers=headers)
            if response.status_code != 401:
                failures.append(f"{route} with {label} key -> {response.status_code}")
            elif not response.headers["content-type"].startswith("application/problem+json"):
                failures.append(f"{route} with {label} key: 401 is not problem+json")
            if canary in response.text:
                failures.append(f"{route} with {label} key leaks the victim's data")
    assert not failures, "\n".join(failures)
    counts(routes=len(api_routes(app)), probes=probes, not_401=len(failures))


async def test_a_second_tenant_sees_empty_lists(app, client):
    """A tenant created after others sees nothing in any list route."""
    a = await make_tenant(client, "Lists A")
    world = await build_world(client, a, "LISTS-CANARY")
    b = await make_tenant(client, "Lists B")
    schemas = Schemas(app.openapi())
    lists = [
        r
        for r in api_routes(app)
        if r.method == "GET" and not r.path_params and not r.is_admin and r.path != "/v1/tenant"
    ]
    checked = 0
    for route in lists:
        query = schemas.query(route.operation, {})
        response = await client.get(route.path, params=query, headers=b.headers)
        assert "LISTS-CANARY" not in response.text, route
        for value in world.values():
            assert value not in response.text, (route, value)
        if response.status_code == 200 and "data" in response.json():
            assert response.json()["data"] == [], route
            checked += 1
    assert checked >= 5

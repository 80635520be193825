"""Fuzzing with schemathesis against /openapi.json, authenticated (a tenant's key; the admin
token on /v1/admin/*): valid and invalid inputs alike never get a 5xx, and every answer matches
the schema. Half of the cases put real ids in the path, so the fuzz reaches the code behind the
404s.

`make test` runs a short, derandomized pass (RELANCE_FUZZ_CASES per operation and mode);
`make reliability` runs the full one (RELANCE_FUZZ_FULL_CASES, random)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.core.settings import Settings
from app.main import create_app
from app.outbox.webhooks import service as webhook_service
from tests.conftest import ADMIN_TOKEN
from tests.reliability.conftest import record
from tests.reliability.harness import create_database, drop_database
from tests.reliability.routes import ID_FIELDS

FAST_CASES = int(os.environ.get("RELANCE_FUZZ_CASES", "4"))
FULL_CASES = int(os.environ.get("RELANCE_FUZZ_FULL_CASES", "60"))
CHECKS = [not_a_server_error, response_schema_conformance]


def _operations() -> list[tuple[str, str]]:
    spec = create_app(Settings(database_url="postgresql://collect@127.0.0.1/none")).openapi()
    return [
        (method.upper(), path)
        for path, methods in spec["paths"].items()
        for method in methods
        if method in ("get", "post", "patch", "put", "delete")
    ]


OPERATIONS = _operations()


async def _refuse_every_name(host: str, port: int) -> list[str]:
    raise OSError("the fuzz never resolves names")


def _no_network(request: httpx.Request) -> httpx.Response:
    # Webhook deliveries during the fuzz go nowhere: this transport answers them itself.
    return httpx.Response(204)


@dataclass
class FuzzEnv:
    schema: Any
    tenant_headers: dict[str, str]
    admin_headers: dict[str, str]
    ids: dict[str, str]
    statuses: Counter[int] = field(default_factory=Counter)
    cases: Counter[str] = field(default_factory=Counter)  # per run: short / full
    operations: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    failures: int = 0


def _world(client: asgi.ASGIClient, headers: dict[str, str]) -> dict[str, str]:
    """Real objects for the fuzz to find."""

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code in (200, 201), (path, response.text)
        return dict(response.json())

    creditor = post("/v1/creditors", {"name": "Fuzz SARL", "siren": "732829320"})
    debtor = post("/v1/debtors", {"creditor_id": creditor["id"], "kind": "consumer", "name": "D"})
    invoice = post(
        "/v1/invoices",
        {
            "creditor_id": creditor["id"],
            "debtor_id": debtor["id"],
            "number": "FZ-1",
            "issue_date": "2025-01-15",
            "amount": "1250.00",
        },
    )
    dispute_invoice = post(
        "/v1/invoices",
        {
            "creditor_id": creditor["id"],
            "debtor_id": debtor["id"],
            "number": "FZ-2",
            "issue_date": "2025-06-15",
            "amount": "80.00",
        },
    )
    dispute = post(f"/v1/invoices/{dispute_invoice['id']}/disputes", {"reason": "quality"})
    action = post(
        f"/v1/invoices/{invoice['id']}/actions",
        {"type": "phone_call", "performed_at": "2025-03-01T10:00:00+01:00"},
    )
    policy = post(
        "/v1/dunning-policies",
        {
            "name": "Fuzz",
            "steps": [
                {"code": "reminder_1", "kind": "reminder", "channel": "email", "offset_days": 3}
            ],
        },
    )
    endpoint = post("/v1/webhook-endpoints", {"url": "http://93.184.215.14/hook"})
    events = client.get("/v1/events", headers=headers).json()["data"]
    ids = {
        "creditor": creditor["id"],
        "debtor": debtor["id"],
        "invoice": invoice["id"],
        "dispute": dispute["id"],
        "action": action["id"],
        "policy": policy["id"],
        "endpoint": endpoint["id"],
    }
    if events:
        ids["event"] = events[0]["id"]
    return ids


@pytest.fixture(scope="module")
def fuzz_env(database_url: str) -> Iterator[FuzzEnv]:
    """A fresh database, an app run by schemathesis' own ASGI client (its event loop, its
    lifespan), a tenant with one object of each kind."""
    saved_resolver = webhook_service.RESOLVER
    webhook_service.RESOLVER = _refuse_every_name
    url = asyncio.run(create_database(database_url, prefix="relance_fuzz"))
    app = create_app(
        Settings(
            database_url=url,
            admin_token=ADMIN_TOKEN,
            scheduler_enabled=False,
            webhook_allow_private_urls=False,
            db_pool_size=5,
        )
    )
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with asgi.get_client(cast(Any, app)) as client:
            app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(_no_network))
            made = client.post("/v1/admin/tenants", json={"name": "Fuzz"}, headers=admin)
            assert made.status_code == 201, made.text
            headers = {"Authorization": f"Bearer {made.json()['api_key']}"}
            ids = _world(client, headers)
        yield FuzzEnv(schema, headers, admin, ids)
    finally:
        asgi.shutdown_lifespans()
        webhook_service.RESOLVER = saved_resolver
        asyncio.run(drop_database(url))


def _fuzz(
    env: FuzzEnv, method: str, path: str, cases: int, derandomize: bool, run_name: str
) -> None:
    operation = env.schema[path][method]
    headers = env.admin_headers if path.startswith("/v1/admin") else env.tenant_headers
    failures: list[str] = []
    seen: Counter[int] = Counter()
    strategy = st.one_of(
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=cases,
        phases=[Phase.explicit, Phase.generate],
        deadline=None,
        derandomize=derandomize,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, real_ids=st.booleans())
    def run(case: Any, real_ids: bool) -> None:
        if real_ids and case.path_parameters:
            for name in list(case.path_parameters):
                kind = ID_FIELDS.get(name)
                if kind in env.ids:
                    case.path_parameters[name] = env.ids[kind]
        case.headers = {**(case.headers or {}), **headers}  # auth is probed elsewhere
        response = case.call()
        seen[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # collected: one bug hides no other
            failures.append(
                f"{method} {path} -> {response.status_code}: {str(exc)[:400]}\n"
                f"    reproduce: {case.as_curl_command(headers=headers)[:600]}"
            )

    run()
    env.statuses.update(seen)
    env.cases[run_name] += sum(seen.values())
    env.operations[run_name] += 1
    env.server_errors += sum(n for status, n in seen.items() if status >= 500)
    env.failures += len(failures)
    record(
        f"fuzz ({run_name})",
        operations=env.operations[run_name],
        cases=env.cases[run_name],
        server_errors=env.server_errors,
        schema_or_5xx_failures=env.failures,
        statuses=dict(sorted(env.statuses.items())),
    )
    assert not failures, "\n".join(dict.fromkeys(failures))


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_short(fuzz_env: FuzzEnv, method: str, path: str) -> None:
    _fuzz(fuzz_env, method, path, FAST_CASES, derandomize=True, run_name="short")


@pytest.mark.reliability
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_full(fuzz_env: FuzzEnv, method: str, path: str) -> None:
    _fuzz(fuzz_env, method, path, FULL_CASES, derandomize=False, run_name="full")

"""Crash during idempotent writes: payments and invoice creates sent with an `Idempotency-Key`
by concurrent clients, the process group killed (kill -9) three times while they run, restarted,
and every request retried with its key.

What must hold: every effect is recorded exactly once (one payment per key, one invoice per
number); a retry of a request that had its answer gets exactly that answer again; a retry of a
request cut by the kill gets either its first answer (it had committed) or a first execution;
and no retry waits more than 10 s (no stale claim to expire)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.reliability.harness import (
    Service,
    fetch,
    fresh_database,
    running_services,
    seed,
)

pytestmark = pytest.mark.reliability

INVOICES = 150
PAYMENTS_PER_INVOICE = 2
CREATES = 300
CLIENTS = 16
KILLS = 3
RETRY_WAIT_LIMIT = 10.0


@dataclass
class Request:
    key: str
    path: str
    body: dict[str, Any]
    answer: tuple[int, Any] | None = None  # the first answer the client saw
    cut: bool = False  # sent, and the connection died before an answer
    retried_answers: int = 0  # retries that answered with the first answer


def _create_requests(seeded: Any) -> list[Request]:
    out: list[Request] = []
    for n in range(CREATES):
        number = f"IDEM-{n:05d}"
        body = {
            "creditor_id": seeded.creditor_id,
            "debtor_id": seeded.debtor_id,
            "number": number,
            "issue_date": "2026-10-01",
            "amount": f"{200 + n}.00",
        }
        out.append(Request(f"create-{number}", "/v1/invoices", body))
    return out


async def _payment_requests(client: httpx.AsyncClient, seeded: Any) -> list[Request]:
    paid_at = dt.datetime.now(dt.UTC).date().isoformat()
    ids: list[str] = []
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/invoices", params=params, headers=seeded.headers)).json()
        ids += [invoice["id"] for invoice in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    out = []
    for invoice_id in ids[:INVOICES]:
        for n in range(PAYMENTS_PER_INVOICE):
            key = f"pay-{invoice_id}-{n}"
            body = {"amount": "1.07", "paid_at": paid_at, "method": "transfer", "reference": key}
            out.append(Request(key, f"/v1/invoices/{invoice_id}/payments", body))
    return out


async def _send(client: httpx.AsyncClient, seeded: Any, request: Request) -> httpx.Response:
    headers = {**seeded.headers, "Idempotency-Key": request.key}
    return await client.post(request.path, json=request.body, headers=headers)


async def _retry(
    client: httpx.AsyncClient, seeded: Any, request: Request
) -> tuple[httpx.Response, float]:
    """Retry until a final answer (not 409, not 5xx, not a refused connection); the wait."""
    started = time.monotonic()
    while True:
        try:
            response = await _send(client, seeded, request)
        except httpx.HTTPError:
            response = None
        waited = time.monotonic() - started
        if response is not None and response.status_code != 409 and response.status_code < 500:
            return response, waited
        if waited > 60:
            raise AssertionError(f"{request.key}: no final answer after 60 s")
        await asyncio.sleep(0.1)


async def _send_round(
    client: httpx.AsyncClient,
    seeded: Any,
    service: Service,
    pending: list[Request],
    kill_after: int | None,
) -> None:
    """Send `pending` from CLIENTS concurrent clients; after `kill_after` answers, kill -9 the
    service (the requests in flight then are cut). Sent requests leave `pending`."""
    queue = list(pending)
    killed = asyncio.Event()
    answered = 0

    async def client_loop() -> None:
        nonlocal answered
        while queue and not killed.is_set():
            request = queue.pop(0)
            pending.remove(request)
            try:
                response = await _send(client, seeded, request)
            except httpx.HTTPError:
                request.cut = True
                continue
            if killed.is_set() or response.status_code >= 500:
                request.cut = True  # answered by a dying process: retried like the others
                continue
            request.answer = (response.status_code, response.json())
            answered += 1
            if kill_after is not None and answered >= kill_after:
                killed.set()
                service.kill()

    await asyncio.gather(*(client_loop() for _ in range(CLIENTS)))


async def test_kill_during_idempotent_writes_runs_each_once(database_url, tmp_path, counts):
    async with fresh_database(database_url) as url:
        service = Service(url, tmp_path / "service.log", scheduler=True, interval=0.2)
        with running_services(service):
            await service.start_healthy()
            seeded = await seed(service.base_url, invoices=INVOICES, receiver=None)
            async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
                payments = await _payment_requests(client, seeded)
            # Interleaved, so each kill lands on both kinds.
            pairs = zip(_create_requests(seeded), payments, strict=True)
            requests = [request for pair in pairs for request in pair]
            pending = list(requests)
            statuses: dict[int, int] = {}
            max_wait = 0.0
            cut_total = 0
            replayed_after_cut = 0
            executed_after_cut = 0

            for round_ in range(KILLS + 1):
                if round_ > 0:
                    await service.start_healthy()
                async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
                    # First, the requests the last kill cut: retried with their keys.
                    for request in [r for r in requests if r.cut]:
                        response, waited = await _retry(client, seeded, request)
                        max_wait = max(max_wait, waited)
                        request.cut = False
                        request.answer = (response.status_code, response.json())
                        if response.headers.get("idempotent-replayed") == "true":
                            replayed_after_cut += 1
                        else:
                            executed_after_cut += 1
                    if not pending:
                        break
                    # Then new requests; this round's kill comes after a share of them.
                    kill_after = len(pending) // (KILLS + 1 - round_) if round_ < KILLS else None
                    await _send_round(client, seeded, service, pending, kill_after)
                    cut_total += sum(r.cut for r in requests)

            # Every request once more with its key: the first answer, replayed.
            mismatched = 0
            async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
                for request in requests:
                    response, waited = await _retry(client, seeded, request)
                    max_wait = max(max_wait, waited)
                    assert request.answer is not None, request.key
                    statuses[request.answer[0]] = statuses.get(request.answer[0], 0) + 1
                    if (response.status_code, response.json()) == request.answer:
                        request.retried_answers += 1
                    else:
                        mismatched += 1

            payment_rows = await fetch(
                url,
                "SELECT reference, count(*) AS n FROM payments WHERE tenant_id = $1 "
                "GROUP BY reference",
                seeded.tenant_id,
            )
            invoice_rows = await fetch(
                url,
                "SELECT number, count(*) AS n FROM invoices WHERE tenant_id = $1 "
                "AND number LIKE 'IDEM-%' GROUP BY number",
                seeded.tenant_id,
            )
            overpaid = await fetch(
                url,
                "SELECT id FROM invoices WHERE tenant_id = $1 AND paid_amount > amount",
                seeded.tenant_id,
            )

        payment_keys = {r.key for r in requests if r.key.startswith("pay-")}
        recorded_payments = {row["reference"]: row["n"] for row in payment_rows}
        recorded_invoices = {row["number"]: row["n"] for row in invoice_rows}
        duplicated = sum(n - 1 for n in recorded_payments.values()) + sum(
            n - 1 for n in recorded_invoices.values()
        )
        missing = len(payment_keys - set(recorded_payments)) + (CREATES - len(recorded_invoices))
        counts(
            requests=len(requests),
            kills=KILLS,
            cut_by_kills=cut_total,
            cut_then_replayed=replayed_after_cut,
            cut_then_executed=executed_after_cut,
            first_answers=statuses,
            duplicated_effects=duplicated,
            missing_effects=missing,
            retries_not_given_first_answer=mismatched,
            longest_retry_wait_s=round(max_wait, 2),
            overpaid_invoices=len(overpaid),
        )
        assert cut_total > 0, "no kill cut a request"
        assert statuses == {201: len(requests)}, statuses
        assert duplicated == 0
        assert missing == 0
        assert mismatched == 0
        assert not overpaid
        assert max_wait <= RETRY_WAIT_LIMIT

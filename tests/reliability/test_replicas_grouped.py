"""Grouped events across replicas: two service processes sweep a grouped policy (`grouping:
"debtor"`) at once, one is killed -9 mid-sweep and restarted: each debtor gets exactly one
grouped event for the day (none lost, none duplicated), every invoice's grouped step is stored
once with its debtor's event, and each event is delivered."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections import Counter

import httpx
import pytest

from tests.reliability.harness import (
    ADMIN_TOKEN,
    Probe,
    Receiver,
    Service,
    fetch,
    fresh_database,
    running_services,
    scalar,
    wait_until,
)

DEBTORS = 600
INVOICES_PER_DEBTOR = 4  # 2,400 invoices: several sweep batches of 500

pytestmark = pytest.mark.reliability


async def _seed(base_url: str, receiver: Receiver) -> tuple[str, list[str]]:
    """A tenant under a grouped policy; its debtors, each with invoices 5 to 40 days late."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    today = dt.datetime.now(dt.UTC).date()
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        tenant = (await client.post("/v1/admin/tenants", json={"name": "G"}, headers=admin)).json()
        key = {"Authorization": f"Bearer {tenant['api_key']}"}
        endpoint = await client.post(
            "/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]}, headers=key
        )
        assert endpoint.status_code == 201, endpoint.text
        receiver.secrets.append(endpoint.json()["secret"])
        default = (await client.get("/v1/dunning-policies/default", headers=key)).json()
        policy = await client.post(
            "/v1/dunning-policies",
            json={
                "name": "Grouped",
                "grouping": "debtor",
                "steps": [
                    {k: s[k] for k in ("code", "kind", "channel", "offset_days")}
                    for s in default["steps"]
                ],
            },
            headers=key,
        )
        assert policy.status_code == 201, policy.text
        creditor = await client.post(
            "/v1/creditors",
            json={"name": "Atelier Groupé", "dunning_policy_id": policy.json()["id"]},
            headers=key,
        )
        creditor_id = creditor.json()["id"]
        debtor_ids: list[str] = []
        for start in range(0, DEBTORS, 50):
            made = await asyncio.gather(
                *(
                    client.post(
                        "/v1/debtors",
                        json={"creditor_id": creditor_id, "kind": "business", "name": f"D{n}"},
                        headers=key,
                    )
                    for n in range(start, start + 50)
                )
            )
            debtor_ids += [m.json()["id"] for m in made]
        rows = [
            {
                "creditor_id": creditor_id,
                "debtor_id": debtor_id,
                "number": f"G-{d:04d}-{k}",
                "issue_date": (today - dt.timedelta(days=70)).isoformat(),
                "due_date": (today - dt.timedelta(days=5 + (d * 7 + k * 11) % 36)).isoformat(),
                "amount": f"{100 + (d + k) % 900}.00",
            }
            for d, debtor_id in enumerate(debtor_ids)
            for k in range(INVOICES_PER_DEBTOR)
        ]
        for start in range(0, len(rows), 1000):
            batch = await client.post(
                "/v1/invoices/batch", json={"invoices": rows[start : start + 1000]}, headers=key
            )
            assert batch.status_code == 200, batch.text
            assert batch.json()["errors"] == []
    return tenant["id"], debtor_ids


async def _expected(url: str, tenant_id: str) -> tuple[dict[str, set[str]], set[str]]:
    """The oracle, from the pure functions with nothing emitted yet, today: the per-invoice
    occurrences (facts) and the debtors that get a grouped event."""
    from app.core.clock import Clock
    from app.escalation.engine import InvoiceState, evaluate
    from app.escalation.grouping.engine import GROUPED_KINDS, Member, decide
    from app.escalation.policy import DEFAULT_POLICY
    from app.legal.calendar import FRENCH_CALENDAR

    policy = dataclasses.replace(DEFAULT_POLICY, grouping="debtor")
    today = Clock().today()
    rows = await fetch(
        url,
        "SELECT id, debtor_id, issue_date, due_date, amount, tracked_since FROM invoices "
        "WHERE tenant_id = $1",
        tenant_id,
    )
    facts: dict[str, set[str]] = {}
    members: dict[str, list[Member]] = {}
    for r in rows:
        state = InvoiceState(
            issue_date=r["issue_date"],
            due_date=r["due_date"],
            amount=r["amount"],
            balance=r["amount"],
            status="open",
            debtor_kind="business",
            created_on=r["tracked_since"],
        )
        evaluation = evaluate(state, policy, (), FRENCH_CALENDAR, today)
        facts[r["id"]] = {
            o.key for o in evaluation.due if o.step is None or o.step.kind not in GROUPED_KINDS
        }
        members.setdefault(r["debtor_id"], []).append(
            Member(r["id"], r["due_date"], r["amount"], evaluation, frozenset())
        )
    grouped = {d for d, ms in members.items() if decide(policy, ms, [], today).step is not None}
    return facts, grouped


async def test_kill_during_a_grouped_sweep_on_two_replicas(database_url, tmp_path, counts):
    async with fresh_database(database_url) as url:
        a = Service(url, tmp_path / "a.log", scheduler=False, interval=0.5)
        b = Service(url, tmp_path / "b.log", scheduler=False, interval=0.5)
        with Receiver() as receiver, running_services(a, b):
            await a.start_healthy()
            tenant_id, _ = await _seed(a.base_url, receiver)
            a.stop()
            facts, grouped_debtors = await _expected(url, tenant_id)
            expected_events = sum(len(k) for k in facts.values()) + len(grouped_debtors)
            assert len(grouped_debtors) == DEBTORS

            async with Probe(url) as probe:
                a.scheduler = b.scheduler = True
                a.start()
                b.start()
                await asyncio.gather(a.wait_healthy(), b.wait_healthy())
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    if await probe.events() > 0:
                        break
                    await asyncio.sleep(0.01)
                a.kill()  # kill -9 one replica mid-sweep; the other goes on
                events_at_kill = await probe.events()
                await a.start_healthy()

                async def all_done() -> bool:
                    return (
                        await probe.events() >= expected_events
                        and await probe.delivered() >= expected_events
                        and receiver.distinct() >= expected_events
                    )

                await wait_until(all_done, within=600, interval=0.5, what="every grouped event")
                await asyncio.sleep(2.0)
            a.stop()
            b.stop()

            events = await fetch(
                url,
                "SELECT id, type, invoice_id, debtor_id, occurrence, data FROM events "
                "WHERE tenant_id = $1",
                tenant_id,
            )
            marks = await fetch(
                url,
                "SELECT g.invoice_id, g.occurrence, g.event_id, i.debtor_id FROM grouped_steps g "
                "JOIN invoices i ON i.id = g.invoice_id WHERE i.tenant_id = $1",
                tenant_id,
            )
            still_due = await scalar(
                url,
                "SELECT count(*) FROM invoices WHERE tenant_id = $1 AND status = 'open' "
                "AND next_action_at <= now()",
                tenant_id,
            )

        per_debtor = Counter(e["debtor_id"] for e in events if e["debtor_id"] is not None)
        own = Counter((e["invoice_id"], e["occurrence"]) for e in events if e["invoice_id"])
        wanted_own = {(i, k) for i, keys in facts.items() for k in keys}
        grouped_ids = {e["id"]: e["debtor_id"] for e in events if e["debtor_id"] is not None}
        orphan_marks = [m for m in marks if grouped_ids.get(m["event_id"]) != m["debtor_id"]]
        invoices_marked = Counter(m["invoice_id"] for m in marks)
        duplicates = receiver.total() - receiver.distinct()
        counts(
            debtors=DEBTORS,
            invoices=len(facts),
            expected_events=expected_events,
            events=len(events),
            events_at_kill=events_at_kill,
            grouped_events=sum(per_debtor.values()),
            lost_grouped=len(grouped_debtors - set(per_debtor)),
            duplicated_grouped=sum(n - 1 for n in per_debtor.values()),
            lost_per_invoice=len(wanted_own - set(own)),
            duplicated_per_invoice=sum(n - 1 for n in own.values()),
            grouped_steps=len(marks),
            orphan_grouped_steps=len(orphan_marks),
            still_due=still_due,
            received=receiver.total(),
            redelivered_after_kill=duplicates,
        )
        assert 0 < events_at_kill < expected_events, "the kill missed the sweep"
        assert set(per_debtor) == grouped_debtors
        assert max(per_debtor.values()) == 1
        assert set(own) == wanted_own
        assert max(own.values()) == 1
        assert not [e for e in events if e["type"] in ("dunning.step_due",)]
        # Every invoice's due step went with its own debtor's event, once.
        assert orphan_marks == []
        assert set(invoices_marked) == set(facts)
        assert int(still_due) == 0
        assert len(events) == expected_events
        assert set(receiver.received) == {e["id"] for e in events}
        assert receiver.bad_signatures == 0

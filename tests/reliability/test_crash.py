"""Crash: the service as a real process, 10,000 due invoices, a live receiver; kill -9 during
the sweep, kill -9 again during the deliveries, restart: every occurrence has exactly one event,
every event is delivered at least once, nothing is lost."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.outbox.webhooks.tasks import PER_ENDPOINT_CONCURRENCY
from tests.reliability.harness import (
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

INVOICES = 10_000

pytestmark = pytest.mark.reliability


async def test_kill_during_sweep_and_deliveries_loses_nothing(database_url, tmp_path, counts):
    async with fresh_database(database_url) as url:
        service = Service(url, tmp_path / "service.log", scheduler=False)
        with Receiver() as receiver, running_services(service):
            await service.start_healthy()
            seeded = await seed(service.base_url, invoices=INVOICES, receiver=receiver)
            service.stop()
            expected = sum(
                len(k) for k in (await expected_occurrences(url, seeded.tenant_id)).values()
            )
            assert expected >= INVOICES

            async with Probe(url) as probe:
                # 1. kill -9 while the sweep is writing events (batches of 500, committed one
                # by one): some are written, not all.
                service.scheduler = True
                service.start()
                deadline = time.monotonic() + 120
                events_at_kill = 0
                while time.monotonic() < deadline:
                    events_at_kill = await probe.events()
                    if events_at_kill > 0:
                        break
                    await asyncio.sleep(0.01)
                service.kill()
                events_at_kill = await probe.events()
                assert 0 < events_at_kill < expected, (
                    f"the kill missed the sweep ({events_at_kill} of {expected} events)"
                )
                delivered_before_first_kill = receiver.distinct()

                # 2. restart; kill -9 again while the deliveries are under way.
                await service.start_healthy()
                await wait_until(
                    lambda: _at_least(receiver, expected // 4),
                    within=300,
                    interval=0.05,
                    what="a quarter of the deliveries",
                )
                leased_at_kill = await probe.leased()
                service.kill()
                received_at_second_kill = receiver.distinct()
                assert received_at_second_kill < expected, "the kill missed the deliveries"

                # 3. restart and let it finish (the leases of the killed process expire first).
                await service.start_healthy()

                async def all_delivered() -> bool:
                    return receiver.distinct() >= expected and await probe.delivered() >= expected

                await wait_until(all_delivered, within=600, interval=0.5, what="every delivery")
                await asyncio.sleep(1.0)  # anything still in flight lands in the counts

            result = await ledger(url, seeded.tenant_id)
            unknown = set(receiver.received) - result.event_ids
            never_delivered = result.event_ids - set(receiver.received)
            duplicates = receiver.total() - receiver.distinct()
            log = service.log_path.read_text(errors="replace")
            secrets_in_log = sum(s in log for s in [*receiver.secrets, seeded.api_key])

        counts(
            invoices=INVOICES,
            expected_events=expected,
            events=result.events,
            events_at_first_kill=events_at_kill,
            deliveries_received_at_first_kill=delivered_before_first_kill,
            received_at_second_kill=received_at_second_kill,
            leased_at_second_kill=leased_at_kill,
            lost_events=result.missing_occurrences,
            duplicated_events=result.duplicated_events,
            unexpected_events=result.unexpected_occurrences,
            still_due=result.still_due,
            undelivered=len(never_delivered),
            redelivered_after_kill=duplicates,
            bad_signatures=receiver.bad_signatures,
            cut_short_by_kill=receiver.truncated,
            secrets_in_log=secrets_in_log,
            restarts=service.starts - 1,
            deadlocks=result.deadlocks,
        )
        assert result.missing_occurrences == 0
        assert result.deadlocks == 0
        assert result.duplicated_events == 0
        assert result.unexpected_occurrences == 0
        assert result.events == expected
        assert result.still_due == 0
        assert result.deliveries_per_event_max == 1, "an event was fanned out twice"
        assert result.deliveries_not_succeeded == 0
        assert not never_delivered
        assert not unknown
        assert receiver.bad_signatures == 0
        # At least once: a delivery in flight when the process died may arrive twice. The one
        # endpoint never has more than PER_ENDPOINT_CONCURRENCY in flight, at each of the kills.
        assert duplicates <= 2 * PER_ENDPOINT_CONCURRENCY, duplicates
        assert secrets_in_log == 0, "a webhook secret or API key is in the service log"


async def _at_least(receiver: Receiver, n: int) -> bool:
    return receiver.distinct() >= n

"""relance_webhook_due_deliveries: the due backlog per endpoint, with a bounded number of series
(issue 19, point 3)."""

from __future__ import annotations

import datetime as dt

from app.core.metrics import DUE_BACKLOG_OTHER, REGISTRY
from app.outbox.webhooks import tasks
from tests.conftest import make_tenant
from tests.outbox.webhooks.test_claim_fairness import _due_at, _emit, _endpoint, settings

__all__ = ["settings"]  # the fixture: private URLs allowed


def _backlog(endpoint: str) -> float | None:
    return REGISTRY.get_sample_value("relance_webhook_due_deliveries", {"endpoint": endpoint})


async def test_the_backlog_shows_the_top_endpoints_and_sums_the_rest(
    client, app, clock, monkeypatch
):
    monkeypatch.setattr(tasks, "DUE_BACKLOG_TOP_ENDPOINTS", 2)
    tenant = await make_tenant(client, "Backlog")
    endpoints = [await _endpoint(client, tenant, f"e{n}") for n in range(3)]
    for n in range(3):
        await _emit(app, tenant.id, f"o{n}", clock)  # 3 due on each endpoint
    later = clock.now() + dt.timedelta(days=1)
    await _due_at(app, endpoints[2], later)  # not due yet: not in the backlog
    await _emit(app, tenant.id, "o3", clock)  # one more due on each: 4, 4, 1

    await tasks.refresh_gauges(app.state.sessionmaker, clock)
    assert (_backlog(endpoints[0]), _backlog(endpoints[1])) == (4, 4)
    assert _backlog(endpoints[2]) is None
    assert _backlog(DUE_BACKLOG_OTHER) == 1

    # The first endpoint's backlog moves to tomorrow: it leaves the top (reads 0), the third
    # one enters with its 1.
    await _due_at(app, endpoints[0], later)
    await tasks.refresh_gauges(app.state.sessionmaker, clock)
    assert (_backlog(endpoints[0]), _backlog(endpoints[1]), _backlog(endpoints[2])) == (0, 4, 1)
    assert _backlog(DUE_BACKLOG_OTHER) == 0

"""The rate book as operators see it: sourced half-years since 2019, the half-years still
unpublished (GET /v1/rates, /metrics, the log), and `relance rates add`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import sys
import time

import pytest

from app.claims import tasks
from app.legal import repository
from app.main import TICK_JOBS, create_app


def _gauge(body: str, kind: str, horizon: str) -> float:
    line = f'relance_rate_unpublished{{horizon="{horizon}",kind="{kind}"}} '
    (value,) = [row.removeprefix(line) for row in body.splitlines() if row.startswith(line)]
    return float(value)


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    # Each gap is warned about once per process: give each test its own process memory.
    monkeypatch.setattr(repository, "_warned", set())


async def test_rates_list_every_half_year_since_2019_with_its_source(client, tenant):
    rates = (await client.get("/v1/rates", headers=tenant.headers)).json()
    b2b = {(r["year"], r["half"]): r for r in rates["b2b_default"]}
    other = {(r["year"], r["half"]): r for r in rates["legal_other"]}
    individual = {(r["year"], r["half"]): r for r in rates["legal_individual"]}
    for year in range(2019, 2027):
        for half in (1, 2):
            assert (year, half) in b2b
            if (year, half) != (2026, 2):
                assert (year, half) in other
                assert (year, half) in individual
    assert (b2b[(2026, 2)]["rate"], b2b[(2026, 2)]["verified"]) == ("12.4", False)
    assert b2b[(2026, 2)]["origin"] == "figures"
    assert (other[(2022, 2)]["rate"], individual[(2022, 2)]["rate"]) == ("0.77", "3.15")
    assert "ECOT2218806A" in other[(2022, 2)]["source"]
    assert other[(2019, 1)]["rate"] == "0.86"
    assert all(r["source"] for r in rates["legal_other"])
    assert (2026, 2) not in other  # no arrêté found: not listed as published


async def test_unpublished_current_and_next_half_years(client, tenant, clock):
    # 2 March 2026: 2026H1 is complete; the taux légal of 2026H2 (next) is not published.
    rates = (await client.get("/v1/rates", headers=tenant.headers)).json()
    assert {(u["kind"], u["horizon"], u["year"], u["half"]) for u in rates["unpublished"]} == {
        ("legal_individual", "next", 2026, 2),
        ("legal_other", "next", 2026, 2),
    }
    # 1 December 2026: the taux légal of 2026H2 (current) and everything of 2027H1 (next).
    clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))
    rates = (await client.get("/v1/rates", headers=tenant.headers)).json()
    gaps = {(u["kind"], u["horizon"]): u for u in rates["unpublished"]}
    assert set(gaps) == {
        ("legal_individual", "current"),
        ("legal_other", "current"),
        ("b2b_default", "next"),
        ("legal_individual", "next"),
        ("legal_other", "next"),
    }
    assert gaps[("legal_other", "current")]["provisional_rate"] == "2.62"
    assert gaps[("b2b_default", "next")]["provisional_rate"] == "12.65"
    assert rates["current"]["b2b_default"] == {
        "rate": "12.4",
        "provisional": False,
        "source": "published 2026H2",
    }
    assert rates["current"]["legal_other"]["provisional"] is True


async def test_metrics_and_log_report_unpublished_half_years_once(
    client, tenant, clock, admin_headers, caplog
):
    clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))
    with caplog.at_level(logging.WARNING, logger="relance.rates"):
        await client.get("/v1/rates", headers=tenant.headers)
        await client.get("/v1/rates", headers=tenant.headers)
    warnings = [r.getMessage() for r in caplog.records if r.name == "relance.rates"]
    assert len(warnings) == 5, warnings  # one per gap, not one per request
    assert any("legal_other rate for 2026H2" in w for w in warnings)
    assert any("b2b_default rate for 2027H1" in w and "12.65" in w for w in warnings)
    body = (await client.get("/metrics")).text
    assert _gauge(body, "legal_other", "current") == 1
    assert _gauge(body, "b2b_default", "current") == 0
    assert _gauge(body, "b2b_default", "next") == 1
    # Recording the rate closes the gap: the gauge falls back to 0.
    for kind, rate in (("legal_other", "2.70"), ("legal_individual", "6.70")):
        recorded = await client.post(
            "/v1/admin/rates",
            json={"kind": kind, "year": 2026, "half": 2, "rate": rate, "source": "arrêté"},
            headers=admin_headers,
        )
        assert recorded.status_code == 201, recorded.text
    assert {(u["kind"], u["horizon"]) for u in recorded.json()["unpublished"]} == {
        ("b2b_default", "next"),
        ("legal_individual", "next"),
        ("legal_other", "next"),
    }
    body = (await client.get("/metrics")).text
    assert _gauge(body, "legal_other", "current") == 0
    assert _gauge(body, "legal_individual", "current") == 0
    assert _gauge(body, "legal_other", "next") == 1


async def test_the_scheduler_checks_the_rates_at_most_hourly(app, monkeypatch):
    assert ("rate_coverage", tasks.rate_coverage_tick) in TICK_JOBS
    monkeypatch.setattr(tasks, "_last_check", None)
    gaps = await tasks.rate_coverage_tick(app)
    assert gaps is not None
    assert {(g.kind, g.label) for g in gaps} == {
        ("legal_individual", "2026H2"),
        ("legal_other", "2026H2"),
    }
    assert await tasks.rate_coverage_tick(app) is None  # within the hour
    an_hour_ago = time.monotonic() - tasks.RATE_CHECK_INTERVAL_SECONDS - 1
    monkeypatch.setattr(tasks, "_last_check", an_hour_ago)
    assert await tasks.rate_coverage_tick(app) is not None


async def test_start_up_warns_about_unpublished_rates(settings, clock, caplog):
    started = create_app(settings, clock=clock, migrate_on_start=True)
    with caplog.at_level(logging.WARNING, logger="relance.rates"):
        async with started.router.lifespan_context(started):
            pass
    warnings = [r.getMessage() for r in caplog.records if r.name == "relance.rates"]
    assert any("legal_other rate for 2026H2 (the next half-year)" in w for w in warnings)


async def _cli(database_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "rates",
        "add",
        *args,
        env={**os.environ, "RELANCE_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_relance_rates_add_records_a_half_year_as_the_admin_api_does(
    client, tenant, database_url
):
    code, out, err = await _cli(
        database_url, "legal_other", "2026", "2", "2.70", "--source", "arrêté du 22 juin 2026"
    )
    assert code == 0, err
    printed = json.loads(out)
    assert printed["recorded"] == {
        "kind": "legal_other",
        "year": 2026,
        "half": 2,
        "rate": "2.70",
        "source": "arrêté du 22 juin 2026",
    }
    assert "unpublished" in printed
    rates = (await client.get("/v1/rates", headers=tenant.headers)).json()
    added = {(r["year"], r["half"]): r for r in rates["legal_other"]}[(2026, 2)]
    assert added == {
        "year": 2026,
        "half": 2,
        "rate": "2.7",
        "source": "arrêté du 22 juin 2026",
        "verified": True,
        "origin": "operator",
    }
    # Recording it again corrects it (same upsert as POST /v1/admin/rates).
    code, _, err = await _cli(database_url, "legal_other", "2026", "2", "2.71", "--source", "x")
    assert code == 0, err
    rates = (await client.get("/v1/rates", headers=tenant.headers)).json()
    assert {(r["year"], r["half"]): r for r in rates["legal_other"]}[(2026, 2)]["rate"] == "2.71"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("legal_other", "2026", "3", "2.70", "--source", "x"), "half"),
        (("legal_other", "2026", "2", "abc", "--source", "x"), "rate"),
        (("legal_other", "1999", "2", "2.70", "--source", "x"), "year"),
        (("legal_other", "2026", "2", "2.70", "--source", ""), "source"),
        (("nope", "2026", "2", "2.70", "--source", "x"), "invalid choice"),
        (("legal_other", "2026", "2", "2.70"), "--source"),
    ],
)
async def test_relance_rates_add_validates_like_the_api(database_url, args, message):
    code, out, err = await _cli(database_url, *args)
    assert code == 2
    assert out == ""
    assert message in err


async def test_computing_a_claim_over_an_unpublished_half_year_warns_once(client, tenant, caplog):
    from tests.factories import ledger

    made = await ledger(
        client, tenant, issue_date="2026-11-01", due_date="2026-12-01", amount="1000.00"
    )
    url = f"/v1/invoices/{made['invoice']['id']}/claim"
    with caplog.at_level(logging.WARNING, logger="relance.rates"):
        for _ in range(2):
            claim = (
                await client.get(url, params={"as_of": "2027-01-31"}, headers=tenant.headers)
            ).json()
    assert claim["provisional"] is True
    warnings = [r.getMessage() for r in caplog.records if r.name == "relance.rates"]
    assert [w for w in warnings if "b2b_default rate for 2027H1" in w] == [
        "a claim uses a provisional b2b_default rate for 2027H1 (12.65%): no published rate "
        "yet; record it with relance rates add b2b_default 2027 1 RATE --source ..."
    ]

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys


async def test_relance_tenant_create_prints_a_key_that_works(client, database_url):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "tenant",
        "create",
        "Acme Factures",
        env={**os.environ, "RELANCE_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    created = json.loads(out)
    assert set(created) == {"id", "name", "api_key"}
    assert created["name"] == "Acme Factures"
    assert created["api_key"].startswith("rk_")
    me = await client.get(
        "/v1/creditors", headers={"Authorization": f"Bearer {created['api_key']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["data"] == []  # a new tenant sees nothing of the others


async def test_relance_tenant_create_sandbox_starts_its_clock_at_the_real_now(client, database_url):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "tenant",
        "create",
        "Bac à sable",
        "--sandbox",
        env={**os.environ, "RELANCE_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    created = json.loads(out)
    assert created["sandbox"] is True
    response = await client.get(
        "/v1/test-clock", headers={"Authorization": f"Bearer {created['api_key']}"}
    )
    assert response.status_code == 200, response.text
    now = dt.datetime.fromisoformat(response.json()["now"])
    assert abs((now - dt.datetime.now(dt.UTC)).total_seconds()) < 120

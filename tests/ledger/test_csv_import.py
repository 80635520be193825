from __future__ import annotations

import asyncio
import csv
import os
import sys

from app.ledger.invoices.csv_import import import_invoices
from tests.factories import create_creditor, create_debtor


def _write_csv(path, creditor_id, debtor_id, count, *, delimiter=","):
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["creditor_id", "debtor_id", "number", "issue_date", "due_date", "amount"])
        for i in range(count):
            amount = f"{100 + i},50" if i % 2 else f"{100 + i}.50"  # decimal commas too
            issue = "15/01/2026" if i % 3 == 0 else "2026-01-15"
            writer.writerow([creditor_id, debtor_id, f"CSV-{i:05d}", issue, "", amount])


async def test_import_1000_rows_with_bad_ones(client, tenant, app, clock, tmp_path):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    path = tmp_path / "export.csv"
    _write_csv(path, creditor["id"], debtor["id"], 1000, delimiter=";")
    rows = path.read_text(encoding="utf-8-sig").splitlines()
    rows[5] = rows[5].replace(";2026-01-15;", ";2026-13-45;")
    rows[6] = rows[6].replace(debtor["id"], "debt_nope")
    rows[7] = rows[7].rsplit(";", 1)[0] + ";-3"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")

    summary = await import_invoices(path, app.state.sessionmaker, tenant.id, clock, progress=False)
    assert (summary.rows, summary.created, summary.rejected) == (1000, 997, 3)
    assert summary.rejected_file is not None
    # UTF-8 with BOM and the input's separator: Excel opens it as it opened the export.
    with summary.rejected_file.open(encoding="utf-8-sig") as handle:
        rejected = list(csv.DictReader(handle, delimiter=";"))
    assert [r["line"] for r in rejected] == ["6", "7", "8"]
    assert "issue_date" in rejected[0]["error"]
    assert "debtor" in rejected[1]["error"]
    assert "amount" in rejected[2]["error"]

    listed = await client.get("/v1/invoices", params={"limit": 2}, headers=tenant.headers)
    first = listed.json()["data"][0]
    assert first["issue_date"] == "2026-01-15"  # 15/01/2026 read as a French date
    assert first["due_date"] == "2026-02-14"  # creditor's 30 days

    again = await import_invoices(path, app.state.sessionmaker, tenant.id, clock, progress=False)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 997)


async def test_cli_import(client, tenant, database_url, tmp_path):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    path = tmp_path / "small.csv"
    _write_csv(path, creditor["id"], debtor["id"], 5)
    env = {**os.environ, "RELANCE_DATABASE_URL": database_url}

    async def relance(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        return process.returncode or 0, out.decode(), err.decode()

    code, out, err = await relance(
        "import", "invoices", str(path), "--tenant-key", tenant.api_key, "--quiet"
    )
    assert code == 0, err
    assert "5 rows: 5 created, 0 updated, 0 unchanged, 0 rejected" in out
    code, out, err = await relance(
        "import", "invoices", str(path), "--tenant-key", "rk_x", "--quiet"
    )
    assert code == 2
    assert "invalid" in err

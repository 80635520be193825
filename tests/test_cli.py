"""The `relance` command line end to end, through `app.cli.main`: which database it uses, the
refusal to create an empty one, --version, the CSV import's exit codes, the sweep's safety."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from importlib import metadata

import pytest
from sqlalchemy import func, select

from app.cli import main, mask_password
from app.core.settings import get_settings
from app.ledger.invoices.models import Invoice
from app.outbox.events.models import Event
from tests.factories import VALID_SIREN, create_creditor, create_debtor, ledger


@pytest.fixture
def no_configured_database(monkeypatch):
    """As on an operator's machine: no RELANCE_DATABASE_URL, the embedded default."""
    monkeypatch.delenv("RELANCE_DATABASE_URL", raising=False)
    monkeypatch.delenv("RELANCE_DATA_DIR", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def relance(capsys, *argv: str) -> tuple[int, str, str]:
    """`relance ARGV` in a thread (it runs its own event loop), with its exit code and output."""
    capsys.readouterr()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = await asyncio.to_thread(main, list(argv))
    finally:
        # `relance sweep` configures the process's logging: give pytest its handlers back.
        root.handlers[:], root.level = handlers, level
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"relance {metadata.version('relance')}"


def test_passwords_are_masked():
    assert (
        mask_password("postgresql://relance:s3cret@db.internal:5432/relance")
        == "postgresql://relance:***@db.internal:5432/relance"
    )
    assert mask_password("not a url") == "(an unparsable RELANCE_DATABASE_URL)"


@pytest.mark.parametrize(
    "argv",
    [
        ["import", "invoices", "{file}", "--tenant-key", "rk_x", "--quiet"],
        ["sweep", "--as-of", "2026-03-02T06:00:00+01:00"],
        ["rates", "add", "legal_other", "2027", "1", "2.70", "--source", "arrêté"],
    ],
)
async def test_no_empty_database_behind_the_users_back(
    capsys, tmp_path, monkeypatch, no_configured_database, argv
):
    monkeypatch.chdir(tmp_path)  # elsewhere than where the service keeps its data
    export = tmp_path / "export.csv"
    export.write_text("number;issue_date;amount;debtor\n", encoding="utf-8")
    args = [a.replace("{file}", str(export)) for a in argv]
    code, _, err = await relance(capsys, *args)
    assert code == 2
    assert f"relance: database: embedded PostgreSQL in {tmp_path / '.relance'}" in err
    assert f"no database in {tmp_path / '.relance'}" in err
    assert "--data-dir" in err
    assert "Traceback" not in err
    assert not (tmp_path / ".relance").exists()

    # --data-dir after the command as well as before it
    code, _, err = await relance(capsys, *args, "--data-dir", str(tmp_path / "elsewhere"))
    assert code == 2
    assert f"no database in {tmp_path / 'elsewhere'}" in err
    assert not (tmp_path / "elsewhere").exists()


def _french_export(path, rows: list[str]) -> None:
    path.write_bytes(
        (
            "N° facture;Date;Échéance;Montant TTC;Client;Nom client;Remarque\r\n" + "".join(rows)
        ).encode("cp1252")
    )


async def test_cli_import_of_a_french_export(client, tenant, database_url, capsys, tmp_path):
    creditor = await create_creditor(client, tenant)
    await create_debtor(client, tenant, creditor["id"], external_id="C001")
    path = tmp_path / "ventes.csv"
    _french_export(
        path,
        [
            "F-1;15/10/26;15/11/26;1 234,56 €;C001;;à relancer\r\n",
            "F-2;16/10/26;;99,90;C002;Élan Conseil;\r\n",
            "F-3;17/10/26;;10,00;C002;Élan Conseil;\r\n",
            ";;;;\r\n",
        ],
    )
    code, out, err = await relance(
        capsys,
        "import",
        "invoices",
        str(path),
        "--tenant-key",
        tenant.api_key,
        "--creditor",
        VALID_SIREN,
        "--database-url",
        database_url,
        "--quiet",
    )
    assert code == 0, err
    assert f"relance: database: {database_url}" in err  # the test server has no password
    assert "as cp1252, ';'-separated" in err
    assert "N° facture -> number" in err
    assert "3 rows: 3 created, 0 updated, 0 unchanged, 0 rejected" in out
    assert "1 new debtors created" in out
    assert "ignored columns: Remarque" in out

    _french_export(path, ["F-4;18/10/26;;10,00;C404;;\r\n", "F-5;31/02/26;;10,00;C001;;\r\n"])
    code, out, err = await relance(
        capsys,
        "--database-url",
        database_url,
        "import",
        "invoices",
        str(path),
        "--tenant-key",
        tenant.api_key,
        "--creditor",
        VALID_SIREN,
        "--quiet",
    )
    assert code == 1, err  # read, but rows rejected
    assert "2 rows: 0 created, 0 updated, 0 unchanged, 2 rejected" in out
    rejected = (tmp_path / "ventes.rejected.csv").read_text(encoding="utf-8-sig")
    assert "2;F-4" in rejected
    assert "no debtor C404" in rejected
    assert "3;F-5" in rejected
    assert "issue_date: '31/02/26' is not a date" in rejected


async def test_cli_import_refuses_what_it_cannot_read(tenant, database_url, capsys, tmp_path):
    path = tmp_path / "ventes.csv"
    path.write_text("Référence;Libellé\nA;B\n", encoding="cp1252")
    code, _, err = await relance(
        capsys, "--database-url", database_url, "import", "invoices", str(path),
        "--tenant-key", tenant.api_key, "--quiet",
    )  # fmt: skip
    assert code == 2
    assert "cannot import" in err
    assert "no column for number, issue_date, amount, debtor" in err
    assert "Traceback" not in err
    code, _, err = await relance(
        capsys, "--database-url", database_url, "import", "invoices", str(path),
        "--tenant-key", tenant.api_key, "--map", "Référence=numero", "--quiet",
    )  # fmt: skip
    assert code == 2
    assert "--map: unknown field 'numero'" in err
    code, _, err = await relance(
        capsys, "--database-url", database_url, "import", "invoices", str(path),
        "--tenant-key", "rk_wrong", "--quiet",
    )  # fmt: skip
    assert code == 2
    assert "invalid or revoked API key" in err


FAR_FUTURE = "2099-01-04T06:00:00+01:00"


async def test_cli_sweep_refuses_a_future_instant(client, tenant, database_url, capsys, app):
    await ledger(client, tenant, due_date="2026-02-01")
    code, out, err = await relance(
        capsys, "--database-url", database_url, "sweep", "--as-of", FAR_FUTURE
    )
    assert code == 2
    assert "is in the future" in err
    assert "--dry-run" in err
    assert "--force" in err
    assert out == ""
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0


async def test_cli_sweep_dry_run_writes_nothing(client, tenant, database_url, capsys, app):
    made = await ledger(client, tenant, due_date="2026-02-01")
    async with app.state.sessionmaker() as session:
        before = await session.get(Invoice, made["invoice"]["id"])
        assert before is not None
        next_action_at = before.next_action_at

    code, out, err = await relance(
        capsys, "--database-url", database_url, "sweep", "--as-of", FAR_FUTURE, "--dry-run"
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["dry_run"] is True
    assert result["invoices_due"] == 1
    types = [e["type"] for e in result["would_emit"]]
    assert "invoice.overdue" in types
    assert len(types) == sum(result["events_by_type"].values())
    assert all(e["invoice_id"] == made["invoice"]["id"] for e in result["would_emit"])
    assert result["events_by_type"]["invoice.overdue"] == 1

    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0
        after = await session.get(Invoice, made["invoice"]["id"])
        assert after is not None
        assert after.next_action_at == next_action_at


async def test_cli_sweep_force_sends_a_future_instant(client, tenant, database_url, capsys, app):
    await ledger(client, tenant, due_date="2026-02-01")
    as_of = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    code, out, err = await relance(
        capsys, "--database-url", database_url, "sweep", "--as-of", as_of, "--force"
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["invoices_swept"] == 1
    assert result["events_by_type"]["invoice.overdue"] == 1
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) >= 1

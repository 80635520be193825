"""CSV import of real French exports: Windows-1252 bytes, French headers, "1 234,56 €",
day-first dates, trailing separator rows, extra columns, parties named by SIREN and client code,
new debtors created once."""

from __future__ import annotations

import asyncio
import csv
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.ledger.debtors.models import Debtor
from app.ledger.invoices.csv_format import (
    CsvFormatError,
    decode,
    header_key,
    map_columns,
    parse_date,
    parse_decimal_fr,
    parse_mapping,
    read_rows,
    sniff_delimiter,
)
from app.ledger.invoices.csv_import import ImportOptions, import_invoices
from app.ledger.invoices.models import Invoice
from tests.factories import VALID_SIREN, create_creditor, create_debtor

CLIENT_SIREN = "404833048"
OTHER_SIREN = "552100554"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1 234,56 €", "1234.56"),
        ("1\u00a0234,56\u00a0€", "1234.56"),  # Excel's no-break space
        ("1\u202f234,56", "1234.56"),  # CLDR's narrow no-break space
        ("1.234,56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1.234.567,89 EUR", "1234567.89"),
        ("12,40 %", "12.40"),
        ("100", "100"),
    ],
)
def test_french_amounts(raw, expected):
    assert parse_decimal_fr(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "1 2 3,4", "EUR", "12,3,4"])
def test_not_amounts(raw):
    with pytest.raises(ValueError, match="not an amount"):
        parse_decimal_fr(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15/10/2026", "2026-10-15"),
        ("5/10/2026", "2026-10-05"),  # day first, not 10 May
        ("15.10.2026", "2026-10-15"),
        ("15/10/26", "2026-10-15"),
        ("15-10-2026", "2026-10-15"),
        ("2026-10-15", "2026-10-15"),
    ],
)
def test_french_dates(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/2026", "2026-13-45", "10/15/2026", "demain"])
def test_not_dates(raw):
    with pytest.raises(ValueError, match="not a date"):
        parse_date(raw)


def test_headers_compared_without_case_accents_or_punctuation():
    assert header_key("N° facture") == "n facture"
    assert header_key("  ÉCHÉANCE ") == "echeance"
    assert header_key("Montant T.T.C.") == "montant t t c"
    columns = map_columns(
        ["N° facture", "Date", "Échéance", "Montant TTC", "Client", "SIREN", "Remarque"],
        {},
        creditor_given=True,
    )
    assert columns.fields == {
        "number": "N° facture",
        "issue_date": "Date",
        "due_date": "Échéance",
        "amount": "Montant TTC",
        "debtor": "Client",
        "debtor_siren": "SIREN",
    }
    assert columns.ignored == ["Remarque"]


def test_map_option_names_unknown_headers():
    mapping = parse_mapping("N° pièce=number, Tiers=debtor,Émis le=issue_date")
    assert mapping == {"n piece": "number", "tiers": "debtor", "emis le": "issue_date"}
    columns = map_columns(
        ["N° pièce", "Émis le", "TTC", "Tiers", "Créancier"], mapping, creditor_given=False
    )
    assert columns.fields["debtor"] == "Tiers"
    assert columns.fields["creditor"] == "Créancier"
    with pytest.raises(CsvFormatError, match="unknown field 'montant'"):
        parse_mapping("Total=montant")
    with pytest.raises(CsvFormatError, match="not in the file: absent"):
        map_columns(["N° facture"], {"absent": "number"}, creditor_given=True)


def test_missing_required_columns_are_said_before_any_row():
    with pytest.raises(CsvFormatError, match=r"no column for amount, creditor \(or --creditor\)"):
        map_columns(["N° facture", "Date", "Client"], {}, creditor_given=False)


def test_windows_1252_is_read_as_such():
    text = "N° facture;Échéance;Nom client\nF-1;15/10/2026;Crème Brûlée Père Noël\n"
    decoded = decode(text.encode("cp1252"))
    assert decoded.encoding == "cp1252"
    assert decoded.text == text  # "è" is not Central European "č"
    assert decode(text.encode("utf-8-sig")).text == text
    assert decode(text.encode("utf-16")).text == text  # Excel's "texte Unicode"


def test_separator_only_rows_are_skipped():
    text = "a;b;c\n1;2;3\n;;\n\n;;;;\n4;5;6;\n"
    assert sniff_delimiter(text) == ";"
    headers, rows = read_rows(text, ";")
    assert headers == ["a", "b", "c"]
    assert [(line, row["a"]) for line, row in rows] == [(2, "1"), (6, "4")]


def _french_export(rows: list[list[str]]) -> bytes:
    header = [
        "N° facture",
        "Date",
        "Échéance",
        "Montant TTC",
        "Client",
        "Nom client",
        "SIREN",
        "Créancier",
        "Commentaire",
    ]
    lines = [";".join(header), *(";".join(row) for row in rows), ";;;;;;;;", ";;;;"]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


async def test_a_real_french_export(client, tenant, app, clock, tmp_path):
    creditor = await create_creditor(client, tenant)  # SIREN 732829320
    known = await create_debtor(client, tenant, creditor["id"], external_id="CLI-001")
    by_siren = await create_debtor(
        client, tenant, creditor["id"], name="Boulangerie Élise", siren=OTHER_SIREN
    )
    siret = VALID_SIREN + "00074"
    path = tmp_path / "ventes-octobre.csv"
    path.write_bytes(
        _french_export(
            [
                ["F-101", "15/10/26", "15/11/26", "1 234,56 €", "CLI-001", "", "", VALID_SIREN, ""],
                [
                    "F-102",
                    "5/10/2026",
                    "",
                    "1.234,56",
                    "CLI-042",
                    "Crème & Cie",
                    CLIENT_SIREN,
                    VALID_SIREN,
                    "nouveau client",
                ],
                [
                    "F-103",
                    "15.10.2026",
                    "",
                    "99,90",
                    "CLI-042",
                    "Crème & Cie",
                    CLIENT_SIREN,
                    siret,
                    "",
                ],
                ["F-104", "2026-10-16", "", "10", "CLI-042", "Crème & Cie", "", VALID_SIREN, ""],
                ["F-105", "16/10/2026", "", "50,00", "", "", OTHER_SIREN, VALID_SIREN, ""],
                ["F-106", "16/10/2026", "", "50,00", "CLI-999", "", "", VALID_SIREN, ""],
                ["F-107", "32/10/2026", "", "12 abc", "CLI-001", "", "", "999999999", ""],
            ]
        )
    )
    summary = await import_invoices(path, app.state.sessionmaker, tenant.id, clock, progress=False)

    assert (summary.encoding, summary.delimiter) == ("cp1252", ";")
    assert summary.unknown_columns == ["Commentaire"]  # reported once, never a row's error
    assert (summary.rows, summary.created, summary.rejected) == (7, 5, 2)
    assert summary.debtors_created == 1  # CLI-042, named by three rows
    async with app.state.sessionmaker() as session:
        invoices = {i.number: i for i in (await session.execute(select(Invoice))).scalars()}
        new = (
            await session.execute(select(Debtor).where(Debtor.external_id == "CLI-042"))
        ).scalar_one()
    assert invoices["F-101"].debtor_id == known["id"]
    assert invoices["F-101"].amount == Decimal("1234.56")
    assert str(invoices["F-101"].issue_date) == "2026-10-15"
    assert str(invoices["F-101"].due_date) == "2026-11-15"
    assert str(invoices["F-102"].issue_date) == "2026-10-05"
    assert str(invoices["F-103"].issue_date) == "2026-10-15"
    assert invoices["F-103"].creditor_id == creditor["id"]  # by SIRET: its SIREN
    assert {invoices[n].debtor_id for n in ("F-102", "F-103", "F-104")} == {new.id}
    assert (new.name, new.siren, new.kind, new.creditor_id) == (
        "Crème & Cie",  # read as Windows-1252, not mangled
        CLIENT_SIREN,
        "business",
        creditor["id"],
    )
    assert invoices["F-105"].debtor_id == by_siren["id"]  # no code: found by SIREN

    assert summary.rejected_file is not None
    with summary.rejected_file.open(encoding="utf-8-sig", newline="") as handle:
        rejected = list(csv.DictReader(handle, delimiter=";"))
    assert [r["line"] for r in rejected] == ["7", "8"]
    assert rejected[0]["N° facture"] == "F-106"
    assert "no debtor CLI-999" in rejected[0]["error"]
    assert "Nom client" in rejected[0]["error"]
    assert "issue_date: '32/10/2026' is not a date" in rejected[1]["error"]
    assert "amount: '12 abc' is not an amount" in rejected[1]["error"]

    again = await import_invoices(path, app.state.sessionmaker, tenant.id, clock, progress=False)
    assert (again.created, again.unchanged, again.debtors_created) == (0, 5, 0)


async def test_creditor_from_the_option_and_headers_from_map(client, tenant, app, clock, tmp_path):
    creditor = await create_creditor(client, tenant)
    path = tmp_path / "export.csv"
    path.write_text(
        "Pièce,Émise le,TTC,Tiers,Raison sociale,Type\n"
        'A-1,01/09/2026,"1 500,00",P-7,Jean Martin,particulier\n',
        encoding="utf-8",
    )
    options = ImportOptions(
        mapping="Pièce=number,Émise le=issue_date,TTC=amount,Tiers=debtor,Type=debtor_kind",
        creditor=VALID_SIREN,
        progress=False,
    )
    summary = await import_invoices(path, app.state.sessionmaker, tenant.id, clock, options)
    assert (summary.created, summary.rejected, summary.debtors_created) == (1, 0, 1)
    listed = await client.get("/v1/debtors", params={"external_id": "P-7"}, headers=tenant.headers)
    [debtor] = listed.json()["data"]
    assert (debtor["kind"], debtor["name"], debtor["creditor_id"]) == (
        "consumer",
        "Jean Martin",
        creditor["id"],
    )


async def test_relance_ids_still_work(client, tenant, app, clock, tmp_path):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    path = tmp_path / "ids.csv"
    path.write_text(
        "creditor_id\tdebtor_id\tnumber\tissue_date\tamount\textra\n"
        f"{creditor['id']}\t{debtor['id']}\tT-1\t2026-01-15\t10.00\tx\n"
        f"{creditor['id']}\tdebt_nope\tT-2\t2026-01-15\t10.00\tx\n"
        f"cred_nope\t{debtor['id']}\tT-3\t2026-01-15\t10.00\tx\n",
        encoding="utf-8",
    )
    summary = await import_invoices(path, app.state.sessionmaker, tenant.id, clock, progress=False)
    assert (summary.created, summary.rejected, summary.unknown_columns) == (1, 2, ["extra"])
    assert summary.rejected_file is not None
    errors = summary.rejected_file.read_text(encoding="utf-8-sig")
    assert "unknown debtor" in errors
    assert "no creditor cred_nope" in errors


async def test_two_imports_naming_the_same_new_debtor_create_it_once(
    client, tenant, app, clock, tmp_path
):
    await create_creditor(client, tenant)
    paths = []
    for n in range(2):
        path = tmp_path / f"part{n}.csv"
        rows = "".join(
            f"{VALID_SIREN};P{n}-{i};01/10/2026;10,00;NEW-1;Nouveau Client SA\n" for i in range(50)
        )
        path.write_text(
            "Créancier;N° facture;Date;Montant;Code client;Raison sociale\n" + rows,
            encoding="utf-8",
        )
        paths.append(path)
    results = await asyncio.gather(
        *(
            import_invoices(p, app.state.sessionmaker, tenant.id, clock, progress=False)
            for p in paths
        )
    )
    assert sum(r.created for r in results) == 100
    assert sum(r.debtors_created for r in results) == 1
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Debtor).where(Debtor.external_id == "NEW-1")
        )
    assert count == 1


async def test_an_unreadable_file_imports_nothing(app, tenant, clock, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CsvFormatError):
        await import_invoices(path, app.state.sessionmaker, tenant.id, clock, progress=False)


async def test_a_broken_quote_stops_the_import_with_its_line(client, tenant, app, clock, tmp_path):
    await create_creditor(client, tenant)
    path = tmp_path / "broken.csv"
    path.write_text(
        "Créancier;N° facture;Date;Montant;Code client;Raison sociale\n"
        f"{VALID_SIREN};Q-1;01/10/2026;10,00;Q;Q SA\n"
        f'{VALID_SIREN};"Q-2;01/10/2026;10,00;Q;Q SA\n' + "x" * 200_000 + "\n",
        encoding="utf-8",
    )
    with pytest.raises(CsvFormatError, match="line 3: field larger than field limit"):
        await import_invoices(path, app.state.sessionmaker, tenant.id, clock, progress=False)

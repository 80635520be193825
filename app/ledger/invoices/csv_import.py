"""`relance import invoices FILE.csv`: the batch upsert fed from a CSV export, 1000 rows at a time.

Reads real French exports (app.ledger.invoices.csv_format): any encoding, `;`/`,`/tab, French
headers, "1 234,56 €", "15/10/26". Rows name their creditor and debtor as the export does (SIREN,
client code) or by Relance id (app.ledger.invoices.csv_parties); a debtor not known yet is created
when the row gives its name. Rejected rows go, with their line and reasons, to
`<FILE>.rejected.csv` next to the input (UTF-8 with BOM and the input's separator, so that Excel
opens it as it opened the export)."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from app.core.clock import Clock
from app.core.db import unit_of_work
from app.ledger.invoices.csv_format import (
    FIELDS,
    INVOICE_FIELDS,
    CsvFormatError,
    Row,
    decode,
    map_columns,
    parse_mapping,
    parse_row,
    read_rows,
    sniff_delimiter,
)
from app.ledger.invoices.csv_parties import PartyOptions, resolve_parties
from app.ledger.invoices.service import upsert_batch

__all__ = ["COLUMNS", "CsvFormatError", "ImportOptions", "ImportSummary", "import_invoices"]

CHUNK = 1000
COLUMNS = FIELDS


@dataclass(frozen=True)
class ImportOptions:
    mapping: str | None = None  # --map "N° pièce=number,Client=debtor"
    creditor: str | None = None  # --creditor: for every row without a creditor of its own
    progress: bool = True


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    debtors_created: int = 0
    rejected_file: Path | None = None
    unknown_columns: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","
    columns: dict[str, str] = field(default_factory=dict)  # field -> the file's header


def _reason(problem: dict[str, Any]) -> str:
    """Why a row was rejected: the problem's detail names the fields within the row
    (`amount: ...`)."""
    return str(problem.get("detail") or "rejected")


def _chunks(
    rows: Iterator[tuple[int, dict[str, str]]],
) -> Iterator[list[tuple[int, dict[str, str]]]]:
    chunk: list[tuple[int, dict[str, str]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _item(row: Row) -> dict[str, Any]:
    """What the batch upsert takes from a row whose parties are resolved."""
    item: dict[str, Any] = {f: row.values[f] for f in INVOICE_FIELDS if f in row.values}
    return {"creditor_id": row.values["creditor_id"], "debtor_id": row.values["debtor_id"], **item}


async def _import_chunk(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant_id: str,
    rows: list[Row],
    parties: PartyOptions,
    clock: Clock,
    summary: ImportSummary,
) -> None:
    """One transaction: the chunk's new debtors and its invoices; reasons on the rows refused."""
    async with unit_of_work(sessionmaker) as session:
        summary.debtors_created += await resolve_parties(session, tenant_id, rows, parties)
        ready = [row for row in rows if not row.errors]
        result = await upsert_batch(session, tenant_id, [_item(row) for row in ready], clock)
    summary.created += result.created
    summary.updated += result.updated
    summary.unchanged += result.unchanged
    for error in result.errors:
        ready[error.index].errors.append(_reason(error.problem))


async def import_invoices(
    path: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant_id: str,
    clock: Clock,
    options: ImportOptions | None = None,
    *,
    progress: bool | None = None,
) -> ImportSummary:
    """Import the file; CsvFormatError (nothing imported) when its encoding or header cannot be
    read, OSError when it cannot be opened."""
    options = options or ImportOptions()
    decoded = decode(await asyncio.to_thread(path.read_bytes))
    delimiter = sniff_delimiter(decoded.text)
    headers, data_rows = read_rows(decoded.text, delimiter)
    columns = map_columns(
        headers, parse_mapping(options.mapping), creditor_given=options.creditor is not None
    )
    summary = ImportSummary(
        unknown_columns=columns.ignored,
        encoding=decoded.encoding,
        delimiter=delimiter,
        columns=columns.fields,
    )
    parties = PartyOptions(
        default_creditor=options.creditor, siren_column="debtor_siren" in columns.fields
    )
    rejected: list[Row] = []
    show = options.progress if progress is None else progress
    total = max(decoded.text.count("\n") - 1, 0)
    with tqdm(total=total, unit="row", desc="import", disable=not show) as bar:
        for chunk in _chunks(data_rows):
            rows = [parse_row(line, raw, columns) for line, raw in chunk]
            await _import_chunk(sessionmaker, tenant_id, rows, parties, clock, summary)
            summary.rows += len(rows)
            rejected.extend(row for row in rows if row.errors)
            bar.update(len(rows))
    summary.rejected = len(rejected)
    if rejected:
        summary.rejected_file = _write_rejected(path, headers, delimiter, rejected)
    return summary


def _write_rejected(path: Path, headers: list[str], delimiter: str, rows: list[Row]) -> Path:
    out_path = path.with_name(path.stem + ".rejected.csv")
    with out_path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.DictWriter(
            out, fieldnames=["line", *headers, "error"], delimiter=delimiter, extrasaction="ignore"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({**row.raw, "line": row.line, "error": "; ".join(row.errors)})
    return out_path

"""`relance import invoices FILE.csv`: the batch upsert fed from a CSV export, 1000 rows at a time.

Accepts what French accounting exports look like: `,` or `;` separators, a UTF-8 BOM, decimal
commas ("1250,50") and dd/mm/yyyy dates. Rejected rows go, with their line and reason, to
`<FILE>.rejected.csv` next to the input."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from app.core.clock import Clock
from app.core.db import unit_of_work
from app.ledger.invoices.service import upsert_batch

CHUNK = 1000
COLUMNS = (
    "creditor_id",
    "debtor_id",
    "number",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "late_penalty_rate",
    "external_id",
)
_FRENCH_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_DECIMAL_COMMA = re.compile(r"^-?[\d\s\u00a0\u202f]+,\d+$")


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejected_file: Path | None = None
    unknown_columns: list[str] = field(default_factory=list)


def _clean(row: dict[str, str | None]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, raw in row.items():
        if name is None or raw is None:
            continue
        value = raw.strip()
        if value == "":
            continue  # an empty cell means "not given": defaults apply
        if name in ("issue_date", "due_date") and (m := _FRENCH_DATE.match(value)):
            value = f"{m[3]}-{m[2]}-{m[1]}"
        if name in ("amount", "late_penalty_rate") and _DECIMAL_COMMA.match(value):
            value = re.sub(r"[\s\u00a0\u202f]", "", value).replace(",", ".")
        item[name] = value
    return item


def _reason(problem: dict[str, Any]) -> str:
    """Why a row was rejected: the problem's detail names the fields within the row
    (`amount: ...`)."""
    return str(problem.get("detail") or "rejected")


def _chunks(reader: csv.DictReader[str]) -> Iterator[list[tuple[int, dict[str, str | None]]]]:
    chunk: list[tuple[int, dict[str, str | None]]] = []
    for row in reader:
        chunk.append((reader.line_num, row))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def import_invoices(
    path: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant_id: str,
    clock: Clock,
    *,
    progress: bool = True,
) -> ImportSummary:
    summary = ImportSummary()
    rejected_path = path.with_name(path.stem + ".rejected.csv")
    total = max(sum(1 for _ in path.open(encoding="utf-8-sig")) - 1, 0)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = handle.readline()
        handle.seek(0)
        # The header names the columns, so its most frequent separator is the file's.
        delimiter = max(",;\t", key=header.count)
        reader = csv.DictReader(handle, delimiter=delimiter)
        fieldnames = list(reader.fieldnames or [])
        summary.unknown_columns = [c for c in fieldnames if c not in COLUMNS]
        rejected_rows: list[dict[str, Any]] = []
        bar = tqdm(total=total, unit="row", desc="import", disable=not progress)
        for chunk in _chunks(reader):
            items = [_clean(row) for _, row in chunk]
            async with unit_of_work(sessionmaker) as session:
                result = await upsert_batch(session, tenant_id, items, clock)
            summary.rows += len(chunk)
            summary.created += result.created
            summary.updated += result.updated
            summary.unchanged += result.unchanged
            for error in result.errors:
                line, row = chunk[error.index]
                rejected_rows.append({**row, "line": line, "error": _reason(error.problem)})
            bar.update(len(chunk))
        bar.close()
    summary.rejected = len(rejected_rows)
    if rejected_rows:
        with rejected_path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(
                out, fieldnames=["line", *fieldnames, "error"], extrasaction="ignore"
            )
            writer.writeheader()
            writer.writerows(rejected_rows)
        summary.rejected_file = rejected_path
    return summary

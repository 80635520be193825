"""Finding a creditor's debtors by what an import names them with (Relance id, the client's own
code, SIREN), and creating the ones not known yet, each exactly once: however many rows name the
same new debtor, and whatever else imports at the same time."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.ids import new_id
from app.ledger.debtors.models import Debtor
from app.legal.interest import DebtorKind

# A debtor as an import names it: (creditor_id, "code" | "siren", value).
DebtorKey = tuple[str, str, str]


@dataclass(frozen=True)
class NewDebtor:
    """A debtor to create, already validated (app.ledger.debtors.schemas.DebtorCreate)."""

    creditor_id: str
    kind: DebtorKind
    name: str
    external_id: str | None = None
    siren: str | None = None
    email: str | None = None

    @property
    def key(self) -> DebtorKey:
        if self.external_id is not None:
            return (self.creditor_id, "code", self.external_id)
        assert self.siren is not None, "a new debtor is named by its code or its SIREN"
        return (self.creditor_id, "siren", self.siren)


async def find_debtors(
    session: AsyncSession,
    tenant_id: str,
    creditor_ids: Collection[str],
    *,
    codes: Collection[str] = (),
    sirens: Collection[str] = (),
) -> list[Debtor]:
    """The tenant's debtors of these creditors whose external_id or SIREN is among those given."""
    if not creditor_ids or not (codes or sirens):
        return []
    matches = []
    if codes:
        matches.append(Debtor.external_id.in_(codes))
    if sirens:
        matches.append(Debtor.siren.in_(sirens))
    rows = await session.execute(
        select(Debtor)
        .where(Debtor.tenant_id == tenant_id, Debtor.creditor_id.in_(creditor_ids), or_(*matches))
        .order_by(Debtor.id)
    )
    return list(rows.scalars())


async def create_debtors_once(
    session: AsyncSession, tenant_id: str, wanted: Sequence[NewDebtor]
) -> tuple[dict[DebtorKey, str], int]:
    """The id of each wanted debtor, created unless it exists by then; and how many were
    created. Each key is taken under a transaction-scoped advisory lock (in sorted order: two
    imports never deadlock), so two imports naming the same new debtor create it once; a debtor
    created meanwhile through the API is found by the unique (creditor, external_id) index."""
    by_key = {debtor.key: debtor for debtor in wanted}
    if not by_key:
        return {}, 0
    for key in sorted(by_key):
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended("debtor:" + ":".join(key), 0)))
        )
    ids = await _existing(session, tenant_id, by_key.keys())
    missing = [debtor for key, debtor in sorted(by_key.items()) if key not in ids]
    created = 0
    if missing:
        inserted = await session.execute(
            insert(Debtor)
            .on_conflict_do_nothing()
            .returning(Debtor.id, Debtor.creditor_id, Debtor.external_id, Debtor.siren),
            [_row(tenant_id, debtor) for debtor in missing],
        )
        for debtor_id, creditor_id, code, siren in inserted:
            ids[(creditor_id, "code", code) if code else (creditor_id, "siren", str(siren))] = (
                debtor_id
            )
            created += 1
        # Skipped on conflict: created through the API since we looked.
        ids |= await _existing(session, tenant_id, [d.key for d in missing if d.key not in ids])
    return ids, created


async def _existing(
    session: AsyncSession, tenant_id: str, keys: Collection[DebtorKey]
) -> dict[DebtorKey, str]:
    """The first debtor (oldest id) stored under each key."""
    codes = [(c, v) for c, kind, v in keys if kind == "code"]
    sirens = [(c, v) for c, kind, v in keys if kind == "siren"]
    found: dict[DebtorKey, str] = {}
    if codes:
        for debtor_id, creditor_id, code in await session.execute(
            select(Debtor.id, Debtor.creditor_id, Debtor.external_id)
            .where(
                Debtor.tenant_id == tenant_id,
                tuple_(Debtor.creditor_id, Debtor.external_id).in_(codes),
            )
            .order_by(Debtor.id)
        ):
            found.setdefault((creditor_id, "code", str(code)), debtor_id)
    if sirens:
        for debtor_id, creditor_id, siren in await session.execute(
            select(Debtor.id, Debtor.creditor_id, Debtor.siren)
            .where(
                Debtor.tenant_id == tenant_id, tuple_(Debtor.creditor_id, Debtor.siren).in_(sirens)
            )
            .order_by(Debtor.id)
        ):
            found.setdefault((creditor_id, "siren", str(siren)), debtor_id)
    return found


def _row(tenant_id: str, debtor: NewDebtor) -> dict[str, object]:
    return {
        "id": new_id("debt"),
        "tenant_id": tenant_id,
        "creditor_id": debtor.creditor_id,
        "kind": debtor.kind,
        "name": debtor.name,
        "siren": debtor.siren,
        "external_id": debtor.external_id,
        "email": debtor.email,
        "language": "fr",
    }

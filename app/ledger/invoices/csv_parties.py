"""Who a CSV row is about: the creditor (a Relance id, a SIREN, or a SIRET whose first 9 digits
are its SIREN) and the debtor (a Relance id, the client's own code, which is the debtor's
`external_id`, or a SIREN), found in one query each per chunk; a debtor not known yet is created
when the row names it (a name, and a code or a SIREN)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger.creditors.models import Creditor
from app.ledger.debtors.matching import (
    DebtorKey,
    NewDebtor,
    create_debtors_once,
    find_debtors,
)
from app.ledger.debtors.models import Debtor
from app.ledger.debtors.schemas import DebtorCreate
from app.ledger.invoices.csv_format import Row, company_number, looks_like_siren


@dataclass(frozen=True)
class PartyOptions:
    default_creditor: str | None = None  # --creditor, for files without a creditor column
    siren_column: bool = False  # with a SIREN column, the debtor column is always a code


async def resolve_parties(
    session: AsyncSession, tenant_id: str, rows: list[Row], options: PartyOptions
) -> int:
    """Set `creditor_id` and `debtor_id` on each row (or add its reasons to `row.errors`);
    returns how many debtors were created."""
    creditors = await _creditors(session, tenant_id, rows, options)
    for row in rows:
        ref = row.values.get("creditor") or options.default_creditor or ""
        found = creditors.get(ref if ref.startswith("cred_") else company_number(ref), [])
        if len(found) == 1:
            row.values["creditor_id"] = found[0]
        elif found:
            row.errors.append(
                f"creditor: several creditors have the SIREN {ref}: name it by its id (cred_...)"
            )
        elif ref:
            row.errors.append(f"creditor: no creditor {ref} (a cred_... id, a SIREN or a SIRET)")
        else:
            row.errors.append("creditor: empty (a cred_... id, a SIREN or a SIRET; or --creditor)")
    lookup = await _DebtorLookup.load(session, tenant_id, rows, options)
    for row in rows:
        if "creditor_id" in row.values and not row.errors:
            lookup.resolve(row)
    ids, created = await create_debtors_once(session, tenant_id, list(lookup.new.values()))
    for key, waiting in lookup.waiting.items():
        for row in waiting:
            row.values["debtor_id"] = ids[key]
    return created


async def _creditors(
    session: AsyncSession, tenant_id: str, rows: list[Row], options: PartyOptions
) -> dict[str, list[str]]:
    """The creditors the rows name: their ids by id and by SIREN."""
    refs = {row.values.get("creditor") or options.default_creditor or "" for row in rows}
    ids = {ref for ref in refs if ref.startswith("cred_")}
    sirens = {company_number(ref) for ref in refs - ids}
    found: dict[str, list[str]] = defaultdict(list)
    for creditor_id, siren in await session.execute(
        select(Creditor.id, Creditor.siren)
        .where(
            Creditor.tenant_id == tenant_id, or_(Creditor.id.in_(ids), Creditor.siren.in_(sirens))
        )
        .order_by(Creditor.id)
    ):
        found[creditor_id].append(creditor_id)
        if siren:
            found[siren].append(creditor_id)
    return found


@dataclass
class _DebtorLookup:
    """The debtors a chunk names, and the new ones it is to create (once per key)."""

    options: PartyOptions
    by_code: dict[tuple[str, str], str]
    by_siren: dict[tuple[str, str], list[str]]
    new: dict[DebtorKey, NewDebtor] = field(default_factory=dict)
    waiting: dict[DebtorKey, list[Row]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    async def load(
        cls, session: AsyncSession, tenant_id: str, rows: list[Row], options: PartyOptions
    ) -> _DebtorLookup:
        creditor_ids = {row.values["creditor_id"] for row in rows if "creditor_id" in row.values}
        codes = {row.values["debtor"] for row in rows if "debtor" in row.values}
        sirens = {company_number(c) for c in codes} | {
            row.values["debtor_siren"] for row in rows if "debtor_siren" in row.values
        }
        debtors = await find_debtors(session, tenant_id, creditor_ids, codes=codes, sirens=sirens)
        return cls(options, *_indexes(debtors))

    def resolve(self, row: Row) -> None:
        creditor_id = row.values["creditor_id"]
        ref = row.values.get("debtor", "")
        if ref.startswith("debt_"):
            row.values["debtor_id"] = ref  # the batch upsert checks it is this creditor's
            return
        code, siren = ref, row.values.get("debtor_siren")
        if not self.options.siren_column and looks_like_siren(ref):
            code, siren = "", company_number(ref)
        if code and (found := self.by_code.get((creditor_id, code))):
            row.values["debtor_id"] = found
            return
        same_siren = self.by_siren.get((creditor_id, siren or ""), [])
        if len(same_siren) == 1:
            row.values["debtor_id"] = same_siren[0]
        elif same_siren:
            row.errors.append(
                f"debtor: several debtors have the SIREN {siren}: name it by its code or id"
            )
        else:
            self._create(row, creditor_id, code or None, siren)

    def _create(self, row: Row, creditor_id: str, code: str | None, siren: str | None) -> None:
        name = row.values.get("debtor_name")
        if name is None:
            row.errors.append(
                f"debtor: no debtor {code or siren} for this creditor; add a name column "
                "(Nom client, Raison sociale) to create it"
            )
            return
        try:
            valid = DebtorCreate.model_validate(
                {
                    "creditor_id": creditor_id,
                    "kind": row.values.get("debtor_kind", "business"),
                    "name": name,
                    "siren": siren,
                    "external_id": code,
                    "email": row.values.get("debtor_email"),
                }
            )
        except ValidationError as exc:
            row.errors.extend(_debtor_reasons(exc))
            return
        debtor = NewDebtor(
            creditor_id=creditor_id,
            kind=valid.kind,
            name=valid.name,
            external_id=valid.external_id,
            siren=valid.siren,
            email=valid.email,
        )
        # The first row naming a new debtor describes it; the others join it.
        self.new.setdefault(debtor.key, debtor)
        self.waiting[debtor.key].append(row)


def _indexes(
    debtors: list[Debtor],
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], list[str]]]:
    by_code: dict[tuple[str, str], str] = {}
    by_siren: dict[tuple[str, str], list[str]] = defaultdict(list)
    for debtor in debtors:
        if debtor.external_id:
            by_code[(debtor.creditor_id, debtor.external_id)] = debtor.id
        if debtor.siren:
            by_siren[(debtor.creditor_id, debtor.siren)].append(debtor.id)
    return by_code, by_siren


_DEBTOR_FIELD = {"external_id": "debtor", "siren": "debtor_siren", "name": "debtor_name"}


def _debtor_reasons(exc: ValidationError) -> list[str]:
    reasons = []
    for error in exc.errors():
        where = str(error["loc"][-1]) if error["loc"] else "debtor"
        where = _DEBTOR_FIELD.get(where, f"debtor_{where}" if error["loc"] else "debtor")
        reasons.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
    return reasons

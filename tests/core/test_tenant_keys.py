"""Every table is keyed by tenant, or is listed here with the reason it is not: the table design
that lets the service be sharded by tenant_id (Citus) when one primary is not enough (README,
"Deployment and sizing"). A new table fails this test until it has a `tenant_id` or a reason."""

from __future__ import annotations

from app.models import Base

# Tables without tenant_id, and why. In Citus terms: "reference" tables are copied to every
# node; a "child" is reached only through its parent's tenant-keyed row (to be distributed, it
# gets the parent's tenant_id first: see README).
NOT_TENANT_KEYED = {
    "tenants": "the tenant itself: its id is the tenant key (distributed by id)",
    "published_rates": "reference: the law's rates, the same for every tenant",
    "idempotency_keys": "keyed by `owner`, the tenant id (or the admin): owner is the tenant key",
    "payment_plan_installments": "child of payment_plans, always read with its plan by plan_id",
    "grouped_steps": "child of invoices, one row per invoice and step, read with its invoice",
}


def test_every_table_is_keyed_by_tenant_or_says_why_not():
    tables = {table.name: table for table in Base.metadata.sorted_tables}
    unkeyed = {name for name, table in tables.items() if "tenant_id" not in table.c}
    assert unkeyed == set(NOT_TENANT_KEYED), (
        f"tables without tenant_id and no reason given: {sorted(unkeyed - set(NOT_TENANT_KEYED))}; "
        f"listed but keyed now (or gone): {sorted(set(NOT_TENANT_KEYED) - unkeyed)}"
    )


def test_tenant_keys_are_required_and_refer_to_tenants():
    for table in Base.metadata.sorted_tables:
        if "tenant_id" not in table.c:
            continue
        column = table.c.tenant_id
        assert not column.nullable, f"{table.name}.tenant_id is nullable"
        targets = {fk.target_fullname for fk in column.foreign_keys}
        # Composite keys may carry it too (a creditor's policy is its own tenant's).
        assert "tenants.id" in targets, f"{table.name}.tenant_id refers to {targets}"


def test_children_refer_to_a_tenant_keyed_parent():
    children = {
        name: reason.removeprefix("child of ").split(",")[0]
        for name, reason in NOT_TENANT_KEYED.items()
        if reason.startswith("child of ")
    }
    assert children
    for child, parent in children.items():
        referred = {fk.column.table.name for fk in Base.metadata.tables[child].foreign_keys}
        assert parent in referred, f"{child} does not refer to {parent}"
        assert "tenant_id" in Base.metadata.tables[parent].c, f"{parent} is not tenant-keyed"

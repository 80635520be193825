from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import text

from app.core.ids import new_id
from app.ledger.invoices import repository
from app.ledger.invoices.models import Invoice
from tests.factories import create_creditor, create_debtor
from tests.locks import waits_for_first_row


def _items(creditor_id, debtor_id, count, start=0):
    return [
        {
            "creditor_id": creditor_id,
            "debtor_id": debtor_id,
            "number": f"B-{i:05d}",
            "issue_date": "2026-01-15",
            "amount": f"{100 + i}.50",
        }
        for i in range(start, start + count)
    ]


async def _count(client, tenant):
    total, cursor = 0, None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/invoices", params=params, headers=tenant.headers)).json()
        total += len(page["data"])
        if not page["has_more"]:
            return total
        cursor = page["next_cursor"]


async def test_batch_of_1000_with_bad_items(client, tenant, other_tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    foreign = await create_creditor(client, other_tenant)
    items = _items(creditor["id"], debtor["id"], 1000)
    items[3]["amount"] = "-5"
    items[10]["issue_date"] = "2026-02-30"
    items[20]["debtor_id"] = "debt_missing"
    items[30]["creditor_id"] = foreign["id"]  # another tenant's creditor: as if missing
    items[40]["number"] = items[41]["number"]  # duplicate inside the batch: the second one fails
    items[50]["surprise"] = 1

    response = await client.post(
        "/v1/invoices/batch", json={"invoices": items}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert [e["index"] for e in result["errors"]] == [3, 10, 20, 30, 41, 50]
    assert all(e["problem"]["status"] in (409, 422) for e in result["errors"])
    problems = {e["index"]: e["problem"] for e in result["errors"]}
    # Each loc points into the request: the item's index, then its field.
    assert problems[3]["errors"][0]["loc"] == ["body", "invoices", 3, "amount"]
    assert problems[10]["errors"][0]["loc"] == ["body", "invoices", 10, "issue_date"]
    assert problems[20]["errors"] == [
        {"loc": ["body", "invoices", 20, "debtor_id"], "msg": "unknown debtor"}
    ]
    assert problems[30]["errors"][0]["loc"] == ["body", "invoices", 30, "creditor_id"]
    assert problems[41]["errors"][0]["loc"] == ["body", "invoices", 41, "number"]
    assert problems[50]["errors"][0]["loc"] == ["body", "invoices", 50, "surprise"]
    # The detail names the field within the item, never an empty path (": ...").
    assert problems[3]["detail"].startswith("amount: ")
    assert problems[10]["detail"].startswith("issue_date: ")
    assert problems[50]["detail"].startswith("surprise: ")
    assert not any(p["detail"].startswith(":") for p in problems.values())
    assert result["created"] == 994
    assert result["updated"] == 0
    assert await _count(client, tenant) == 994

    again = await client.post(
        "/v1/invoices/batch", json={"invoices": items}, headers=tenant.headers
    )
    assert again.json()["created"] == 0
    assert again.json()["updated"] == 0
    assert again.json()["unchanged"] == 994
    assert await _count(client, tenant) == 994


async def test_batch_updates_changed_invoices_only(client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    items = _items(creditor["id"], debtor["id"], 3)
    assert (
        await client.post("/v1/invoices/batch", json={"invoices": items}, headers=tenant.headers)
    ).json()["created"] == 3
    items[1]["amount"] = "999.00"
    result = (
        await client.post("/v1/invoices/batch", json={"invoices": items}, headers=tenant.headers)
    ).json()
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 2)
    listed = (await client.get("/v1/invoices", headers=tenant.headers)).json()["data"]
    assert {i["number"]: i["amount"] for i in listed}["B-00001"] == "999.00"
    assert all(i["dunning"]["stage"] for i in listed)


async def test_batch_cannot_change_a_closed_invoice(client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    items = _items(creditor["id"], debtor["id"], 1)
    await client.post("/v1/invoices/batch", json={"invoices": items}, headers=tenant.headers)
    invoice = (await client.get("/v1/invoices", headers=tenant.headers)).json()["data"][0]
    await client.post(
        f"/v1/invoices/{invoice['id']}/cancel", json={"reason": "avoir"}, headers=tenant.headers
    )
    items[0]["amount"] = "1.00"
    result = (
        await client.post("/v1/invoices/batch", json={"invoices": items}, headers=tenant.headers)
    ).json()
    assert result["errors"][0]["problem"]["status"] == 409


async def test_batch_limits(client, tenant):
    empty = await client.post("/v1/invoices/batch", json={"invoices": []}, headers=tenant.headers)
    assert empty.status_code == 422
    too_many = await client.post(
        "/v1/invoices/batch", json={"invoices": [{}] * 1001}, headers=tenant.headers
    )
    assert too_many.status_code == 422


async def test_an_item_refused_as_a_whole_has_a_clean_message(client, tenant):
    """A check of the whole item (due before issue) has no field: its loc is the item, its
    detail the message alone."""
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    items = _items(creditor["id"], debtor["id"], 2)
    items[1]["due_date"] = "2026-01-01"  # before the issue date
    result = (
        await client.post("/v1/invoices/batch", json={"invoices": items}, headers=tenant.headers)
    ).json()
    assert result["created"] == 1
    [error] = result["errors"]
    assert error["index"] == 1
    assert error["problem"]["errors"] == [
        {"loc": ["body", "invoices", 1], "msg": "due_date must not be before issue_date"}
    ]
    assert error["problem"]["detail"] == "due_date must not be before issue_date"


async def test_each_row_keeps_its_values_whether_its_columns_vary_or_not(client, tenant):
    """The INSERT sends a column alike in every row as one value, the others as arrays: a value
    set on one row only, or differing in one row, must land on that row alone."""
    creditor = await create_creditor(client, tenant)
    debtors = [await create_debtor(client, tenant, creditor["id"]) for _ in range(2)]
    items = [
        {
            "creditor_id": creditor["id"],
            "debtor_id": debtors[0]["id"],
            "number": f"V-{i}",
            "issue_date": "2026-01-15",
            "amount": "100.00",
        }
        for i in range(4)
    ]
    items[1]["external_id"] = "ext-only-here"
    items[2]["debtor_id"] = debtors[1]["id"]
    items[2]["due_date"] = "2026-03-31"
    items[3]["late_penalty_rate"] = "15.00"
    items[3]["amount"] = "250.00"
    response = await client.post(
        "/v1/invoices/batch", json={"invoices": items}, headers=tenant.headers
    )
    assert response.json()["created"] == 4, response.text
    listed = await client.get(
        "/v1/invoices", params={"creditor_id": creditor["id"], "limit": 10}, headers=tenant.headers
    )
    by_number = {i["number"]: i for i in listed.json()["data"]}
    assert [by_number[f"V-{i}"]["external_id"] for i in range(4)] == [
        None,
        "ext-only-here",
        None,
        None,
    ]
    assert [by_number[f"V-{i}"]["debtor_id"] for i in range(4)] == [
        debtors[0]["id"],
        debtors[0]["id"],
        debtors[1]["id"],
        debtors[0]["id"],
    ]
    assert by_number["V-2"]["due_date"] == "2026-03-31"
    assert by_number["V-0"]["due_date"] == by_number["V-3"]["due_date"] != "2026-03-31"
    assert [by_number[f"V-{i}"]["amount"] for i in range(4)] == ["100.00"] * 3 + ["250.00"]
    assert Decimal(by_number["V-3"]["late_penalty_rate"]) == Decimal("15.00")
    assert by_number["V-0"]["late_penalty_rate"] == by_number["V-1"]["late_penalty_rate"]
    assert len({i["id"] for i in by_number.values()}) == 4


async def test_a_batch_of_one_is_stored(client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    [item] = _items(creditor["id"], debtor["id"], 1)
    response = await client.post(
        "/v1/invoices/batch", json={"invoices": [item]}, headers=tenant.headers
    )
    assert response.json()["created"] == 1, response.text
    assert await _count(client, tenant) == 1


async def test_a_batch_locks_its_existing_invoices_in_id_order(client, tenant, app):
    """As the unit of work locks the invoices it refreshes: whatever the items' order, the batch
    waits for the first invoice's lock before it takes the second's, so a transaction locking
    both in id order (another batch, a debtor's update) cannot deadlock with it."""
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    # Made in turn, so that the number order (the unique index's) is not the id order.
    items = _items(creditor["id"], debtor["id"], 2)[::-1]
    for item in items:
        made = await client.post(
            "/v1/invoices/batch", json={"invoices": [item]}, headers=tenant.headers
        )
        assert made.json()["created"] == 1
    listed = (await client.get("/v1/invoices", headers=tenant.headers)).json()["data"]
    first, second = sorted(listed, key=lambda i: i["id"])
    by_number = {item["number"]: item for item in items}
    changed = [
        dict(by_number[second["number"]], amount="700.00"),  # the second first
        dict(by_number[first["number"]], amount="800.00"),
    ]

    batch = client.post("/v1/invoices/batch", json={"invoices": changed}, headers=tenant.headers)
    answer = await waits_for_first_row(
        app.state.engine, Invoice.id, first["id"], second["id"], batch, within=10
    )
    result = answer.json()
    assert (result["created"], result["updated"]) == (0, 2)


async def test_a_batch_inserts_its_new_invoices_in_the_unique_key_order(client, tenant, app):
    """Whatever the items' order, the batch inserts the lower number first, so two batches
    naming the same new numbers in other orders wait for each other in one order, never in a
    cycle. Here another transaction has inserted the lower number and not committed: the batch
    waits for it before it inserts the higher one."""
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    [template] = _items(creditor["id"], debtor["id"], 1, start=90)
    made = await client.post(
        "/v1/invoices/batch", json={"invoices": [template]}, headers=tenant.headers
    )
    assert made.json()["created"] == 1
    template_id = (await client.get("/v1/invoices", headers=tenant.headers)).json()["data"][0]["id"]
    lower, higher = _items(creditor["id"], debtor["id"], 2)
    # A copy of the template under another id and number, as another request would insert it.
    copied = ", ".join(
        f":{name}" if name in ("id", "number") else name for name in repository.INSERTED
    )
    copy = text(
        f"INSERT INTO invoices ({', '.join(repository.INSERTED)}) "  # noqa: S608
        f"SELECT {copied} FROM invoices WHERE id = :template"
    )

    async with app.state.engine.connect() as holder, holder.begin():
        await holder.execute(text("SET LOCAL lock_timeout = '300ms'"))
        await holder.execute(
            copy, {"id": new_id("inv"), "number": lower["number"], "template": template_id}
        )
        batch = asyncio.create_task(
            client.post(
                "/v1/invoices/batch", json={"invoices": [higher, lower]}, headers=tenant.headers
            )
        )
        await asyncio.sleep(0.5)
        assert not batch.done(), "waits for the lower number"
        # The higher number is not inserted yet: this does not wait (else lock_timeout).
        await holder.execute(
            copy, {"id": new_id("inv"), "number": higher["number"], "template": template_id}
        )
        await holder.rollback()
    result = (await asyncio.wait_for(batch, 10)).json()
    assert result["created"] == 2, result

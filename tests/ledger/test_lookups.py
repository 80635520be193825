"""Lookups, filters and order on the ledger's lists (API.md "Lookups, filters, order"): each
filter narrows, filters never reach another tenant's rows, `order=desc` pages newest first."""

from __future__ import annotations

import pytest

from tests.factories import VALID_SIREN, create_creditor, create_debtor, create_invoice

# Another valid SIREN (Luhn), for a debtor the SIREN filter must leave out.
OTHER_SIREN = "552100554"


async def walk(client, url, headers, **params):
    """Every item of a list, page by page; the pages' ids in order."""
    ids, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return ids
        assert page["data"], "a page with more after it is never empty"
        cursor = page["next_cursor"]


@pytest.fixture
async def books(client, tenant, other_tenant):
    """Two creditors of the tenant with invoices on several days, and another tenant with the
    same numbers, external ids and SIREN (which the tenant's filters must never return)."""
    first = await create_creditor(client, tenant, name="Premier", external_id="acct-1")
    second = await create_creditor(client, tenant, name="Second", external_id="acct-2")
    martin = await create_debtor(
        client, tenant, first["id"], siren=VALID_SIREN, external_id="cli-martin"
    )
    durand = await create_debtor(
        client, tenant, first["id"], siren=OTHER_SIREN, external_id="cli-durand"
    )
    bernard = await create_debtor(client, tenant, second["id"], external_id="cli-bernard")
    invoices = {}
    for number, creditor, debtor, due, external_id in [
        ("F-1", first, martin, "2026-01-10", "ext-1"),
        ("F-2", first, martin, "2026-02-14", "ext-2"),
        ("F-3", first, durand, "2026-03-20", None),
        ("F-1", second, bernard, "2026-04-30", "ext-4"),
        ("F-5", second, bernard, "2026-02-28", None),
    ]:
        extra = {"external_id": external_id} if external_id else {}
        invoice = await create_invoice(
            client,
            tenant,
            creditor["id"],
            debtor["id"],
            number=number,
            issue_date="2026-01-01",
            due_date=due,
            **extra,
        )
        invoices[(creditor["name"], number)] = invoice
    await client.post(
        f"/v1/invoices/{invoices['Second', 'F-5']['id']}/cancel",
        json={"reason": "avoir"},
        headers=tenant.headers,
    )

    foreign_creditor = await create_creditor(client, other_tenant, external_id="acct-1")
    foreign_debtor = await create_debtor(
        client, other_tenant, foreign_creditor["id"], siren=VALID_SIREN, external_id="cli-martin"
    )
    foreign = await create_invoice(
        client,
        other_tenant,
        foreign_creditor["id"],
        foreign_debtor["id"],
        number="F-1",
        issue_date="2026-01-01",
        due_date="2026-01-10",
        external_id="ext-1",
    )
    return {
        "creditors": (first, second),
        "debtors": (martin, durand, bernard),
        "invoices": invoices,
        "foreign": {"creditor": foreign_creditor, "debtor": foreign_debtor, "invoice": foreign},
    }


async def _invoices(client, tenant, **params):
    response = await client.get("/v1/invoices", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _keys(client, tenant, **params):
    """The (due_date, number) of each invoice listed: a readable name of each."""
    return sorted((i["due_date"], i["number"]) for i in await _invoices(client, tenant, **params))


async def test_each_invoice_filter_narrows(client, tenant, books):
    martin, durand, _ = books["debtors"]
    everything = await _keys(client, tenant)
    assert len(everything) == 5

    assert await _keys(client, tenant, number="F-1") == [
        ("2026-01-10", "F-1"),
        ("2026-04-30", "F-1"),
    ]
    assert await _keys(client, tenant, external_id="ext-2") == [("2026-02-14", "F-2")]
    assert await _keys(client, tenant, debtor_id=durand["id"]) == [("2026-03-20", "F-3")]
    assert await _keys(client, tenant, status="cancelled") == [("2026-02-28", "F-5")]
    assert await _keys(client, tenant, due_after="2026-02-14", due_before="2026-03-20") == [
        ("2026-02-14", "F-2"),
        ("2026-02-28", "F-5"),
        ("2026-03-20", "F-3"),
    ]
    assert await _keys(client, tenant, due_after="2026-03-21") == [("2026-04-30", "F-1")]
    assert await _keys(client, tenant, due_before="2026-01-10") == [("2026-01-10", "F-1")]
    # Filters combine with AND.
    assert await _keys(client, tenant, number="F-1", debtor_id=martin["id"]) == [
        ("2026-01-10", "F-1")
    ]
    assert await _keys(client, tenant, number="F-404") == []


async def test_stage_filter_returns_exactly_the_invoices_at_that_stage(client, tenant, books):
    listed = await _invoices(client, tenant)
    stages = {i["dunning"]["stage"] for i in listed}
    assert len(stages) >= 2, stages  # the clock (2026-03-02) puts them at several stages
    for stage in stages:
        expected = sorted(i["id"] for i in listed if i["dunning"]["stage"] == stage)
        found = await _invoices(client, tenant, stage=stage)
        assert sorted(i["id"] for i in found) == expected
        assert len(found) < len(listed)
    bad = await client.get("/v1/invoices", params={"stage": "lost"}, headers=tenant.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "stage"]


async def test_due_range_must_not_be_reversed(client, tenant, books):
    reversed_range = await client.get(
        "/v1/invoices",
        params={"due_after": "2026-03-01", "due_before": "2026-02-01"},
        headers=tenant.headers,
    )
    assert reversed_range.status_code == 422
    assert reversed_range.headers["content-type"] == "application/problem+json"
    body = reversed_range.json()
    assert body["errors"] == [{"loc": ["query", "due_after"], "msg": "after due_before"}]
    assert "due_before" in body["detail"]
    same_day = await _keys(client, tenant, due_after="2026-02-14", due_before="2026-02-14")
    assert same_day == [("2026-02-14", "F-2")]
    not_a_date = await client.get(
        "/v1/invoices", params={"due_before": "2026-02-30"}, headers=tenant.headers
    )
    assert not_a_date.status_code == 422
    assert not_a_date.json()["errors"][0]["loc"] == ["query", "due_before"]


async def test_debtor_filters(client, tenant, books):
    martin, durand, bernard = books["debtors"]
    first, _ = books["creditors"]

    async def names(**params):
        response = await client.get("/v1/debtors", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return sorted(d["id"] for d in response.json()["data"])

    assert await names(siren=VALID_SIREN) == [martin["id"]]
    # python-stdnum compacts what people type: spaces and dots are fine.
    assert await names(siren="552 100 554") == [durand["id"]]
    assert await names(external_id="cli-bernard") == [bernard["id"]]
    assert await names(creditor_id=first["id"]) == sorted([martin["id"], durand["id"]])
    assert await names(creditor_id=first["id"], siren=OTHER_SIREN) == [durand["id"]]

    for bad in ("732829321", "12345", "abcdefghi"):
        response = await client.get("/v1/debtors", params={"siren": bad}, headers=tenant.headers)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["loc"] == ["query", "siren"]
        assert "SIREN" in response.json()["detail"]


async def test_creditor_external_id_filter(client, tenant, books):
    _, second = books["creditors"]
    response = await client.get(
        "/v1/creditors", params={"external_id": "acct-2"}, headers=tenant.headers
    )
    assert [c["id"] for c in response.json()["data"]] == [second["id"]]


async def test_filters_never_return_another_tenants_rows(client, tenant, other_tenant, books):
    foreign = books["foreign"]
    mine = {i["id"] for i in books["invoices"].values()}
    for params in (
        {"number": "F-1"},
        {"external_id": "ext-1"},
        {"due_before": "2026-01-10"},
        {"status": "open"},
    ):
        found = {i["id"] for i in await _invoices(client, tenant, **params)}
        assert found, params
        assert found <= mine, params
        assert foreign["invoice"]["id"] not in found
    # Another tenant's debtor or creditor id as a filter: nothing, as for an unknown id.
    assert await _invoices(client, tenant, debtor_id=foreign["debtor"]["id"]) == []
    assert await _invoices(client, tenant, creditor_id=foreign["creditor"]["id"]) == []

    headers = tenant.headers
    debtors = await client.get("/v1/debtors", params={"siren": VALID_SIREN}, headers=headers)
    assert foreign["debtor"]["id"] not in {d["id"] for d in debtors.json()["data"]}
    by_external = await client.get(
        "/v1/debtors", params={"external_id": "cli-martin"}, headers=headers
    )
    assert [d["id"] for d in by_external.json()["data"]] == [books["debtors"][0]["id"]]
    creditors = await client.get("/v1/creditors", params={"external_id": "acct-1"}, headers=headers)
    assert [c["id"] for c in creditors.json()["data"]] == [books["creditors"][0]["id"]]
    # And the other way round: the other tenant sees only its own.
    theirs = await client.get(
        "/v1/invoices", params={"number": "F-1"}, headers=other_tenant.headers
    )
    assert [i["id"] for i in theirs.json()["data"]] == [foreign["invoice"]["id"]]


async def test_order_desc_pages_newest_first_without_gaps_or_duplicates(client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    created = [
        (await create_invoice(client, tenant, creditor["id"], debtor["id"], number=f"N-{i}"))["id"]
        for i in range(7)
    ]
    ascending = await walk(client, "/v1/invoices", tenant.headers, limit=3)
    descending = await walk(client, "/v1/invoices", tenant.headers, limit=3, order="desc")
    assert ascending == created
    assert descending == created[::-1]
    # One per page: every page boundary is crossed.
    one_by_one = await walk(client, "/v1/invoices", tenant.headers, limit=1, order="desc")
    assert one_by_one == created[::-1]
    # With a filter, the order still holds.
    filtered = await walk(
        client, "/v1/invoices", tenant.headers, limit=2, order="desc", debtor_id=debtor["id"]
    )
    assert filtered == created[::-1]


async def test_order_desc_on_creditors_and_debtors(client, tenant):
    creditors = [(await create_creditor(client, tenant, name=f"C{i}"))["id"] for i in range(4)]
    newest_first = await walk(client, "/v1/creditors", tenant.headers, limit=3, order="desc")
    assert newest_first == creditors[::-1]
    debtors = [(await create_debtor(client, tenant, creditors[0]))["id"] for _ in range(4)]
    newest_first = await walk(client, "/v1/debtors", tenant.headers, limit=3, order="desc")
    assert newest_first == debtors[::-1]


async def test_a_cursor_keeps_its_order(client, tenant):
    for i in range(3):
        await create_creditor(client, tenant, name=f"C{i}")
    asc = (await client.get("/v1/creditors?limit=1", headers=tenant.headers)).json()
    desc = (await client.get("/v1/creditors?limit=1&order=desc", headers=tenant.headers)).json()
    mixed = await client.get(
        "/v1/creditors",
        params={"limit": 1, "order": "desc", "cursor": asc["next_cursor"]},
        headers=tenant.headers,
    )
    assert mixed.status_code == 422
    assert mixed.json()["errors"] == [
        {"loc": ["query", "cursor"], "msg": "cursor of an order=asc list"}
    ]
    assert "order=asc" in mixed.json()["detail"]
    other_way = await client.get(
        "/v1/creditors", params={"cursor": desc["next_cursor"]}, headers=tenant.headers
    )
    assert other_way.status_code == 422
    assert "order=desc" in other_way.json()["detail"]
    bad_order = await client.get("/v1/creditors", params={"order": "up"}, headers=tenant.headers)
    assert bad_order.status_code == 422
    assert bad_order.json()["errors"][0]["loc"] == ["query", "order"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/invoices/{invoice}/payments",
        "/v1/invoices/{invoice}/disputes",
        "/v1/invoices/{invoice}/documents",
        "/v1/invoices/{invoice}/actions",
    ],
)
async def test_order_on_an_invoices_sub_lists(client, tenant, clock, path):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    invoice = await create_invoice(client, tenant, creditor["id"], debtor["id"])
    url = path.format(invoice=invoice["id"])
    bodies = {
        "payments": lambda i: {"amount": "1.00", "paid_at": "2026-02-01", "reference": f"r{i}"},
        "disputes": lambda i: {"reason": "other", "note": f"n{i}"},
        "documents": lambda i: {"kind": "other", "reference": f"d{i}"},
        "actions": lambda i: {"type": "note", "performed_at": "2026-02-01T10:00:00Z", "note": "x"},
    }
    body = bodies[url.rsplit("/", 1)[1]]
    made = []
    for i in range(3):
        response = await client.post(url, json=body(i), headers=tenant.headers)
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
        if "disputes" in url:  # one open dispute at a time
            await client.post(
                f"/v1/disputes/{made[-1]}/resolve",
                json={"resolution": "rejected"},
                headers=tenant.headers,
            )
    assert await walk(client, url, tenant.headers, limit=2) == made
    assert await walk(client, url, tenant.headers, limit=2, order="desc") == made[::-1]

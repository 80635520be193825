from __future__ import annotations

import pytest

from tests.factories import (
    ADDRESS,
    VALID_BIC,
    VALID_IBAN,
    VALID_SIREN,
    create_creditor,
    create_debtor,
)

VALID_SIRET = "73282932000074"  # an establishment of VALID_SIREN
OTHER_SIREN = "552100554"


async def test_create_creditor_normalises_identifiers(client, tenant):
    creditor = await create_creditor(
        client,
        tenant,
        siren="732 829 320",
        iban="FR14 2004 1010 0505 0001 3M02 606",
        bic="bnpafrppxxx",
    )
    assert creditor["id"].startswith("cred_")
    assert creditor["siren"] == VALID_SIREN
    assert creditor["iban"] == VALID_IBAN
    assert creditor["bic"] == VALID_BIC
    assert creditor["payment_terms_days"] == 30
    assert creditor["fixed_indemnity"] == "40.00"
    assert creditor["late_penalty_rate"] is None
    fetched = await client.get(f"/v1/creditors/{creditor['id']}", headers=tenant.headers)
    assert fetched.json() == creditor


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("siren", "732829321"),
        ("siren", "abc"),
        ("siret", "73282932000075"),
        ("siret", "732829320"),
        ("vat_number", "FR00732829320"),
        ("iban", "FR1420041010050500013M02607"),
        ("bic", "ZZZZ"),
        ("email", "not-an-email"),
        ("address", {**ADDRESS, "postal_code": "7500"}),
        ("address", {**ADDRESS, "country": "france"}),
        ("fixed_indemnity", "39.99"),
        ("fixed_indemnity", "40.001"),
        ("payment_terms_days", -1),
        ("late_penalty_rate", "101"),
        ("late_penalty_rate", "abc"),
        ("name", ""),
        ("unknown_field", "x"),
        ("dunning_policy_id", "pol_missing"),
    ],
)
async def test_creditor_validation(client, tenant, field, value):
    body = {"name": "X", field: value}
    response = await client.post("/v1/creditors", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert any(field in map(str, e["loc"]) for e in problem["errors"]), problem
    listed = await client.get("/v1/creditors", headers=tenant.headers)
    assert listed.json()["data"] == []


async def test_foreign_postal_code_is_free_form(client, tenant):
    address = {"line1": "1 Main St", "postal_code": "SW1A 1AA", "city": "London", "country": "GB"}
    creditor = await create_creditor(client, tenant, address=address)
    assert creditor["address"]["postal_code"] == "SW1A 1AA"


async def test_patch_creditor(client, tenant):
    creditor = await create_creditor(client, tenant)
    url = f"/v1/creditors/{creditor['id']}"
    patched = await client.patch(
        url, json={"payment_terms_days": 45, "phone": None}, headers=tenant.headers
    )
    assert patched.status_code == 200
    assert patched.json()["payment_terms_days"] == 45
    assert patched.json()["phone"] is None
    assert patched.json()["name"] == creditor["name"]
    for body in ({"name": None}, {"fixed_indemnity": None}, {"iban": "FR00"}):
        assert (await client.patch(url, json=body, headers=tenant.headers)).status_code == 422


async def test_duplicate_external_id_is_409(client, tenant):
    await create_creditor(client, tenant, external_id="crm-1")
    response = await client.post(
        "/v1/creditors", json={"name": "Other", "external_id": "crm-1"}, headers=tenant.headers
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


async def test_list_creditors_paginates_in_stable_order(client, tenant):
    ids = [(await create_creditor(client, tenant, name=f"C{i}"))["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/creditors", params=params, headers=tenant.headers)).json()
        seen += [c["id"] for c in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == sorted(ids)
    bad = await client.get("/v1/creditors", params={"cursor": "%%%"}, headers=tenant.headers)
    assert bad.status_code == 422
    too_big = await client.get("/v1/creditors", params={"limit": 201}, headers=tenant.headers)
    assert too_big.status_code == 422


async def test_debtor_lifecycle_and_insolvency(client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"], siren=VALID_SIREN, address=ADDRESS)
    assert debtor["kind"] == "business"
    assert debtor["language"] == "fr"
    assert debtor["insolvency"] is None
    url = f"/v1/debtors/{debtor['id']}"
    # Without the BODACC date (as before published_on existed): no deadline yet.
    insolvency = {"procedure": "redressement_judiciaire", "opened_on": "2026-02-01"}
    patched = await client.patch(url, json={"insolvency": insolvency}, headers=tenant.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["insolvency"] == {
        **insolvency,
        "published_on": None,
        "declaration_deadline": None,
    }
    cleared = await client.patch(url, json={"insolvency": None}, headers=tenant.headers)
    assert cleared.json()["insolvency"] is None


async def test_debtor_insolvency_with_its_bodacc_publication(client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(
        client,
        tenant,
        creditor["id"],
        insolvency={
            "procedure": "liquidation_judiciaire",
            "opened_on": "2026-02-03",
            "published_on": "2026-02-12",
        },
    )
    # C. com. R622-24: 2 months from the BODACC publication.
    assert debtor["insolvency"] == {
        "procedure": "liquidation_judiciaire",
        "opened_on": "2026-02-03",
        "published_on": "2026-02-12",
        "declaration_deadline": "2026-04-12",
    }
    url = f"/v1/debtors/{debtor['id']}"
    got = (await client.get(url, headers=tenant.headers)).json()
    assert got["insolvency"]["declaration_deadline"] == "2026-04-12"
    # 31 December + 2 months: the last day of February (CPC art. 641).
    patched = await client.patch(
        url,
        json={
            "insolvency": {
                "procedure": "sauvegarde",
                "opened_on": "2026-12-22",
                "published_on": "2026-12-31",
            }
        },
        headers=tenant.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["insolvency"]["declaration_deadline"] == "2027-02-28"


@pytest.mark.parametrize(
    ("insolvency", "loc"),
    [
        (
            {"procedure": "sauvegarde", "opened_on": "2026-02-10", "published_on": "2026-02-09"},
            ["body", "insolvency", "published_on"],
        ),
        (
            {"procedure": "sauvegarde", "opened_on": "2026-02-10", "published_on": "2026-02-31"},
            ["body", "insolvency", "published_on"],
        ),
        (
            {"procedure": "sauvegarde", "published_on": "2026-02-10"},
            ["body", "insolvency", "opened_on"],
        ),
        (
            {"procedure": "sauvegarde", "opened_on": "2026-02-10", "bodacc": "2026-02-20"},
            ["body", "insolvency", "bodacc"],
        ),
    ],
)
async def test_debtor_insolvency_validation(client, tenant, insolvency, loc):
    creditor = await create_creditor(client, tenant)
    response = await client.post(
        "/v1/debtors",
        json={
            "creditor_id": creditor["id"],
            "kind": "business",
            "name": "X",
            "insolvency": insolvency,
        },
        headers=tenant.headers,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert loc in [e["loc"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "company", "name": "X"},
        {"kind": "consumer", "name": "Jean", "siren": VALID_SIREN},
        {"kind": "consumer", "name": "Jean", "siret": VALID_SIRET},
        {"kind": "business", "name": "X", "siren": "123"},
        {"kind": "business", "name": "X", "siret": "73282932000075"},
        {"kind": "business", "name": "X", "siren": OTHER_SIREN, "siret": VALID_SIRET},
        {
            "kind": "business",
            "name": "X",
            "insolvency": {"procedure": "faillite", "opened_on": "2026-01-01"},
        },
        {
            "kind": "business",
            "name": "X",
            "insolvency": {"procedure": "sauvegarde", "opened_on": "2026-02-30"},
        },
    ],
)
async def test_debtor_validation(client, tenant, body):
    creditor = await create_creditor(client, tenant)
    response = await client.post(
        "/v1/debtors", json={"creditor_id": creditor["id"], **body}, headers=tenant.headers
    )
    assert response.status_code == 422, response.text


async def test_debtor_of_unknown_or_foreign_creditor_is_422(client, tenant, other_tenant):
    foreign = await create_creditor(client, other_tenant)
    for creditor_id in ("cred_missing", foreign["id"]):
        response = await client.post(
            "/v1/debtors",
            json={"creditor_id": creditor_id, "kind": "business", "name": "X"},
            headers=tenant.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "creditor_id"]


async def test_siret_is_validated_and_belongs_to_the_siren(client, tenant):
    creditor = await create_creditor(client, tenant, siren=VALID_SIREN, siret="732 829 320 00074")
    assert creditor["siret"] == VALID_SIRET
    url = f"/v1/creditors/{creditor['id']}"
    # A new SIREN that the stored SIRET does not belong to is refused, and nothing changes.
    moved = await client.patch(url, json={"siren": OTHER_SIREN}, headers=tenant.headers)
    assert moved.status_code == 422, moved.text
    assert moved.json()["errors"][0]["loc"] == ["body", "siret"]
    assert (await client.get(url, headers=tenant.headers)).json()["siren"] == VALID_SIREN
    both = await client.patch(
        url, json={"siren": OTHER_SIREN, "siret": None}, headers=tenant.headers
    )
    assert both.status_code == 200, both.text
    assert (both.json()["siren"], both.json()["siret"]) == (OTHER_SIREN, None)
    mismatch = await client.post(
        "/v1/creditors",
        json={"name": "X", "siren": OTHER_SIREN, "siret": VALID_SIRET},
        headers=tenant.headers,
    )
    assert mismatch.status_code == 422

    debtor = await create_debtor(client, tenant, creditor["id"], siret=VALID_SIRET)
    assert debtor["siret"] == VALID_SIRET
    durl = f"/v1/debtors/{debtor['id']}"
    consumer = await client.patch(durl, json={"kind": "consumer"}, headers=tenant.headers)
    assert consumer.status_code == 422, consumer.text
    assert (await client.get(durl, headers=tenant.headers)).json()["kind"] == "business"
    cleared = await client.patch(
        durl, json={"kind": "consumer", "siret": None}, headers=tenant.headers
    )
    assert cleared.status_code == 200, cleared.text

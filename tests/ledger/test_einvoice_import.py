"""POST /v1/invoices/import: Factur-X PDFs, CII and UBL XML files built with the same library
the service reads them with (tests/einvoice_files.py)."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest
from facturx import generate_from_binary

from tests.conftest import make_tenant
from tests.einvoice_files import BUYER_SIREN, cii_xml, facturx_pdf, plain_pdf, ubl_xml
from tests.factories import VALID_SIREN, create_creditor, create_debtor

PDF = {"Content-Type": "application/pdf"}
XML = {"Content-Type": "application/xml"}


async def post_file(client, tenant, body: bytes, headers: dict[str, str]):
    return await client.post(
        "/v1/invoices/import", content=body, headers={**tenant.headers, **headers}
    )


@pytest.fixture
async def creditor(client, tenant):
    return await create_creditor(client, tenant)


async def test_facturx_pdf_creates_the_invoice_and_its_debtor(client, tenant, creditor):
    pdf = facturx_pdf()
    response = await post_file(client, tenant, pdf, PDF)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["creditor_id"] == creditor["id"]
    assert (body["number"], body["issue_date"], body["due_date"]) == (
        "F-2026-001",
        "2026-11-10",
        "2026-12-10",
    )
    assert (body["amount"], body["currency"], body["balance"]) == ("1200.00", "EUR", "1200.00")
    intake = body["intake"]
    assert intake["format"] == "facturx"
    assert intake["profile"] == "en16931"
    assert intake["type_code"] == "380"
    assert intake["outcome"] == "created"
    assert intake["debtor_created"] is True

    # The invoice is the one GET shows; the debtor was created from the buyer.
    shown = await client.get(f"/v1/invoices/{body['id']}", headers=tenant.headers)
    # (next_action_at is the same instant, written in another offset, as POST /v1/invoices does.)
    same = {k: v for k, v in shown.json().items() if k != "dunning"}
    assert same == {k: v for k, v in body.items() if k not in ("intake", "dunning")}
    debtor = (await client.get(f"/v1/debtors/{body['debtor_id']}", headers=tenant.headers)).json()
    assert (debtor["name"], debtor["siren"], debtor["kind"]) == (
        "Client Martin SAS",
        BUYER_SIREN,
        "business",
    )


async def test_the_file_is_kept_as_a_document_and_downloads_byte_for_byte(client, tenant, creditor):
    pdf = facturx_pdf()
    body = (await post_file(client, tenant, pdf, PDF)).json()
    document = body["intake"]["document"]
    assert document["kind"] == "invoice"
    assert document["reference"] == "F-2026-001"
    assert document["file"]["content_type"] == "application/pdf"
    assert document["file"]["size"] == len(pdf)
    assert document["file"]["sha256"] == hashlib.sha256(pdf).hexdigest()

    listed = await client.get(f"/v1/invoices/{body['id']}/documents", headers=tenant.headers)
    assert [d["id"] for d in listed.json()["data"]] == [document["id"]]
    download = await client.get(document["file"]["url"], headers=tenant.headers)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert "F-2026-001.pdf" in download.headers["content-disposition"]
    assert download.content == pdf


async def test_importing_the_same_file_twice_creates_one_invoice(client, tenant, creditor):
    pdf = facturx_pdf()
    first = await post_file(client, tenant, pdf, PDF)
    second = await post_file(client, tenant, pdf, PDF)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["intake"]["outcome"] == "unchanged"
    assert second.json()["intake"]["debtor_created"] is False
    assert second.json()["intake"]["document"]["id"] == first.json()["intake"]["document"]["id"]

    invoices = await client.get("/v1/invoices", headers=tenant.headers)
    assert len(invoices.json()["data"]) == 1
    debtors = await client.get("/v1/debtors", headers=tenant.headers)
    assert len(debtors.json()["data"]) == 1
    documents = await client.get(
        f"/v1/invoices/{first.json()['id']}/documents", headers=tenant.headers
    )
    assert len(documents.json()["data"]) == 1


async def test_the_same_file_sent_twice_at_once_creates_one_invoice(client, tenant, creditor):
    pdf = facturx_pdf()
    answers = await asyncio.gather(*(post_file(client, tenant, pdf, PDF) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len((await client.get("/v1/invoices", headers=tenant.headers)).json()["data"]) == 1
    assert len((await client.get("/v1/debtors", headers=tenant.headers)).json()["data"]) == 1


async def test_a_corrected_file_updates_the_invoice_and_keeps_both_files(client, tenant, creditor):
    first = (await post_file(client, tenant, cii_xml(), XML)).json()
    corrected = cii_xml(amount="1100.00", due="20261220")
    response = await post_file(client, tenant, corrected, XML)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == first["id"]
    assert body["intake"]["outcome"] == "updated"
    assert (body["amount"], body["due_date"]) == ("1100.00", "2026-12-20")
    documents = await client.get(f"/v1/invoices/{body['id']}/documents", headers=tenant.headers)
    assert len(documents.json()["data"]) == 2


async def test_a_cii_xml_is_read(client, tenant, creditor):
    response = await post_file(client, tenant, cii_xml(), {"Content-Type": "text/xml"})
    assert response.status_code == 201, response.text
    intake = response.json()["intake"]
    assert (intake["format"], intake["profile"]) == ("cii", "en16931")
    assert intake["document"]["file"]["content_type"] == "text/xml"
    assert intake["document"]["file"]["name"] == "F-2026-001.xml"


async def test_a_ubl_xml_finds_the_creditor_by_its_vat_number(client, tenant):
    # The creditor has no SIREN on file: the seller's VAT number names it.
    creditor = await create_creditor(client, tenant, siren=None)
    response = await post_file(client, tenant, ubl_xml(), XML)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["creditor_id"] == creditor["id"]
    assert (body["number"], body["amount"], body["due_date"]) == (
        "F-2026-101",
        "960.00",
        "2026-12-15",
    )
    assert body["intake"]["format"] == "ubl"
    debtor = (await client.get(f"/v1/debtors/{body['debtor_id']}", headers=tenant.headers)).json()
    assert debtor["external_id"] == "CLI-042"


async def test_a_seller_named_by_its_vat_number_only_finds_the_creditor_by_siren(
    client, tenant, creditor
):
    # FR44 732829320: the SIREN inside the VAT number is the creditor's.
    xml = cii_xml(seller_legal_id="", seller_vat="FR44732829320")
    response = await post_file(client, tenant, xml, XML)
    assert response.status_code == 201, response.text
    assert response.json()["creditor_id"] == creditor["id"]


async def test_ubl_due_date_from_payment_means(client, tenant, creditor):
    means = (
        "<cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>"
        "<cbc:PaymentDueDate>2027-01-05</cbc:PaymentDueDate></cac:PaymentMeans>"
    )
    response = await post_file(client, tenant, ubl_xml(due="", payment_means=means), XML)
    assert response.status_code == 201, response.text
    assert response.json()["due_date"] == "2027-01-05"


async def test_the_debtor_is_matched_by_siren(client, tenant, creditor):
    known = await create_debtor(client, tenant, creditor["id"], siren=BUYER_SIREN)
    response = await post_file(client, tenant, cii_xml(), XML)
    assert response.status_code == 201, response.text
    assert response.json()["debtor_id"] == known["id"]
    assert response.json()["intake"]["debtor_created"] is False


async def test_the_debtor_is_matched_by_its_code_before_its_siren(client, tenant, creditor):
    await create_debtor(client, tenant, creditor["id"], siren=BUYER_SIREN)
    coded = await create_debtor(client, tenant, creditor["id"], external_id="CLI-042")
    xml = cii_xml(buyer_id="<ram:ID>CLI-042</ram:ID>")
    response = await post_file(client, tenant, xml, XML)
    assert response.status_code == 201, response.text
    assert response.json()["debtor_id"] == coded["id"]


async def test_another_tenants_creditor_is_not_found(client, tenant, creditor):
    other = await make_tenant(client, "Tenant B")
    response = await post_file(client, other, facturx_pdf(), PDF)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/unknown-party")
    assert VALID_SIREN in response.json()["detail"]
    # Nothing was written for anyone.
    assert (await client.get("/v1/invoices", headers=tenant.headers)).json()["data"] == []


def _bad_files() -> list[tuple[str, bytes, dict[str, str], str]]:
    return [
        ("not a file", b"hello, this is text", PDF, "neither a PDF nor an XML"),
        ("broken pdf", b"%PDF-1.7\n garbage", PDF, "PDF cannot be read"),
        ("plain pdf", plain_pdf(), PDF, "no Factur-X XML"),
        ("broken xml", b"<Invoice><cbc:ID>", XML, "not well-formed"),
        ("other xml", b"<order xmlns='urn:x'/>", XML, "neither a CII invoice"),
        ("no number", cii_xml(number=""), XML, "no invoice number"),
        ("no issue date", cii_xml(issue=""), XML, "no issue date (BT-2)"),
        ("no due date", cii_xml(due=None), XML, "no due date"),
        ("bad date", cii_xml(issue="2026-11-10"), XML, "cannot be read"),
        ("no amount", cii_xml(amount=None), XML, "amount due"),
        ("negative", cii_xml(amount="-120.00"), XML, "negative"),
        ("zero", cii_xml(amount="0.00"), XML, "zero"),
        ("currency", cii_xml(currency="XYZ"), XML, "not an ISO 4217 currency"),
        ("credit note naming no invoice", cii_xml(type_code="381"), XML, "it names 0"),
        (
            "credit note of an unknown invoice",
            cii_xml(number="AV-1", type_code="381", credits="F-404"),
            XML,
            "credits invoice F-404, which this creditor does not have",
        ),
        ("unknown seller", cii_xml(seller_legal_id="", seller_vat=""), XML, "no SIREN"),
        (
            "anonymous buyer",
            cii_xml(buyer_legal_id=""),
            XML,
            "cannot be matched or created",
        ),
        ("nameless buyer", cii_xml(buyer_name=""), XML, "cannot be created as a debtor"),
    ]


@pytest.mark.parametrize(
    ("case", "body", "headers", "reason"), _bad_files(), ids=[c[0] for c in _bad_files()]
)
async def test_unreadable_files_are_422_with_the_reason(
    client, tenant, creditor, case, body, headers, reason
):
    response = await post_file(client, tenant, body, headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert reason in response.json()["detail"]
    assert (await client.get("/v1/invoices", headers=tenant.headers)).json()["data"] == []


async def test_a_full_credit_note_cancels_the_invoice_once(client, tenant, creditor):
    invoice = (await post_file(client, tenant, facturx_pdf(), PDF)).json()
    credit_note = facturx_pdf(cii_xml(number="AV-2026-001", type_code="381", credits="F-2026-001"))
    response = await post_file(client, tenant, credit_note, PDF)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["status"]) == (invoice["id"], "cancelled")
    assert body["closed_reason"] == "Credit note AV-2026-001 (e-invoice import)"
    assert body["intake"]["outcome"] == "cancelled"
    assert body["intake"]["document"]["reference"] == "AV-2026-001"
    assert body["intake"]["document"]["file"]["name"] == "credit-note-AV-2026-001.pdf"

    again = await post_file(client, tenant, credit_note, PDF)
    assert again.status_code == 200
    assert again.json()["intake"]["outcome"] == "unchanged"
    documents = await client.get(f"/v1/invoices/{invoice['id']}/documents", headers=tenant.headers)
    assert [d["reference"] for d in documents.json()["data"]] == ["F-2026-001", "AV-2026-001"]


async def test_a_partial_ubl_credit_note_lowers_the_amount_once(client, tenant):
    await create_creditor(client, tenant, siren=None)
    invoice = (await post_file(client, tenant, ubl_xml(), XML)).json()  # 960.00
    reference = (
        "<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>F-2026-101</cbc:ID>"
        "</cac:InvoiceDocumentReference></cac:BillingReference>"
    )
    credit_note = ubl_xml(
        root="CreditNote", number="AV-7", due="", amount="160.00", billing_reference=reference
    )
    for expected in ("credited", "unchanged"):
        response = await post_file(client, tenant, credit_note, XML)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["id"], body["intake"]["outcome"]) == (invoice["id"], expected)
        assert (body["amount"], body["status"]) == ("800.00", "open")


async def test_a_credit_note_larger_than_the_invoice_is_422(client, tenant, creditor):
    await post_file(client, tenant, cii_xml(), XML)  # 1200.00
    credit_note = cii_xml(number="AV-3", type_code="381", credits="F-2026-001", amount="1500.00")
    response = await post_file(client, tenant, credit_note, XML)
    assert response.status_code == 422
    assert "exceeds invoice F-2026-001" in response.json()["detail"]


async def test_two_creditors_with_the_sellers_siren_are_422(client, tenant, creditor):
    await create_creditor(client, tenant, name="Atelier Dupont (Lyon)", vat_number=None)
    response = await post_file(client, tenant, cii_xml(), XML)
    assert response.status_code == 422
    assert "Several creditors" in response.json()["detail"]


async def test_an_idempotency_key_replays_the_first_answer(client, tenant, creditor):
    headers = {**XML, "Idempotency-Key": "import-F-2026-001"}
    first = await post_file(client, tenant, cii_xml(), headers)
    replay = await post_file(client, tenant, cii_xml(), headers)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()
    other = await post_file(client, tenant, cii_xml(amount="1.00"), headers)
    assert other.status_code == 422  # the same key with another file


async def test_another_media_type_is_415(client, tenant, creditor):
    response = await client.post(
        "/v1/invoices/import", json={"number": "F-1"}, headers=tenant.headers
    )
    assert response.status_code == 415
    assert "application/pdf" in response.json()["detail"]


async def test_an_xml_with_external_entities_reads_no_file(client, tenant, creditor):
    xml = cii_xml(number="&secret;").replace(
        b"<rsm:CrossIndustryInvoice",
        b'<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n<rsm:CrossIndustryInvoice',
        1,
    )
    response = await post_file(client, tenant, xml, XML)
    assert response.status_code == 422
    assert "root:" not in response.text


async def test_a_factur_x_larger_than_other_bodies_is_taken_up_to_its_own_limit(
    client, tenant, creditor, settings
):
    # A supporting document attached to the Factur-X: random bytes, incompressible.
    annex = os.urandom(settings.max_body_bytes + 100_000)
    pdf = generate_from_binary(
        plain_pdf(),
        cii_xml(),
        check_xsd=False,
        attachments={"annexe.bin": {"filedata": annex, "description": "Bon de livraison"}},
    )
    assert settings.max_body_bytes < len(pdf) < settings.max_import_bytes
    response = await post_file(client, tenant, pdf, PDF)
    assert response.status_code == 201, response.text
    assert response.json()["intake"]["document"]["file"]["size"] == len(pdf)


async def test_a_file_over_the_import_limit_is_413(client, tenant, creditor, settings):
    big = facturx_pdf() + b"\n%" + b"x" * settings.max_import_bytes
    response = await post_file(client, tenant, big, PDF)
    assert response.status_code == 413
    assert str(settings.max_import_bytes) in response.json()["detail"]


async def test_a_document_of_another_tenant_is_404(client, tenant, creditor):
    body = (await post_file(client, tenant, facturx_pdf(), PDF)).json()
    other = await make_tenant(client, "Tenant B")
    url = body["intake"]["document"]["file"]["url"]
    assert (await client.get(url, headers=other.headers)).status_code == 404

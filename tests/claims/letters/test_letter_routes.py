"""Issue 17, point 6, through the API: the PDF's file name for any invoice number, the
pre-reminder refused once the invoice is overdue, the debtor's language and `?language`."""

from __future__ import annotations

import io
from urllib.parse import unquote

from pypdf import PdfReader

from tests.factories import create_creditor, create_debtor, create_invoice, ledger

PDF = {"Accept": "application/pdf"}
TEXT = {"Accept": "text/plain"}
NOT_DUE = {"issue_date": "2026-02-20", "due_date": "2026-03-20"}  # the clock: 2 March 2026


def _url(invoice: dict, kind: str) -> str:
    return f"/v1/invoices/{invoice['id']}/letters/{kind}"


async def test_a_pdf_for_an_invoice_number_outside_ascii_has_both_file_names(client, tenant):
    made = await ledger(client, tenant, number="FA-2026/€’ü")
    response = await client.get(
        _url(made["invoice"], "reminder_1"), headers={**tenant.headers, **PDF}
    )
    assert response.status_code == 200, response.text
    raw = response.headers.raw
    header = next(value for key, value in raw if key.lower() == b"content-disposition")
    header.decode("latin-1")  # what HTTP can carry
    value = header.decode("ascii")  # and in fact plain ASCII
    assert value.startswith("inline; ")
    assert 'filename="reminder_1-FA-2026___u.pdf"' in value  # the fallback: ASCII, no slash
    encoded = value.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded, encoding="utf-8") == "reminder_1-FA-2026_€’ü.pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "FA-2026/€’ü" in text  # the letter prints the number as it is


async def test_an_ascii_invoice_number_keeps_the_plain_file_name(client, tenant):
    made = await ledger(client, tenant, number="F-2026-001")
    response = await client.get(
        _url(made["invoice"], "reminder_1"), headers={**tenant.headers, **PDF}
    )
    assert response.headers["content-disposition"] == 'inline; filename="reminder_1-F-2026-001.pdf"'


async def test_a_pre_reminder_for_an_overdue_invoice_is_refused(client, tenant):
    made = await ledger(client, tenant, issue_date="2026-01-15", due_date="2026-02-14")
    url = _url(made["invoice"], "pre_reminder")
    response = await client.get(url, headers={**tenant.headers, **TEXT})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("/invoice-overdue")
    assert problem["due_date"] == "2026-02-14"
    assert problem["letter_date"] == "2026-03-02"
    assert "not yet due" in problem["detail"]
    # Dated before the due date (or on it), the same letter is fine.
    for day in ("2026-02-07", "2026-02-14"):
        dated = await client.get(url, params={"as_of": day}, headers={**tenant.headers, **TEXT})
        assert dated.status_code == 200, dated.text
        assert "Avez-vous bien reçu et enregistré notre facture ?" in dated.text
    late = await client.get(url, params={"as_of": "2026-02-15"}, headers=tenant.headers)
    assert late.status_code == 409
    # The reminders of an overdue invoice are what it gets.
    reminder = await client.get(_url(made["invoice"], "reminder_1"), headers=tenant.headers)
    assert reminder.status_code == 200


async def test_a_pre_reminder_sent_in_time_renders_later_too(client, tenant):
    made = await ledger(client, tenant, issue_date="2026-01-15", due_date="2026-02-14")
    recorded = await client.post(
        f"/v1/invoices/{made['invoice']['id']}/actions",
        json={
            "type": "pre_reminder",
            "channel": "email",
            "performed_at": "2026-02-09T10:00:00+01:00",
        },
        headers=tenant.headers,
    )
    assert recorded.status_code == 201, recorded.text
    response = await client.get(
        _url(made["invoice"], "pre_reminder"), headers={**tenant.headers, **TEXT}
    )
    assert response.status_code == 200, response.text  # dated as of its sending, 9 February
    assert "le 9 février 2026" in response.text


async def test_a_debtor_abroad_gets_english_letters(client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(
        client, tenant, creditor["id"], name="Łukasz Dąbrowski Sp. z o.o.", language="en"
    )
    invoice = await create_invoice(
        client, tenant, creditor["id"], debtor["id"], amount="12345.67", **NOT_DUE
    )
    text = (await client.get(_url(invoice, "pre_reminder"), headers=tenant.headers)).text
    for expected in [
        "Subject: Invoice no. F-2026-001 - due on 20 March 2026",
        "Dear Sir or Madam,",
        "for an amount of €12,345.67",
        "Have you received and recorded our invoice?",
        "Łukasz Dąbrowski Sp. z o.o.",
    ]:
        assert expected in text, expected
    assert "Madame, Monsieur" not in text
    pdf = await client.get(_url(invoice, "pre_reminder"), headers={**tenant.headers, **PDF})
    pdf_text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Łukasz Dąbrowski Sp. z o.o." in pdf_text
    assert "Dear Sir or Madam," in pdf_text

    # ?language overrides the debtor's; anything but fr or en is a 422.
    french = await client.get(
        _url(invoice, "pre_reminder"), params={"language": "fr"}, headers=tenant.headers
    )
    assert french.status_code == 200
    assert "Madame, Monsieur," in french.text
    assert "12\u202f345,67\u00a0€" in french.text
    wrong = await client.get(
        _url(invoice, "pre_reminder"), params={"language": "de"}, headers=tenant.headers
    )
    assert wrong.status_code == 422, wrong.text
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["errors"][0]["loc"] == ["query", "language"]


async def test_a_french_debtors_letter_in_english_on_request(client, tenant):
    made = await ledger(client, tenant)
    url = _url(made["invoice"], "formal_notice")
    default = (await client.get(url, headers=tenant.headers)).text
    assert "Objet : Mise en demeure de payer" in default
    english = await client.get(url, params={"language": "en"}, headers=tenant.headers)
    assert english.status_code == 200
    assert "Subject: Formal notice to pay (mise en demeure de payer)" in english.text
    assert "Article L441-10 of the French Commercial Code (Code de commerce)" in english.text
    assert "€40.00" in english.text

"""Letters in the three formats: mandatory mentions, consumer rules, escaping, several invoices."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from pypdf import PdfReader

from app.claims.letters.formatting import (
    format_day,
    format_iban,
    format_money,
    format_rate,
    format_siren,
)
from app.claims.letters.pdf import render_pdf
from app.claims.letters.render import (
    LETTER_KINDS,
    LetterContext,
    LetterInvoice,
    Party,
    SentReminder,
    compose,
    render_html,
    render_text,
)
from app.legal import figures as legal
from app.legal.interest import Claim, Payment, combine_claims, compute_claim
from app.legal.rates import RateBook

D = Decimal
TODAY = dt.date(2026, 11, 22)
BOOK = RateBook()

CREDITOR = Party(
    name="Atelier Durand SARL",
    siren="732829320",
    address_lines=("12 rue de la Paix", "75002 Paris"),
    email="compta@atelier-durand.fr",
    phone="01 23 45 67 89",
)
DEBTOR = Party(
    name="Boulangerie Martin SAS",
    siren="552 100 554",
    address_lines=("5 avenue Foch", "69006 Lyon"),
)
CONSUMER = Party(
    name="Mme Claire Petit", siren=None, address_lines=("3 impasse des Lilas", "33000 Bordeaux")
)
IBAN = "FR7630006000011234567890189"
BIC = "AGRIFRPP"

INVOICES = (
    LetterInvoice(
        "F-2026-0412", dt.date(2026, 9, 1), dt.date(2026, 10, 1), D("1250.00"), D("1250.00")
    ),
    LetterInvoice(
        "F-2026-0457", dt.date(2026, 9, 15), dt.date(2026, 10, 15), D("12480.50"), D("2480.50")
    ),
)
REMINDERS = (
    SentReminder(dt.date(2026, 10, 4), "reminder", "email"),
    SentReminder(dt.date(2026, 9, 24), "pre_reminder", "email"),
    SentReminder(dt.date(2026, 10, 16), "reminder", "letter"),
)


def b2b_claim() -> Claim:
    return combine_claims(
        [
            compute_claim(
                amount=D("1250.00"),
                due_date=dt.date(2026, 10, 1),
                payments=[],
                as_of=TODAY,
                debtor_kind="business",
                rates=BOOK,
            ),
            compute_claim(
                amount=D("12480.50"),
                due_date=dt.date(2026, 10, 15),
                payments=[Payment(dt.date(2026, 11, 2), D("10000.00"))],
                as_of=TODAY,
                debtor_kind="business",
                rates=BOOK,
            ),
        ]
    )


def consumer_claim() -> Claim:
    return compute_claim(
        amount=D("1250.00"),
        due_date=dt.date(2026, 10, 1),
        payments=[],
        as_of=TODAY,
        debtor_kind="consumer",
        rates=BOOK,
    )


def context(kind: str, debtor_kind: str = "business", **changes: object) -> LetterContext:
    b2b = debtor_kind == "business"
    base = LetterContext(
        kind=kind,  # type: ignore[arg-type]
        creditor=CREDITOR,
        debtor=DEBTOR if b2b else CONSUMER,
        debtor_kind=debtor_kind,  # type: ignore[arg-type]
        invoices=INVOICES if b2b else INVOICES[:1],
        claim=None if kind == "pre_reminder" else (b2b_claim() if b2b else consumer_claim()),
        today=TODAY,
        iban=IBAN,
        bic=BIC,
        city="Paris",
        reminders_sent=() if kind == "pre_reminder" else REMINDERS,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def flat(text: str) -> str:
    """Whitespace-insensitive (line wraps, non-breaking spaces) for content checks."""
    return " ".join(text.split())


def text_of_html(markup: str) -> str:
    return flat(html.unescape(re.sub(r"<[^>]+>", " ", markup.split("<body>", 1)[1])))


def text_of_pdf(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return flat(" ".join(page.extract_text() for page in reader.pages))


RENDERERS: dict[str, Callable[[LetterContext], str]] = {
    "text": lambda ctx: flat(render_text(ctx)),
    "html": lambda ctx: text_of_html(render_html(ctx)),
    "pdf": lambda ctx: text_of_pdf(render_pdf(ctx)),
}
FORMATS = list(RENDERERS)


# --- Formatting -----------------------------------------------------------------------------
def test_french_formats() -> None:
    # Babel: a narrow no-break space (U+202F) groups the thousands, a no-break space (U+00A0)
    # precedes the euro sign; half-up to the cent (Babel alone would round half-even).
    assert format_money(D("1250")) == "1\u202f250,00\u00a0€"
    assert format_money(D("1234567.891")) == "1\u202f234\u202f567,89\u00a0€"
    assert format_money(D("12345.67")) == "12\u202f345,67\u00a0€"
    assert format_money(D("0.005")) == "0,01\u00a0€"
    assert format_money(D("-40")) == "-40,00\u00a0€"
    assert format_money(D("999.99")) == "999,99\u00a0€"
    assert format_money(D("12345.67"), "en") == "€12,345.67"
    assert format_money(D("0.005"), "en") == "€0.01"
    assert format_day(dt.date(2026, 11, 22)) == "22 novembre 2026"
    assert format_day(dt.date(2026, 8, 1)) == "1er août 2026"
    assert format_day(dt.date(2026, 12, 1), "en") == "1 December 2026"
    assert format_day(dt.date(2026, 12, 22), "en") == "22 December 2026"
    assert format_rate(D("12.15")) == "12,15\u00a0%"
    assert format_rate(D("10")) == "10,00\u00a0%"
    assert format_rate(D("12.4"), "en") == "12.40%"
    assert format_siren("732829320") == "732 829 320"
    assert format_siren("73282932000074") == "732 829 320 00074"
    assert format_iban("fr76 30006000011234567890189") == "FR76 3000 6000 0112 3456 7890 189"


# --- Every kind, every format ----------------------------------------------------------------
SUBJECTS = {
    "pre_reminder": "Factures arrivant à échéance",
    "reminder_1": "Rappel - factures échues",
    "reminder_2": "Deuxième relance - factures impayées",
    "formal_notice": "Mise en demeure de payer",
}
TONE = {
    "pre_reminder": ["Avez-vous bien reçu et enregistré nos factures ?", "purement informatif"],
    "reminder_1": ["simple oubli", "dans les meilleurs délais"],
    "reminder_2": [
        "vous vous êtes engagé à régler ces factures",
        "nous nous réservons le droit d'engager une procédure judiciaire",
        "sous 8 jours, soit au plus tard le 30 novembre 2026",
    ],
    "formal_notice": ["nous vous mettons en demeure"],
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", LETTER_KINDS)
def test_every_letter_has_parties_invoices_and_payment_details(kind: str, fmt: str) -> None:
    text = RENDERERS[fmt](context(kind))
    for expected in [
        f"Objet : {SUBJECTS[kind]}",
        "Fait à Paris, le 22 novembre 2026",
        CREDITOR.name,
        "SIREN : 732 829 320",
        *CREDITOR.address_lines,
        DEBTOR.name,
        "SIREN : 552 100 554",
        *DEBTOR.address_lines,
        "Madame, Monsieur,",
        "IBAN : FR76 3000 6000 0112 3456 7890 189",
        "BIC : AGRIFRPP",
        "Total restant dû 3 730,50 €",
        "salutations distinguées",
        *TONE[kind],
    ]:
        assert flat(expected) in text, expected
    for inv in INVOICES:
        for expected in (
            inv.number,
            format_day(inv.issue_date),
            format_day(inv.due_date),
            format_money(inv.amount),
            format_money(inv.balance),
        ):
            assert flat(expected) in text, expected
    registered = "Lettre recommandée avec accusé de réception" in text
    assert registered == (kind == "formal_notice")


@pytest.mark.parametrize("fmt", FORMATS)
def test_b2b_formal_notice_has_every_mandatory_mention(fmt: str) -> None:
    claim = b2b_claim()
    text = RENDERERS[fmt](context("formal_notice"))
    mandatory = [
        "Objet : Mise en demeure de payer",
        "par la présente lettre recommandée avec accusé de réception",
        # Both parties.
        CREDITOR.name,
        "SIREN : 732 829 320",
        DEBTOR.name,
        "SIREN : 552 100 554",
        # The amounts: principal, penalties, indemnity (with their legal references), total.
        "de la somme de 3 730,50 € en principal",
        f"Pénalités de retard (article L441-10 du Code de commerce) : {format_money(claim.interest)}",
        "Indemnité forfaitaire pour frais de recouvrement (article D441-5 du Code de commerce) "
        ": 80,00 €",
        "indemnité forfaitaire pour frais de recouvrement de 40,00 € par facture",
        "articles L441-10 et D441-5 du Code de commerce",
        f"Total dû : {format_money(claim.total)}",
        f"la somme totale de {format_money(claim.total)}",
        "majoré de 10 points",
        # 2026H2: ECB 2.40 % from 2026-06-17 + 10 = 12.40 %, published (not provisional).
        "du 2 octobre 2026 au 22 novembre 2026 : 1 250,00 € x 12,40 % x 52 jours / 365 = 22,08 €",
        # The deadline, in days and as a date, counted from receipt.
        "dans un délai de 8 jours à compter de la réception de ce courrier",
        "soit au plus tard le 3 décembre 2026 pour une réception le 25 novembre 2026",
        # Payment details.
        "IBAN : FR76 3000 6000 0112 3456 7890 189",
        "BIC : AGRIFRPP",
        "Référence : factures n°s F-2026-0412 et F-2026-0457",
        # Reminders already sent, in date order.
        "pré-relance du 24 septembre 2026, par e-mail",
        "relance du 4 octobre 2026, par e-mail",
        "relance du 16 octobre 2026, par courrier",
        # Consequences.
        "injonction de payer",
        "saisine du tribunal compétent",
        "frais de justice et de procédure",
    ]
    for expected in mandatory:
        assert flat(expected) in text, expected
    assert text.index("24 septembre 2026") < text.index("4 octobre 2026")
    assert claim.interest == D("111.86")  # 22.08 + 72.08 + 17.70
    assert "taux provisoire" not in text
    assert "à titre provisoire" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_provisional_period_is_said_to_be_so(fmt: str) -> None:
    # 2027H1: the ECB rate in force on 1 January 2027 is not known yet: 2.65 + 10, provisional.
    # 1,250.00 due 2026-12-31, as of 2027-01-31: 1250 x 0.1265 x 31 / 365 = 13.43.
    claim = compute_claim(
        amount=D("1250.00"),
        due_date=dt.date(2026, 12, 31),
        payments=[],
        as_of=dt.date(2027, 1, 31),
        debtor_kind="business",
        rates=BOOK,
    )
    text = RENDERERS[fmt](context("formal_notice", claim=claim))
    assert "1 250,00 € x 12,65 % x 31 jours / 365 = 13,43 € (taux provisoire)" in text
    if fmt != "pdf":  # the PDF breaks this sentence across lines
        assert "à titre provisoire" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_formal_notice_with_an_explicit_deadline_date(fmt: str) -> None:
    ctx = context("formal_notice", deadline_days=15, deadline_date=dt.date(2026, 12, 10))
    text = RENDERERS[fmt](ctx)
    assert "dans un délai de 15 jours à compter de la réception de ce courrier" in text
    assert "soit au plus tard le 10 décembre 2026." in text
    assert "pour une réception le" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_b2b_formal_notice_without_a_computed_claim_still_states_the_legal_rights(
    fmt: str,
) -> None:
    text = RENDERERS[fmt](context("formal_notice", claim=None, reminders_sent=()))
    assert "articles L441-10 et D441-5 du Code de commerce" in text
    assert "la somme totale de 3 730,50 €" in text
    assert "relances suivantes" not in text  # none recorded: none claimed


FORBIDDEN_FOR_CONSUMERS = [
    "indemnité",
    "Indemnité",
    "frais de recouvrement",
    "40,00 €",
    "D441-5",
    "L441-10",
    "pénalités de retard",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", LETTER_KINDS)
def test_consumer_letters_claim_no_indemnity_and_no_recovery_fees(kind: str, fmt: str) -> None:
    text = RENDERERS[fmt](context(kind, "consumer"))
    for forbidden in FORBIDDEN_FOR_CONSUMERS:
        assert forbidden not in text, forbidden
    assert "Mme Claire Petit" in text
    assert "SIREN" not in text.split("Madame, Monsieur,")[0].replace(
        "SIREN : 732 829 320", ""
    )  # only the creditor's


@pytest.mark.parametrize("fmt", FORMATS)
def test_consumer_formal_notice_runs_interest_at_the_legal_rate(fmt: str) -> None:
    text = RENDERERS[fmt](context("formal_notice", "consumer"))
    for expected in [
        "Objet : Mise en demeure de payer",
        "par la présente lettre recommandée avec accusé de réception",
        "articles 1231-6 et 1344-1 du Code civil",
        "intérêts au taux d'intérêt légal",
        "la somme totale de 1 250,00 €",
        "dans un délai de 8 jours à compter de la réception de ce courrier",
        "injonction de payer",
        "dépens",
        "F-2026-0412",
        "relance du 4 octobre 2026, par e-mail",
    ]:
        assert flat(expected) in text, expected


def test_consumer_interest_after_an_earlier_notice_is_shown_as_legal_interest() -> None:
    claim = compute_claim(
        amount=D("1250.00"),
        due_date=dt.date(2025, 10, 1),
        payments=[],
        as_of=dt.date(2025, 12, 31),
        debtor_kind="consumer",
        rates=BOOK,
        consumer_interest_from=dt.date(2025, 11, 1),
    )
    # 1250 x 2.76 % x 61 / 365 = 5.7657 -> 5.77
    text = flat(render_text(context("formal_notice", "consumer", claim=claim)))
    assert "Intérêts au taux d'intérêt légal : 5,77 €" in text
    assert "au taux d'intérêt légal, en intérêts simples" in text
    for forbidden in FORBIDDEN_FOR_CONSUMERS:
        assert forbidden not in text, forbidden


def test_pre_reminder_ignores_any_claim() -> None:
    text = flat(render_text(context("pre_reminder", claim=b2b_claim())))
    assert "Pénalités" not in text
    assert "Total dû" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_siret_is_shown_instead_of_the_siren(fmt: str) -> None:
    creditor = dataclasses.replace(CREDITOR, siret="73282932000074")
    text = RENDERERS[fmt](context("reminder_1", creditor=creditor))
    assert "SIRET : 732 829 320 00074" in text
    assert "SIREN : 732 829 320" not in text
    assert "SIREN : 552 100 554" in text  # the debtor has none


def test_single_invoice_wording() -> None:
    ctx = context("reminder_1", invoices=INVOICES[:1])
    text = flat(render_text(ctx))
    assert "Objet : Rappel - facture n° F-2026-0412 échue le 1er octobre 2026" in text
    assert "notre facture n° F-2026-0412 du 1er septembre 2026, arrivée à échéance" in text
    assert "Réf. : facture n° F-2026-0412" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_many_invoices(fmt: str) -> None:
    invoices = tuple(
        LetterInvoice(
            f"F-{n:04d}", dt.date(2026, 6, n), dt.date(2026, 7, n), D(f"{n}00.00"), D(f"{n}00.00")
        )
        for n in range(1, 26)
    )
    text = RENDERERS[fmt](context("reminder_2", invoices=invoices, claim=None))
    for inv in invoices:
        assert inv.number in text
    assert "Total restant dû 32 500,00 €" in text  # 100 x (1 + ... + 25)


def test_html_escapes_every_caller_value() -> None:
    creditor = dataclasses.replace(CREDITOR, name="A & B <x>", address_lines=('1 rue "Y"',))
    debtor = dataclasses.replace(DEBTOR, name="<script>alert(1)</script>")
    invoice = dataclasses.replace(INVOICES[0], number="F<1>&2")
    ctx = context("formal_notice", creditor=creditor, debtor=debtor, invoices=(invoice,))
    markup = render_html(ctx)
    assert "A &amp; B &lt;x&gt;" in markup
    assert "<x>" not in markup
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "F&lt;1&gt;&amp;2" in markup
    assert "&amp;amp;" not in markup  # escaped once, not twice
    # The other formats keep the names as they are.
    assert "A & B <x>" in render_text(ctx)
    assert "A & B <x>" in text_of_pdf(render_pdf(ctx))


def test_pdf_is_a4_and_prints_characters_outside_latin1() -> None:
    creditor = dataclasses.replace(CREDITOR, name="L’Œuvre “Durand” – 100 €")
    data = render_pdf(context("formal_notice", creditor=creditor))
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    assert "L’Œuvre “Durand” – 100 €" in text_of_pdf(data)
    # Same letter, same bytes: the creation date comes from the letter date.
    assert render_pdf(context("formal_notice", creditor=creditor)) == data


def test_newlines_in_caller_data_do_not_break_the_layout() -> None:
    creditor = dataclasses.replace(CREDITOR, name="Durand\n\n- SARL")
    letter = compose(context("reminder_2", creditor=creditor))
    assert letter.signature == "Durand - SARL"
    items = [line for b in letter.blocks for line in b.lines]
    assert "SARL" not in items  # no bullet made of the name's second half
    assert "Titulaire : Durand - SARL" in items


def test_without_iban_or_city() -> None:
    text = flat(render_text(context("reminder_1", iban=None, bic=None, city=None)))
    assert "Le 22 novembre 2026" in text
    assert "par chèque à l'ordre de Atelier Durand SARL" in text
    assert "IBAN" not in text


def test_the_fixed_indemnity_figure_comes_from_legal() -> None:
    text = flat(render_text(context("reminder_2")))
    assert flat(f"de {format_money(legal.FIXED_INDEMNITY_EUR)} par facture") in text


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"invoices": ()}, "at least one invoice"), ({"deadline_days": 0}, "deadline_days")],
)
def test_invalid_contexts(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_text(dataclasses.replace(context("formal_notice"), **changes))  # type: ignore[arg-type]

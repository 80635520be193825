"""Issue 17, point 6: letters that print any name (an embedded Unicode font), amounts and dates as
Babel writes them, the payment block kept with its introduction, and English letters."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
from decimal import Decimal

import pytest
from pypdf import PdfReader

from app.claims.letters.pdf import render_pdf
from app.claims.letters.render import LetterContext, LetterInvoice, render_html, render_text
from app.legal import figures as legal
from tests.claims.letters.test_render import (
    FORMATS,
    RENDERERS,
    b2b_claim,
    consumer_claim,
    context,
    flat,
)

D = Decimal
NAMES = [
    "Łukasz Dąbrowski",
    "Cœur de Lion SARL",
    "Jürgen Müller GmbH",
    "Ærøskøbing Købmandsgård ApS",
    "Αλέξανδρος Παπαδόπουλος",
    "Дмитрий Шостакович",
    "Œuvre d’Ève – Noël",
]


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


# --- Any name ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_pdf_text_gives_back_the_exact_names(name: str) -> None:
    creditor = dataclasses.replace(context("reminder_1").creditor, name=name)
    debtor = dataclasses.replace(context("reminder_1").debtor, name=name.upper())
    text = " ".join(pdf_pages(render_pdf(context("reminder_1", creditor=creditor, debtor=debtor))))
    assert name in text  # the sender's block, the holder of the account, the signature
    assert name.upper() in text
    assert "?" not in text.replace("Avez-vous", "")  # nothing replaced by a question mark


def test_a_script_the_font_lacks_is_left_out_with_a_warning_not_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # DejaVu Sans has no CJK glyphs (documented in app/claims/letters/pdf.py).
    creditor = dataclasses.replace(context("reminder_1").creditor, name="Tanaka 田中 SARL")
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        text = flat(" ".join(pdf_pages(render_pdf(context("reminder_1", creditor=creditor)))))
    assert "Tanaka" in text
    assert "SARL" in text
    assert "'田'" in caplog.text  # fpdf2 names the missing glyphs
    assert "'中'" in caplog.text
    assert "田中" in render_text(context("reminder_1", creditor=creditor))  # text keeps them


# --- Babel amounts and dates ------------------------------------------------------------------
def amount_context(language: str = "fr") -> LetterContext:
    invoice = LetterInvoice(
        "F-1", dt.date(2026, 10, 1), dt.date(2026, 10, 31), D("12345.67"), D("12345.67")
    )
    return context(
        "reminder_1", invoices=(invoice,), claim=None, today=dt.date(2026, 12, 1), language=language
    )


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_french_amounts_and_dates_as_babel_writes_them(fmt: str) -> None:
    ctx = amount_context()
    raw = render_text(ctx) if fmt == "text" else render_html(ctx)
    assert "12\u202f345,67\u00a0€" in raw  # narrow no-break space, no-break space, euro sign
    assert "EUR" not in raw
    assert "1er décembre 2026" in raw
    assert "31 octobre 2026" in raw


def test_french_amounts_in_the_pdf_keep_the_narrow_no_break_space() -> None:
    text = " ".join(pdf_pages(render_pdf(amount_context())))
    assert "12\u202f345,67 €" in text  # fpdf2 writes the no-break space as a space
    assert "EUR" not in text
    assert "1er décembre 2026" in flat(text)


@pytest.mark.parametrize("fmt", FORMATS)
def test_english_amounts_and_dates(fmt: str) -> None:
    text = RENDERERS[fmt](amount_context("en"))
    assert "€12,345.67" in text
    assert "1 December 2026" in text
    assert "31 October 2026" in text
    assert "12 345,67" not in text


# --- The payment block stays with its introduction -------------------------------------------
def many_invoices(count: int) -> tuple[LetterInvoice, ...]:
    return tuple(
        LetterInvoice(f"F-{n:04d}", dt.date(2026, 6, 1), dt.date(2026, 7, 1), D("100"), D("100"))
        for n in range(1, count + 1)
    )


# Tables of these lengths end so that, laid out line after line, the page would break between
# "Le règlement peut être effectué ... :" and the IBAN (found with the rule disabled).
SPLITTING_TABLES = [44, 45]


@pytest.mark.parametrize("count", SPLITTING_TABLES)
def test_the_iban_stays_on_the_page_of_its_sentence(count: int) -> None:
    pages = pdf_pages(render_pdf(context("reminder_1", invoices=many_invoices(count))))
    sentence = [i for i, p in enumerate(pages) if "Le règlement peut être effectué" in p]
    iban = [i for i, p in enumerate(pages) if "FR76 3000 6000 0112 3456 7890 189" in p]
    assert sentence == iban, (sentence, iban)
    # The block was moved: its sentence opens the page (the case the rule is for).
    assert pages[sentence[0]].lstrip().startswith("Le règlement peut être effectué"), count


def test_a_list_taller_than_a_page_is_not_pushed_off_the_page() -> None:
    # 80 reminders: the list cannot fit on one page, it flows on as before (no blank page).
    reminders = tuple(
        dataclasses.replace(context("formal_notice").reminders_sent[0], on=dt.date(2026, 10, 4))
        for _ in range(80)
    )
    pages = pdf_pages(render_pdf(context("formal_notice", reminders_sent=reminders)))
    assert all(page.strip() for page in pages)
    assert "relances suivantes" in pages[0]


# --- English letters --------------------------------------------------------------------------
ENGLISH_SUBJECTS = {
    "pre_reminder": "Subject: Invoices falling due",
    "reminder_1": "Subject: Reminder - invoices past due",
    "reminder_2": "Subject: Second reminder - unpaid invoices",
    "formal_notice": "Subject: Formal notice to pay (mise en demeure de payer)",
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", list(ENGLISH_SUBJECTS))
def test_english_letters(kind: str, fmt: str) -> None:
    text = RENDERERS[fmt](context(kind, language="en"))
    for expected in [
        ENGLISH_SUBJECTS[kind],
        "Paris, 22 November 2026",
        "SIREN: 732 829 320",
        "Dear Sir or Madam,",
        "IBAN: FR76 3000 6000 0112 3456 7890 189",
        "Total outstanding €3,730.50",
        "Yours faithfully,",
    ]:
        assert expected in text, expected
    for french in ("Madame, Monsieur", "Objet :", "Fait à", "facture", "EUR"):
        assert french not in text, french


@pytest.mark.parametrize("fmt", FORMATS)
def test_english_formal_notice_keeps_the_french_law(fmt: str) -> None:
    claim = b2b_claim()
    text = RENDERERS[fmt](context("formal_notice", language="en"))
    for expected in [
        "Registered letter with acknowledgement of receipt",
        "Under Article L441-10 of the French Commercial Code (Code de commerce)",
        "fixed indemnity for recovery costs of €40.00 per invoice",
        "Articles L441-10 and D441-5 of the French Commercial Code",
        "refinancing rate plus 10 percentage points",
        f"Total due: €{claim.total:,}",
        "within 8 days of receipt of this letter, that is by 3 December 2026 at the latest "
        "for receipt on 25 November 2026",
        "from 2 October 2026 to 22 November 2026: €1,250.00 x 12.40% x 52 days / 365 = €22.08",
        "pre-reminder of 24 September 2026, by e-mail",
        "reminder of 16 October 2026, by post",
        "injonction de payer",
    ]:
        assert expected in text, expected


def test_english_figures_come_from_legal(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.claims.letters import render

    monkeypatch.setattr(legal, "FIXED_INDEMNITY_EUR", D("45"))
    render._environment.cache_clear()
    try:
        text = flat(render_text(context("reminder_2", language="en")))
    finally:
        monkeypatch.undo()
        render._environment.cache_clear()
    assert "fixed indemnity for recovery costs of €45.00 per invoice" in text


FORBIDDEN_FOR_ENGLISH_CONSUMERS = [
    "indemnity",
    "recovery costs",
    "€40.00",
    "D441-5",
    "L441-10",
    "penalties",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", list(ENGLISH_SUBJECTS))
def test_english_consumer_letters_claim_no_indemnity(kind: str, fmt: str) -> None:
    text = RENDERERS[fmt](context(kind, "consumer", language="en"))
    for forbidden in FORBIDDEN_FOR_ENGLISH_CONSUMERS:
        assert forbidden not in text, forbidden
    if kind == "formal_notice":
        assert "Articles 1231-6 and 1344-1 of the French Civil Code (Code civil)" in text
        assert consumer_claim().total == D("1250.00")
        assert "the total sum of €1,250.00" in text


def test_english_html_says_its_language() -> None:
    assert '<html lang="en">' in render_html(context("reminder_1", language="en"))
    assert '<html lang="fr">' in render_html(context("reminder_1"))


def test_the_fonts_and_their_licence_ship_as_package_data() -> None:
    """A non-editable install (the Docker image, a wheel) carries the fonts too."""
    import fnmatch
    import tomllib
    from pathlib import Path

    import app

    root = Path(__file__).parents[3]
    with (root / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["app"]
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE"):
        path = f"claims/letters/fonts/{name}"
        assert (Path(app.__file__).parent / path).is_file(), path
        assert any(fnmatch.fnmatch(path, pattern) for pattern in patterns), path

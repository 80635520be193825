"""Amounts, dates and rates as a letter in French or in English writes them, by Babel (CLDR).

French: "12 345,67 €" (a narrow no-break space, U+202F, groups the thousands; a no-break space
before the euro sign), "1er décembre 2026", "12,40 %". English: "€12,345.67", "1 December 2026",
"12.40%". Amounts are rounded half-up to the cent here (Babel would round half-even).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date, get_month_names
from babel.numbers import format_currency, format_decimal

from app.ledger.debtors.schemas import Language

LANGUAGES: tuple[Language, ...] = ("fr", "en")
# en: the pattern below gives the day-month-year order of a letter sent from France.
_LOCALES: dict[Language, str] = {"fr": "fr_FR", "en": "en"}
_DATE_PATTERN = "d MMMM y"
CENT = Decimal("0.01")


def format_money(amount: Decimal, language: Language = "fr") -> str:
    """1 250,00 € (fr, with U+202F and U+00A0) or €1,250.00 (en)."""
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return format_currency(cents, "EUR", locale=_LOCALES[language])


def format_day(day: dt.date, language: Language = "fr") -> str:
    """22 novembre 2026 and 1er novembre 2026 (French letters write the first of the month as an
    ordinal, which CLDR does not); 22 November 2026."""
    text = format_date(day, _DATE_PATTERN, locale=_LOCALES[language])
    if language == "fr" and day.day == 1:
        return "1er" + text[1:]
    return text


def format_rate(rate: Decimal, language: Language = "fr") -> str:
    """12,15 % (a no-break space before the sign, as French writes it) or 12.15%."""
    number = format_decimal(
        rate.quantize(CENT, rounding=ROUND_HALF_UP), "#,##0.00", locale=_LOCALES[language]
    )
    return f"{number}\u00a0%" if language == "fr" else f"{number}%"


def month_names(language: Language) -> tuple[str, ...]:
    return tuple(get_month_names("wide", locale=_LOCALES[language]).values())


def format_siren(siren: str) -> str:
    compact = "".join(siren.split())
    if compact.isdigit() and len(compact) in (9, 14):  # SIREN 3-3-3, SIRET 3-3-3-5
        return " ".join(p for p in (compact[:3], compact[3:6], compact[6:9], compact[9:]) if p)
    return siren


def format_iban(iban: str) -> str:
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))

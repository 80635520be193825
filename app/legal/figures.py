"""Every legal figure the service relies on, in one place, with its source.

Sources are secondary (see ../shared/DOMAIN.md and the seed guides); correct a figure here and
nowhere else. Rates are percentages per year, as published.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

# --- Payment terms (C. com. L441-10)
DEFAULT_PAYMENT_TERMS_DAYS = 30  # when nothing is agreed: 30 days after receipt / performance
MAX_PAYMENT_TERMS_DAYS = 60  # agreed terms: at most 60 days from the invoice date...
MAX_PAYMENT_TERMS_END_OF_MONTH_DAYS = 45  # ...or 45 days end of month, if written in the contract

# --- Late penalties (C. com. L441-10)
# Default B2B rate: ECB main refinancing rate in force on 1 January / 1 July + 10 points.
B2B_PENALTY_MARGIN_POINTS = Decimal("10")
# A contractual rate may never be below 3 x the taux d'intérêt légal.
MIN_CONTRACTUAL_RATE_MULTIPLIER = Decimal("3")
# Simple interest, per day, on a 365-day year (the convention stated in the API docs).
DAYS_IN_YEAR = 365

# --- Fixed indemnity for recovery costs (C. com. D441-5)
# 40 EUR per late invoice, B2B only, automatically due; not subject to VAT.
FIXED_INDEMNITY_EUR = Decimal("40.00")

# --- Consumers (C. conso L111-8 / CPCE; C. civ. 1231-6, 1344-1)
# No fixed indemnity and no recovery fees; interest at the taux légal only from the mise en demeure.
CONSUMER_FIXED_INDEMNITY_EUR = Decimal("0.00")

# --- Prescription (C. com. L110-4, C. civ. 2224; C. conso L218-2)
PRESCRIPTION_YEARS_B2B = 5
PRESCRIPTION_YEARS_CONSUMER = 2
PRESCRIPTION_WARNING_DAYS = 90  # invoice.prescription_approaching fires this long before the end

# --- Mise en demeure (seed guides)
FORMAL_NOTICE_DEADLINE_MIN_DAYS = 8
FORMAL_NOTICE_DEADLINE_MAX_DAYS = 15
FORMAL_NOTICE_DEADLINE_DEFAULT_DAYS = 8

# --- Amicable phase caps (seed guides): counting the pre-reminder
AMICABLE_CAPS: dict[str, int] = {"phone": 3, "email": 3, "letter": 3}

# --- Judicial thresholds
# Procédure simplifiée de recouvrement des petites créances: claim <= 5,000 EUR including interest.
PETITES_CREANCES_MAX_EUR = Decimal("5000.00")


# --- Rate tables
Half = Literal[1, 2]  # of a year: 1 from 1 January, 2 from 1 July


@dataclass(frozen=True)
class HalfYearRate:
    year: int
    half: Half
    rate: Decimal

    @property
    def starts_on(self) -> dt.date:
        return dt.date(self.year, 1 if self.half == 1 else 7, 1)


# ECB main refinancing operations rate, from the given date (Banque de France / ECB).
ECB_MAIN_REFINANCING_RATE: tuple[tuple[dt.date, Decimal], ...] = (
    (dt.date(2016, 3, 16), Decimal("0.00")),
    (dt.date(2022, 7, 27), Decimal("0.50")),
    (dt.date(2022, 9, 14), Decimal("1.25")),
    (dt.date(2022, 11, 2), Decimal("2.00")),
    (dt.date(2022, 12, 21), Decimal("2.50")),
    (dt.date(2023, 2, 8), Decimal("3.00")),
    (dt.date(2023, 3, 22), Decimal("3.50")),
    (dt.date(2023, 5, 10), Decimal("3.75")),
    (dt.date(2023, 6, 21), Decimal("4.00")),
    (dt.date(2023, 8, 2), Decimal("4.25")),
    (dt.date(2023, 9, 20), Decimal("4.50")),
    (dt.date(2024, 6, 12), Decimal("4.25")),
    (dt.date(2024, 9, 18), Decimal("3.65")),
    (dt.date(2024, 10, 23), Decimal("3.40")),
    (dt.date(2024, 12, 18), Decimal("3.15")),
    (dt.date(2025, 2, 5), Decimal("2.90")),
    (dt.date(2025, 3, 12), Decimal("2.65")),
    (dt.date(2025, 4, 23), Decimal("2.40")),
    (dt.date(2025, 6, 11), Decimal("2.15")),  # unchanged at least to February 2026
)
# Last day the table above is known to be complete ("unchanged at least to February 2026",
# ../shared/DOMAIN.md). A rate in force after it may have changed: derive nothing from it.
ECB_RATE_KNOWN_UNTIL = dt.date(2026, 2, 28)

# Default B2B late-penalty rate by half-year, as published (ECB on 1 Jan / 1 Jul + 10 points).
B2B_DEFAULT_PENALTY_RATE: tuple[HalfYearRate, ...] = (
    HalfYearRate(2022, 2, Decimal("10.00")),
    HalfYearRate(2023, 1, Decimal("12.50")),
    HalfYearRate(2023, 2, Decimal("14.00")),
    HalfYearRate(2024, 1, Decimal("14.50")),
    HalfYearRate(2024, 2, Decimal("14.25")),
    HalfYearRate(2025, 1, Decimal("13.15")),
    HalfYearRate(2025, 2, Decimal("12.15")),
    HalfYearRate(2026, 1, Decimal("12.15")),
)

# Taux d'intérêt légal by half-year (arrêté published each June and December).
# "individual": the creditor is a natural person not acting for professional needs;
# "other": all other cases (a business creditor uses this one).
LEGAL_INTEREST_RATE_INDIVIDUAL: tuple[HalfYearRate, ...] = (
    HalfYearRate(2023, 1, Decimal("4.47")),
    HalfYearRate(2023, 2, Decimal("6.82")),
    HalfYearRate(2024, 1, Decimal("8.01")),
    HalfYearRate(2024, 2, Decimal("8.16")),
    HalfYearRate(2025, 1, Decimal("7.21")),
    HalfYearRate(2025, 2, Decimal("6.65")),
    HalfYearRate(2026, 1, Decimal("6.67")),
)
LEGAL_INTEREST_RATE_OTHER: tuple[HalfYearRate, ...] = (
    HalfYearRate(2023, 1, Decimal("2.06")),
    HalfYearRate(2023, 2, Decimal("4.22")),
    HalfYearRate(2024, 1, Decimal("5.07")),
    HalfYearRate(2024, 2, Decimal("4.92")),
    HalfYearRate(2025, 1, Decimal("3.71")),
    HalfYearRate(2025, 2, Decimal("2.76")),
    HalfYearRate(2026, 1, Decimal("2.62")),
)

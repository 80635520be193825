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
# A contractual rate may never be below 3 x the taux d'intérêt légal: "Sauf disposition contraire
# qui ne peut toutefois fixer un taux inférieur à trois fois le taux d'intérêt légal, ce taux est
# égal au taux d'intérêt appliqué par la Banque centrale européenne à son opération de
# refinancement la plus récente majoré de 10 points de pourcentage" (L441-10 II). The floor is
# that of each half-year (the taux légal changes every six months): what the claim does in a
# period where the agreed rate is below it is explained in app/legal/interest.py.
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
# The deadline runs from the AR of a registered letter (its first presentation if refused or not
# claimed) or, for a sommation de payer served by a commissaire de justice, from the date of
# service; it is counted and extended to the next working day as C. proc. civ. 641 and 642 say
# (app/legal/deadlines.py).

# --- Procédure simplifiée de recouvrement des créances commerciales incontestées
# (loi du 23 avril 2026, CPCE L126-1 and following). For a claim "ayant fait l'objet d'une
# facturation entre commerçants", "certaine, liquide et exigible" (L126-1), with no amount limit:
# a commissaire de justice, at the creditor's request, serves a commandement de payer (L126-2);
# the debtor has one month to pay or contest; "en l'absence de paiement intégral ou de
# contestation de la dette, et au plus tôt huit jours après l'expiration du délai" the
# commissaire draws a procès-verbal de non-contestation (L126-3), which the clerk of the court
# competent in commercial matters makes enforceable after checking the procedure (L126-4).
# Payment or contest ends the procedure.
# Sources: entreprendre.service-public.gouv.fr/actualites/A18889 ("Création d'une procédure
# simplifiée de recouvrement des créances commerciales incontestées", 27 April 2026: law of
# 23 April 2026, applicable at once, invoiced claims between traders, certain, liquid and due,
# no amount threshold, implemented by a commissaire de justice at the creditor's request);
# senat.fr, commission des lois amendments COM-1 (L126-1), COM-2 (L126-2) and COM-3 (L126-3,
# L126-4) of 19 January 2026 on the proposition de loi n° 187; senat.fr/leg/ppl25-187.html;
# senat.fr/rap/l25-288; vie-publique.fr/loi/301940; fiduciaireconseil.fr (the PV "8 jours après
# l'expiration du délai d'un mois suivant l'envoi du commandement de payer").
# UNVERIFIED: the promulgated text itself (Légifrance: number of the law, final wording of
# L126-1 to L126-5) was not found; the figures below come from the Senate committee's text and
# secondary sources, and the start of the month is taken as the service of the commandement.
# Whether the final law excludes invoices between traders from the petites créances procedure
# (L125-1; senat.fr amendment n° 1 rect. to text n° 289 describes such an exclusion) is also
# unverified: petites_creances stays offered as an alternative.
UNCONTESTED_CLAIMS_LAW_DATE = dt.date(2026, 4, 23)
UNCONTESTED_CLAIM_CONTEST_MONTHS = 1  # the debtor's month to pay or contest the commandement
UNCONTESTED_CLAIM_PV_MIN_DAYS_AFTER = 8  # the PV at the earliest 8 days after that month ends
UNCONTESTED_CLAIMS_VERIFIED = False  # the promulgated text was not found (see above)

# --- Amicable phase caps (seed guides): counting the pre-reminder
AMICABLE_CAPS: dict[str, int] = {"phone": 3, "email": 3, "letter": 3}

# --- Judicial thresholds
# Procédure simplifiée de recouvrement des petites créances (CPCE L125-1, R125-1): a claim whose
# amount "en principal et intérêts" does not exceed 5,000 EUR (4,000 EUR from 1 June 2016, décret
# n° 2016-285 du 9 mars 2016; 5,000 EUR since 1 January 2020, décret n° 2019-1333 du 11 décembre
# 2019). Principal and interest only: the 40 EUR indemnity and other costs do not count.
# Sources: legifiscal.fr "Procédure simplifiée de recouvrement des petites créances";
# legifrance.gouv.fr/eli/decret/2016/3/9/JUSC1527481D/jo/texte; adil30.org (AJ n° 2016-12).
PETITES_CREANCES_MAX_EUR = Decimal("5000.00")

# --- Collective proceedings (sauvegarde, redressement, liquidation judiciaire)
# The opening judgment stops legal and contractual interest and all late interest (C. com.
# L622-28, applied to redressement by L631-14 and to liquidation by L641-3), from its date:
# the judgment takes effect at zero hour of the day it is pronounced (R621-4, R631-7, R641-1),
# so the last day that bears interest is the day before. The creditor declares its claim to the
# mandataire judiciaire within 2 months of the publication of the judgment in the BODACC
# (C. com. L622-24, R622-24 al. 1; 4 months for a creditor domiciled outside metropolitan France,
# R622-24 al. 2, not computed here). A creditor out of time may ask to be relieved of the
# foreclosure within 6 months of that publication (L622-26 al. 3).
# Sources: infogreffe.fr "Déclaration d'une créance au mandataire judiciaire"; faqdedroit.fr
# "Délais de déclaration des créances"; codes-et-lois.fr article R621-4.
INSOLVENCY_DECLARATION_MONTHS = 2
INSOLVENCY_RELIEF_FROM_FORECLOSURE_MONTHS = 6


# --- Rate tables
Half = Literal[1, 2]  # of a year: 1 from 1 January, 2 from 1 July


@dataclass(frozen=True)
class HalfYearRate:
    """A half-year's rate as published, with where it was read. ``verified`` is False when the
    figure comes from a secondary source that could not be checked against the publication
    itself (the arrêté, the ECB press release): it is used, and shown as such by GET /v1/rates,
    until an operator confirms it (``relance rates add`` or POST /v1/admin/rates)."""

    year: int
    half: Half
    rate: Decimal
    source: str
    verified: bool = True

    @property
    def starts_on(self) -> dt.date:
        return dt.date(self.year, 1 if self.half == 1 else 7, 1)


# ECB main refinancing operations rate, from the given date (ECB press releases "Monetary policy
# decisions"; Banque de France "Taux directeurs de la BCE"), as listed in ../shared/DOMAIN.md.
# Spot checks of the 2016 to 2025 entries: 4.25 from 12 June 2024 (ECB press release relayed by
# boursorama.com, AOF); 2.15 held on 11 September 2025 and at the first 2026 meeting (February,
# eunews.it). The two 2026 rises come from secondary sources only ("Updates found on
# 2026-12-01"): no ECB press release for them could be read when they were entered, so the
# half-year they decide (2026H2) is marked unverified below.
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
    (dt.date(2025, 6, 11), Decimal("2.15")),  # held at the first 2026 meeting (February)
    (dt.date(2026, 6, 17), Decimal("2.40")),  # +25 bp decided 11 June 2026 (unverified)
    (dt.date(2026, 9, 16), Decimal("2.65")),  # +25 bp decided 10 September 2026 (unverified)
)
# Last day the table above is known to be complete: the October 2026 meeting reportedly held the
# rates; the December 2026 decision was not known on 2026-12-01 (../shared/DOMAIN.md). A rate in
# force after this day may have changed: the rate in force on 1 January 2027, hence 2027H1, is
# not derived from it but estimated and flagged provisional.
ECB_RATE_KNOWN_UNTIL = dt.date(2026, 12, 1)

_ECB = "ECB main refinancing rate"
_B2B_ZERO = f"{_ECB} 0.00 % since 2016-03-16 (ECB press release of 10 March 2016) + 10 points"

# Default B2B late-penalty rate by half-year: the ECB rate in force on 1 January / 1 July + 10
# points (C. com. L441-10 II). Cross-checked against the ECB table above by tests/legal.
B2B_DEFAULT_PENALTY_RATE: tuple[HalfYearRate, ...] = (
    HalfYearRate(2019, 1, Decimal("10.00"), _B2B_ZERO),
    HalfYearRate(2019, 2, Decimal("10.00"), _B2B_ZERO),
    HalfYearRate(2020, 1, Decimal("10.00"), _B2B_ZERO),
    HalfYearRate(2020, 2, Decimal("10.00"), _B2B_ZERO),
    HalfYearRate(2021, 1, Decimal("10.00"), _B2B_ZERO),
    HalfYearRate(2021, 2, Decimal("10.00"), _B2B_ZERO),
    HalfYearRate(2022, 1, Decimal("10.00"), _B2B_ZERO),
    HalfYearRate(
        2022, 2, Decimal("10.00"), f"{_B2B_ZERO}; the 0.50 % rate applies from 2022-07-27"
    ),
    HalfYearRate(2023, 1, Decimal("12.50"), f"{_ECB} 2.50 % from 2022-12-21 + 10 points"),
    HalfYearRate(2023, 2, Decimal("14.00"), f"{_ECB} 4.00 % from 2023-06-21 + 10 points"),
    HalfYearRate(2024, 1, Decimal("14.50"), f"{_ECB} 4.50 % from 2023-09-20 + 10 points"),
    HalfYearRate(2024, 2, Decimal("14.25"), f"{_ECB} 4.25 % from 2024-06-12 + 10 points"),
    HalfYearRate(2025, 1, Decimal("13.15"), f"{_ECB} 3.15 % from 2024-12-18 + 10 points"),
    HalfYearRate(2025, 2, Decimal("12.15"), f"{_ECB} 2.15 % from 2025-06-11 + 10 points"),
    HalfYearRate(
        2026,
        1,
        Decimal("12.15"),
        f"{_ECB} 2.15 % from 2025-06-11, held at the first 2026 meeting (eunews.it) + 10 points",
    ),
    HalfYearRate(
        2026,
        2,
        Decimal("12.40"),
        f"{_ECB} 2.40 % from 2026-06-17 + 10 points: secondary sources only "
        "(../shared/DOMAIN.md updates of 2026-12-01; 'Default MRO 2.40% H2 2026' in the fr-legal-"
        "kit listing on glama.ai); the ECB press release of 11 June 2026 could not be read",
        verified=False,
    ),
)

# Taux d'intérêt légal by half-year (C. mon. fin. L313-2, D313-1-A: arrêté published each June
# and December). "individual": the creditor is a natural person not acting for professional
# needs; "other": all other cases (a business creditor uses this one).
_TRESOR = "Direction générale du Trésor, tresor.economie.gouv.fr 'Taux de l'intérêt légal'"
# One arrêté publishes both rates of a half-year: (year, half, individual, other cases, source).
_LEGAL_INTEREST_RATES: tuple[tuple[int, Half, str, str, str], ...] = (
    (2019, 1, "3.40", "0.86", f"arrêté du 21 décembre 2018 (JO 30 décembre 2018); {_TRESOR}"),
    (2019, 2, "3.26", "0.87", f"arrêté du 26 juin 2019 (NOR ECOT1918289A); {_TRESOR}"),
    (2020, 1, "3.15", "0.87", f"arrêté du 23 décembre 2019 (NOR ECOT1936356A); {_TRESOR}"),
    (2020, 2, "3.11", "0.84", "arrêté du 15 juin 2020 (JO 18 juin 2020); devarenne-avocat.com"),
    (2021, 1, "3.14", "0.79", "arrêté du 21 décembre 2020; binimelis-avocats.fr, 6 Jan 2021"),
    (2021, 2, "3.12", "0.76", "arrêté du 16 juin 2021 (JO 25 juin 2021); lexplicite.fr"),
    (2022, 1, "3.13", "0.76", "arrêté ECOT2138139A du 26 décembre 2021; notaires2normandie.com"),
    (2022, 2, "3.15", "0.77", "arrêté ECOT2218806A du 27 juin 2022 (JO 2 juillet); bejuris.fr"),
    (2023, 1, "4.47", "2.06", "arrêté de décembre 2022; notaires2normandie.com, 6 juillet 2023"),
    (2023, 2, "6.82", "4.22", "arrêté ECOT2317028A du 27 juin 2023; notaires2normandie.com"),
    (2024, 1, "8.01", "5.07", "arrêté du 21 décembre 2023; infonet.fr 'Taux d'intérêt légal'"),
    (2024, 2, "8.16", "4.92", "arrêté de juin 2024; votrexpert.com, 21 novembre 2024"),
    (2025, 1, "7.21", "3.71", "arrêté du 17 décembre 2024 (lexisveille.fr); ksca.fr"),
    (2025, 2, "6.65", "2.76", "arrêté ECOT2516925A du 19 juin 2025 (JO 24 juin)"),
    (2026, 1, "6.67", "2.62", "arrêté du 15 décembre 2025 (JORF n°0302, 26 déc.)"),
    # 2026H2 and later: no arrêté found on 2026-12-01; the rate book uses 2026H1, provisional.
    # aeccompta.com prints 0.76 for 2019H1 "other cases": a typo, the arrêté and the Trésor
    # say 0.86.
)
LEGAL_INTEREST_RATE_INDIVIDUAL: tuple[HalfYearRate, ...] = tuple(
    HalfYearRate(year, half, Decimal(individual), source)
    for year, half, individual, _, source in _LEGAL_INTEREST_RATES
)
LEGAL_INTEREST_RATE_OTHER: tuple[HalfYearRate, ...] = tuple(
    HalfYearRate(year, half, Decimal(other), source)
    for year, half, _, other, source in _LEGAL_INTEREST_RATES
)

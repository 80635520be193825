"""Claims: interest rates by half-year and what an overdue invoice is worth on a given day."""

from app.claims.interest import (
    Claim,
    InterestPeriod,
    Payment,
    combine_claims,
    compute_claim,
    minimum_contractual_rate,
)
from app.claims.rates import RateBook, RateForPeriod, RateKind

__all__ = [
    "Claim",
    "InterestPeriod",
    "Payment",
    "RateBook",
    "RateForPeriod",
    "RateKind",
    "combine_claims",
    "compute_claim",
    "minimum_contractual_rate",
]

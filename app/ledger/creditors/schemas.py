from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.types import (
    Address,
    Bic,
    Email,
    ExternalId,
    Iban,
    InputModel,
    MoneyOut,
    Name,
    NonNegativeMoney,
    PatchModel,
    Phone,
    RateIn,
    RateOut,
    Siren,
    Siret,
    VatNumber,
    siret_outside_siren,
)
from app.legal import figures as legal


class CreditorFields(InputModel):
    siren: Siren | None = None
    siret: Siret | None = Field(
        default=None, description="The invoicing establishment (14 digits, starting with the SIREN)"
    )
    vat_number: VatNumber | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    iban: Iban | None = None
    bic: Bic | None = None
    late_penalty_rate: RateIn | None = Field(
        default=None,
        description="Contractual late-penalty rate, percent per year; null = the legal default "
        "(ECB rate + 10 points). Never below 3 x the taux d'intérêt légal.",
    )
    dunning_policy_id: str | None = Field(default=None, max_length=40)
    external_id: ExternalId | None = None


def _at_least_legal_indemnity(value: Decimal | None) -> Decimal | None:
    if value is not None and value < legal.FIXED_INDEMNITY_EUR:
        raise ValueError(
            f"must be at least {legal.FIXED_INDEMNITY_EUR} (C. com. D441-5: the legal minimum)"
        )
    return value


class CreditorCreate(CreditorFields):
    name: Name
    payment_terms_days: int = Field(
        default=legal.DEFAULT_PAYMENT_TERMS_DAYS,
        ge=0,
        le=365,
        description="Default payment terms for its invoices (legal default 30 days).",
    )
    fixed_indemnity: NonNegativeMoney = Field(
        default=legal.FIXED_INDEMNITY_EUR,
        description="Indemnité forfaitaire per late invoice (B2B); never below the legal 40.00.",
    )

    _indemnity = field_validator("fixed_indemnity")(_at_least_legal_indemnity)

    @model_validator(mode="after")
    def _siret_of_siren(self) -> CreditorCreate:
        if siret_outside_siren(self.siren, self.siret):
            raise ValueError("the SIRET does not start with the SIREN")
        return self


class CreditorUpdate(CreditorFields, PatchModel):
    required_fields = ("name", "payment_terms_days", "fixed_indemnity")

    name: Name | None = None
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    fixed_indemnity: NonNegativeMoney | None = None

    _indemnity = field_validator("fixed_indemnity")(_at_least_legal_indemnity)


class AddressOut(BaseModel):
    line1: str
    line2: str | None = None
    postal_code: str
    city: str
    country: str


class CreditorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    siren: str | None
    siret: str | None
    vat_number: str | None
    email: str | None
    phone: str | None
    address: AddressOut | None
    iban: str | None
    bic: str | None
    payment_terms_days: int
    late_penalty_rate: RateOut | None
    fixed_indemnity: MoneyOut
    dunning_policy_id: str | None
    external_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

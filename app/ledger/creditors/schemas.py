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
    JsonExample,
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

_ADDRESS: JsonExample = {
    "line1": "12 rue de la Paix",
    "postal_code": "75002",
    "city": "Paris",
    "country": "FR",
}
_CREDITOR: JsonExample = {
    "name": "Atelier Dupont SARL",
    "siren": "732829320",
    "vat_number": "FR44732829320",
    "email": "compta@atelier-dupont.fr",
    "phone": "+33142868200",
    "address": _ADDRESS,
    "iban": "FR1420041010050500013M02606",
    "bic": "BNPAFRPPXXX",
    "payment_terms_days": 30,
    "fixed_indemnity": "40.00",
    "external_id": "cus_8841",
}
CREDITOR_EXAMPLE: JsonExample = {
    "id": "cred_01M8RXWX582EZ3P8WWJ5NCHY75",
    **_CREDITOR,
    "siret": "73282932000074",
    "address": {**_ADDRESS, "line2": None},
    "late_penalty_rate": None,
    "dunning_policy_id": None,
    "created_at": "2026-01-05T09:12:44Z",
    "updated_at": "2026-01-05T09:12:44Z",
}


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
    model_config = ConfigDict(json_schema_extra={"examples": [_CREDITOR]})

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
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [CREDITOR_EXAMPLE]}
    )

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

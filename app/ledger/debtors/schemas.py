from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from app.core.types import (
    Address,
    Day,
    Email,
    ExternalId,
    InputModel,
    JsonExample,
    Name,
    PatchModel,
    Phone,
    Siren,
    Siret,
    siret_outside_siren,
)
from app.ledger.creditors.schemas import AddressOut
from app.legal.interest import DebtorKind

_ADDRESS: JsonExample = {
    "line1": "3 avenue Foch",
    "postal_code": "69006",
    "city": "Lyon",
    "country": "FR",
}
_DEBTOR: JsonExample = {
    "creditor_id": "cred_01M8RXWX582EZ3P8WWJ5NCHY75",
    "kind": "business",
    "name": "Client Martin SAS",
    "siren": "552100554",
    "email": "factures@martin-sas.fr",
    "address": _ADDRESS,
    "external_id": "client-0042",
}
DEBTOR_EXAMPLE: JsonExample = {
    "id": "debt_01M8RXWX62BF21R4FRX6K5QKXH",
    **_DEBTOR,
    "siret": None,
    "phone": "+33478520000",
    "address": {**_ADDRESS, "line2": None},
    "language": "fr",
    "insolvency": None,
    "lre_consent": None,
    "created_at": "2026-01-15T10:02:11Z",
    "updated_at": "2026-01-15T10:02:11Z",
}

InsolvencyProcedure = Literal["sauvegarde", "redressement_judiciaire", "liquidation_judiciaire"]
Language = Literal["fr", "en"]  # of the letters


class Insolvency(InputModel):
    """Collective proceedings opened against the debtor: escalation stops, interest stops at
    the opening judgment (C. com. L622-28), and the creditor declares its claim to the
    mandataire judiciaire within 2 months of the BODACC publication (R622-24)."""

    procedure: InsolvencyProcedure
    opened_on: Day = Field(description="Date of the opening judgment")
    published_on: Day | None = Field(
        default=None,
        description="Date of the judgment's publication in the BODACC, which starts the "
        "2-month declaration deadline; not before `opened_on`. Optional: record it when known.",
    )

    @field_validator("published_on")
    @classmethod
    def _published_after_opening(
        cls, value: dt.date | None, info: ValidationInfo
    ) -> dt.date | None:
        opened_on = info.data.get("opened_on")
        if value is not None and opened_on is not None and value < opened_on:
            raise ValueError("the BODACC publication cannot precede the opening judgment")
        return value


class InsolvencyOut(BaseModel):
    procedure: InsolvencyProcedure
    opened_on: dt.date
    published_on: dt.date | None = Field(description="BODACC publication of the judgment")
    declaration_deadline: dt.date | None = Field(
        description="published_on + 2 months (C. com. R622-24): last day to declare the claim "
        "to the mandataire judiciaire; null while published_on is unknown"
    )


class LreConsent(InputModel):
    """A consumer's prior consent to receive electronic registered letters (LRE). CPCE L100 II:
    "Dans le cas où le destinataire n'est pas un professionnel, celui-ci doit avoir exprimé à
    l'expéditeur son consentement à recevoir des envois recommandés électroniques." Without
    it, a formal notice by channel `lre` to a consumer is refused (422)."""

    given_at: dt.datetime = Field(
        description="When the debtor gave it (RFC 3339 with offset); an LRE sent before does "
        "not count",
        examples=["2026-01-10T09:30:00+01:00"],
    )
    evidence: str = Field(
        min_length=1,
        max_length=500,
        description="Where the proof of consent is kept: a contract clause, a signed form, "
        "the provider's consent manager reference",
        examples=["Contrat n° 2026-114, article 12 (signé le 10/01/2026)"],
    )

    @field_validator("given_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("given_at needs a UTC offset (RFC 3339)")
        return value.astimezone(dt.UTC)  # as stored and answered


class LreConsentOut(BaseModel):
    given_at: dt.datetime
    evidence: str | None


class DebtorFields(InputModel):
    siren: Siren | None = None
    siret: Siret | None = Field(
        default=None, description="The establishment invoiced (14 digits, starting with the SIREN)"
    )
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    language: Language | None = Field(
        default=None, description="Language of the letters; `fr` when not given"
    )
    external_id: ExternalId | None = None
    insolvency: Insolvency | None = None
    lre_consent: LreConsent | None = Field(
        default=None,
        description="A consumer's prior consent to electronic registered letters (CPCE L100 "
        "II); `null` withdraws it. Not needed for a business debtor.",
    )


class DebtorCreate(DebtorFields):
    model_config = ConfigDict(json_schema_extra={"examples": [_DEBTOR]})

    creditor_id: str = Field(max_length=40)
    kind: DebtorKind = Field(
        description="business (B2B rules: 40 EUR indemnity, ECB+10 penalties) or consumer"
    )
    name: Name

    @model_validator(mode="after")
    def _company_numbers(self) -> DebtorCreate:
        if self.kind == "consumer" and (self.siren is not None or self.siret is not None):
            raise ValueError("a consumer debtor has no SIREN or SIRET")
        if siret_outside_siren(self.siren, self.siret):
            raise ValueError("the SIRET does not start with the SIREN")
        return self


class DebtorUpdate(DebtorFields, PatchModel):
    required_fields = ("kind", "name", "language")

    kind: DebtorKind | None = None
    name: Name | None = None


class DebtorOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [DEBTOR_EXAMPLE]}
    )

    id: str
    creditor_id: str
    kind: DebtorKind
    name: str
    siren: str | None
    siret: str | None
    email: str | None
    phone: str | None
    address: AddressOut | None
    language: Language
    external_id: str | None
    insolvency: InsolvencyOut | None
    lre_consent: LreConsentOut | None = Field(
        default=None, description="Prior consent to electronic registered letters (CPCE L100)"
    )
    created_at: dt.datetime
    updated_at: dt.datetime

from __future__ import annotations

from pydantic import BaseModel, Field

from app.claims.schemas import ClaimOut


class Check(BaseModel):
    code: str
    ok: bool
    detail: str


class Readiness(BaseModel):
    ready: bool = Field(description="Every check passes: the file can go to court")
    recommended_procedure: str = Field(
        description="petites_creances (claim with interest <= 5,000 EUR, via a commissaire de "
        "justice), injonction_de_payer, mediation (an open dispute), declaration_de_creance "
        "(insolvency proceedings: declare the claim to the mandataire)"
    )
    alternatives: list[str] = Field(description="Other routes that fit this claim")
    court: str = Field(
        description="tribunal_de_commerce between businesses, tribunal_judiciaire otherwise"
    )
    claim: ClaimOut
    checks: list[Check]

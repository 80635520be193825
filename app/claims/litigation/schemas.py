from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from app.claims.schemas import ClaimInsolvencyOut, ClaimOut


class Check(BaseModel):
    code: str
    ok: bool
    detail: str


class ProcedureOption(BaseModel):
    procedure: str = Field(description="A value of `recommended_procedure`")
    explanation: str = Field(description="What it is and how it goes, in French, for the creditor")


class UncontestedClaimOut(BaseModel):
    """The procédure simplifiée de recouvrement des créances commerciales incontestées (loi du
    23 avril 2026, CPCE L126-1 and following) for this claim."""

    eligible: bool = Field(
        description="Every condition holds: readiness recommends "
        "`creances_commerciales_incontestees`"
    )
    conditions: list[Check] = Field(
        description="invoiced_between_businesses (the law says between traders: not verified by "
        "the service), not_contested (no open dispute, none upheld, no refusal), claim_certain "
        "(the debtor's commitment on file: a signed quote, purchase order, delivery note or "
        "contract), claim_liquid, claim_due, debtor_not_insolvent, not_time_barred; details in "
        "French"
    )
    legal_basis: str
    verified: bool = Field(
        description="false: the conditions follow the Senate's text and secondary sources; the "
        "promulgated text was not found when this was written"
    )
    started: bool = Field(default=False, description="A commandement_de_payer is recorded")
    commandement_served_on: dt.date | None = None
    contest_period_ends_on: dt.date | None = Field(
        default=None,
        description="The last day of the debtor's month to pay or contest, from the service of "
        "the commandement (extended to the next working day)",
    )
    pv_possible_from: dt.date | None = Field(
        default=None,
        description="The first day the commissaire de justice may draw the procès-verbal de "
        "non-contestation (8 days after that month)",
    )
    next_step: str | None = Field(
        default=None,
        description="awaiting_service, contest_period_ends, pv_non_contestation, "
        "titre_executoire, execution or ended_by_contest",
    )
    next_step_on: dt.date | None = None
    next_step_explanation: str | None = Field(default=None, description="In French")


class Readiness(BaseModel):
    ready: bool = Field(description="Every check passes: the file can go to court")
    recommended_procedure: str = Field(
        description="petites_creances (principal + interest <= 5,000 EUR, the 40 EUR indemnity "
        "and other costs not counted, CPCE R125-1; via a commissaire de justice), "
        "injonction_de_payer, mediation (an open dispute), declaration_de_creance (insolvency "
        "proceedings: declare the claim to the mandataire)"
    )
    alternatives: list[str] = Field(description="Other routes that fit this claim")
    court: str = Field(
        description="tribunal_de_commerce between businesses, tribunal_judiciaire otherwise"
    )
    claim: ClaimOut
    checks: list[Check]
    explanation: str = Field(
        description="The recommended procedure explained to the creditor, in French"
    )
    procedures: list[ProcedureOption] = Field(
        description="The recommended procedure then the alternatives, each explained in French"
    )
    uncontested_claim: UncontestedClaimOut
    insolvency: ClaimInsolvencyOut | None = Field(
        default=None,
        description="The debtor is under collective proceedings: the declaration deadline "
        "(BODACC publication + 2 months, C. com. R622-24) and the amounts to declare",
    )

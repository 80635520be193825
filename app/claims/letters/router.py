from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

from app.claims.letters import service
from app.claims.letters.render import render_html, render_pdf, render_text
from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import ProblemError, problem_responses
from app.core.types import Day
from app.ledger.invoices.models import Invoice
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1/invoices/{invoice_id}/letters", tags=["letters"])

_MEDIA = ("text/plain", "text/html", "application/pdf")


class NotAcceptable(ProblemError):
    status, code, title = 406, "not-acceptable", "Not acceptable"


def negotiate(accept: str | None) -> str:
    """The best of text/plain, text/html, application/pdf for an Accept header (q-values
    honoured); text/plain when anything goes."""
    if not accept:
        return "text/plain"
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in ("*/*", "text/*"):
            candidates = ["text/plain", "text/html"] if media == "text/*" else ["text/plain"]
        elif media == "application/*":
            candidates = ["application/pdf"]
        else:
            candidates = [media] if media in _MEDIA else []
        choices += [(q, -position, c) for c in candidates if q > 0]
    if not choices:
        raise NotAcceptable("Letters are served as text/plain, text/html or application/pdf.")
    return max(choices)[2]


@router.get(
    "/{kind}",
    summary="A letter in French, as text, HTML or PDF by Accept",
    description="`pre_reminder` (informative), `reminder_1` (courteous), `reminder_2` (formal), "
    "`formal_notice` (the mise en demeure with every mention the law expects: amounts, "
    "interest and the 40 EUR indemnity for a business debtor, deadline, IBAN, the reminders "
    "already sent, the consequences). Consumer versions claim no indemnity or fees.\n\n"
    "**Dated as of its sending, never re-dated.** The letter's date is `as_of` when given, else "
    "the day of the recorded action that sent it (for `formal_notice`, the latest "
    "`formal_notice` action's `performed_at`; for a reminder, the latest action whose `step` is "
    "that kind), else today (a draft not yet sent). The claim, the balance and the reminders "
    "already sent are those of that day, so rendering it again later gives the same letter.\n\n"
    "**The deadline is the engine's.** For a recorded mise en demeure it runs from "
    "`proof.served_on`, `proof.acknowledged_at` or `proof.presented_at`, by the policy's "
    "`formal_notice_deadline_days`, extended to the creditor's next business day (the "
    "invoice's `dunning.formal_notice_deadline`); before any of them is known, from an assumed "
    "receipt 3 days after the letter date (or service on that date by a commissaire de "
    "justice), said so in the letter, and extended the same way. A mise en demeure sent by "
    "`commissaire_de_justice` is worded as an act served (its deadline runs from service).",
    response_class=Response,
    responses={
        200: {
            "description": "The letter",
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(401, 404, 406, 422),
    },
)
async def get_letter(
    invoice_id: str,
    kind: Literal["pre_reminder", "reminder_1", "reminder_2", "formal_notice"],
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    accept: Annotated[str | None, Header()] = None,
    as_of: Annotated[
        Day | None,
        Query(
            description="The letter's date (its sending day), not before the invoice's issue "
            "date (422). Default: the day of the recorded action that sent it, else today"
        ),
    ] = None,
) -> Response:
    media = negotiate(accept)
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id)
    ctx = await service.letter_context(session, invoice, kind, clock, as_of)
    filename = f"{kind}-{invoice.number}".replace('"', "")
    if media == "application/pdf":
        return Response(
            render_pdf(ctx),
            media_type=media,
            headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'},
        )
    body = render_html(ctx) if media == "text/html" else render_text(ctx)
    return Response(body, media_type=f"{media}; charset=utf-8")

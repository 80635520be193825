from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Response
from starlette.concurrency import run_in_threadpool

from app.claims.letters import service
from app.claims.letters.pdf import render_pdf
from app.claims.letters.render import LetterContext, render_html, render_text
from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import ProblemError, problem_responses
from app.core.types import Day
from app.ledger.debtors.models import Debtor
from app.ledger.debtors.schemas import Language
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


# The answers of both letter routes (an invoice's, a debtor's): one shape, one helper below.
_LETTER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The letter",
        "headers": {
            "Content-Disposition": {
                "description": "PDF only: `inline`, an ASCII `filename` and the exact "
                "`filename*` (RFC 6266, RFC 5987)",
                "schema": {"type": "string"},
                "example": 'inline; filename="formal_notice-FA-2026___u.pdf"; '
                "filename*=UTF-8''formal_notice-FA-2026_%E2%82%AC%E2%80%99%C3%BC.pdf",
            }
        },
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **problem_responses(401, 404, 406, 409, 422),
}


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """RFC 6266: an ASCII `filename` for old clients and the exact name as RFC 5987
    `filename*=UTF-8''...` (HTTP headers are latin-1: a raw "€" cannot be sent at all).
    Starlette's FileResponse writes `filename*` alone, with no fallback, hence this."""
    # Path separators and control characters have no place in a file name.
    safe = "".join("_" if c in "/\\" or unicodedata.category(c)[0] == "C" else c for c in filename)
    ascii_name = "".join(
        c if c.isascii() and c not in '"' else "_"
        for c in unicodedata.normalize("NFKD", safe)
        if not unicodedata.combining(c)
    )
    if ascii_name == safe:
        return f'{disposition}; filename="{ascii_name}"'
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(safe, safe='')}"


@router.get(
    "/{kind}",
    summary="A letter in French or English, as text, HTML or PDF by Accept",
    description="`pre_reminder` (informative; only for an invoice not yet due: an overdue "
    "invoice answers 409 `invoice-overdue`), `reminder_1` (courteous), `reminder_2` (formal), "
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
    "`commissaire_de_justice` is worded as an act served (its deadline runs from service).\n\n"
    "**Language.** The debtor's `language` (`fr`, or `en` for a debtor abroad), unless "
    "`?language=` says otherwise. An English letter keeps the French law that applies (articles "
    "L441-10 and D441-5 of the Code de commerce, the 40 EUR indemnity, the Code civil for "
    "consumers), in English words. Amounts and dates are written as each language does: "
    "`12 345,67 €` (a narrow no-break space, U+202F, between the thousands) and "
    "`1er décembre 2026`; `€12,345.67` and `1 December 2026`.\n\n"
    "**PDF.** Printed in DejaVu Sans (embedded): Latin, Greek and Cyrillic names print as "
    "written; CJK characters are missing from the font and left out. Its `Content-Disposition` "
    "gives an ASCII `filename` and the exact one as `filename*=UTF-8''...` (RFC 6266).",
    response_class=Response,
    responses=_LETTER_RESPONSES,
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
    language: Annotated[
        Language | None,
        Query(
            description="The letter's language, `fr` or `en` (anything else: 422). Default: "
            "the debtor's `language`",
            examples=["en"],
        ),
    ] = None,
) -> Response:
    media = negotiate(accept)
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id)
    ctx = await service.letter_context(session, invoice, kind, clock, as_of, language)
    return await _letter_response(ctx, media, f"{kind}-{invoice.number}.pdf")


async def _letter_response(ctx: LetterContext, media: str, pdf_name: str) -> Response:
    """The letter in the negotiated format; a PDF is rendered off the event loop (parsing and
    subsetting the font take a fraction of a second)."""
    if media == "application/pdf":
        pdf = await run_in_threadpool(render_pdf, ctx)
        disposition = content_disposition(pdf_name)
        return Response(pdf, media_type=media, headers={"Content-Disposition": disposition})
    body = render_html(ctx) if media == "text/html" else render_text(ctx)
    return Response(body, media_type=f"{media}; charset=utf-8")


debtor_router = APIRouter(prefix="/v1/debtors/{debtor_id}/letters", tags=["letters"])


@debtor_router.get(
    "/{kind}",
    summary="A debtor's grouped letter (relevé), as text, HTML or PDF by Accept",
    description="The letter of a grouped event (`data.letter_url` of `debtor.dunning_step_due` "
    'and `debtor.formal_notice_required`, policies with `grouping: "debtor"`): one letter '
    "for every open invoice of the debtor overdue on the letter's day, each with its balance; "
    "paused invoices (dispute, promise to pay, payment plan, insolvency) are left out, and so "
    "are invoices past the amicable phase from a reminder. `formal_notice` is the grouped mise "
    "en demeure: the totals, then for each invoice its principal, its interest and, for a "
    "business debtor, its own 40 EUR indemnity (D441-5 C. com.: per invoice). Dated `as_of`, "
    "else the day of the latest recorded sending (`POST /v1/debtors/{id}/actions`), else today. "
    "Language, formats and the deadline as for an invoice's letter. 409 `nothing-to-claim` when "
    "no invoice is left to list.",
    response_class=Response,
    responses=_LETTER_RESPONSES,
)
async def get_debtor_letter(
    debtor_id: str,
    kind: Literal["reminder_1", "reminder_2", "formal_notice"],
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    accept: Annotated[str | None, Header()] = None,
    as_of: Annotated[
        Day | None,
        Query(
            description="The letter's date (its sending day). Default: the day of the "
            "latest recorded sending, else today"
        ),
    ] = None,
    language: Annotated[
        Language | None,
        Query(description="`fr` or `en`. Default: the debtor's `language`", examples=["en"]),
    ] = None,
) -> Response:
    media = negotiate(accept)
    debtor = await get_owned(session, Debtor, tenant_id, debtor_id)
    ctx = await service.debtor_letter_context(session, debtor, kind, clock, as_of, language)
    return await _letter_response(ctx, media, f"{kind}-{debtor.name}.pdf")

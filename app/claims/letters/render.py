"""Dunning letters: pre-reminder, two reminders and the mise en demeure, in French or (for a
debtor abroad) in English, as plain text, HTML and PDF.

One body template per letter kind and language (``templates/<language>/<kind>.j2``) holds the
wording; it renders to a small block format (paragraphs separated by blank lines, ``- `` bullet
lines, a line ``%%INVOICES%%`` where the invoice table goes). The three formats lay out the same
blocks: ``letter.txt.j2``, ``letter.html.j2`` (autoescaped: every value is escaped exactly once,
there) and fpdf2 for the PDF (pdf.py). Figures (40 EUR, + 10 points, legal references) come from
app.legal.figures and from the Claim, never from the templates; amounts and dates are Babel's
(formatting.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache, partial
from itertools import groupby
from typing import Literal

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from app.claims.letters.formatting import (
    format_day,
    format_iban,
    format_money,
    format_rate,
    format_siren,
)
from app.claims.letters.wording import LABELS, Delivery, Labels
from app.ledger.debtors.schemas import Language
from app.legal import deadlines
from app.legal import figures as legal
from app.legal.calendar import FRENCH_CALENDAR, BusinessCalendar
from app.legal.interest import Claim, DebtorKind

LetterKind = Literal["pre_reminder", "reminder_1", "reminder_2", "formal_notice"]
LETTER_KINDS: tuple[LetterKind, ...] = ("pre_reminder", "reminder_1", "reminder_2", "formal_notice")

# When the caller gives no deadline date for a mise en demeure, the deadline (which runs from
# receipt) is shown for a receipt this many days after the letter date, and said so: a
# registered letter is usually delivered within two or three days. One served by a commissaire
# de justice is shown for a service on the letter's date.
ASSUMED_REGISTERED_DELIVERY_DAYS = 3


@dataclass(frozen=True)
class Party:
    name: str
    siren: str | None
    address_lines: tuple[str, ...]
    email: str | None = None
    phone: str | None = None
    siret: str | None = None


@dataclass(frozen=True)
class LetterInvoice:
    number: str
    issue_date: dt.date
    due_date: dt.date
    amount: Decimal
    balance: Decimal


@dataclass(frozen=True)
class SentReminder:
    on: dt.date
    type: str  # an action type or dunning step code (pre_reminder, reminder_1, phone_call...)
    channel: str  # email, phone, letter, registered_letter, sms


@dataclass(frozen=True)
class LetterContext:
    kind: LetterKind
    creditor: Party
    debtor: Party
    debtor_kind: DebtorKind
    invoices: tuple[LetterInvoice, ...]
    claim: Claim | None  # interest/indemnity claimed (None for pre_reminder)
    today: dt.date
    iban: str | None
    bic: str | None
    city: str | None  # "Fait à <city>, le <date>"
    reminders_sent: tuple[SentReminder, ...] = ()
    deadline_days: int = legal.FORMAL_NOTICE_DEADLINE_DEFAULT_DAYS
    # The deadline's last day when it is known (the engine's: from the recorded AR, first
    # presentation or date of service). Otherwise it is computed here from the assumed receipt,
    # with the same computation as the engine (app.legal.deadlines) and the creditor's calendar.
    deadline_date: dt.date | None = None
    calendar: BusinessCalendar = FRENCH_CALENDAR
    delivery: Delivery = "registered_letter"  # of a mise en demeure
    language: Language = "fr"  # the debtor's (English for debtors abroad)
    # A grouped letter (relevé) of several invoices: each invoice's own claim, by number, listed
    # under the totals (a mise en demeure states each invoice's interest and indemnity); `claim`
    # is then their sum.
    invoice_claims: tuple[tuple[str, Claim], ...] = ()


def sum_claims(claims: Sequence[Claim]) -> Claim:
    """The claim of several invoices together: amounts added, periods listed one after the
    other (each invoice's are its own), provisional if any is."""
    first = claims[0]
    return replace(
        first,
        principal=sum((c.principal for c in claims), Decimal("0.00")),
        interest=sum((c.interest for c in claims), Decimal("0.00")),
        interest_periods=tuple(p for c in claims for p in c.interest_periods),
        fixed_indemnity=sum((c.fixed_indemnity for c in claims), Decimal("0.00")),
        total=sum((c.total for c in claims), Decimal("0.00")),
        provisional=any(c.provisional for c in claims),
        floor_applied=any(c.floor_applied for c in claims),
    )


def describe_reminder(reminder: SentReminder, language: Language = "fr") -> str:
    """A reminder already sent: "relance du 4 octobre 2026, par e-mail"; in English "reminder
    of 4 October 2026, by e-mail"."""
    labels = LABELS[language]
    label = labels.action_labels.get(reminder.type, reminder.type.replace("_", " "))
    text = labels.reminder.format(label=label, date=format_day(reminder.on, language))
    channel = labels.channel_labels.get(reminder.channel, reminder.channel.replace("_", " "))
    if reminder.type != "phone_call" and channel:
        text += f", {channel}"
    return text


# --- Composition ----------------------------------------------------------------------------
INVOICES_MARKER = "%%INVOICES%%"


@dataclass(frozen=True)
class Block:
    kind: Literal["p", "ul", "invoices"]
    lines: tuple[str, ...]  # one line for "p", the items for "ul", none for "invoices"

    @property
    def introduces_list(self) -> bool:
        """A paragraph ending with a colon introduces the block after it (kept with it)."""
        return self.kind == "p" and self.lines[0].endswith(":")


@dataclass(frozen=True)
class Letter:
    """A letter composed once, laid out by each format."""

    kind: LetterKind
    language: Language
    labels: Labels
    sender_lines: tuple[str, ...]  # first line: the creditor's name
    recipient_lines: tuple[str, ...]  # first line: the debtor's name
    place_date: str
    registered: bool  # sent by lettre recommandée avec accusé de réception
    delivery_line: str | None  # how it is delivered, above the subject (a mise en demeure)
    subject: str
    reference: str
    blocks: tuple[Block, ...]
    invoice_rows: tuple[tuple[str, str, str, str, str], ...]
    invoice_total: str  # total of the balances
    signature: str

    @property
    def subject_line(self) -> str:
        return self.labels.subject.format(self.subject)


@cache
def _environment(language: Language) -> Environment:
    """The language's body templates (templates/<language>/), then the shared layouts."""
    env = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("app.claims.letters", f"templates/{language}"),
                PackageLoader("app.claims.letters", "templates"),
            ]
        ),
        # HTML layouts escape every value; the text layout and the body templates are plain text.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        date=partial(format_day, language=language),
        eur=partial(format_money, language=language),
        rate=partial(format_rate, language=language),
        iban=format_iban,
        siren=format_siren,
    )
    env.globals.update(
        FIXED_INDEMNITY_EUR=legal.FIXED_INDEMNITY_EUR,
        B2B_PENALTY_MARGIN_POINTS=legal.B2B_PENALTY_MARGIN_POINTS,
        INVOICES=INVOICES_MARKER,
    )
    return env


def _party_lines(party: Party, labels: Labels) -> tuple[str, ...]:
    lines = [party.name, *party.address_lines]
    if party.siret:  # the establishment's number says the company's too
        lines.append(labels.siret.format(format_siren(party.siret)))
    elif party.siren:
        lines.append(labels.siren.format(format_siren(party.siren)))
    return tuple(line for line in lines if line.strip())


def _join(items: list[str], and_: str) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {and_} " + items[-1]


def _parse_blocks(body: str) -> tuple[Block, ...]:
    """Blank lines separate blocks; "- " lines are bullets; other lines join into a paragraph."""
    blocks: list[Block] = []
    for chunk in body.split("\n\n"):
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        # Runs of bullet lines, of paragraph lines, and the invoice marker, in order.
        for key, group in groupby(
            lines, key=lambda line: "invoices" if line == INVOICES_MARKER else line[:2] == "- "
        ):
            run = list(group)
            if key == "invoices":
                blocks.extend(Block("invoices", ()) for _ in run)
            elif key:
                blocks.append(Block("ul", tuple(line[2:].strip() for line in run)))
            else:
                blocks.append(Block("p", (" ".join(run),)))
    return tuple(blocks)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _single_lines(ctx: LetterContext) -> LetterContext:
    """Caller data on one line each: a stray newline must not split a paragraph or start a
    bullet in the block format."""

    def party(p: Party) -> Party:
        return replace(
            p,
            name=_one_line(p.name),
            address_lines=tuple(_one_line(a) for a in p.address_lines),
            email=_one_line(p.email) if p.email else None,
            phone=_one_line(p.phone) if p.phone else None,
        )

    return replace(
        ctx,
        creditor=party(ctx.creditor),
        debtor=party(ctx.debtor),
        invoices=tuple(replace(i, number=_one_line(i.number)) for i in ctx.invoices),
        invoice_claims=tuple((_one_line(n), claim) for n, claim in ctx.invoice_claims),
        iban=_one_line(ctx.iban) if ctx.iban else None,
        bic=_one_line(ctx.bic) if ctx.bic else None,
        city=_one_line(ctx.city) if ctx.city else None,
    )


def _check(ctx: LetterContext) -> None:
    if ctx.kind not in LETTER_KINDS:
        raise ValueError(f"unknown letter kind: {ctx.kind!r}")
    if ctx.language not in LABELS:
        raise ValueError(f"unknown letter language: {ctx.language!r}")
    if not ctx.invoices:
        raise ValueError("a letter needs at least one invoice")
    if ctx.deadline_days < 1:
        raise ValueError("deadline_days must be at least 1")


def _deadline(ctx: LetterContext, served: bool) -> tuple[dt.date, dt.date | None]:
    """The deadline's last day and, when it is not known yet, the receipt (or service) assumed.

    The mise en demeure's deadline runs from receipt (or service); reminders' from the letter
    date. Either way it ends on a working day, as the engine counts it."""
    if ctx.deadline_date is not None:
        return ctx.deadline_date, None
    if ctx.kind != "formal_notice":
        return deadlines.days_after(ctx.today, ctx.deadline_days, ctx.calendar), None
    delay = 0 if served else ASSUMED_REGISTERED_DELIVERY_DAYS
    assumed_receipt = ctx.today + dt.timedelta(days=delay)
    return deadlines.days_after(assumed_receipt, ctx.deadline_days, ctx.calendar), assumed_receipt


def _contact(ctx: LetterContext, labels: Labels) -> str:
    parts = []
    if ctx.creditor.email:
        parts.append(labels.by_email.format(ctx.creditor.email))
    if ctx.creditor.phone:
        parts.append(labels.by_phone.format(ctx.creditor.phone))
    return (" " + f" {labels.or_} ".join(parts)) if parts else ""


def _body(ctx: LetterContext, template: str, **values: object) -> str:
    balance_total = sum((i.balance for i in ctx.invoices), Decimal("0.00"))
    claim = None if ctx.kind == "pre_reminder" else ctx.claim
    return (
        _environment(ctx.language)
        .get_template(template)
        .render(
            c=ctx,
            b2b=ctx.debtor_kind == "business",
            claim=claim,
            inv=ctx.invoices[0],
            plural=len(ctx.invoices) > 1,
            balance_total=balance_total,
            total_due=claim.total if claim else balance_total,
            **values,
        )
    )


def compose(ctx: LetterContext) -> Letter:
    """The letter's content, independent of the output format."""
    _check(ctx)
    ctx = _single_lines(ctx)
    language, labels = ctx.language, LABELS[ctx.language]
    numbers = [i.number for i in ctx.invoices]
    invoice_refs = (
        labels.one_invoice.format(numbers[0])
        if len(numbers) == 1
        else labels.several_invoices.format(_join(numbers, labels.and_))
    )
    served = ctx.kind == "formal_notice" and ctx.delivery == "commissaire_de_justice"
    deadline_date, assumed_receipt = _deadline(ctx, served)
    reminders = sorted(ctx.reminders_sent, key=lambda r: r.on)
    body = _body(
        ctx,
        f"{ctx.kind}.j2",
        invoice_refs=invoice_refs,
        deadline_date=deadline_date,
        assumed_receipt=assumed_receipt,
        served=served,
        reminders=[describe_reminder(r, language) for r in reminders],
        contact=_contact(ctx, labels),
    )
    sender = list(_party_lines(ctx.creditor, labels))
    if ctx.creditor.email:
        sender.append(labels.email_line.format(ctx.creditor.email))
    if ctx.creditor.phone:
        sender.append(labels.phone_line.format(ctx.creditor.phone))
    day = format_day(ctx.today, language)
    money = partial(format_money, language=language)
    return Letter(
        kind=ctx.kind,
        language=language,
        labels=labels,
        sender_lines=tuple(sender),
        recipient_lines=_party_lines(ctx.debtor, labels),
        place_date=(
            labels.place_date.format(city=ctx.city, date=day)
            if ctx.city
            else labels.date_only.format(date=day)
        ),
        registered=ctx.kind == "formal_notice" and not served,
        delivery_line=labels.delivery_lines[ctx.delivery] if ctx.kind == "formal_notice" else None,
        subject=_one_line(_body(ctx, "subject.j2")),
        reference=labels.reference.format(invoice_refs),
        blocks=_parse_blocks(body),
        invoice_rows=tuple(
            (
                i.number,
                format_day(i.issue_date, language),
                format_day(i.due_date, language),
                money(i.amount),
                money(i.balance),
            )
            for i in ctx.invoices
        ),
        invoice_total=money(sum((i.balance for i in ctx.invoices), Decimal("0.00"))),
        signature=ctx.creditor.name,
    )


# --- Text and HTML --------------------------------------------------------------------------
def _text_table(letter: Letter) -> str:
    headers = letter.labels.invoice_headers
    rows = [headers, *letter.invoice_rows]
    widths = [max(len(r[col]) for r in rows) for col in range(5)]
    total_label = letter.labels.total_outstanding
    widths[4] = max(widths[4], len(letter.invoice_total))

    def line(cells: tuple[str, ...]) -> str:
        left = [cells[i].ljust(widths[i]) for i in range(3)]
        right = [cells[i].rjust(widths[i]) for i in range(3, 5)]
        return "  ".join(left + right).rstrip()

    rule = "-" * (sum(widths) + 2 * 4)
    out = [line(headers), rule, *(line(r) for r in letter.invoice_rows), rule]
    out.append(total_label + letter.invoice_total.rjust(len(rule) - len(total_label)))
    return "\n".join(out)


def render_text(ctx: LetterContext) -> str:
    letter = compose(ctx)
    return (
        _environment(letter.language)
        .get_template("letter.txt.j2")
        .render(letter=letter, invoice_table=_text_table(letter))
    )


def render_html(ctx: LetterContext) -> str:
    letter = compose(ctx)
    return _environment(letter.language).get_template("letter.html.j2").render(letter=letter)

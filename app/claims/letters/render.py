"""Dunning letters in French: pre-reminder, two reminders and the mise en demeure, as plain
text, HTML and PDF.

One body template per letter kind (``templates/<kind>.j2``) holds the wording; it renders to a
small block format (paragraphs separated by blank lines, ``- `` bullet lines, a line
``%%INVOICES%%`` where the invoice table goes). The three formats lay out the same blocks:
``letter.txt.j2``, ``letter.html.j2`` (autoescaped: every value is escaped exactly once, there)
and fpdf2 for the PDF. Figures (40 EUR, + 10 points, legal references) come from
app.legal.figures and from the Claim, never from the templates.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from typing import Literal

from fpdf import FPDF
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

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
# How a mise en demeure is delivered: by registered letter with AR (the default), or served by a
# commissaire de justice (its deadline then runs from the date of service).
Delivery = Literal["registered_letter", "commissaire_de_justice"]
DELIVERY_LINES: dict[Delivery, str] = {
    "registered_letter": "Lettre recommandée avec accusé de réception",
    "commissaire_de_justice": "Signifiée par commissaire de justice",
}


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


# --- French formatting ----------------------------------------------------------------------
_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def format_date_fr(d: dt.date) -> str:
    """22 novembre 2026; 1er novembre 2026."""
    day = "1er" if d.day == 1 else str(d.day)
    return f"{day} {_MONTHS[d.month - 1]} {d.year}"


def _group_thousands(digits: str) -> str:
    groups: list[str] = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return " ".join(groups)


def format_eur(amount: Decimal) -> str:
    """1 250,00 EUR ("EUR" rather than the euro sign, which PDF core fonts lack)."""
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if cents < 0 else ""
    units, _, fraction = f"{abs(cents):.2f}".partition(".")
    return f"{sign}{_group_thousands(units)},{fraction} EUR"


def format_rate(rate: Decimal) -> str:
    """12,15 %"""
    return f"{rate.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}".replace(".", ",") + " %"


def format_siren(siren: str) -> str:
    compact = "".join(siren.split())
    if compact.isdigit() and len(compact) in (9, 14):  # SIREN 3-3-3, SIRET 3-3-3-5
        return " ".join(p for p in (compact[:3], compact[3:6], compact[6:9], compact[9:]) if p)
    return siren


def format_iban(iban: str) -> str:
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


_ACTION_LABELS = {
    "pre_reminder": "pré-relance",
    "reminder": "relance",
    "reminder_1": "première relance",
    "reminder_2": "deuxième relance",
    "formal_notice": "mise en demeure",
    "phone_call": "appel téléphonique",
}
_CHANNEL_LABELS = {
    "email": "par e-mail",
    "phone": "par téléphone",
    "letter": "par courrier",
    "registered_letter": "par lettre recommandée",
    "sms": "par SMS",
}


def describe_reminder(reminder: SentReminder) -> str:
    label = _ACTION_LABELS.get(reminder.type, reminder.type.replace("_", " "))
    text = f"{label} du {format_date_fr(reminder.on)}"
    channel = _CHANNEL_LABELS.get(reminder.channel, reminder.channel.replace("_", " "))
    if reminder.type != "phone_call" and channel:
        text += f", {channel}"
    return text


# --- Composition ----------------------------------------------------------------------------
INVOICES_MARKER = "%%INVOICES%%"
INVOICE_HEADERS = ("Facture n°", "Date", "Échéance", "Montant", "Reste dû")


@dataclass(frozen=True)
class Block:
    kind: Literal["p", "ul", "invoices"]
    lines: tuple[str, ...]  # one line for "p", the items for "ul", none for "invoices"


@dataclass(frozen=True)
class Letter:
    """A letter composed once, laid out by each format."""

    kind: LetterKind
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


_ENV = Environment(
    loader=PackageLoader("app.claims.letters", "templates"),
    # HTML layouts escape every value; the text layout and the body templates are plain text.
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters.update(
    date=format_date_fr, eur=format_eur, rate=format_rate, iban=format_iban, siren=format_siren
)
_ENV.globals.update(
    FIXED_INDEMNITY_EUR=legal.FIXED_INDEMNITY_EUR,
    B2B_PENALTY_MARGIN_POINTS=legal.B2B_PENALTY_MARGIN_POINTS,
    INVOICES=INVOICES_MARKER,
)


def _party_lines(party: Party) -> tuple[str, ...]:
    lines = [party.name, *party.address_lines]
    if party.siret:  # the establishment's number says the company's too
        lines.append(f"SIRET : {format_siren(party.siret)}")
    elif party.siren:
        lines.append(f"SIREN : {format_siren(party.siren)}")
    return tuple(line for line in lines if line.strip())


def _join_fr(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]


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
        iban=_one_line(ctx.iban) if ctx.iban else None,
        bic=_one_line(ctx.bic) if ctx.bic else None,
        city=_one_line(ctx.city) if ctx.city else None,
    )


def _subject(ctx: LetterContext) -> str:
    several = len(ctx.invoices) > 1
    first = ctx.invoices[0]
    if ctx.kind == "formal_notice":
        return "Mise en demeure de payer"
    if ctx.kind == "pre_reminder":
        if several:
            return "Factures arrivant à échéance"
        return f"Facture n° {first.number} - échéance du {format_date_fr(first.due_date)}"
    if ctx.kind == "reminder_1":
        if several:
            return "Rappel - factures échues"
        return f"Rappel - facture n° {first.number} échue le {format_date_fr(first.due_date)}"
    if several:
        return "Deuxième relance - factures impayées"
    return f"Deuxième relance - facture n° {first.number} impayée"


def compose(ctx: LetterContext) -> Letter:
    """The letter's content, independent of the output format."""
    if ctx.kind not in LETTER_KINDS:
        raise ValueError(f"unknown letter kind: {ctx.kind!r}")
    if not ctx.invoices:
        raise ValueError("a letter needs at least one invoice")
    if ctx.deadline_days < 1:
        raise ValueError("deadline_days must be at least 1")

    ctx = _single_lines(ctx)
    b2b = ctx.debtor_kind == "business"
    claim = None if ctx.kind == "pre_reminder" else ctx.claim
    balance_total = sum((i.balance for i in ctx.invoices), Decimal("0.00"))
    numbers = [i.number for i in ctx.invoices]
    invoice_refs = (
        f"facture n° {numbers[0]}" if len(numbers) == 1 else f"factures n°s {_join_fr(numbers)}"
    )

    # The mise en demeure's deadline runs from receipt (or service); reminders' from the letter
    # date. Either way it ends on a working day, as the engine counts it.
    served = ctx.kind == "formal_notice" and ctx.delivery == "commissaire_de_justice"
    assumed_receipt: dt.date | None = None
    deadline_date = ctx.deadline_date
    if deadline_date is None:
        start = ctx.today
        if ctx.kind == "formal_notice":
            delay = 0 if served else ASSUMED_REGISTERED_DELIVERY_DAYS
            assumed_receipt = ctx.today + dt.timedelta(days=delay)
            start = assumed_receipt
        deadline_date = deadlines.days_after(start, ctx.deadline_days, ctx.calendar)

    contact_parts = []
    if ctx.creditor.email:
        contact_parts.append(f"par e-mail ({ctx.creditor.email})")
    if ctx.creditor.phone:
        contact_parts.append(f"par téléphone ({ctx.creditor.phone})")
    contact = (" " + " ou ".join(contact_parts)) if contact_parts else ""

    body = _ENV.get_template(f"{ctx.kind}.j2").render(
        c=ctx,
        b2b=b2b,
        claim=claim,
        inv=ctx.invoices[0],
        plural=len(ctx.invoices) > 1,
        invoice_refs=invoice_refs,
        balance_total=balance_total,
        total_due=claim.total if claim else balance_total,
        deadline_date=deadline_date,
        assumed_receipt=assumed_receipt,
        served=served,
        reminders=[describe_reminder(r) for r in sorted(ctx.reminders_sent, key=lambda r: r.on)],
        contact=contact,
    )

    sender = list(_party_lines(ctx.creditor))
    if ctx.creditor.email:
        sender.append(f"E-mail : {ctx.creditor.email}")
    if ctx.creditor.phone:
        sender.append(f"Tél. : {ctx.creditor.phone}")
    date_fr = format_date_fr(ctx.today)
    return Letter(
        kind=ctx.kind,
        sender_lines=tuple(sender),
        recipient_lines=_party_lines(ctx.debtor),
        place_date=f"Fait à {ctx.city}, le {date_fr}" if ctx.city else f"Le {date_fr}",
        registered=ctx.kind == "formal_notice" and not served,
        delivery_line=DELIVERY_LINES[ctx.delivery] if ctx.kind == "formal_notice" else None,
        subject=_subject(ctx),
        reference=f"Réf. : {invoice_refs}",
        blocks=_parse_blocks(body),
        invoice_rows=tuple(
            (
                i.number,
                format_date_fr(i.issue_date),
                format_date_fr(i.due_date),
                format_eur(i.amount),
                format_eur(i.balance),
            )
            for i in ctx.invoices
        ),
        invoice_total=format_eur(balance_total),
        signature=ctx.creditor.name,
    )


# --- Text and HTML --------------------------------------------------------------------------
def _text_table(letter: Letter) -> str:
    rows = [INVOICE_HEADERS, *letter.invoice_rows]
    widths = [max(len(r[col]) for r in rows) for col in range(5)]
    total_label = "Total restant dû"
    widths[4] = max(widths[4], len(letter.invoice_total))

    def line(cells: tuple[str, ...]) -> str:
        left = [cells[i].ljust(widths[i]) for i in range(3)]
        right = [cells[i].rjust(widths[i]) for i in range(3, 5)]
        return "  ".join(left + right).rstrip()

    rule = "-" * (sum(widths) + 2 * 4)
    out = [line(INVOICE_HEADERS), rule, *(line(r) for r in letter.invoice_rows), rule]
    out.append(total_label + letter.invoice_total.rjust(len(rule) - len(total_label)))
    return "\n".join(out)


def render_text(ctx: LetterContext) -> str:
    letter = compose(ctx)
    return _ENV.get_template("letter.txt.j2").render(
        letter=letter, invoice_table=_text_table(letter)
    )


def render_html(ctx: LetterContext) -> str:
    letter = compose(ctx)
    return _ENV.get_template("letter.html.j2").render(letter=letter, headers=INVOICE_HEADERS)


# --- PDF ------------------------------------------------------------------------------------
_PDF_REPLACEMENTS = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u20ac": "EUR",
        "\u0153": "oe",
        "\u0152": "OE",
        "\u202f": "\u00a0",
        "\u2009": " ",
    }
)


def _latin1(text: str) -> str:
    """PDF core fonts only know latin-1: map the usual typographic characters, '?' the rest."""
    return text.translate(_PDF_REPLACEMENTS).encode("latin-1", "replace").decode("latin-1")


def _nbsp(text: str) -> str:
    return text.replace(" ", "\u00a0")


_MONTHS_RE = "|".join(_MONTHS)
# Groups a reader expects on one line: "1 250,00 EUR", "22 novembre 2026", "12,15 %", "n° 12".
_KEEP_TOGETHER = re.compile(
    rf"\d{{1,3}}(?: \d{{3}})*,\d{{2}} EUR|\d{{1,2}}(?:er)? (?:{_MONTHS_RE}) \d{{4}}"
    r"|\d+,\d{2} %|n°s? \S+"
)


def _pdf_text(text: str) -> str:
    return _latin1(_KEEP_TOGETHER.sub(lambda m: _nbsp(m.group(0)), text))


class _LetterPDF(FPDF):
    numbered = False

    def footer(self) -> None:
        if self.numbered:
            self.set_y(-15)
            self.set_font("helvetica", size=8)
            self.cell(0, 8, f"Page {self.page_no()}/{{nb}}", align="C")

    def write_lines(
        self,
        text: str,
        *,
        style: str = "",
        size: float = 10,
        x: float | None = None,
        w: float = 0,
        align: str = "L",
    ) -> None:
        """`text` as a paragraph (wrapped), then back to the left margin on the next line."""
        self.set_font("helvetica", style=style, size=size)
        if x is not None:
            self.set_x(x)
        self.multi_cell(w, _LINE_H, _pdf_text(text), align=align, new_x="LMARGIN", new_y="NEXT")


def render_pdf(ctx: LetterContext) -> bytes:
    letter = compose(ctx)
    pdf = _build_pdf(letter, ctx.today, numbered=False)
    if pdf.pages_count > 1:
        # Page numbers only when the letter runs over several pages.
        pdf = _build_pdf(letter, ctx.today, numbered=True)
    return bytes(pdf.output())


_LINE_H = 5.0
_RIGHT_COLUMN_X = 110.0  # the recipient block and the signature (window envelope position)


def _build_pdf(letter: Letter, today: dt.date, *, numbered: bool) -> _LetterPDF:
    pdf = _LetterPDF(orientation="portrait", unit="mm", format="A4")
    pdf.numbered = numbered
    pdf.set_margins(left=20, top=18, right=20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(_latin1(letter.subject))
    pdf.set_author(_latin1(letter.signature))
    # A fixed creation date keeps the output reproducible for the same letter.
    pdf.set_creation_date(dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC))
    pdf.add_page()
    _pdf_heading(pdf, letter)
    _pdf_blocks(pdf, letter)
    _pdf_signature(pdf, letter)
    return pdf


def _pdf_heading(pdf: _LetterPDF, letter: Letter) -> None:
    """Sender, recipient (window envelope position), place and date, subject and reference."""
    for i, text in enumerate(letter.sender_lines):
        pdf.write_lines(text, style="B" if i == 0 else "", w=90)
    pdf.set_y(max(pdf.get_y() + 6, 50))
    for i, text in enumerate(letter.recipient_lines):
        pdf.write_lines(text, style="B" if i == 0 else "", x=_RIGHT_COLUMN_X, w=80)
    pdf.ln(8)
    pdf.write_lines(letter.place_date, align="R")
    pdf.ln(6)
    if letter.delivery_line:
        pdf.write_lines(letter.delivery_line, style="B")
        pdf.ln(1)
    pdf.write_lines(f"Objet : {letter.subject}", style="B", size=10.5)
    pdf.write_lines(letter.reference)
    pdf.ln(4)


def _pdf_blocks(pdf: _LetterPDF, letter: Letter) -> None:
    for block in letter.blocks:
        if block.kind == "p":
            pdf.write_lines(block.lines[0], align="J")
        elif block.kind == "ul":
            for item in block.lines:
                pdf.set_x(pdf.l_margin + 4)
                pdf.cell(4, _LINE_H, "-")
                pdf.write_lines(item)
        else:
            _pdf_invoice_table(pdf, letter)
            pdf.ln(0.5)
        pdf.ln(2.5)


def _pdf_signature(pdf: _LetterPDF, letter: Letter) -> None:
    # Keep the signature block on the page it starts on.
    if pdf.get_y() > pdf.h - pdf.b_margin - 25:
        pdf.add_page()
    pdf.ln(6)
    pdf.write_lines(letter.signature, style="B", x=_RIGHT_COLUMN_X, w=80)
    pdf.set_x(_RIGHT_COLUMN_X)
    pdf.set_font("helvetica", style="I", size=9)
    pdf.cell(80, _LINE_H, "Signature")


def _pdf_invoice_table(pdf: FPDF, letter: Letter) -> None:
    pdf.set_font("helvetica", size=9)
    aligns = ("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT")
    with pdf.table(col_widths=(30, 27, 27, 23, 23), line_height=5.5, padding=1) as table:
        header = table.row()
        for text, align in zip(INVOICE_HEADERS, aligns, strict=True):
            header.cell(_latin1(text), align=align)
        for cells in letter.invoice_rows:
            row = table.row()
            for i, (text, align) in enumerate(zip(cells, aligns, strict=True)):
                # The invoice number may be long and wrap; dates and amounts may not.
                row.cell(_latin1(_nbsp(text) if i else text), align=align)
        total = table.row()
        total.cell(_latin1("Total restant dû"), colspan=4, align="RIGHT")
        total.cell(_latin1(_nbsp(letter.invoice_total)), align="RIGHT")

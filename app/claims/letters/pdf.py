"""The PDF layout of a letter (fpdf2), in DejaVu Sans: an embedded Unicode TrueType font, so that
any Latin, Greek or Cyrillic name prints as written ("Łukasz Dąbrowski", "Cœur", "Ærøskøbing",
"Παπαδόπουλος", "Шостакович") and comes back exactly from text extraction, with the euro sign and
the narrow no-break space (U+202F) of French amounts.

Limits: DejaVu Sans has no CJK glyphs (such characters are left out of the PDF, and fpdf2 logs
a warning naming them), and without a text shaper Arabic and Hebrew are printed unjoined, left to
right. The text and HTML letters carry every name as it is.

The fonts are read for each PDF (fpdf2 subsets them in place when it writes the file): about a
quarter of a second, so the route renders PDFs in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import re
from importlib.resources import files
from typing import cast

from fpdf import FPDF

from app.claims.letters.formatting import month_names
from app.claims.letters.render import Block, Letter, LetterContext, compose

FONT = "DejaVuSans"
_FONT_DIR = files("app.claims.letters") / "fonts"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

_LINE_H = 5.0
_BLOCK_GAP = 2.5
_BULLET_INDENT = 4.0
_BULLET_W = 4.0
_RIGHT_COLUMN_X = 110.0  # the recipient block and the signature (window envelope position)


def render_pdf(ctx: LetterContext) -> bytes:
    letter = compose(ctx)
    pdf = _build_pdf(letter, ctx.today, numbered=False)
    if pdf.pages_count > 1:
        # Page numbers only when the letter runs over several pages.
        pdf = _build_pdf(letter, ctx.today, numbered=True)
    return bytes(pdf.output())


def _nbsp(text: str) -> str:
    return text.replace(" ", "\u00a0")


def _keep_together_pattern(letter: Letter) -> re.Pattern[str]:
    """Groups a reader expects on one line: "22 novembre 2026", "n° F-12" (amounts and rates are
    already joined by the no-break spaces Babel puts in them)."""
    months = "|".join(month_names(letter.language))
    return re.compile(
        rf"\d{{1,2}}(?:er)? (?:{months}) \d{{4}}|(?:{letter.labels.number_sign}) \S+",
        re.IGNORECASE,
    )


class _LetterPDF(FPDF):
    numbered = False
    page_label = "Page {n}/{nb}"
    keep_together: re.Pattern[str] | None = None

    def footer(self) -> None:
        if self.numbered:
            self.set_y(-15)
            self.set_font(FONT, size=8)
            self.cell(0, 8, self.page_label.format(n=self.page_no(), nb="{nb}"), align="C")

    def text_of(self, text: str) -> str:
        if self.keep_together is None:
            return text
        return self.keep_together.sub(lambda m: _nbsp(m.group(0)), text)

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
        self.set_font(FONT, style=style, size=size)
        if x is not None:
            self.set_x(x)
        self.multi_cell(w, _LINE_H, self.text_of(text), align=align, new_x="LMARGIN", new_y="NEXT")

    def height_of(self, text: str, w: float) -> float:
        """The height `write_lines(text, w=w)` takes, in the regular font."""
        self.set_font(FONT, size=10)
        # output="LINES": the lines as they would be printed (the return type is a union).
        lines = cast(
            list[str],
            self.multi_cell(w, _LINE_H, self.text_of(text), dry_run=True, output="LINES"),
        )
        return len(lines) * _LINE_H


def _new_pdf(letter: Letter, today: dt.date, *, numbered: bool) -> _LetterPDF:
    pdf = _LetterPDF(orientation="portrait", unit="mm", format="A4")
    for style, name in _FONT_FILES.items():
        pdf.add_font(FONT, style=style, fname=str(_FONT_DIR / name))
    pdf.numbered = numbered
    pdf.page_label = letter.labels.page
    pdf.keep_together = _keep_together_pattern(letter)
    pdf.set_margins(left=20, top=18, right=20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_lang(letter.language)
    pdf.set_title(letter.subject)
    pdf.set_author(letter.signature)
    # A fixed creation date keeps the output reproducible for the same letter.
    pdf.set_creation_date(dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC))
    return pdf


def _build_pdf(letter: Letter, today: dt.date, *, numbered: bool) -> _LetterPDF:
    pdf = _new_pdf(letter, today, numbered=numbered)
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
    pdf.write_lines(letter.subject_line, style="B", size=10.5)
    pdf.write_lines(letter.reference)
    pdf.ln(4)


def _block_height(pdf: _LetterPDF, block: Block) -> float:
    if block.kind == "p":
        return pdf.height_of(block.lines[0], pdf.epw) + _BLOCK_GAP
    item_w = pdf.epw - _BULLET_INDENT - _BULLET_W
    return sum(pdf.height_of(item, item_w) for item in block.lines) + _BLOCK_GAP


def _keep_with_next(pdf: _LetterPDF, block: Block, following: Block | None) -> None:
    """A paragraph introducing a list ("... sur le compte suivant :" and the IBAN, "les relances
    suivantes :" and their dates) starts a new page rather than leave its list on the next one,
    unless the two together are taller than a page."""
    if not block.introduces_list or following is None or following.kind != "ul":
        return
    height = _block_height(pdf, block) + _block_height(pdf, following)
    room = pdf.page_break_trigger - pdf.get_y()
    if room < height <= pdf.page_break_trigger - pdf.t_margin:
        pdf.add_page()


def _pdf_blocks(pdf: _LetterPDF, letter: Letter) -> None:
    for i, block in enumerate(letter.blocks):
        following = letter.blocks[i + 1] if i + 1 < len(letter.blocks) else None
        _keep_with_next(pdf, block, following)
        if block.kind == "p":
            pdf.write_lines(block.lines[0], align="J")
        elif block.kind == "ul":
            for item in block.lines:
                pdf.set_x(pdf.l_margin + _BULLET_INDENT)
                pdf.cell(_BULLET_W, _LINE_H, "-")
                pdf.write_lines(item)
        else:
            _pdf_invoice_table(pdf, letter)
            pdf.ln(0.5)
        pdf.ln(_BLOCK_GAP)


def _pdf_signature(pdf: _LetterPDF, letter: Letter) -> None:
    # Keep the signature block on the page it starts on.
    if pdf.get_y() > pdf.h - pdf.b_margin - 25:
        pdf.add_page()
    pdf.ln(6)
    pdf.write_lines(letter.signature, style="B", x=_RIGHT_COLUMN_X, w=80)
    pdf.set_x(_RIGHT_COLUMN_X)
    pdf.set_font(FONT, size=9)
    pdf.cell(80, _LINE_H, letter.labels.signature_caption)


def _pdf_invoice_table(pdf: _LetterPDF, letter: Letter) -> None:
    pdf.set_font(FONT, size=9)
    aligns = ("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT")
    with pdf.table(col_widths=(30, 27, 27, 23, 23), line_height=5.5, padding=1) as table:
        header = table.row()
        for text, align in zip(letter.labels.invoice_headers, aligns, strict=True):
            header.cell(text, align=align)
        for cells in letter.invoice_rows:
            row = table.row()
            for i, (text, align) in enumerate(zip(cells, aligns, strict=True)):
                # The invoice number may be long and wrap; dates and amounts may not.
                row.cell(_nbsp(text) if i else text, align=align)
        total = table.row()
        total.cell(letter.labels.total_outstanding, colspan=4, align="RIGHT")
        total.cell(_nbsp(letter.invoice_total), align="RIGHT")

"""Dunning letters (pre-reminder, reminders, mise en demeure) in French or English, as text,
HTML and PDF."""

from app.claims.letters.pdf import render_pdf
from app.claims.letters.render import (
    LETTER_KINDS,
    LetterContext,
    LetterInvoice,
    LetterKind,
    Party,
    SentReminder,
    render_html,
    render_text,
)

__all__ = [
    "LETTER_KINDS",
    "LetterContext",
    "LetterInvoice",
    "LetterKind",
    "Party",
    "SentReminder",
    "render_html",
    "render_pdf",
    "render_text",
]

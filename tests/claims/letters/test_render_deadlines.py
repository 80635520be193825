"""The letters' deadline is the engine's computation (app.legal.deadlines): a deadline ending on a
weekend or holiday of the creditor's calendar moves to the next working day; a mise en demeure
served by a commissaire de justice is worded as an act and runs from its service."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from app.claims.letters.render import LetterContext, compose, render_text
from app.legal.calendar import business_calendar
from tests.claims.letters.test_render import RENDERERS, context


def _flat(text: str) -> str:
    return " ".join(text.split())


def _at(ctx: LetterContext, **changes: object) -> LetterContext:
    return dataclasses.replace(ctx, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", list(RENDERERS))
def test_a_draft_notice_received_on_a_friday_ends_on_monday(fmt: str) -> None:
    # Dated Tuesday 1 December 2026, received Friday 4: Saturday 12 -> Monday 14 December.
    text = RENDERERS[fmt](_at(context("formal_notice"), today=dt.date(2026, 12, 1)))
    assert "soit au plus tard le 14 décembre 2026 pour une réception le 4 décembre 2026" in text
    assert "12 décembre 2026" not in text


def test_the_creditors_calendar_decides_the_working_day() -> None:
    # Dated Monday 15 December 2025, received Thursday 18: + 8 = Friday 26 December, a working
    # day in Paris; in Moselle a holiday (Saint-Étienne), then the weekend -> Monday 29.
    paris = _at(context("formal_notice"), today=dt.date(2025, 12, 15), deadline_days=8)
    moselle = _at(paris, calendar=business_calendar("57"))
    assert "au plus tard le 26 décembre 2025" in _flat(render_text(paris))
    assert "au plus tard le 29 décembre 2025" in _flat(render_text(moselle))


def test_a_reminder_deadline_also_ends_on_a_working_day() -> None:
    # reminder_2 dated Tuesday 3 November 2026 + 8 = Wednesday 11 November (Armistice) -> 12.
    text = _flat(render_text(_at(context("reminder_2"), today=dt.date(2026, 11, 3))))
    assert "sous 8 jours, soit au plus tard le 12 novembre 2026" in text


@pytest.mark.parametrize("fmt", list(RENDERERS))
def test_a_notice_served_by_a_commissaire_de_justice(fmt: str) -> None:
    ctx = _at(
        context("formal_notice"),
        today=dt.date(2026, 12, 3),
        delivery="commissaire_de_justice",
    )
    text = RENDERERS[fmt](ctx)
    assert "Signifiée par commissaire de justice" in text
    assert "Lettre recommandée avec accusé de réception" not in text
    assert "par le présent acte signifié par commissaire de justice" in text
    # Served on the letter's date, Thursday 3 December: + 8 = Friday 11 December.
    assert (
        "à compter de sa signification, soit au plus tard le 11 décembre 2026 pour une "
        "signification le 3 décembre 2026" in text
    )
    letter = compose(ctx)
    assert letter.registered is False
    assert letter.delivery_line == "Signifiée par commissaire de justice"


def test_a_known_deadline_is_stated_as_given() -> None:
    ctx = _at(context("formal_notice"), deadline_date=dt.date(2026, 12, 14))
    text = _flat(render_text(ctx))
    assert "soit au plus tard le 14 décembre 2026." in text

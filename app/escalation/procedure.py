"""The procédure simplifiée de recouvrement des créances commerciales incontestées (loi du
23 avril 2026, CPCE L126-1 and following), as far as a file has gone: the commandement de payer
served by a commissaire de justice, the debtor's month to pay or contest, the procès-verbal de
non-contestation, the titre exécutoire, then enforcement.

Pure, like the engine: a function of the recorded actions, whether a dispute is open and the
creditor's calendar. The periods are app/legal/figures.py's and are counted by
app/legal/deadlines.py (C. proc. civ. 641, 642).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from app.escalation.engine import ActionType, RecordedAction
from app.legal import deadlines
from app.legal import figures as legal
from app.legal.calendar import BusinessCalendar

StepCode = Literal[
    "awaiting_service",
    "contest_period_ends",
    "pv_non_contestation",
    "titre_executoire",
    "execution",
    "ended_by_contest",
]
# The timeline's `type` of each step.
TIMELINE_TYPE_PREFIX: Final = "uncontested_claim."

EXPLANATIONS: Final[dict[StepCode, str]] = {
    "awaiting_service": "Commandement de payer confié au commissaire de justice : le délai d'un "
    "mois du débiteur courra de sa signification (renseignez proof.served_on).",
    "contest_period_ends": "Fin du délai d'un mois laissé au débiteur, depuis la signification "
    "du commandement de payer, pour payer ou contester la créance.",
    "pv_non_contestation": "Sans paiement intégral ni contestation, le commissaire de justice "
    "peut dresser le procès-verbal de non-contestation, au plus tôt huit jours après la fin "
    "du délai d'un mois.",
    "titre_executoire": "Le commissaire de justice demande au greffier du tribunal de commerce "
    "de rendre le procès-verbal de non-contestation exécutoire, après vérification de la "
    "régularité de la procédure.",
    "execution": "Titre exécutoire obtenu : le commissaire de justice peut procéder à "
    "l'exécution forcée (saisies).",
    "ended_by_contest": "Le débiteur conteste la créance : la procédure simplifiée prend fin. "
    "Pour obtenir un titre, saisissez le juge (injonction de payer ou assignation).",
}


@dataclass(frozen=True)
class ProcedureStep:
    code: StepCode
    on: dt.date | None  # the day it falls or becomes possible; None while unknown

    @property
    def explanation(self) -> str:
        return EXPLANATIONS[self.code]


@dataclass(frozen=True)
class UncontestedClaim:
    """Where the procedure stands for one invoice, and what comes next."""

    commandement: RecordedAction
    contest_period_ends_on: dt.date | None  # None until the date of service is recorded
    pv_possible_from: dt.date | None
    pv: RecordedAction | None
    title: RecordedAction | None
    next: tuple[ProcedureStep, ...]


def contest_period_end(served_on: dt.date, calendar: BusinessCalendar) -> dt.date:
    """The last day of the debtor's month from the service of the commandement (641 al. 2: same
    day number of the next month, or its last day; 642: extended to the next working day)."""
    return deadlines.months_after(served_on, legal.UNCONTESTED_CLAIM_CONTEST_MONTHS, calendar)


def pv_earliest(served_on: dt.date, calendar: BusinessCalendar) -> dt.date:
    """The first day the procès-verbal de non-contestation may be drawn: 8 days after the end of
    the debtor's month ("au plus tôt huit jours après l'expiration du délai", L126-3)."""
    return contest_period_end(served_on, calendar) + dt.timedelta(
        days=legal.UNCONTESTED_CLAIM_PV_MIN_DAYS_AFTER
    )


def _latest(
    actions: Iterable[RecordedAction], type_: ActionType, since: dt.date
) -> RecordedAction | None:
    found = [a for a in actions if a.type == type_ and a.performed_on >= since]
    return max(found, key=lambda a: (a.performed_on, a.id), default=None)


def uncontested_claim(
    actions: Sequence[RecordedAction], *, disputed: bool, calendar: BusinessCalendar
) -> UncontestedClaim | None:
    """The procedure of the latest commandement de payer recorded, or None if there is none."""
    commandement = _latest(actions, "commandement_de_payer", dt.date.min)
    if commandement is None:
        return None
    served = commandement.served_on
    ends = contest_period_end(served, calendar) if served else None
    pv_from = pv_earliest(served, calendar) if served else None
    pv = _latest(actions, "pv_non_contestation", commandement.performed_on)
    title = _latest(actions, "titre_executoire", (pv or commandement).performed_on)
    steps: tuple[ProcedureStep, ...]
    if title is not None:
        steps = (ProcedureStep("execution", title.performed_on),)
    elif pv is not None:
        steps = (ProcedureStep("titre_executoire", pv.performed_on),)
    elif disputed:
        steps = (ProcedureStep("ended_by_contest", None),)
    elif ends is None or pv_from is None:
        steps = (ProcedureStep("awaiting_service", None),)
    else:
        steps = (
            ProcedureStep("contest_period_ends", ends),
            ProcedureStep("pv_non_contestation", pv_from),
        )
    return UncontestedClaim(commandement, ends, pv_from, pv, title, steps)

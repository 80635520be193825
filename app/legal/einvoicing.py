# ruff: noqa: E501 - the status table reads best one code a line
"""The e-invoicing reform's lifecycle statuses (AFNOR XP Z12-012, CDAR messages exchanged between
Plateformes Agréées) as data, and what each means for recovery, as one pure function.

Codes and labels: the CDAR response code list (developer.vertexinc.com, "France (CII(CDAR)):
Response Code": 200-214, 220, 221, 224, 225 and further), French labels as the Plateformes
Agréées' catalogues give them (an open-source PA client's AFNOR XP Z12-013 catalogue and the
Dolibarr "Matrice statuts FE" name the same 22 codes). Codes 215-219, 222 and 223 are named by
none of these sources: they are not in the table (422). The reason codes (CDAR
`StatusReasonCode`, e.g. `MONTANTTOTAL_ERR`, `JUSTIF_ABS`) are kept as the platform sends them.

`apply_status` folds one status into the invoice's lifecycle facts; the ledger stores the facts
on the invoice and the escalation engine reads them, like actions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, get_args

from app.core.errors import Conflict, FieldError, Unprocessable

LifecycleCode = Literal[
    "200", "201", "202", "203", "204", "205", "206", "207", "208", "209", "210", "211",
    "212", "213", "214", "220", "221", "224", "225", "226", "227", "228",
]  # fmt: skip
LIFECYCLE_CODES: Final[tuple[LifecycleCode, ...]] = get_args(LifecycleCode)

# What a status does to the invoice and its recovery.
Effect = Literal[
    "informational",  # recorded and shown, nothing changes
    "received",  # received_on (the first receipt date)
    "approved",  # approved: the debtor accepted the invoice
    "partially_approved",  # approved, the claim limited to approved_amount
    "dispute_opened",  # a dispute with the status's reason (ledger/disputes)
    "suspended",  # escalation paused (paused_reason `suspended`) until 209
    "resumed",  # the suspension ends
    "refused",  # stage `refused`: no dunning ever (the seller issues a credit note)
    "payment_announced",  # escalation paused (paused_reason `payment_announced`), bounded
    "payment_recorded",  # a payment of `amount` (ledger/payments)
    "undelivered",  # stage `undelivered`: never delivered, no dunning, no penalties
    "cancelled",  # the invoice is cancelled (status `cancelled`)
    "factored",  # stage `factored`: the claim belongs to the factor
]
# The outcomes after which the creditor never chases the invoice (the engine stays silent).
Outcome = Literal["refused", "undelivered", "factored"]

_OUTCOMES: Final[dict[Effect, Outcome]] = {
    "refused": "refused",
    "undelivered": "undelivered",
    "factored": "factored",
}

# 211 "Paiement transmis" carries no payment date in the contract: the escalation pauses this many
# days from the status, then resumes if no 212 came. A choice of the service (no source sets it):
# long enough for a SEPA transfer or a cheque to clear, short enough not to hide a false promise.
PAYMENT_ANNOUNCED_PAUSE_DAYS: Final = 15


@dataclass(frozen=True)
class StatusDefinition:
    code: LifecycleCode
    label: str  # French, as the platforms show it
    label_en: str
    effect: Effect
    meaning: str  # for recovery, in one sentence


def _s(
    code: LifecycleCode, label: str, label_en: str, effect: Effect, meaning: str
) -> StatusDefinition:
    return StatusDefinition(code, label, label_en, effect, meaning)


STATUSES: Final[dict[LifecycleCode, StatusDefinition]] = {
    s.code: s
    for s in (
        _s("200", "Déposée", "Submitted", "informational", "The issuing platform accepted the invoice (mandatory status)."),
        _s("201", "Émise par la plateforme", "Issued by the platform", "informational", "Sent to the buyer's platform."),
        _s("202", "Reçue par la plateforme", "Received by the platform", "received", "Receipt date: proof of delivery; `received_on` is set (the first receipt kept)."),
        _s("203", "Mise à disposition", "Made available", "received", "Made available to the buyer: `received_on` as for 202."),
        _s("204", "Prise en charge", "In hand", "approved", "The buyer took the invoice in hand: `approved` is true (evidence the claim is uncontested)."),
        _s("205", "Approuvée", "Approved", "approved", "The buyer approved the invoice: `approved` is true (best evidence for the uncontested commercial claims procedure)."),
        _s("206", "Approuvée partiellement", "Partially approved", "partially_approved", "Approved for `amount` only: `approved_amount` limits the claim, its interest and the dunning balance."),
        _s("207", "En litige", "In dispute", "dispute_opened", "Opens a dispute with the status's reason: the escalation pauses (paused_reason `dispute`)."),
        _s("208", "Suspendue", "Suspended", "suspended", "The buyer suspends processing (e.g. JUSTIF_ABS): pause with paused_reason `suspended` until 209."),
        _s("209", "Complétée", "Completed", "resumed", "The seller completed the invoice: ends a 208 suspension (409 without one)."),
        _s("210", "Refusée", "Refused", "refused", "Refused by the buyer (mandatory status): stage `refused`, never chased; the seller issues a credit note."),
        _s("211", "Paiement transmis", "Payment sent", "payment_announced", f"The buyer announces a payment: pause with paused_reason `payment_announced` for {PAYMENT_ANNOUNCED_PAUSE_DAYS} days from `at`, then the escalation resumes unless 212 came."),
        _s("212", "Encaissée", "Cashed", "payment_recorded", "The seller cashed `amount` (default: the whole claimable balance): recorded as a payment on the day of `at`."),
        _s("213", "Rejetée", "Rejected", "undelivered", "Rejected by the platform (mandatory status): the invoice was never delivered; stage `undelivered`, no dunning, no penalties."),
        _s("214", "Visée", "Reviewed", "informational", "Reviewed by the buyer: recorded only."),
        _s("220", "Annulée", "Cancelled", "cancelled", "The invoice is cancelled (status `cancelled`, escalation closed)."),
        _s("221", "Erreur de routage", "Routing error", "undelivered", "Sent to the wrong recipient: never delivered; stage `undelivered`, no dunning, no penalties."),
        _s("224", "Demande de paiement direct", "Direct payment request", "informational", "A subcontractor asks for direct payment: recorded only."),
        _s("225", "Affacturée", "Factored", "factored", "Assigned to a factor: the claim belongs to the factor; stage `factored`, never chased by the creditor."),
        _s("226", "Affacturée confidentiel", "Factored (confidential)", "informational", "Undisclosed factoring: the seller usually keeps collecting; recorded only."),
        _s("227", "Changement de compte à payer", "Payment account change", "informational", "The account to pay changes: recorded only."),
        _s("228", "Non affacturée", "Not factored", "informational", "A factoring assignment is withdrawn: recorded only; it does not lift a 225 (the creditor confirms by other means)."),
    )
}  # fmt: skip


@dataclass(frozen=True)
class LifecycleFacts:
    """What the statuses received so far say about an invoice (stored on it)."""

    received_on: dt.date | None = None
    approved: bool = False
    approved_amount: Decimal | None = None
    suspended: bool = False
    payment_announced_until: dt.date | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True)
class InvoiceFacts:
    """What of the invoice itself a status is checked against."""

    status: str  # open, paid, cancelled, written_off
    amount: Decimal
    paid_amount: Decimal
    disputed: bool


# Effects that need an open invoice; the others are recorded whatever its status.
_NEEDS_OPEN: Final[frozenset[Effect]] = frozenset(
    {"approved", "partially_approved", "dispute_opened", "suspended", "resumed", "refused",
     "payment_announced", "payment_recorded", "undelivered", "cancelled", "factored"}
)  # fmt: skip
# Effects still accepted once the creditor's recovery ended (refused, undelivered, factored):
# facts the platforms may still report about the invoice.
_AFTER_OUTCOME: Final[frozenset[Effect]] = frozenset(
    {"informational", "received", "payment_recorded", "cancelled"}
)


def definition(code: str) -> StatusDefinition:
    """The table's entry for `code`; 422 for a code not in the table."""
    found: StatusDefinition | None = STATUSES.get(code)  # type: ignore[call-overload]
    if found is None:
        raise Unprocessable(
            f"Unknown lifecycle status code {code!r}.",
            errors=[FieldError(loc=["body", "code"], msg="not an AFNOR lifecycle status code")],
        )
    return found


def _amount_error(msg: str) -> Unprocessable:
    return Unprocessable(f"amount: {msg}.", errors=[FieldError(loc=["body", "amount"], msg=msg)])


def _check(effect: Effect, facts: LifecycleFacts, invoice: InvoiceFacts, code: str) -> None:
    """409 when the status contradicts the invoice's state."""
    if effect in _NEEDS_OPEN and invoice.status != "open":
        raise Conflict(f"The invoice is {invoice.status}; status {code} cannot apply.")
    if facts.outcome is not None and effect not in _AFTER_OUTCOME:
        raise Conflict(
            f"The invoice is {facts.outcome}; status {code} contradicts it (the creditor's "
            "recovery has ended)."
        )
    if effect == "resumed" and not facts.suspended:
        raise Conflict(f"Status {code} (completed) needs a prior 208 (suspended): none is active.")
    if effect == "dispute_opened" and invoice.disputed:
        raise Conflict("This invoice already has an open dispute.")


def apply_status(
    facts: LifecycleFacts,
    invoice: InvoiceFacts,
    code: str,
    day: dt.date,
    amount: Decimal | None = None,
) -> LifecycleFacts:
    """The facts once status `code` of local day `day` is received; 409 if it contradicts the
    invoice, 422 for an unknown code or an unusable amount. Disputes, payments and cancellation
    are the ledger's own records: the caller does them (this only checks they can be done)."""
    effect = definition(code).effect
    _check(effect, facts, invoice, code)
    replace = dataclasses.replace
    if effect == "received":
        first = day if facts.received_on is None else min(facts.received_on, day)
        return replace(facts, received_on=first)
    if effect == "approved":
        return replace(facts, approved=True, approved_amount=None)
    if effect == "partially_approved":
        if amount is None:
            raise _amount_error("required for 206 (the approved amount)")
        if amount > invoice.amount:
            raise _amount_error(f"exceeds the invoice amount {invoice.amount}")
        return replace(facts, approved=True, approved_amount=amount)
    if effect == "suspended":
        return replace(facts, suspended=True)
    if effect == "resumed":
        return replace(facts, suspended=False)
    if effect == "payment_announced":
        until = day + dt.timedelta(days=PAYMENT_ANNOUNCED_PAUSE_DAYS)
        return replace(facts, payment_announced_until=until)
    outcome = _OUTCOMES.get(effect)
    if outcome is not None:
        return replace(facts, outcome=outcome, suspended=False, payment_announced_until=None)
    return facts


def claimable(invoice_amount: Decimal, approved_amount: Decimal | None) -> Decimal:
    """What the creditor may claim: the invoice amount, or the part approved (206)."""
    return invoice_amount if approved_amount is None else min(approved_amount, invoice_amount)

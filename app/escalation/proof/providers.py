"""The registered-mail providers' callback formats, read into proof reports. Pure: no I/O.

Maileva (developer.maileva.com, "Maileva / notifications (webhook)", API 2.6; the same text is in
the OpenAPI-generated client cube43/maileva, src/NotificationsWebhooks/Model/ResourceType.php):
a JSON POST `{"source", "user_id", "client_id", "event_type", "resource_type", "event_date",
"event_location", "resource_id", "resource_location", "resource_custom_id",
"resource_custom_data"}`; the callback must answer 201, else Maileva tries 10 more times over
about 15 hours. The subscription may carry `authentication.basic` (username, password) that
Maileva sends with each notification. Events of registered mail (`registered_mail/v2`):
ON_STATUS_ACCEPTED, ON_STATUS_REJECTED, ON_STATUS_PROCESSED, ON_DEPOSIT_PROOF_RECEIVED (on the
sending), ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED (on a recipient), ON_STATUS_ARCHIVED. The
notification does not say what the AR says (distributed, refused, not claimed, NPAI): only that
it came back. It is read as `accepted` at `event_date` (later than the signature, so the debtor
never loses a day); a refused, unclaimed or returned letter is recorded by the integrator with
`POST /v1/actions/{id}/proof-events` (an earlier `accepted` date given there wins too).

AR24 (ar24.fr, base de connaissances, "Obtenez le statut de vos courriers en temps réel avec un
Webhook"): AR24 POSTs to the URL configured for the API account at each status change of a mail,
from 185.183.140.195, expects HTTP 200, and otherwise retries every 15 minutes up to 48 times.
It has no signature: the URL's secret token (and the IP, at the operator's proxy) authenticate
it. The body's field names are not in the part of that page the service's authors could read
(unverified): it is read as the mail object of AR24's `GET /api/mail` (`id` or `id_mail`, and
`status` or `state`: `dp` deposit proof, `ev` notification sent = first presentation, `AR`
accepted, `refused`, `negligence` (15 days unopened), `bounced` (the address does not exist),
in JSON or form-encoded, with the status's date when given (`date`, `ts_<status>_date`), else
the time of receipt.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

from app.legal.deadlines import ProofStatus


class UnreadableCallback(ValueError):
    """The body is not the provider's format (nothing to retry: answered 422)."""


@dataclass(frozen=True)
class ProviderReport:
    """One report read from a callback."""

    refs: tuple[str, ...]  # the provider's ids that may name the letter, best first
    raw_status: str
    status: ProofStatus | None  # None: a report with no legal effect (ignored)
    at: dt.datetime | None  # None: not given (the time of receipt is used)
    action_hint: str | None = None  # the integrator's own id sent back (Maileva custom id)
    document_url: str | None = None


MAILEVA_STATUSES: Final[Mapping[str, ProofStatus]] = {
    "ON_DEPOSIT_PROOF_RECEIVED": "deposited",
    "ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED": "accepted",
}
AR24_STATUSES: Final[Mapping[str, ProofStatus]] = {
    "dp": "deposited",
    "ev": "presented",
    "ar": "accepted",
    "refused": "refused",
    "negligence": "neglected",
    "bounced": "returned",
}
# .../registered_mail/v2/sendings/<sending id>/recipients/<recipient id>
_SENDING_IN_LOCATION: Final = re.compile(r"/sendings/([^/?#]+)")


def _instant(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp (a naive one is taken as UTC), or a Unix time; None if absent."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return dt.datetime.fromtimestamp(int(value), dt.UTC)
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise UnreadableCallback(f"{value!r} is not a timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _text(body: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = body.get(name)
        if value not in (None, ""):
            return str(value)[:200]
    return None


def read_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """A JSON object, or a form-encoded body, as a dict."""
    try:
        if "application/x-www-form-urlencoded" in content_type:
            return dict(parse_qsl(raw.decode(), keep_blank_values=False))
        parsed = json.loads(raw or b"null")
    except (UnicodeDecodeError, ValueError):
        raise UnreadableCallback("the body is neither JSON nor form-encoded") from None
    if not isinstance(parsed, dict):
        raise UnreadableCallback("the body is not a JSON object")
    return parsed


def read_maileva(body: Mapping[str, Any]) -> ProviderReport:
    event_type = _text(body, "event_type")
    resource_id = _text(body, "resource_id")
    if event_type is None or resource_id is None:
        raise UnreadableCallback("a Maileva notification has event_type and resource_id")
    location = _text(body, "resource_location") or ""
    sending = _SENDING_IN_LOCATION.search(location)
    # A recipient's event names the recipient; its sending (the letter) is in the location.
    refs = tuple(dict.fromkeys([*([sending.group(1)] if sending else []), resource_id]))
    return ProviderReport(
        refs=refs,
        raw_status=event_type,
        status=MAILEVA_STATUSES.get(event_type),
        at=_instant(body.get("event_date")),
        action_hint=_text(body, "resource_custom_id"),
    )


def read_ar24(body: Mapping[str, Any]) -> ProviderReport:
    ref = _text(body, "id_mail", "id")
    raw_status = _text(body, "status", "state")
    if ref is None or raw_status is None:
        raise UnreadableCallback("an AR24 callback has the mail's id and status")
    status = AR24_STATUSES.get(raw_status.lower())
    at = _instant(body.get(f"ts_{raw_status.lower()}_date") or body.get("date"))
    return ProviderReport(
        refs=(ref,),
        raw_status=raw_status,
        status=status,
        at=at,
        document_url=_text(body, f"proof_{raw_status.lower()}_url"),
    )


READERS: Final = {"ar24": read_ar24, "maileva": read_maileva}
# What each provider takes as "received" (anything else is retried).
SUCCESS_STATUS: Final[Mapping[str, int]] = {"ar24": 200, "maileva": 201}

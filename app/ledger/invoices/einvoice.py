"""Reading an e-invoice: a Factur-X PDF (PDF/A-3 with its CII XML attached), a CII XML or a UBL 2.1
XML, down to the few EN 16931 business terms recovery needs.

The `factur-x` library finds the XML in the PDF and reads the business terms of either syntax
(`parse_ubl_cii_xml`: BT-1 number, BT-2 issue date, BG-4 seller...); this module picks the ones
the ledger needs and says, in one sentence, why a file cannot be used."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from babel.numbers import is_currency
from facturx import get_level, get_xml_from_pdf
from facturx.parse_xml import parse_ubl_cii_xml
from lxml import etree
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as fr_siren
from stdnum.fr import tva as fr_tva

from app.core.errors import ProblemError, Unprocessable
from app.core.types import CENT

# factur-x logs a warning for every PDF without an invoice: the 422 already says so.
logging.getLogger("factur-x").setLevel(logging.ERROR)

EInvoiceFormat = Literal["facturx", "cii", "ubl"]

CII_ROOT = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice"
UBL_INVOICE_ROOT = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
UBL_CREDIT_NOTE_ROOT = "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"
_FLAVOR = {
    CII_ROOT: "factur-x",
    UBL_INVOICE_ROOT: "ubl-2.1-invoice",
    UBL_CREDIT_NOTE_ROOT: "ubl-2.1-creditnote",
}

# UNTDID 1001 document types (BT-3) that are credit notes: they reduce a claim, never make one.
# (A UBL CreditNote is one whatever its code.)
CREDIT_NOTE_TYPES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458"})

# ISO 6523 schemes of a French legal identifier (BT-30, BT-47): 0002 SIREN, 0009 SIRET.
SCHEME_SIREN, SCHEME_SIRET = "0002", "0009"


class UnreadableEInvoice(Unprocessable):
    """The file is not an e-invoice the service can take in; the detail says why."""

    code, title = "unreadable-e-invoice", "Unreadable e-invoice"


class UnsupportedMediaType(ProblemError):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


@dataclass(frozen=True)
class Party:
    """A seller (BG-4) or a buyer (BG-7) as the invoice names it."""

    name: str | None
    siren: str | None
    vat_number: str | None
    identifier: str | None  # BT-29 / BT-46 without a scheme: the seller's own code for the party


@dataclass(frozen=True)
class EInvoice:
    """What the ledger takes from an e-invoice."""

    format: EInvoiceFormat
    profile: str | None  # Factur-X level (minimum, basicwl, basic, en16931, extended) or None
    type_code: str
    number: str
    issue_date: dt.date
    due_date: dt.date | None  # always set on an invoice; a credit note may have none
    amount_due: Decimal  # a credit note: the amount it credits
    credit_note: bool
    credited_number: str | None  # BT-25: the invoice a credit note credits
    currency: str
    seller: Party
    buyer: Party


def read_einvoice(body: bytes) -> EInvoice:
    """The e-invoice in `body`, whatever its format; UnreadableEInvoice with the reason if it is
    not one the ledger can use. CPU-bound and thread-safe: callers run it off the event loop."""
    if _looks_like_pdf(body):
        return _read_xml(_xml_from_pdf(body), "facturx")
    if _looks_like_xml(body):
        root = _parse_xml(body)
        return _read_xml(root, "cii" if root.tag == CII_ROOT else "ubl")
    raise UnreadableEInvoice(
        "The file is neither a PDF nor an XML document: send a Factur-X PDF, a CII or a UBL XML."
    )


def _looks_like_pdf(body: bytes) -> bool:
    # The PDF header may follow up to 1 KiB of anything (ISO 32000-1, 7.5.2, implementation note).
    return b"%PDF-" in body[:1024]


def _looks_like_xml(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _parse_xml(body: bytes) -> Any:
    # No DTD, no entities, no network: an uploaded XML cannot read files or blow up in memory.
    # A parser per call: lxml parsers must not be shared between threads.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        return etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise UnreadableEInvoice(f"The XML is not well-formed: {exc}.") from exc


def _xml_from_pdf(body: bytes) -> Any:
    try:
        _, xml = get_xml_from_pdf(body, check_xsd=False)
    # pypdf raises many kinds of errors on a broken PDF (PdfReadError, KeyError, ValueError...),
    # and factur-x bare Exceptions: any of them means the same thing to the client.
    except Exception as exc:
        raise UnreadableEInvoice(f"The PDF cannot be read: {exc}.") from exc
    if not xml:
        raise UnreadableEInvoice(
            "The PDF has no Factur-X XML attached (factur-x.xml): it is a plain PDF, not an "
            "e-invoice. Send the Factur-X PDF, or the CII / UBL XML."
        )
    root = _parse_xml(xml)
    if root.tag != CII_ROOT:
        raise UnreadableEInvoice("The XML attached to the PDF is not a CII invoice.")
    return root


def _read_xml(root: Any, fmt: EInvoiceFormat) -> EInvoice:
    flavor = _FLAVOR.get(root.tag)
    if flavor is None:
        raise UnreadableEInvoice(
            f"The XML is neither a CII invoice (rsm:CrossIndustryInvoice) nor a UBL 2.1 invoice "
            f"or credit note (Invoice-2, CreditNote-2): its root element is {root.tag}."
        )
    profile = _profile(root, flavor)
    try:
        # Every business term, without the XSD check: recovery needs a few of them, and a file
        # a platform accepted should not be refused for a detail it does not use.
        terms = parse_ubl_cii_xml(root, flavor=flavor, level=profile or "extended", check_xsd=False)
    except (ValueError, etree.LxmlError) as exc:
        raise UnreadableEInvoice(f"The invoice cannot be read: {exc}.") from exc
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        # The library's own failures on a file it does not expect (no document currency, BT-5,
        # raised KeyError('BT-5'): found by the damaged-files test): a reason, not a 500.
        raise UnreadableEInvoice(
            f"The invoice cannot be read: {type(exc).__name__} {exc} in the factur-x library "
            "(a required element is missing or malformed)."
        ) from exc
    return _einvoice(terms, root, fmt, profile)


def _profile(root: Any, flavor: str) -> str | None:
    """The Factur-X level its guideline (BT-24) names; None when it names none the library knows
    (a UBL without CustomizationID, a national CIUS)."""
    try:
        return str(get_level(root, flavor))
    except ValueError:
        return None


def _einvoice(
    terms: dict[str, Any], root: Any, fmt: EInvoiceFormat, profile: str | None
) -> EInvoice:
    type_code = str(terms.get("BT-3") or "380")
    credit_note = root.tag == UBL_CREDIT_NOTE_ROOT or type_code in CREDIT_NOTE_TYPES
    issue_date = _required(terms, "BT-2", "issue date")
    return EInvoice(
        format=fmt,
        profile=profile,
        type_code=type_code,
        number=_number(terms),
        issue_date=issue_date,
        due_date=None if credit_note else _due_date(terms, root, issue_date),
        amount_due=_amount_due(terms),
        currency=_currency(terms),
        credit_note=credit_note,
        credited_number=_credited_number(terms) if credit_note else None,
        seller=_party(terms.get("BG-4") or {}),
        buyer=_party(terms.get("BG-7") or {}),
    )


def _credited_number(terms: dict[str, Any]) -> str:
    """The invoice a credit note credits (BG-3, BT-25): exactly one, the ledger can apply."""
    numbers = {
        str(ref["BT-25"]).strip()
        for ref in terms.get("BG-3") or []
        if isinstance(ref, dict) and ref.get("BT-25")
    }
    if len(numbers) != 1:
        raise UnreadableEInvoice(
            "The credit note must name the one invoice it credits (BG-3, preceding invoice "
            f"reference BT-25); it names {len(numbers)}. Record it on the invoice itself: "
            "POST /v1/invoices/{id}/cancel, or PATCH /v1/invoices/{id} with the reduced amount."
        )
    return numbers.pop()


def _required(terms: dict[str, Any], term: str, what: str) -> Any:
    value = terms.get(term)
    if value is None or isinstance(value, list):
        raise UnreadableEInvoice(f"The invoice has no {what} ({term}), or several.")
    return value


def _number(terms: dict[str, Any]) -> str:
    number = str(_required(terms, "BT-1", "invoice number")).strip()
    if not 1 <= len(number) <= 64:
        raise UnreadableEInvoice(
            f"The invoice number (BT-1) must have 1 to 64 characters: {number!r}."
        )
    return number


_UBL_PAYMENT_DUE_DATE = "/ubl:Invoice/cac:PaymentMeans/cbc:PaymentDueDate/text()"
_UBL_NS = {
    "ubl": UBL_INVOICE_ROOT[1:].split("}")[0],
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def _due_date(terms: dict[str, Any], root: Any, issue_date: dt.date) -> dt.date:
    """BT-9 (CII: SpecifiedTradePaymentTerms/DueDateDateTime; UBL: cbc:DueDate), or a UBL
    PaymentMeans/PaymentDueDate (UBL 2.1 puts the due date there in some CIUS)."""
    due = terms.get("BT-9")
    if due is None and root.tag == UBL_INVOICE_ROOT:
        found = root.xpath(_UBL_PAYMENT_DUE_DATE, namespaces=_UBL_NS)
        due = _iso_date(str(found[0]).strip()) if found else None
    if due is None or isinstance(due, list):
        raise UnreadableEInvoice(
            "The invoice has no due date (BT-9): recovery counts from it. Ask the issuer for a "
            "file with the payment due date."
        )
    if due < issue_date:
        raise UnreadableEInvoice(f"The due date ({due}) is before the issue date ({issue_date}).")
    return due  # type: ignore[no-any-return]


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise UnreadableEInvoice(f"The payment due date {text!r} is not a date.") from exc


def _amount_due(terms: dict[str, Any]) -> Decimal:
    raw = _required(terms, "BT-115", "amount due for payment")
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise UnreadableEInvoice(f"The amount due (BT-115) is not a number: {raw!r}.") from exc
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise UnreadableEInvoice(f"The amount due (BT-115) must have at most 2 decimals: {raw}.")
    if amount < 0:
        raise UnreadableEInvoice(
            f"The amount due (BT-115) is negative ({raw}): send a credit note (type 381, naming "
            "the invoice it credits) instead of a negative invoice."
        )
    if amount == 0:
        raise UnreadableEInvoice("The amount due (BT-115) is zero: there is nothing to recover.")
    return amount


def _currency(terms: dict[str, Any]) -> str:
    currency = str(_required(terms, "BT-5", "currency")).strip()
    if len(currency) != 3 or not currency.isupper() or not is_currency(currency):
        raise UnreadableEInvoice(f"The currency (BT-5) {currency!r} is not an ISO 4217 currency.")
    return currency


def _party(party: dict[str, Any]) -> Party:
    identifiers = party.get("identifiers") or {}
    vat = _vat(party.get("vat_identifier"))
    siren = _siren(party.get("legal_identifier"), party.get("legal_identifier_schemeid"))
    siren = siren or _siren(identifiers.get(SCHEME_SIREN), SCHEME_SIREN)
    siren = siren or _siren(identifiers.get(SCHEME_SIRET), SCHEME_SIRET)
    if siren is None and vat is not None and vat.startswith("FR"):
        # A French VAT number is FR + key + the SIREN (the letter-keyed ones too, checked here).
        siren = _siren(fr_tva.to_siren(vat), SCHEME_SIREN)
    own_code = identifiers.get(None)
    return Party(
        name=_text(party.get("name")),
        siren=siren,
        vat_number=vat,
        identifier=_text(own_code),
    )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, list | dict):
        return None
    return str(value).strip() or None


def _siren(value: Any, scheme: Any) -> str | None:
    """The SIREN of a legal identifier: a SIREN (scheme 0002), a SIRET (0009, its first 9
    digits), or either without a scheme; None for anything else (a foreign company number)."""
    text = _text(value)
    if text is None or scheme not in (None, SCHEME_SIREN, SCHEME_SIRET):
        return None
    digits = text.replace(" ", "")
    if scheme in (None, SCHEME_SIREN) and fr_siren.is_valid(digits):
        return str(fr_siren.compact(digits))
    if scheme in (None, SCHEME_SIRET) and len(digits) == 14 and fr_siren.is_valid(digits[:9]):
        return digits[:9]
    return None


def _vat(value: Any) -> str | None:
    """The VAT number (BT-31, BT-48) as creditors store it (EU format, country prefix kept)."""
    text = _text(value)
    if text is None:
        return None
    try:
        return str(eu_vat.validate(text))
    except StdnumError:
        return None
